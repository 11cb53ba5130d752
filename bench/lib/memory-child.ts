/**
 * The memory measurement of bench/search-vs-faiss.ts for the Node systems, run in a FRESH
 * process (node --expose-gc cli/dist/bench/lib/memory-child.js '<json job>'):
 * /proc/self/status before opening a saved index, after opening it, and after a query
 * workload (every query, one at a time, at the given point); the peak of RssAnon + RssShmem
 * during the open, polled every millisecond by a worker thread (the open runs synchronously
 * on the main thread), and VmHWM after resetting it (/proc/self/clear_refs) just before the
 * open. Prints one JSON line. The job:
 *   { system: 'vqlite', lib, file, queries, d, k, nprobe, refineFactor }
 *   { system: 'hnswlib', file, queries, d, k, space, ef }
 * queries: a raw float32 file, d per row.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { ownedBytes, type ProcStatus, parseProcStatus } from './rounds.js'

interface Job {
  readonly system: 'vqlite' | 'hnswlib'
  readonly lib?: string
  readonly file: string
  readonly queries: string
  readonly d: number
  readonly k: number
  readonly nprobe?: number
  readonly refineFactor?: number
  readonly space?: 'cosine' | 'l2' | 'ip'
  readonly ef?: number
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job
const status = (): ProcStatus => parseProcStatus(readFileSync('/proc/self/status', 'utf8'))
const gc = (): void => (globalThis as { gc?: () => void }).gc?.()

// [0] peak owned bytes, [1] samples, [2] stop flag (1: stop).
const shared = new Float64Array(new SharedArrayBuffer(24))
const flag = new Int32Array(new SharedArrayBuffer(4))
const poller = new Worker(
  `const { workerData } = require('node:worker_threads')
const { readFileSync } = require('node:fs')
const [peak, flag] = workerData
const nap = new Int32Array(new SharedArrayBuffer(4))
const kb = (text, key) => { const m = new RegExp('^' + key + ':\\\\s+(\\\\d+) kB', 'm').exec(text); return m ? Number(m[1]) * 1024 : 0 }
while (Atomics.load(flag, 0) === 0) {
  const t = readFileSync('/proc/self/status', 'utf8')
  const owned = kb(t, 'RssAnon') + kb(t, 'RssShmem')
  if (owned > peak[0]) peak[0] = owned
  peak[1]++
  Atomics.wait(nap, 0, 0, 1)
}`,
  { eval: true, workerData: [shared, flag] },
)
await new Promise((r) => poller.once('online', r))

const queries = new Float32Array(readFileSync(job.queries).buffer.slice(0))
const nq = queries.length / job.d
let searchOne: (q: Float32Array) => unknown
let extra: Record<string, unknown> = {}
let nb = 0
let openS = 0

if (job.system === 'vqlite') {
  const lib = (await import(job.lib && job.lib !== 'vqlite' ? pathToFileURL(job.lib).href : 'vqlite')) as typeof import('vqlite')
  gc()
  const before = status()
  writeFileSync('/proc/self/clear_refs', '5')
  shared[0] = 0
  const t0 = performance.now()
  const index = lib.VqIndex.open(job.file, { readonly: true, threads: 0 })
  openS = (performance.now() - t0) / 1000
  Atomics.store(flag, 0, 1)
  const afterOpen = status()
  nb = index.size
  const opts = { nprobe: job.nprobe ?? 1, refineFactor: job.refineFactor ?? 1 }
  searchOne = (q) => index.search(q, job.k, opts)
  extra = { before, afterOpen, memoryUsageAfterOpen: index.memoryUsage() }
  const t1 = performance.now()
  for (let i = 0; i < nq; i++) searchOne(queries.subarray(i * job.d, (i + 1) * job.d))
  const workloadS = (performance.now() - t1) / 1000
  gc()
  const after = status()
  extra = { ...extra, after, workloadS, memoryUsage: index.memoryUsage(), kernels: index.kernelBackend }
  await index.close()
} else {
  const mod = (await import('hnswlib-node')) as typeof import('hnswlib-node') & { default?: typeof import('hnswlib-node') }
  const h = mod.default ?? mod
  gc()
  const before = status()
  writeFileSync('/proc/self/clear_refs', '5')
  shared[0] = 0
  const t0 = performance.now()
  const index = new h.HierarchicalNSW(job.space ?? 'l2', job.d)
  index.readIndexSync(job.file)
  openS = (performance.now() - t0) / 1000
  Atomics.store(flag, 0, 1)
  const afterOpen = status()
  nb = index.getCurrentCount()
  index.setEf(job.ef ?? 10)
  const t1 = performance.now()
  for (let i = 0; i < nq; i++) index.searchKnn(Array.from(queries.subarray(i * job.d, (i + 1) * job.d)), job.k)
  const workloadS = (performance.now() - t1) / 1000
  gc()
  extra = { before, afterOpen, after: status(), workloadS }
}
await poller.terminate()
const afterOpen = extra['afterOpen'] as ProcStatus
console.log(
  JSON.stringify({
    system: job.system,
    nb,
    nq,
    openS,
    peakOwnedOpen: Math.max(shared[0]!, ownedBytes(afterOpen) ?? 0),
    peakSamples: shared[1],
    ...extra,
  }),
)
