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
 *   same index on the TypeScript backend (plain 4-bit ADC scan);
 * - the fast-scan kernel alone on an IVF-like shape (glove100's IVF1024,PQ50x4 at nprobe 96,
 *   refine 8): m = 50 plus the residual terms column, 96 segments of 333 codes, k = 80;
 * - the probe: squared L2 from one query to 1,024 x 100 and 4,096 x 128 pinned centroids
 *   (us per query). bench/kernels-replay.ts replays real queries against two builds.
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
import { fastScanPack, fastScanPackedSize, getKernels, heapInit, type Kernels, referenceKernels } from 'vqlite/kernels'
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
const ivfName = 'fast-scan kernel m=50+terms, 96 x 333 codes, k=80'
// The fast-scan kernel on an IVF-like shape: m = 50 (dsub 2) with terms, 96 segments of 333 codes, k = 80.
const ivfM = 50
const ivfSegs = 96
const ivfN = 333
const ivfK = 80
const ivfFs = WASM.createFastScan!(rand(ivfM * 16 * 2), ivfM, 2, 'ip', true)
for (let s = 0; s < ivfSegs; s++) {
  const codes = Uint8Array.from({ length: ivfN * (ivfM / 2) }, () => rng.int(256))
  const packed = new Uint8Array(fastScanPackedSize(ivfN, ivfM + 1))
  fastScanPack(codes, 0, ivfM / 2, ivfN, ivfM, packed, 0, ivfM + 1)
  ivfFs.setSegment(
    s,
    packed,
    ivfN,
    Float32Array.from({ length: ivfN }, () => rng.float() * 0.5),
  )
}
const ivfSegList = Int32Array.from({ length: ivfSegs }, (_, s) => s)
const ivfBias = Float32Array.from({ length: ivfSegs }, () => 0.3 + rng.float())
const ivfQueries = rand(64 * ivfM * 2)
const ivfHd = new Float32Array(ivfK)
const ivfHl = new Float64Array(ivfK)
let ivfQ = 0
const ivfSearch = (): void => {
  heapInit(ivfK, ivfHd, ivfHl)
  ivfFs.setQuery(ivfQueries, ivfQ * ivfM * 2)
  ivfFs.search(ivfSegList, ivfSegs, ivfBias, ivfK, ivfHd, ivfHl)
  ivfQ = (ivfQ + 1) % 64
}

// The probe: one query against the coarse centroids (pinned, as trained centroids are).
const probeShapes = [
  { n: 1024, d: 100 },
  { n: 4096, d: 128 },
].map(({ n, d: pd }) => {
  const c = rand(n * pd)
  WASM.pin!(c)
  TS.pin?.(c)
  return { n, d: pd, c, q: rand(pd), out: new Float32Array(n) }
})

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
  ...probeShapes.map(
    (p): Task => ({
      name: `probe l2sqrMany ${p.n} x ${p.d}`,
      units: 1e-6,
      unit: 'us per query',
      backends: [WASM, TS],
      run: (k) => k.l2sqrMany(p.q, 0, p.c, p.n, p.d, p.out),
    }),
  ),
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
  bench.add(key(ivfName, 'wasm'), ivfSearch)
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
const rate = (t: Task, b: string): number => {
  const s = sec(t.name, b)
  if (t.unit === 'per s') return 1 / s
  if (t.unit === 'us per query') return s * 1e6
  return t.units / s / 1e6
}
const rows: Record<string, string | number>[] = []
for (const t of tasks) {
  for (const b of t.backends)
    rows.push({
      task: t.name,
      backend: b.name,
      rate: +rate(t, b.name).toFixed(3),
      unit: t.unit,
    })
}
const fsName = 'fast-scan search m=16, 1M codes, k=10'
rows.push({ task: fsName, backend: 'wasm', rate: +(nCodes / sec(fsName, 'wasm') / 1e6).toFixed(1), unit: 'M codes/s' })
rows.push({ task: fsName, backend: 'ts', rate: +(nCodes / sec(fsName, 'ts') / 1e6).toFixed(1), unit: 'M codes/s' })
rows.push({ task: ivfName, backend: 'wasm', rate: +((ivfSegs * ivfN) / sec(ivfName, 'wasm') / 1e6).toFixed(1), unit: 'M codes/s' })
const ratio = (t: string, a = 'wasm', b = 'ts'): number => sec(t, b) / sec(t, a)
const figures = {
  fastscan_m16_search_Mcodes_s: nCodes / sec(fsName, 'wasm') / 1e6,
  fastscan_m16_fraction_of_bandwidth: nCodes / sec(fsName, 'wasm') / 3.4e9,
  fastscan_vs_ts_adc4_search: ratio(fsName),
  fastscan_ivf_m50_terms_Mcodes_s: (ivfSegs * ivfN) / sec(ivfName, 'wasm') / 1e6,
  probe_l2_1024x100_wasm_us: sec(tasks[4]!.name, 'wasm') * 1e6,
  probe_l2_4096x128_wasm_us: sec(tasks[5]!.name, 'wasm') * 1e6,
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
ivfFs.free()
