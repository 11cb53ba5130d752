/**
 * Where the resident memory of an opened index goes, step by step, in ONE fresh process
 * (run this script once per measurement): RssAnon + RssShmem of /proc/self/status around
 * each step, split by mapping from /proc/self/smaps (the WebAssembly memory: the mapping
 * that holds the module's memory buffer, found as the reservation of 4 GiB or more; the C
 * allocator's brk heap [heap]; every other anonymous mapping: V8's heap, ArrayBuffers,
 * malloc's mmapped blocks), beside memoryUsage() and process.memoryUsage().
 * Steps: before open (imports done, queries read, GC), after open, after one query (the
 * first search instantiates what it needs), after the workload at refine 1, then the same
 * workload at refine 8 (the re-ranking reads). Each reading follows two GCs. Growth is from
 * "before", per vector (divided by the index's size).
 *
 *   node --expose-gc --import tsx bench/memory-attrib.ts --file /tmp/glove.vqlite --queries q.f32 --dim 100
 *     [--nq 1000] [--nprobe 96] [--order 1,8] [--json out.json]
 * queries: raw float32, dim per row (the timed queries of bench/search-vs-faiss.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { VqIndex } from 'vqlite'

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    queries: { type: 'string' },
    dim: { type: 'string' },
    nq: { type: 'string', default: '1000' },
    nprobe: { type: 'string', default: '96' },
    order: { type: 'string', default: '1,8' },
    json: { type: 'string' },
  },
})

interface Reading {
  step: string
  owned: number
  wasm: number
  brk: number
  otherAnon: number
  node: NodeJS.MemoryUsage
  usage?: ReturnType<VqIndex['memoryUsage']>
}

function kb(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)
  return m ? Number(m[1]) * 1024 : 0
}

/**
 * Resident anonymous bytes by kind of mapping (Anonymous of each smaps entry). The
 * WebAssembly memory is a reservation of 4 GiB or more that the kernel lists as adjacent
 * entries (the accessible part, then the inaccessible rest): runs of adjacent anonymous
 * entries are grouped and a group of 4 GiB or more counts as wasm.
 */
function smaps(): { wasm: number; brk: number; otherAnon: number } {
  const text = readFileSync('/proc/self/smaps', 'utf8')
  let wasm = 0
  let brk = 0
  let otherAnon = 0
  let groupEnd = -1
  let groupSize = 0
  let groupAnon = 0
  const close = (): void => {
    if (groupSize >= 4 * 2 ** 30) wasm += groupAnon
    else otherAnon += groupAnon
    groupSize = 0
    groupAnon = 0
  }
  for (const entry of text.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const head = entry.slice(0, entry.indexOf('\n'))
    const [range, , , , inode, name = ''] = head.trim().split(/\s+/)
    const [a, b] = range!.split('-').map((h) => Number.parseInt(h, 16))
    if (inode !== '0' || (name !== '' && name !== '[heap]')) continue
    const anon = kb(entry, 'Anonymous')
    if (name === '[heap]') {
      brk += anon
      continue
    }
    if (a !== groupEnd) close()
    groupSize += b! - a!
    groupAnon += anon
    groupEnd = b!
  }
  close()
  return { wasm, brk, otherAnon }
}

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (!g) throw new Error('run with node --expose-gc')
  g()
  g()
}

const readings: Reading[] = []
function read(step: string, ix?: VqIndex): void {
  gc()
  const s = readFileSync('/proc/self/status', 'utf8')
  readings.push({ step, owned: kb(s, 'RssAnon') + kb(s, 'RssShmem'), ...smaps(), node: process.memoryUsage(), usage: ix?.memoryUsage() })
}

const d = Number(values.dim)
const qb = readFileSync(values.queries!)
const queries = new Float32Array(qb.buffer.slice(qb.byteOffset, qb.byteOffset + qb.byteLength))
const nq = Math.min(Number(values.nq), queries.length / d)
const nprobe = Number(values.nprobe)
read('before')
const ix = VqIndex.open(values.file!, { readonly: true, threads: 0 })
read('open', ix)
ix.search(queries.subarray(0, d), 10, { nprobe, refineFactor: 1 })
read('1 query', ix)
for (const refineFactor of values.order!.split(',').map(Number)) {
  const t0 = performance.now()
  for (let i = 0; i < nq; i++) ix.search(queries.subarray(i * d, (i + 1) * d), 10, { nprobe, refineFactor })
  const us = ((performance.now() - t0) * 1000) / nq
  read(`${nq} queries refine ${refineFactor} (${us.toFixed(0)} us/query)`, ix)
}
const nb = ix.size
const before = readings[0]!
const mb = (x: number): string => (x / 2 ** 20).toFixed(2).padStart(7)
console.log(`nb ${nb}, nprobe ${nprobe}, kernels ${ix.kernelBackend}; growth from "before" (MiB), owned per vector (B)`)
console.log(
  '| step | owned | B/vec | wasm map | brk heap | other anon | V8 heapUsed | V8 heapTotal | arrayBuffers | usage.total | wasmMemory | fastScan | predicted |',
)
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const r of readings) {
  const u = r.usage
  const predicted = u ? u.total + u.fixedOverhead : 0
  console.log(
    `| ${r.step} | ${mb(r.owned - before.owned)} | ${((r.owned - before.owned) / nb).toFixed(1)} | ${mb(r.wasm - before.wasm)} | ${mb(r.brk - before.brk)} | ${mb(r.otherAnon - before.otherAnon)} | ${mb(r.node.heapUsed - before.node.heapUsed)} | ${mb(r.node.heapTotal - before.node.heapTotal)} | ${mb(r.node.arrayBuffers - before.node.arrayBuffers)} | ${mb(u?.total ?? 0)} | ${mb(u?.wasmMemory ?? 0)} | ${mb(u?.fastScan ?? 0)} | ${mb(predicted)} |`,
  )
}
await ix.close()
if (values.json) writeFileSync(values.json, `${JSON.stringify({ nb, nprobe, readings }, null, 1)}\n`)
