import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { median } from '../../bench/lib/rounds.js'
import {
  nearestDivisor,
  nonMonotoneFamilies,
  rateDistortion,
  rateDistortionConfigs,
  rateDistortionSvg,
} from '../../bench/suite/rate-distortion.js'
import { annRecall } from '../../bench/suite/recall.js'
import { compareRepeats, repeatMarkdown } from '../../bench/suite/repeat.js'
import { fastestPerSeries, markdownReport, paretoFrontier, recallQpsSvg } from '../../bench/suite/report.js'
import { type BenchRow, runBench } from '../../bench/suite/run.js'
import type { EvalDataset } from '../../datasets/glove100.js'
import { loadDataset } from '../../datasets/load.js'

const cacheDir = mkdtempSync(join(tmpdir(), 'vqlite-suite-'))

/** A hand-made 1-d set: base 0..9 on a line, one query at 2.0. */
function lineSet(): EvalDataset {
  const base = Float32Array.from({ length: 10 }, (_, i) => i)
  return {
    name: 'line',
    metric: 'l2',
    d: 1,
    base,
    nb: 10,
    queries: Float32Array.of(2),
    nq: 1,
    groundTruth: Int32Array.of(2, 1, 3, 0, 4),
    groundTruthDistances: Float32Array.of(0, 1, 1, 4, 4),
    gtK: 5,
  }
}

describe('ann-benchmarks recall', () => {
  it('counts items within the k-th true distance + 1e-3 (ties included), in Euclidean (not squared) units', () => {
    const ds = lineSet()
    expect(annRecall(ds, [2, 1, 3], 3, 3)).toBe(1)
    // 1 and 3 tie at distance 1: either completes the top 2.
    expect(annRecall(ds, [2, 3], 2, 2)).toBe(1)
    expect(annRecall(ds, [2, 0], 2, 2)).toBe(0.5)
    expect(annRecall(ds, [-1, 2], 2, 2)).toBe(0.5)
    // A base point 1.0005 away is within the tolerance of a k-th distance of 1.
    const near: EvalDataset = { ...ds, base: Float32Array.of(0, 1, 2, 3.0005, 4, 5, 6, 7, 8, 9) }
    expect(annRecall(near, [2, 3], 2, 2)).toBe(1)
    const far: EvalDataset = { ...ds, base: Float32Array.of(0, 1, 2, 3.01, 4, 5, 6, 7, 8, 9) }
    expect(annRecall(far, [2, 3], 2, 2)).toBe(0.5)
    expect(() => annRecall(ds, [2], 1, 6)).toThrow(RangeError)
  })
})

function row(system: BenchRow['system'], config: string, recall10: number, qps: number, params: Record<string, number> = {}): BenchRow {
  return {
    dataset: 't',
    metric: 'l2',
    nb: 1,
    nq: 1,
    d: 1,
    system,
    config,
    params,
    k: 10,
    recall1: recall10,
    recall10,
    recall100: null,
    qps,
    qpsRounds: [qps],
    p50Ms: 1,
    p99Ms: 2,
    qpsBatch: null,
    threads: null,
    trainS: 0,
    addS: 0,
    buildS: 0,
    fileBytes: 0,
    ramBytesPerVector: 1,
    kernels: null,
    machine: { cpu: 'x', cores: 2, node: 'v20', date: 'now' },
  }
}

describe('reports', () => {
  const rows = [
    row('vqlite', 'IVF', 0.6, 5000, { nprobe: 1 }),
    row('vqlite', 'IVF', 0.9, 2000, { nprobe: 8 }),
    row('vqlite', 'IVF', 0.85, 1000, { nprobe: 4 }),
    row('vqlite', 'IVF', 0.99, 300, { nprobe: 64 }),
    row('hnswlib', 'HNSW M=16 efC=200', 0.95, 2500, { ef: 100 }),
    row('flat', 'Flat', 1, 50),
  ]
  it('the fastest point per series at each recall target, and Pareto frontiers', () => {
    expect(fastestPerSeries(rows, 0.9).map((r) => [r.config, r.qps])).toEqual([
      ['HNSW M=16 efC=200', 2500],
      ['IVF', 2000],
      ['Flat', 50],
    ])
    expect(fastestPerSeries(rows, 0.99).map((r) => r.qps)).toEqual([300, 50])
    // (0.85, 1000) is dominated by (0.9, 2000)
    expect(
      paretoFrontier(rows)
        .filter((r) => r.system === 'vqlite')
        .map((r) => r.recall10)
        .sort(),
    ).toEqual([0.6, 0.9, 0.99])
    const md = markdownReport(rows)
    expect(md).toContain('| 0.95 | hnswlib M=16 efC=200 | ef 100 | 0.9500 | 2,500 |')
    expect(md).toContain('| 0.99 | vqlite IVF | nprobe 64 | 0.9900 | 300 |')
    expect(markdownReport(rows, true)).toContain('Interrupted')
  })

  it('the recall-QPS plot is an SVG drawn by vega with the axis titles, a log axis and one legend entry per series', async () => {
    const svg = await recallQpsSvg(rows)
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('recall@10')
    expect(svg).toContain('queries per second (log scale)')
    for (const s of ['vqlite IVF', 'hnswlib M=16 efC=200', 'exact (Flat)']) expect(svg).toContain(s)
    // three series: three line paths in the marks group
    expect((svg.match(/class="mark-line/g) ?? []).length).toBeGreaterThanOrEqual(1)
  })
})

describe('repeatability of two runs', () => {
  it('pairs points by series and parameters, finds swapped pairs and the largest per-point difference', () => {
    const a = [
      row('vqlite', 'IVF', 0.6, 1000, { nprobe: 1 }),
      row('vqlite', 'IVF', 0.8, 500, { nprobe: 4 }),
      row('vqlite', 'IVF', 0.9, 250, { nprobe: 16 }),
      row('hnswlib', 'HNSW M=16 efC=200', 0.9, 800, { ef: 40 }),
    ]
    const same = compareRepeats(a, [...a].reverse())
    expect(same.sameRanking).toBe(true)
    expect(same.maxRelativeDiff).toBe(0)
    expect(same.pairs).toBe(6)
    const b = [
      row('vqlite', 'IVF', 0.6, 1050, { nprobe: 1 }),
      row('vqlite', 'IVF', 0.8, 450, { nprobe: 4 }),
      row('vqlite', 'IVF', 0.9, 250, { nprobe: 16 }),
      row('hnswlib', 'HNSW M=16 efC=200', 0.9, 1100, { ef: 40 }),
      row('vqlite', 'IVF', 0.95, 100, { nprobe: 64 }),
    ]
    const c = compareRepeats(a, b)
    expect(c.points.map((p) => p.relativeDiff)).toEqual([0.05, 0.1, 0, 0.375])
    expect(c.maxRelativeDiff).toBe(0.375)
    // hnswlib 800 < nprobe 1 1000 in run A, 1100 > 1050 in run B: one swapped pair.
    expect(c.swappedPairs).toBe(1)
    expect(c.sameRanking).toBe(false)
    expect(c.unmatched).toEqual(['vqlite IVF [nprobe=64]'])
    const md = repeatMarkdown(c, 1, 2)
    expect(md).toContain('Same ranking of points: no (1 of 6 pairs swapped); max per-point QPS difference 37.5% (NOT within')
    expect(md).toContain('| vqlite IVF [nprobe=4] | 500 | 450 | 10.0% |')
    expect(repeatMarkdown(compareRepeats(a, a), 1, 2)).toContain('(within the 10% / same-ranking target)')
  })
})

describe('the suite on a small synthetic set', () => {
  it('measures vqlite sweeps, exact search and hnswlib with sane figures; an abort keeps the rows measured', async () => {
    const ds = await loadDataset('synthetic:3000:16:50:7', { cacheDir })
    const got: BenchRow[] = []
    const rows = await runBench(ds, {
      indexes: ['IVF16,PQ8,RFlat'],
      nprobe: [1, 16],
      refine: [1, 10],
      threads: 1,
      hnsw: { M: 8, efConstruction: 40, ef: [10, 80] },
      onRow: (r) => got.push(r),
    })
    expect(got).toEqual(rows)
    const vq = rows.filter((r) => r.system === 'vqlite')
    expect(vq.map((r) => r.params)).toEqual([
      { nprobe: 1, refineFactor: 1 },
      { nprobe: 1, refineFactor: 10 },
      { nprobe: 16, refineFactor: 1 },
      { nprobe: 16, refineFactor: 10 },
    ])
    const full = vq[3]!
    expect(full.recall10!).toBeGreaterThan(0.95) // every list probed, 100 candidates re-ranked exactly
    expect(full.recall10!).toBeGreaterThan(vq[2]!.recall10!)
    expect(vq[0]!.recall10!).toBeLessThan(full.recall10!)
    for (const r of [...vq, ...rows.filter((x) => x.system !== 'vqlite')]) {
      // The default 5 interleaved rounds; the reported QPS is their median.
      expect(r.qpsRounds.length).toBe(5)
      expect(r.qps).toBe(median(r.qpsRounds))
    }
    for (const r of vq) {
      expect(r.qps).toBeGreaterThan(0)
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms)
      expect(r.recall100).not.toBeNull()
      expect(r.ramBytesPerVector).toBeGreaterThan(8)
      expect(r.fileBytes).toBeGreaterThan(3000 * 16 * 4)
    }
    const flat = rows.find((r) => r.system === 'flat')!
    expect([flat.recall1, flat.recall10, flat.recall100]).toEqual([1, 1, 1])
    const h = rows.filter((r) => r.system === 'hnswlib')
    expect(h.map((r) => r.params)).toEqual([{ ef: 10 }, { ef: 80 }])
    expect(h[1]!.recall10!).toBeGreaterThanOrEqual(h[0]!.recall10!)

    const ac = new AbortController()
    const partial = await runBench(ds, {
      indexes: ['IVF16,PQ8,RFlat'],
      nprobe: [1, 2, 4, 8],
      refine: [1],
      threads: 1,
      hnsw: null,
      flat: false,
      signal: ac.signal,
      onRow: () => ac.abort(),
    })
    expect(partial.length).toBe(1)
  }, 120_000)
})

describe('rate-distortion', () => {
  it('configurations: SQ, PQ 4/8-bit at m = d/8, d/4, d/2 (nearest divisors), OPQ and RaBitQ', () => {
    expect(nearestDivisor(100, 12.5)).toBe(10)
    expect(nearestDivisor(128, 16)).toBe(16)
    expect(rateDistortionConfigs(128).map((c) => c.description)).toEqual([
      'SQ4',
      'SQ8',
      'SQfp16',
      'PQ16x4',
      'PQ32x4',
      'PQ64x4',
      'PQ16',
      'PQ32',
      'PQ64',
      'OPQ16,PQ16',
      'OPQ32,PQ32',
      'RaBitQ',
      'RaBitQ2',
      'RaBitQ4',
      'RaBitQ8',
    ])
    expect(
      nonMonotoneFamilies([
        { dataset: 'x', family: 'A', description: 'a1', bitsPerDimension: 1, codeBytes: 1, mse: 2, recall10: 0, trainS: 0 },
        { dataset: 'x', family: 'A', description: 'a2', bitsPerDimension: 2, codeBytes: 1, mse: 3, recall10: 0, trainS: 0 },
      ]),
    ).toEqual(['A'])
  })

  it('MSE falls with bits in every family on a small set, and the plot renders', async () => {
    const ds = await loadDataset('synthetic:2000:16:20:3', { cacheDir })
    const rows = await rateDistortion(ds)
    expect(rows.length).toBe(rateDistortionConfigs(16).length)
    expect(nonMonotoneFamilies(rows)).toEqual([])
    for (const r of rows) expect(r.recall10).toBeGreaterThan(0)
    const svg = await rateDistortionSvg(rows)
    expect(svg).toContain('reconstruction MSE (log scale)')
  }, 120_000)
})
