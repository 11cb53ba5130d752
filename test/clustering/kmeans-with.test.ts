/**
 * trainKMeansWith drives the Lloyd loop with every assignment request fulfilled by the
 * caller (the worker pool splits each request's rows over its threads). Split the same way
 * here, in any order, the centroids are exactly those of trainKMeans, and every request
 * (the points' and the centroids' nearest-other search) lives in shared memory so workers
 * can fulfil it.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { getKernels } from '../../native-free-kernels/index.js'
import { type AssignRequest, assignRows, trainKMeans, trainKMeansWith } from '../../src/clustering/kmeans.js'
import { clusteredVectors } from '../helpers/data.js'

const kernels = getKernels('ts')

/** Fulfils a request in `parts` row ranges, last range first (as workers may finish). */
function splitAssign(parts: number): (r: AssignRequest) => Promise<void> {
  return async (r) => {
    for (const a of [r.data, r.centroids, r.norms, r.assign, r.dist, r.second]) expect(a.buffer).toBeInstanceOf(SharedArrayBuffer)
    if (r.rows) expect(r.rows.buffer).toBeInstanceOf(SharedArrayBuffer)
    const per = Math.ceil(r.count / parts)
    for (let from = Math.floor((r.count - 1) / per) * per; from >= 0; from -= per) {
      assignRows(kernels, r, from, Math.min(r.count, from + per))
      await Promise.resolve()
    }
  }
}

describe('trainKMeansWith', () => {
  it('split assignments give exactly the centroids of trainKMeans (points and centroid-to-centroid steps)', async () => {
    const d = 6
    const x = clusteredVectors(800, d, 12, 9, 0.5)
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 25 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        async (k, parts, seed) => {
          const o = { seed, iterations: 6, tolerance: 0, kernels, maxPointsPerCentroid: 30 }
          const one = trainKMeans(x, 800, d, k, o)
          const kinds = new Set<string>()
          const two = await trainKMeansWith(x, 800, d, k, o, (r) => {
            kinds.add(r.data === r.centroids ? 'centroids' : 'points')
            return splitAssign(parts)(r)
          })
          expect(two.centroids).toEqual(one.centroids)
          expect(two.objectives).toEqual(one.objectives)
          expect(two.iterations).toBe(one.iterations)
          // After the first iteration the centroids' own search went through `assign` too.
          expect(kinds.has('centroids')).toBe(one.iterations > 1)
        },
      ),
      { seed: 15, numRuns: 12 },
    )
  })
})
