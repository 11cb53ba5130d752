/**
 * Micro-benchmarks of the native-free kernels, one core, backends side by side: each
 * round runs every task once per backend (tinybench, a short time budget each), and the
 * figures are medians over rounds, so that both sides of a ratio see the same machine load.
 *
 * - ADC scan of 8-bit PQ codes, m = 16, 1M codes (wasm on codes pinned in its memory, wasm
 *   copying the codes in per call, ts, reference);
 * - squared L2 one-to-many, d = 100, 100k vectors;
 * - k-means assignment (blocked nearest-centroid kernel), 4,096 x 1,024, d = 100, and one
 *   full assignment at the acceptance size (n = 100,000, k = 1,024);
 * - 4-bit PQ fast-scan, m = 16 (8 bytes per code), 1M codes: an exhaustive k = 10 search
 *   through VqIndex (fast-scan, exact re-scoring of the survivors, top-k heap), against the
 *   same index on the TypeScript backend (plain 4-bit ADC scan).
 *
 *   npm run build && node dist/bench/kernels.bench.js [--quick] [--rounds 5]
 *
 * Prints a table and writes bench/results/kernels.json.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { Bench } from 'tinybench'
import { assignNearest, Rng, VqIndex } from 'vqlite'
import { getKernels, type Kernels, referenceKernels } from 'vqlite/kernels'
import { machineInfo, saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/results/kernels.json' },
  },
})
const rounds = values.quick ? 2 : Number(values.rounds)
const time = values.quick ? 150 : 400
const TS = getKernels('ts')
const WASM = getKernels('wasm')
const rng = new Rng(7)
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.float() * 2 - 1)

// ADC scan inputs: 1,000,000 codes.
const nCodes = 1_000_000
const codes8 = new Uint8Array(nCodes * 16)
for (let i = 0; i < codes8.length; i++) codes8[i] = rng.int(256)
const table8 = rand(16 * 256)
const out = new Float32Array(nCodes)
// The same codes pinned in the WebAssembly memory (as codes that live there are read),
// next to the unpinned array that the backend copies in on every call.
const codes8Pinned = codes8.slice()
WASM.pin!(codes8Pinned)
const WASM_COPY: Kernels = { ...WASM, name: 'wasm (copying the codes in)' }

// Distances: 100,000 vectors of d = 100.
const d = 100
const nVec = 100_000
const base = rand(nVec * d)
const q = rand(d)
// The random draws of the SQ8 codes of a removed row (that kernel is gone), kept so that
// every input below is the same as in earlier runs.
for (let i = 0; i < nVec * d; i++) rng.int(256)

// Assignment: 4,096 points against 1,024 centroids, d = 100; and 100,000 points.
const nAssign = 4096
const kc = 1024
const pts = rand(nAssign * d)
const cents = rand(kc * d)
const cNorms = new Float64Array(kc)
TS.normsL2sqr(cents, kc, d, cNorms)
const aIdx = new Int32Array(100_000)
const aDist = new Float32Array(100_000)
const nKm = 100_000
const kmData = rand(nKm * d)

// Fast-scan: 1,000,000 codes of PQ16x4 (dimension 64, 8 bytes per code), one file, two backends.
console.log('building a 1M-code PQ16x4 index for the fast-scan bench ...')
const fsDim = 64
const fsIndex = VqIndex.create(':memory:', { dim: fsDim, description: 'PQ16x4', threads: 0, kernels: 'wasm' })
{
  const train = rand(20_000 * fsDim)
  await fsIndex.train(train, { seed: 1 })
  const chunk = 100_000
  for (let s = 0; s < nCodes; s += chunk) {
    const x = rand(chunk * fsDim)
    await fsIndex.add(
      Array.from({ length: chunk }, (_, i) => s + i),
      x,
    )
  }
}
const snapshot = join(mkdtempSync(join(tmpdir(), 'vqlite-kbench-')), 'pq16x4.snapshot')
await fsIndex.export(snapshot)
const fsIndexTs = VqIndex.import(snapshot, ':memory:', { kernels: 'ts', threads: 0 })
rmSync(dirname(snapshot), { recursive: true, force: true })
const fsQueries = rand(64 * fsDim)
let fsQ = 0
const fsSearch = (ix: VqIndex) => (): void => {
  ix.search(fsQueries.subarray(fsQ * fsDim, (fsQ + 1) * fsDim), 10)
  fsQ = (fsQ + 1) % 64
}
fsSearch(fsIndex)() // loads the packed codes
interface Task {
  readonly name: string
  readonly run: (k: Kernels) => void
  /** Work units per call, and their name. */
  readonly units: number
  readonly unit: string
  readonly backends: readonly Kernels[]
}

const tasks: Task[] = [
  {
    name: 'pqScan 8-bit m=16, 1M codes',
    units: nCodes,
    unit: 'M codes/s',
    backends: [WASM, WASM_COPY, TS, referenceKernels],
    run: (k) => k.pqScan(k === WASM ? codes8Pinned : codes8, nCodes, 16, 8, table8, out),
  },
  {
    name: 'l2sqrMany d=100, 100k vectors',
    units: nVec,
    unit: 'M vectors/s',
    backends: [WASM, TS],
    run: (k) => k.l2sqrMany(q, 0, base, nVec, d, out),
  },
  {
    name: 'nearestL2 4096 x 1024, d=100',
    units: (nAssign * kc * d) / 1e3,
    unit: 'G mult-adds/s',
    backends: [WASM, TS],
    run: (k) => k.nearestL2(pts, nAssign, cents, kc, d, cNorms, aIdx, aDist),
  },
  {
    name: 'k-means assignment n=100k, k=1024, d=100',
    units: 1,
    unit: 'per s',
    backends: [WASM, TS],
    run: (k) => assignNearest(k, kmData, nKm, d, cents, kc, cNorms, aIdx, aDist),
  },
]

/** Seconds per call, per task and backend, one entry per round. */
const samples = new Map<string, number[]>()
const key = (t: string, b: string): string => `${t} [${b}]`
const add = (k: string, v: number): void => {
  if (!samples.has(k)) samples.set(k, [])
  samples.get(k)!.push(v)
}

for (let r = 0; r < rounds; r++) {
  console.log(`round ${r + 1} of ${rounds}`)
  const bench = new Bench({ time, iterations: 2, warmupIterations: 1 })
  for (const t of tasks) for (const b of t.backends) bench.add(key(t.name, b.name), () => t.run(b))
  bench.add(key('fast-scan search m=16, 1M codes, k=10', 'wasm'), fsSearch(fsIndex))
  bench.add(key('fast-scan search m=16, 1M codes, k=10', 'ts'), fsSearch(fsIndexTs))
  await bench.run()
  for (const task of bench.tasks) {
    const res = task.result
    if (!('latency' in res)) throw new Error(`task ${task.name} did not complete`)
    add(task.name, res.latency.mean / 1000)
  }
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const sec = (t: string, b: string): number => median(samples.get(key(t, b))!)
const rows: Record<string, string | number>[] = []
for (const t of tasks) {
  for (const b of t.backends)
    rows.push({
      task: t.name,
      backend: b.name,
      rate: +((t.units / sec(t.name, b.name) / 1e6) * (t.unit === 'per s' ? 1e6 : 1)).toFixed(3),
      unit: t.unit,
    })
}
const fsName = 'fast-scan search m=16, 1M codes, k=10'
rows.push({ task: fsName, backend: 'wasm', rate: +(nCodes / sec(fsName, 'wasm') / 1e6).toFixed(1), unit: 'M codes/s' })
rows.push({ task: fsName, backend: 'ts', rate: +(nCodes / sec(fsName, 'ts') / 1e6).toFixed(1), unit: 'M codes/s' })
const ratio = (t: string, a = 'wasm', b = 'ts'): number => sec(t, b) / sec(t, a)
const figures = {
  fastscan_m16_search_Mcodes_s: nCodes / sec(fsName, 'wasm') / 1e6,
  fastscan_m16_fraction_of_bandwidth: nCodes / sec(fsName, 'wasm') / 3.4e9,
  fastscan_vs_ts_adc4_search: ratio(fsName),
  adc8_m16_wasm_Mcodes_s: nCodes / sec(tasks[0]!.name, 'wasm') / 1e6,
  adc8_m16_ts_Mcodes_s: nCodes / sec(tasks[0]!.name, 'ts') / 1e6,
  adc8_wasm_vs_ts: ratio(tasks[0]!.name),
  adc8_wasm_copying_vs_ts: ratio(tasks[0]!.name, WASM_COPY.name),
  l2_many_wasm_vs_ts: ratio(tasks[1]!.name),
  assign_block_wasm_vs_ts: ratio(tasks[2]!.name),
  assign_100k_wasm_vs_ts: ratio(tasks[3]!.name),
  assign_100k_wasm_s: sec(tasks[3]!.name, 'wasm'),
  assign_100k_ts_s: sec(tasks[3]!.name, 'ts'),
}
console.table(rows)
for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(36)} ${v.toFixed(3)}`)
saveJson(values.out, {
  bench: 'kernels',
  rounds,
  machine: machineInfo(),
  figures,
  rows,
  samples_s: Object.fromEntries(samples),
})
console.log(`saved ${values.out}`)
await fsIndex.close()
await fsIndexTs.close()
