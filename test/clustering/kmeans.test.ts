import { describe, expect, it } from 'vitest'
import { referenceKernels, tsKernels } from '../../native-free-kernels/index.js'
import { trainKMeans } from '../../src/clustering/kmeans.js'
import { VqInputError, type VqWarning } from '../../src/errors.js'
import { Rng } from '../../src/util/random.js'
import { clusteredVectors, randomVectors } from '../helpers/data.js'

/** Sum of squared distances of each point to its nearest centroid (naive). */
function sse(x: Float32Array, n: number, d: number, c: Float32Array, k: number): number {
  let s = 0
  for (let i = 0; i < n; i++) {
    let best = Infinity
    for (let j = 0; j < k; j++) best = Math.min(best, referenceKernels.l2sqr(x, i * d, c, j * d, d))
    s += best
  }
  return s
}

describe('trainKMeans', () => {
  it('finds well-separated clusters: one centroid per true cluster', () => {
    const rng = new Rng(3)
    const k = 8,
      d = 5,
      per = 200
    const centres = randomVectors(k, d, 4, -10, 10)
    const x = new Float32Array(k * per * d)
    for (let c = 0; c < k; c++) {
      for (let i = 0; i < per; i++) for (let t = 0; t < d; t++) x[(c * per + i) * d + t] = centres[c * d + t]! + 0.05 * rng.normal()
    }
    // k-means++ seeds one centroid per well-separated cluster with high probability (random
    // seeding usually does not, and Lloyd iterations cannot escape that local minimum).
    for (const seed of [11, 12, 13]) {
      const res = trainKMeans(x, k * per, d, k, { init: 'kmeans++', seed })
      // Each true centre has a centroid within 0.05 (noise std 0.05/sqrt(200) per coordinate).
      for (let c = 0; c < k; c++) {
        let best = Infinity
        for (let j = 0; j < k; j++) best = Math.min(best, referenceKernels.l2sqr(centres, c * d, res.centroids, j * d, d))
        expect(best).toBeLessThan(0.05 ** 2)
      }
      // Objective ~ n*d*sigma^2 = 1600*5*0.0025 = 20.
      expect(res.objective).toBeLessThan(25)
    }
  })

  it('is deterministic for a seed and differs across seeds', () => {
    const x = clusteredVectors(3000, 12, 30, 5)
    const a = trainKMeans(x, 3000, 12, 20, { seed: 1 })
    const b = trainKMeans(x, 3000, 12, 20, { seed: 1 })
    const c = trainKMeans(x, 3000, 12, 20, { seed: 2 })
    expect(b.centroids).toEqual(a.centroids)
    expect(c.centroids).not.toEqual(a.centroids)
  })

  it('gives the same centroids with the reference and the fast kernels', () => {
    const x = clusteredVectors(2000, 7, 15, 9)
    const a = trainKMeans(x, 2000, 7, 12, { seed: 4, kernels: referenceKernels, tolerance: 0, iterations: 10 })
    const b = trainKMeans(x, 2000, 7, 12, { seed: 4, kernels: tsKernels, tolerance: 0, iterations: 10 })
    for (let i = 0; i < a.centroids.length; i++) expect(b.centroids[i]).toBeCloseTo(a.centroids[i]!, 4)
    expect(b.objective).toBeCloseTo(a.objective, 2)
  })

  it('never increases the objective between iterations, and reports it truthfully', () => {
    const n = 4000,
      d = 10,
      k = 50
    const x = clusteredVectors(n, d, 80, 21)
    // tolerance -1: run all 15 iterations (0 would stop at the first float32-rounding-level
    // rise, which the SIMD kernels can produce at convergence).
    const res = trainKMeans(x, n, d, k, { seed: 8, tolerance: -1, iterations: 15, init: 'random' })
    expect(res.iterations).toBe(15)
    expect(res.objectives.length).toBe(15)
    for (let i = 1; i < res.objectives.length; i++) expect(res.objectives[i]!).toBeLessThanOrEqual(res.objectives[i - 1]! * (1 + 1e-6))
    // The final centroids are at least as good as the last assignment's objective.
    expect(sse(x, n, d, res.centroids, k)).toBeLessThanOrEqual(res.objective * (1 + 1e-5))
  })

  it('k-means++ starts better than random on clustered data', () => {
    const n = 5000,
      d = 8,
      k = 40
    const x = clusteredVectors(n, d, 40, 31, 0.02)
    const pp = trainKMeans(x, n, d, k, { seed: 5, iterations: 1, init: 'kmeans++' })
    const rnd = trainKMeans(x, n, d, k, { seed: 5, iterations: 1, init: 'random' })
    expect(pp.objectives[0]!).toBeLessThan(rnd.objectives[0]!)
  })

  it('stops early when the objective stalls', () => {
    const x = clusteredVectors(2000, 4, 5, 2, 0.001)
    const res = trainKMeans(x, 2000, 4, 5, { seed: 3, iterations: 50, tolerance: 1e-4 })
    expect(res.iterations).toBeLessThan(50)
  })

  it('repairs empty clusters by splitting populated ones', () => {
    // 200 copies of one point plus 9 distinct points, k = 10: random seeding picks the
    // repeated point several times, leaving empty clusters that must be re-seeded.
    const d = 3
    const pts = randomVectors(10, d, 77, -5, 5)
    const n = 209
    const x = new Float32Array(n * d)
    for (let i = 0; i < 200; i++) x.set(pts.subarray(0, d), i * d)
    for (let i = 0; i < 9; i++) x.set(pts.subarray((i + 1) * d, (i + 2) * d), (200 + i) * d)
    const res = trainKMeans(x, n, d, 10, { seed: 6, init: 'random', iterations: 30, tolerance: 0, minPointsPerCentroid: 1 })
    expect(res.emptyClustersRepaired).toBeGreaterThan(0)
    expect(sse(x, n, d, res.centroids, 10)).toBeCloseTo(0, 6)
  })

  it('subsamples to k * maxPointsPerCentroid points', () => {
    const x = randomVectors(5000, 4, 1)
    const res = trainKMeans(x, 5000, 4, 10, { maxPointsPerCentroid: 100, iterations: 2 })
    expect(res.pointsUsed).toBe(1000)
    const all = trainKMeans(x, 5000, 4, 10, { maxPointsPerCentroid: Infinity, iterations: 2 })
    expect(all.pointsUsed).toBe(5000)
  })

  it('warns through the callback below 39 points per centroid, and only then', () => {
    const warnings: VqWarning[] = []
    trainKMeans(randomVectors(300, 4, 1), 300, 4, 10, { iterations: 1, onWarning: (w) => warnings.push(w) })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.code).toBe('FEW_TRAINING_POINTS')
    expect(warnings[0]!.message).toMatch(/300 points into 10 centroids/)
    warnings.length = 0
    trainKMeans(randomVectors(400, 4, 1), 400, 4, 10, { iterations: 1, onWarning: (w) => warnings.push(w) })
    expect(warnings).toHaveLength(0)
  })

  it('reports progress once per iteration', () => {
    const seen: number[] = []
    trainKMeans(randomVectors(500, 4, 1), 500, 4, 5, {
      iterations: 4,
      tolerance: 0,
      onProgress: (p) => {
        if (p.phase === 'iterate') seen.push(p.iteration)
      },
    })
    expect(seen).toEqual([1, 2, 3, 4])
  })

  it('rejects an empty training set and fewer points than centroids', () => {
    expect(() => trainKMeans(new Float32Array(0), 0, 4, 2)).toThrow(VqInputError)
    expect(() => trainKMeans(new Float32Array(0), 0, 4, 2)).toThrow(/at least one training point/)
    try {
      trainKMeans(randomVectors(5, 4, 1), 5, 4, 8)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(VqInputError)
      expect((e as VqInputError).code).toBe('TOO_FEW_TRAINING_POINTS')
    }
  })

  it('handles k = n and k = 1', () => {
    const x = randomVectors(20, 3, 2)
    const all = trainKMeans(x, 20, 3, 20, { minPointsPerCentroid: 1 })
    expect(all.objective).toBeCloseTo(0, 8)
    const one = trainKMeans(x, 20, 3, 1, { minPointsPerCentroid: 1 })
    for (let t = 0; t < 3; t++) {
      let mean = 0
      for (let i = 0; i < 20; i++) mean += x[i * 3 + t]! / 20
      expect(one.centroids[t]).toBeCloseTo(mean, 5)
    }
  })
})
