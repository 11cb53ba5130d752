/**
 * IndexModel.train with IVF by residual and a PQ codec assigns only the PQ's training sample
 * (ProductQuantizer.trainingRows) to the coarse centroids. Reference: the plain pipeline,
 * every vector assigned, every residual handed to the PQ (which samples the same rows), must
 * give the same codebook, bit for bit.
 */
import { describe, expect, it } from 'vitest'
import { tsKernels } from '../../native-free-kernels/index.js'
import { normalizeIndexSpec, parseIndexDescription } from '../../src/factory/parse.js'
import { COARSE_DEFAULTS } from '../../src/ivf/coarse.js'
import { IndexModel } from '../../src/search/model.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 8
const n = 1200
const x = clusteredVectors(n, d, 10, 5, 0.4)

function model(description: string): IndexModel {
  return new IndexModel(normalizeIndexSpec(parseIndexDescription(description), d), d, 'l2', tsKernels)
}

describe('IVF-PQ training on the PQ sample only', () => {
  for (const description of ['IVF8,PQ4x4', 'IVF8,PQ2']) {
    it(`${description}: the codebook equals the one trained on every vector's residual`, async () => {
      // 4 points per PQ centroid: the PQ samples 64 (4-bit) or 1,024 (8-bit) of the n rows, so the sample path runs.
      const options = { seed: 7, maxPointsPerCentroid: 4 }
      const a = model(description)
      expect(a.byResidual).toBe(true)
      await a.train(x, n, options)

      const b = model(description)
      b.coarse.train(x, n, {
        seed: 7,
        iterations: COARSE_DEFAULTS.iterations,
        maxPointsPerCentroid: COARSE_DEFAULTS.maxPointsPerCentroid,
        init: COARSE_DEFAULTS.init,
      })
      const lists = new Int32Array(n)
      b.coarse.assign(x, n, lists, new Float32Array(n))
      const residuals = new Float32Array(n * d)
      for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) residuals[i * d + t] = x[i * d + t]! - b.coarse.centroids[lists[i]! * d + t]!
      b.codec.train(residuals, n, options)

      expect(Array.from(a.coarse.centroids)).toEqual(Array.from(b.coarse.centroids))
      const ca = a.codec.exportState().arrays
      const cb = b.codec.exportState().arrays
      expect(Object.keys(ca)).toEqual(Object.keys(cb))
      for (const k of Object.keys(ca)) expect(Array.from(ca[k]!.data)).toEqual(Array.from(cb[k]!.data))
    })
  }
})
