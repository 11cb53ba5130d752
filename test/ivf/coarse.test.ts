/**
 * The IVF coarse quantizer: training, assignment (an exact twin of a brute-force nearest
 * centroid over the reference kernels) and probing, for l2 and ip, on each fast backend.
 */
import { describe, expect, it } from 'vitest'
import { referenceKernels as ref } from '../../native-free-kernels/index.js'
import { assignRows } from '../../src/clustering/kmeans.js'
import { VqError } from '../../src/errors.js'
import { CoarseQuantizer } from '../../src/ivf/coarse.js'
import { fastBackends } from '../helpers/backends.js'
import { clusteredVectors, randomVectors } from '../helpers/data.js'

const d = 12
const nlist = 24
const n = 1500

/** Internal distance of x row i to centroid j (smaller is closer), from the reference kernels. */
function refDist(metric: 'l2' | 'ip', x: Float32Array, i: number, c: Float32Array, j: number): number {
  return metric === 'l2' ? ref.l2sqr(x, i * d, c, j * d, d) : -ref.innerProduct(x, i * d, c, j * d, d)
}

/** Brute force: every list of row i, nearest first, ties to the smaller list. */
function ranked(metric: 'l2' | 'ip', x: Float32Array, i: number, c: Float32Array, k: number): Array<[number, number]> {
  const all = Array.from({ length: k }, (_, j): [number, number] => [refDist(metric, x, i, c, j), j])
  return all.sort((a, b) => a[0] - b[0] || a[1] - b[1])
}

/** Float32 rounding between the kernels' summation orders and the reference's. */
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b))

describe.each(fastBackends)('CoarseQuantizer on the $name backend', ({ kernels }) => {
  const x = clusteredVectors(n, d, 40, 3, 0.3)
  const queries = randomVectors(50, d, 4, -2, 2)

  describe.each(['l2', 'ip'] as const)('metric %s', (metric) => {
    const cq = new CoarseQuantizer(nlist, d, metric, kernels)
    cq.train(x, n, { seed: 5 })

    it('training gives nlist finite centroids and their squared norms', () => {
      expect(cq.isTrained).toBe(true)
      expect(cq.centroids.length).toBe(nlist * d)
      expect(cq.centroids.every(Number.isFinite)).toBe(true)
      for (let j = 0; j < nlist; j++) expect(close(cq.norms[j]!, ref.innerProduct(cq.centroids, j * d, cq.centroids, j * d, d))).toBe(true)
      // distinct centroids (k-means on 40 clusters does not collapse lists)
      const seen = new Set(Array.from({ length: nlist }, (_, j) => Array.from(cq.centroids.subarray(j * d, (j + 1) * d)).join(',')))
      expect(seen.size).toBe(nlist)
    })

    it('training is deterministic for a seed', () => {
      const again = new CoarseQuantizer(nlist, d, metric, kernels)
      again.train(x, n, { seed: 5 })
      expect(Array.from(again.centroids)).toEqual(Array.from(cq.centroids))
    })

    it('assignment is the brute-force nearest centroid, with its distance', () => {
      const list = new Int32Array(n)
      const dist = new Float32Array(n)
      cq.assign(x, n, list, dist)
      let differ = 0
      const bad: string[] = []
      for (let i = 0; i < n; i++) {
        const [best, arg] = ranked(metric, x, i, cq.centroids, nlist)[0]!
        // The same list, except between lists at equal distance up to float32 rounding.
        if (list[i] !== arg) {
          differ++
          if (!close(refDist(metric, x, i, cq.centroids, list[i]!), best)) bad.push(`row ${i}: list ${list[i]}, nearest ${arg}`)
        }
        if (!close(dist[i]!, best)) bad.push(`row ${i}: distance ${dist[i]} vs ${best}`)
      }
      expect(bad).toEqual([])
      expect(differ).toBeLessThanOrEqual(n / 1000)
    })

    it('probing returns the nprobe nearest lists, nearest first, capped at nlist', () => {
      for (const nprobe of [1, 5, nlist, nlist + 7]) {
        const p = Math.min(nprobe, nlist)
        const lists = new Float64Array(nprobe)
        const dist = new Float32Array(nprobe)
        const bad: string[] = []
        for (let qi = 0; qi < 50; qi++) {
          expect(cq.probe(queries, qi * d, nprobe, lists, dist)).toBe(p)
          const want = ranked(metric, queries, qi, cq.centroids, nlist)
          for (let r = 0; r < p; r++) {
            if (r > 0 && dist[r]! < dist[r - 1]!) bad.push(`query ${qi} rank ${r}: not in order`)
            if (!close(dist[r]!, want[r]![0])) bad.push(`query ${qi} rank ${r}: distance ${dist[r]} vs ${want[r]![0]}`)
            // the list itself, unless its distance ties the wanted one within rounding
            if (lists[r] !== want[r]![1] && !close(refDist(metric, queries, qi, cq.centroids, lists[r]!), want[r]![0])) {
              bad.push(`query ${qi} rank ${r}: list ${lists[r]} vs ${want[r]![1]}`)
            }
          }
          if (new Set(Array.from(lists.subarray(0, p))).size !== p) bad.push(`query ${qi}: a list probed twice`)
        }
        expect(bad, `nprobe ${nprobe}`).toEqual([])
      }
    })

    it('a query probes first the list it would be assigned to', () => {
      const lists = new Float64Array(1)
      const pd = new Float32Array(1)
      const al = new Int32Array(1)
      const ad = new Float32Array(1)
      const bad: number[] = []
      for (let i = 0; i < 200; i++) {
        cq.probe(x, i * d, 1, lists, pd)
        cq.assign(x.subarray(i * d, (i + 1) * d), 1, al, ad)
        if (lists[0] !== al[0] && !close(pd[0]!, ad[0]!)) bad.push(i)
      }
      expect(bad).toEqual([])
    })

    it('exportState / loadState restore the same assignment', () => {
      const restored = new CoarseQuantizer(nlist, d, metric, kernels)
      expect(restored.isTrained).toBe(false)
      restored.loadState(cq.exportState())
      expect(restored.isTrained).toBe(true)
      const a = new Int32Array(n)
      const b = new Int32Array(n)
      cq.assign(x, n, a, new Float32Array(n))
      restored.assign(x, n, b, new Float32Array(n))
      expect(Array.from(b)).toEqual(Array.from(a))
    })
  })

  it('trainWith (assignment steps done by a callback) gives the centroids of train', async () => {
    const a = new CoarseQuantizer(nlist, d, 'l2', kernels)
    a.train(x, n, { seed: 9 })
    const b = new CoarseQuantizer(nlist, d, 'l2', kernels)
    let calls = 0
    await b.trainWith(x, n, { seed: 9 }, async (r) => {
      calls++
      assignRows(kernels, r)
    })
    expect(calls).toBeGreaterThan(0)
    expect(Array.from(b.centroids)).toEqual(Array.from(a.centroids))
  })

  it('nlist = 1: one list, no centroid, probe distance 0', () => {
    const one = new CoarseQuantizer(1, d, 'l2', kernels)
    expect(one.isTrained).toBe(true)
    one.train(x, n)
    expect(one.centroids.length).toBe(0)
    const list = new Int32Array(10).fill(-1)
    const dist = new Float32Array(10).fill(-1)
    one.assign(x, 10, list, dist)
    expect(Array.from(list)).toEqual(new Array(10).fill(0))
    expect(Array.from(dist)).toEqual(new Array(10).fill(0))
    const pl = new Float64Array(4)
    const pd = new Float32Array(4)
    expect(one.probe(queries, 0, 4, pl, pd)).toBe(1)
    expect(pl[0]).toBe(0)
    expect(pd[0]).toBe(0)
  })
})

describe('CoarseQuantizer bad input', () => {
  const kernels = fastBackends[0]!.kernels
  it('nlist outside 1..2^20 or not an integer is a VqOptionError (BAD_OPTION)', () => {
    for (const bad of [0, -3, 1.5, NaN, 2 ** 20 + 1]) {
      let err: unknown
      try {
        new CoarseQuantizer(bad, 4, 'l2', kernels)
      } catch (e) {
        err = e
      }
      expect(err, `nlist ${bad}`).toBeInstanceOf(VqError)
      expect((err as VqError).code).toBe('BAD_OPTION')
    }
    expect(() => new CoarseQuantizer(2 ** 20, 4, 'l2', kernels)).not.toThrow()
  })

  it('loadState with centroids of the wrong shape (another dimension, another nlist) is a VqError (CORRUPT_FILE)', () => {
    const cq = new CoarseQuantizer(8, 4, 'l2', kernels)
    cq.train(randomVectors(400, 4, 1), 400, { seed: 1 })
    const state = cq.exportState()
    for (const other of [new CoarseQuantizer(8, 5, 'l2', kernels), new CoarseQuantizer(9, 4, 'l2', kernels)]) {
      expect(() => other.loadState(state)).toThrow(VqError)
      try {
        other.loadState(state)
      } catch (e) {
        expect((e as VqError).code).toBe('CORRUPT_FILE')
      }
      expect(other.isTrained).toBe(false)
    }
  })
})
