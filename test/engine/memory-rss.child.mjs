// Child process of memory-rss.int.test.ts (runs the sources, see ../fixtures/sources.mjs).
// Usage: node --expose-gc test/engine/memory-rss.child.mjs WARMUP_PATH PATH DIM QUERIES KERNELS
// Warms the process up first (opens and searches WARMUP_PATH, a tiny index, and churns
// V8's young generation) so that one-time costs are not counted as the index's; then
// prints JSON lines: {phase, owned} with owned = RssAnon + RssShmem in bytes, and
// {mark} lines around open() for the parent, which samples this process's memory.
import { readFileSync, writeSync } from 'node:fs'
import { getHeapSpaceStatistics } from 'node:v8'
import { vqlite } from '../fixtures/sources.mjs'

const { VqIndex } = vqlite
const [warmupPath, path, dimArg, queriesArg, kernels] = process.argv.slice(2)
const dim = Number(dimArg)
const nq = Number(queriesArg)

function owned() {
  const t = readFileSync('/proc/self/status', 'utf8')
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(t)[1]) * 1024
  return kb('RssAnon') + kb('RssShmem')
}
function gc() {
  globalThis.gc()
  globalThis.gc()
}
const emit = (v) => writeSync(1, `${JSON.stringify(v)}\n`)
/** Where the memory is, for the test's messages. */
function detail() {
  const m = process.memoryUsage()
  const heap = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]))
  return { heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, newSpace: heap.new_space, oldSpace: heap.old_space }
}

const warm = VqIndex.open(warmupPath, { readonly: true, kernels })
const q = new Float32Array(dim)
for (let i = 0; i < 50; i++) {
  q.fill(Math.sin(i))
  warm.search(q, 10)
}
// Small short-lived objects until the young generation has reached its size and been touched.
let sink = 0
for (let r = 0; r < 4_000_000; r++) sink += [r, r + 1, r + 2].length
gc()
emit({ phase: 'before', owned: owned(), sink, detail: detail() })
emit({ mark: 'open-start' })
const ix = VqIndex.open(path, { readonly: true, kernels })
emit({ mark: 'open-end' })
gc()
emit({ phase: 'open', owned: owned(), usage: ix.memoryUsage(), detail: detail() })
for (let i = 0; i < nq; i++) {
  for (let t = 0; t < dim; t++) q[t] = Math.sin(i * 31 + t)
  ix.search(q, 10)
}
gc()
emit({ phase: 'queries', owned: owned(), usage: ix.memoryUsage(), detail: detail() })
await ix.close()
await warm.close()
