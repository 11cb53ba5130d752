/**
 * The lookup-table scan of RaBitQ codes (Kernels.createLutScan) against the 4-bit PQ
 * fast-scan engine (Kernels.createFastScan) on the same n and m, and against the plain
 * TypeScript reference (reference/lutscan.ts), in one process: every round runs each point
 * once (a time budget of calls), in an order shuffled per round, and a point's figure is the
 * median of its rounds (M codes/s).
 *
 * Shapes: m = 25 and m = 96 sub-codes (1-bit RaBitQ of d = 100 and d = 384; PQ25x4 and
 * PQ96x4 for the fast-scan), each as
 * - exhaustive: one segment of 1,000,000 codes, k = 10;
 * - IVF-like: 64 segments of 333 codes (21,312 codes per call), k = 10.
 * LutScan: byte tables as a query quantized to 4 bits gives (entries 0..60), a per-list
 * table and constants, a and b per item; its calls include copying the tables in (the
 * caller builds them). PQ fast-scan: a query per call (its float and byte tables are built
 * inside the call), inner-product tables; the IVF shape also with terms (the residual L2
 * layout, m + 1 columns). Before timing, the LutScan heap of one call is checked against
 * the reference's, slot for slot.
 *
 *   npx tsx bench/kernels-lutscan.ts [--rounds 7] [--budget 200] [--quick] [--out bench/results/kernels-lutscan.json]
 *     [--wasm a.wasm,b.wasm]
 *
 * --wasm: builds of kernels.wasm to compare (each loaded into a runtime of its own); their
 * LutScan points are added, named by file, beside those of the default build.
 * --m 25,384 / --workload ivf|exhaustive: only those shapes (any m). --calls N: no timing, N calls of
 * each LutScan point (for instruction counts: run under callgrind with two values of N and
 * take the difference), e.g.
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/ls.out node --import tsx bench/kernels-lutscan.ts --m 25 --workload ivf --wasm b.wasm --calls 200
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import {
  createWasmKernels,
  fastScanPack,
  fastScanPackedSize,
  getKernels,
  heapInit,
  type Kernels,
  type LutScan,
  type LutScanSegment,
  lutScanSearchReference,
  packCodes,
  WasmRuntime,
} from 'vqlite/kernels'
import { machineInfo, saveJson } from './lib/report.js'
import { interleavedRounds, median } from './lib/rounds.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    budget: { type: 'string', default: '200' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/kernels-lutscan.json' },
    wasm: { type: 'string', default: '' },
    m: { type: 'string', default: '' },
    workload: { type: 'string', default: '' },
    calls: { type: 'string', default: '' },
  },
})
const rounds = values.quick ? 3 : Number(values.rounds)
const budgetMs = values.quick ? 80 : Number(values.budget)
const K = getKernels('wasm')
const WA = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly
const builds: Array<{ file: string; k: Kernels }> = values.wasm
  .split(',')
  .filter((f) => f !== '')
  .map((file) => ({ file, k: createWasmKernels(new WasmRuntime(new WA.Module(readFileSync(file)))) }))

/** mulberry32: a small seeded generator for the inputs. */
function gen(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const rand = gen(2026)
const K_TOP = 10
const QUERIES = 8

interface Workload {
  readonly name: string
  readonly sizes: readonly number[]
}
const workloads: Workload[] = [
  { name: 'exhaustive 1M', sizes: [1_000_000] },
  { name: 'IVF 64 x 333', sizes: Array.from({ length: 64 }, () => 333) },
].filter((w) => values.workload === '' || w.name.toLowerCase().startsWith(values.workload.toLowerCase()))
const ms = values.m === '' ? [25, 96] : values.m.split(',').map(Number)

interface Point {
  readonly name: string
  readonly m: number
  readonly workload: string
  readonly engine: string
  readonly codes: number
  readonly call: (q: number) => number
}

const points: Point[] = []
const checks: string[] = []

for (const m of ms) {
  for (const wl of workloads) {
    const nl = wl.sizes.length
    const codes = wl.sizes.reduce((s, n) => s + n, 0)
    const cs = Math.ceil(m / 2)
    const ls = K.createLutScan!(m)
    const others: LutScan[] = builds.map((b) => b.k.createLutScan!(m))
    const fs = K.createFastScan!(
      Float32Array.from({ length: m * 16 * 2 }, () => rand() * 2 - 1),
      m,
      2,
      'ip',
    )
    const fsT =
      nl > 1
        ? K.createFastScan!(
            Float32Array.from({ length: m * 16 * 2 }, () => rand() * 2 - 1),
            m,
            2,
            'ip',
            true,
          )
        : null
    const refSegs: LutScanSegment[] = []
    wl.sizes.forEach((n, s) => {
      const sub = new Int32Array(n * m)
      for (let i = 0; i < sub.length; i++) sub[i] = (rand() * 16) | 0
      const packedCodes = new Uint8Array(n * cs)
      packCodes(sub, n, m, 4, packedCodes)
      const packed = new Uint8Array(fastScanPackedSize(n, m))
      fastScanPack(packedCodes, 0, cs, n, m, packed, 0)
      const a = Float32Array.from({ length: n }, () => 1 + 2 * rand())
      const b = Float32Array.from({ length: n }, () => -1.5 - rand())
      ls.setSegment(s, packed, n, a, b)
      for (const o of others) o.setSegment(s, packed, n, a, b)
      fs.setSegment(s, packed, n)
      if (fsT) {
        const withTerms = new Uint8Array(fastScanPackedSize(n, m + 1))
        fastScanPack(packedCodes, 0, cs, n, m, withTerms, 0, m + 1)
        fsT.setSegment(
          s,
          withTerms,
          n,
          Float32Array.from({ length: n }, () => rand() * 0.5),
        )
      }
      refSegs.push({ codes: Uint8Array.from(sub), n, a, b })
    })
    const segs = Int32Array.from({ length: nl }, (_, s) => s)
    // Per query: a byte table per list (sums of 4 values of a 4-bit query: 0..60) and constants.
    const tables = Array.from({ length: QUERIES }, () => {
      const qu = Uint8Array.from({ length: 4 * m }, () => (rand() * 16) | 0)
      const t = new Uint8Array(nl * m * 16)
      for (let l = 0; l < nl; l++) {
        for (let j = 0; j < m; j++) {
          for (let c = 0; c < 16; c++) {
            let v = 0
            for (let bit = 0; bit < 4; bit++) if ((c >> bit) & 1) v += qu[4 * j + bit]!
            t[(l * m + j) * 16 + c] = Math.min(255, v + ((l * 7) % 3))
          }
        }
      }
      return t
    })
    const consts = Array.from({ length: QUERIES }, () =>
      Float32Array.from({ length: 3 * nl }, (_, j) => (j % 3 === 0 ? 1 / (15 * m) : j % 3 === 1 ? -1 + 0.1 * rand() : rand())),
    )
    const queries = Float32Array.from({ length: QUERIES * m * 2 }, () => rand() * 2 - 1)
    const bias = Float32Array.from({ length: nl }, () => rand())
    const hd = new Float32Array(K_TOP)
    const hl = new Float64Array(K_TOP)

    // Check one call of each query against the reference, slot for slot.
    for (let q = 0; q < (codes > 100_000 ? 1 : QUERIES); q++) {
      heapInit(K_TOP, hd, hl)
      ls.search(segs, nl, tables[q]!, consts[q]!, K_TOP, hd, hl)
      const rd = new Float32Array(K_TOP)
      const rl = new Float64Array(K_TOP)
      heapInit(K_TOP, rd, rl)
      lutScanSearchReference(refSegs, m, segs, nl, tables[q]!, consts[q]!, K_TOP, rd, rl)
      const same = rd.every((v, i) => Object.is(v, hd[i])) && rl.every((v, i) => v === hl[i])
      if (!same) throw new Error(`m=${m} ${wl.name} query ${q}: the wasm heap differs from the reference`)
      others.forEach((o, bi) => {
        heapInit(K_TOP, hd, hl)
        o.search(segs, nl, tables[q]!, consts[q]!, K_TOP, hd, hl)
        if (!(rd.every((v, i) => Object.is(v, hd[i])) && rl.every((v, i) => v === hl[i])))
          throw new Error(`m=${m} ${wl.name} query ${q}: the heap of ${builds[bi]!.file} differs from the reference`)
      })
    }
    checks.push(`m=${m} ${wl.name}: heaps equal to the reference`)

    const base = { m, workload: wl.name, codes }
    points.push({
      ...base,
      name: `m=${m} ${wl.name} LutScan (wasm)`,
      engine: 'lutscan',
      call: (q) => {
        heapInit(K_TOP, hd, hl)
        return ls.search(segs, nl, tables[q]!, consts[q]!, K_TOP, hd, hl)
      },
    })
    others.forEach((o, bi) => {
      points.push({
        ...base,
        name: `m=${m} ${wl.name} LutScan (${builds[bi]!.file})`,
        engine: `lutscan ${builds[bi]!.file}`,
        call: (q) => {
          heapInit(K_TOP, hd, hl)
          return o.search(segs, nl, tables[q]!, consts[q]!, K_TOP, hd, hl)
        },
      })
    })
    points.push({
      ...base,
      name: `m=${m} ${wl.name} PQ fast-scan (wasm)`,
      engine: 'pq-fastscan',
      call: (q) => {
        heapInit(K_TOP, hd, hl)
        fs.setQuery(queries, q * m * 2)
        return fs.search(segs, nl, bias, K_TOP, hd, hl)
      },
    })
    if (fsT)
      points.push({
        ...base,
        name: `m=${m} ${wl.name} PQ fast-scan + terms (wasm)`,
        engine: 'pq-fastscan-terms',
        call: (q) => {
          heapInit(K_TOP, hd, hl)
          fsT.setQuery(queries, q * m * 2)
          return fsT.search(segs, nl, bias, K_TOP, hd, hl)
        },
      })
    points.push({
      ...base,
      name: `m=${m} ${wl.name} LutScan reference (ts)`,
      engine: 'reference',
      call: (q) => {
        const rd = new Float32Array(K_TOP)
        const rl = new Float64Array(K_TOP)
        heapInit(K_TOP, rd, rl)
        return lutScanSearchReference(refSegs, m, segs, nl, tables[q]!, consts[q]!, K_TOP, rd, rl)
      },
    })
  }
}

/** Calls a point for the time budget (at least once); returns M codes/s. */
let qi = 0
function measure(p: Point): number {
  let scanned = 0
  const t0 = performance.now()
  let t = t0
  do {
    scanned += p.call(qi)
    qi = (qi + 1) % QUERIES
    t = performance.now()
  } while (t - t0 < budgetMs)
  return scanned / ((t - t0) * 1e3)
}

for (const c of checks) console.log(c)
if (values.calls !== '') {
  const calls = Number(values.calls)
  for (const p of points) {
    // Only the named builds when there are some: one build's instructions per run.
    if (!p.engine.startsWith('lutscan') || (builds.length > 0 && p.engine === 'lutscan')) continue
    let scanned = 0
    for (let c = 0; c < calls; c++) scanned += p.call(c % QUERIES)
    console.log(`${p.name}: ${calls} calls, ${scanned} codes`)
  }
  process.exit(0)
}
const samples = await interleavedRounds(points.length, (p) => measure(points[p]!), {
  rounds,
  seed: 16,
  warm: (p) => measure(points[p]!),
})

const results = points.map((p, i) => ({
  name: p.name,
  m: p.m,
  workload: p.workload,
  engine: p.engine,
  codesPerCall: p.codes,
  mCodesPerSec: median(samples[i]!),
  samples: samples[i]!,
}))
const find = (m: number, w: string, e: string): number =>
  results.find((r) => r.m === m && r.workload === w && r.engine === e)?.mCodesPerSec ?? NaN
const ratios = []
for (const m of ms) {
  for (const wl of workloads) {
    const lut = find(m, wl.name, 'lutscan')
    ratios.push({
      m,
      workload: wl.name,
      pqOverLut: find(m, wl.name, 'pq-fastscan') / lut,
      pqTermsOverLut: find(m, wl.name, 'pq-fastscan-terms') / lut,
      lutOverReference: lut / find(m, wl.name, 'reference'),
    })
  }
}

const pad = Math.max(...results.map((r) => r.name.length))
for (const r of results) console.log(`${r.name.padEnd(pad)}  ${r.mCodesPerSec.toFixed(1).padStart(8)} M codes/s`)
for (const r of ratios)
  console.log(
    `m=${r.m} ${r.workload}: PQ fast-scan / LutScan ${r.pqOverLut.toFixed(2)}x${Number.isNaN(r.pqTermsOverLut) ? '' : `, PQ + terms / LutScan ${r.pqTermsOverLut.toFixed(2)}x`}, LutScan / reference ${r.lutOverReference.toFixed(1)}x`,
  )
saveJson(values.out, {
  bench: 'kernels-lutscan',
  method: `in-process, interleaved rounds (${rounds}, shuffled per round), ${budgetMs} ms of calls per sample, median; k = ${K_TOP}`,
  machine: machineInfo(),
  checks,
  results,
  ratios,
})
console.log(`wrote ${values.out}`)
