/**
 * Micro-benchmarks of the native-free kernels (tinybench), one core:
 * - ADC scan of 8-bit PQ codes, m = 16 (codes/s), against the reference loop;
 * - ADC scan of 4-bit codes, m = 16 and m = 32;
 * - squared L2 one-to-many (floats/s);
 * - k-means assignment: the blocked many-to-many kernel against a plain one-to-many loop;
 * - SQ8 distances on codes; one full k-means iteration (n = 100,000, d = 100, k = 1,024).
 *
 *   npm run build && node dist/bench/kernels.bench.js [--quick]
 *
 * Prints a table and writes bench/results/kernels.json.
 */
import { parseArgs } from 'node:util'
import { Bench } from 'tinybench'
import { getKernels, packCodes, referenceKernels } from '../native-free-kernels/index.js'
import { assignNearest, trainKMeans } from '../src/clustering/kmeans.js'
import { Rng } from '../src/util/random.js'
import { machineInfo, saveJson } from './lib/report.js'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: 'bench/results/kernels.json' } } })
const K = getKernels()
const rng = new Rng(7)
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.float() * 2 - 1)
const time = values.quick ? 300 : 2000

// ADC scan inputs: 1,000,000 codes.
const nCodes = 1_000_000
const codes8 = new Uint8Array(nCodes * 16)
for (let i = 0; i < codes8.length; i++) codes8[i] = rng.int(256)
const table8 = rand(16 * 256)
const codes4x16 = new Uint8Array(nCodes * 8)
packCodes(Int32Array.from({ length: nCodes * 16 }, () => rng.int(16)), nCodes, 16, 4, codes4x16)
const codes4x32 = new Uint8Array(nCodes * 16)
packCodes(Int32Array.from({ length: nCodes * 32 }, () => rng.int(16)), nCodes, 32, 4, codes4x32)
const table4x16 = rand(16 * 16)
const table4x32 = rand(32 * 16)
const out = new Float32Array(nCodes)

// Distances: 100,000 vectors of d = 100.
const d = 100
const nVec = 100_000
const base = rand(nVec * d)
const q = rand(d)
const sq8 = new Uint8Array(nVec * d)
for (let i = 0; i < sq8.length; i++) sq8[i] = rng.int(256)
const step = Float32Array.from({ length: d }, () => 0.01)

// Assignment: 4,096 points against 1,024 centroids, d = 100.
const nAssign = 4096
const kc = 1024
const pts = rand(nAssign * d)
const cents = rand(kc * d)
const cNorms = new Float64Array(kc)
K.normsL2sqr(cents, kc, d, cNorms)
const aIdx = new Int32Array(nAssign)
const aDist = new Float32Array(nAssign)
const row = new Float32Array(kc)
/** The plain loop: the one-to-many kernel per point, then an arg-min. */
function assignOneToMany(): void {
  for (let i = 0; i < nAssign; i++) {
    K.l2sqrMany(pts, i * d, cents, kc, d, row)
    let best = Infinity
    let arg = -1
    for (let j = 0; j < kc; j++) if (row[j]! < best) { best = row[j]!; arg = j }
    aIdx[i] = arg
    aDist[i] = best
  }
}

// One k-means iteration at the acceptance size.
const nKm = 100_000
const kmData = rand(nKm * d)
const kmCents = kmData.slice(0, kc * d)
const kmNorms = new Float64Array(kc)
const kmIdx = new Int32Array(nKm)
const kmDist = new Float32Array(nKm)

const bench = new Bench({ name: 'native-free kernels (ts backend)', time, iterations: 3, warmupIterations: 2 })
bench
  .add('pqScan 8-bit m=16 (1M codes)', () => K.pqScan(codes8, nCodes, 16, 8, table8, out))
  .add('pqScan 8-bit m=16 reference (1M codes)', () => referenceKernels.pqScan(codes8, nCodes, 16, 8, table8, out))
  .add('pqScan 4-bit m=16 (1M codes)', () => K.pqScan(codes4x16, nCodes, 16, 4, table4x16, out))
  .add('pqScan 4-bit m=32 (1M codes)', () => K.pqScan(codes4x32, nCodes, 32, 4, table4x32, out))
  .add('l2sqrMany d=100 (100k vectors)', () => K.l2sqrMany(q, 0, base, nVec, d, out))
  .add('sq8L2 d=100 (100k codes)', () => K.sq8L2(q, step, sq8, nVec, d, out))
  .add('assign blocked nearestL2 (4096 x 1024, d=100)', () => K.nearestL2(pts, nAssign, cents, kc, d, cNorms, aIdx, aDist))
  .add('assign one-to-many loop (4096 x 1024, d=100)', assignOneToMany)
  .add('assign reference double loop (4096 x 1024, d=100)', () => referenceKernels.nearestL2(pts, nAssign, cents, kc, d, cNorms, aIdx, aDist))
  .add('k-means iteration (n=100k, d=100, k=1024)', () => {
    K.normsL2sqr(kmCents, kc, d, kmNorms)
    assignNearest(K, kmData, nKm, d, kmCents, kc, kmNorms, kmIdx, kmDist)
  })

if (!values.quick) {
  bench.add('trainKMeans 1 iteration incl. update (n=100k, d=100, k=1024)', () => {
    trainKMeans(kmData, nKm, d, kc, { iterations: 1, init: 'random', tolerance: 0 })
  })
}

await bench.run()

const mean = (name: string): number => {
  const t = bench.getTask(name)?.result
  if (!t || !('latency' in t)) throw new Error(`task ${name} did not complete`)
  return t.latency.mean / 1000 // seconds
}
const figures = {
  adc8_m16_Mcodes_s: nCodes / mean('pqScan 8-bit m=16 (1M codes)') / 1e6,
  adc8_m16_reference_Mcodes_s: nCodes / mean('pqScan 8-bit m=16 reference (1M codes)') / 1e6,
  adc4_m16_Mcodes_s: nCodes / mean('pqScan 4-bit m=16 (1M codes)') / 1e6,
  adc4_m32_Mcodes_s: nCodes / mean('pqScan 4-bit m=32 (1M codes)') / 1e6,
  l2_Gfloats_s: (nVec * d) / mean('l2sqrMany d=100 (100k vectors)') / 1e9,
  sq8_Mcodes_s: nVec / mean('sq8L2 d=100 (100k codes)') / 1e6,
  assign_blocked_Gmadd_s: (nAssign * kc * d) / mean('assign blocked nearestL2 (4096 x 1024, d=100)') / 1e9,
  assign_speedup_vs_one_to_many: mean('assign one-to-many loop (4096 x 1024, d=100)') / mean('assign blocked nearestL2 (4096 x 1024, d=100)'),
  assign_speedup_vs_reference: mean('assign reference double loop (4096 x 1024, d=100)') / mean('assign blocked nearestL2 (4096 x 1024, d=100)'),
  kmeans_assign_iteration_s: mean('k-means iteration (n=100k, d=100, k=1024)'),
}
console.log(bench.name)
console.table(bench.table())
for (const [key, v] of Object.entries(figures)) console.log(`${key.padEnd(34)} ${v.toFixed(2)}`)
saveJson(values.out, {
  bench: 'kernels', machine: machineInfo(), figures,
  tasks: bench.tasks.map((t) => ({ name: t.name, mean_ms: 'latency' in t.result ? t.result.latency.mean : null, samples: 'latency' in t.result ? t.result.latency.samplesCount : null })),
})
console.log(`saved ${values.out}`)
