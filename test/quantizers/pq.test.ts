import { describe, expect, it } from 'vitest'
import { referenceKernels as ref, tsKernels } from '../../native-free-kernels/index.js'
import { VqInputError, VqOptionError } from '../../src/errors.js'
import { ProductQuantizer } from '../../src/quantizers/pq.js'
import { Rng } from '../../src/util/random.js'
import { clusteredVectors, randomVectors } from '../helpers/data.js'

describe('ProductQuantizer', () => {
  it('reconstructs exactly any vector built from its codewords, for nbits 1..8', () => {
    for (let nbits = 1; nbits <= 8; nbits++) {
      const d = 12,
        m = nbits % 2 ? 3 : 4
      const pq = new ProductQuantizer(d, m, nbits, tsKernels)
      const ksub = 1 << nbits
      pq.train(clusteredVectors(Math.max(ksub * 40, 400), d, 50, nbits), Math.max(ksub * 40, 400), { seed: 1 })
      const n = 50
      const rng = new Rng(nbits)
      const x = new Float32Array(n * d)
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < m; j++) {
          const c = rng.int(ksub)
          x.set(pq.centroids.subarray((j * ksub + c) * pq.dsub, (j * ksub + c + 1) * pq.dsub), i * d + j * pq.dsub)
        }
      }
      // Codewords may coincide (then either index is a correct encoding): compare reconstructions.
      const codes = new Uint8Array(n * pq.codeSize)
      pq.encode(x, n, codes)
      const back = new Float32Array(n * d)
      pq.decode(codes, n, back)
      expect(back).toEqual(x)
      expect(pq.codeSize).toBe(Math.ceil((m * nbits) / 8))
    }
  })

  it('ADC distances equal exact distances to the reconstructions (L2 and inner product)', () => {
    const d = 16,
      n = 300
    const pq = new ProductQuantizer(d, 8, 8, tsKernels)
    const x = clusteredVectors(2000, d, 40, 3)
    pq.train(x, 2000, { seed: 2 })
    const codes = new Uint8Array(n * pq.codeSize)
    pq.encode(x, n, codes)
    const recon = new Float32Array(n * d)
    pq.decode(codes, n, recon)
    const q = randomVectors(1, d, 9)
    const out = new Float32Array(n)
    const l2 = pq.scanner('l2')
    l2.setQuery(q, 0)
    l2.scan(codes, n, out)
    for (let i = 0; i < n; i++) expect(out[i]).toBeCloseTo(ref.l2sqr(q, 0, recon, i * d, d), 4)
    const ip = pq.scanner('ip')
    ip.setQuery(q, 0)
    ip.scan(codes, n, out)
    for (let i = 0; i < n; i++) expect(out[i]).toBeCloseTo(-ref.innerProduct(q, 0, recon, i * d, d), 4)
  })

  it('encodes each sub-vector to its nearest centroid', () => {
    const d = 6,
      m = 3,
      n = 200
    const pq = new ProductQuantizer(d, m, 4, tsKernels)
    pq.train(randomVectors(1000, d, 4), 1000)
    const x = randomVectors(n, d, 5)
    const sub = new Int32Array(n * m)
    pq.computeSubCodes(x, n, sub)
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const chosen = ref.l2sqr(x, i * d + j * 2, pq.centroids, (j * 16 + sub[i * m + j]!) * 2, 2)
        for (let c = 0; c < 16; c++)
          expect(chosen).toBeLessThanOrEqual(ref.l2sqr(x, i * d + j * 2, pq.centroids, (j * 16 + c) * 2, 2) + 1e-6)
      }
    }
  })

  it('lowers the reconstruction error as m grows', () => {
    const d = 32,
      n = 4000
    const x = clusteredVectors(n, d, 200, 8, 0.3)
    let prev = Infinity
    for (const m of [2, 4, 8, 16]) {
      const pq = new ProductQuantizer(d, m, 8, tsKernels)
      pq.train(x, n, { seed: 1 })
      const codes = new Uint8Array(n * pq.codeSize)
      pq.encode(x, n, codes)
      const rec = new Float32Array(n * d)
      pq.decode(codes, n, rec)
      let mse = 0
      for (let i = 0; i < n; i++) mse += ref.l2sqr(x, i * d, rec, i * d, d) / n
      expect(mse).toBeLessThan(prev)
      prev = mse
    }
  })

  it('rejects m not dividing d, nbits out of range and too few training vectors', () => {
    expect(() => new ProductQuantizer(10, 3, 8, tsKernels)).toThrow(VqOptionError)
    expect(() => new ProductQuantizer(10, 3, 8, tsKernels)).toThrow(/must divide the dimension 10/)
    for (const nbits of [0, 9, 16, 4.5])
      expect(() => new ProductQuantizer(8, 2, nbits, tsKernels)).toThrow(/nbits must be an integer from 1 to 8/)
    const pq = new ProductQuantizer(8, 2, 8, tsKernels)
    const err = (() => {
      try {
        pq.train(randomVectors(100, 8, 1), 100)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(VqInputError)
    expect((err as VqInputError).code).toBe('TOO_FEW_TRAINING_POINTS')
    expect(pq.isTrained).toBe(false)
  })
})
