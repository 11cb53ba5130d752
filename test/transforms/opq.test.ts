/**
 * The OPQ rotation: after training on seeded data it is orthonormal, reverse() undoes
 * apply(), and apply() preserves norms and distances; the trained rotation lowers the PQ
 * error on data whose variance a PQ split of the raw dimensions handles badly.
 */
import { describe, expect, it } from 'vitest'
import { referenceKernels as ref } from '../../native-free-kernels/index.js'
import { VqError } from '../../src/errors.js'
import { ProductQuantizer } from '../../src/quantizers/pq.js'
import { OpqTransform } from '../../src/transforms/opq.js'
import { Rng } from '../../src/util/random.js'
import { fastBackends } from '../helpers/backends.js'
import { randomVectors } from '../helpers/data.js'

const d = 16
const m = 4
const nbits = 4
const n = 600

/**
 * Correlated data: each vector is a few strong directions mixed across all dimensions, so
 * that the identity split into m sub-spaces is a poor one and a rotation helps.
 */
function correlated(count: number, seed: number): Float32Array {
  const rng = new Rng(seed)
  const mix = Float32Array.from({ length: d * d }, () => rng.normal())
  const x = new Float32Array(count * d)
  for (let i = 0; i < count; i++) {
    const z = Float32Array.from({ length: d }, (_, t) => rng.normal() * (t < 4 ? 3 : 0.2))
    for (let a = 0; a < d; a++) {
      let s = 0
      for (let t = 0; t < d; t++) s += mix[a * d + t]! * z[t]!
      x[i * d + a] = s
    }
  }
  return x
}

/** G = A A^T for the rows of A (rows x cols): the Gram matrix of the rows. */
function gramOfRows(a: Float32Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(rows * rows)
  for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) g[i * rows + j] = ref.innerProduct(a, i * cols, a, j * cols, cols)
  return g
}

/** The largest |G - I| entry. */
function offIdentity(g: Float64Array, size: number): number {
  let worst = 0
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) worst = Math.max(worst, Math.abs(g[i * size + j]! - (i === j ? 1 : 0)))
  return worst
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!
  return t
}

describe.each(fastBackends)('OpqTransform on the $name backend', ({ kernels }) => {
  const x = correlated(n, 7)
  const mse: number[] = []
  const opq = new OpqTransform(d, d, m, kernels)
  opq.train(x, n, nbits, { iterations: 6, pqIterations: 3, pqIterationsFirst: 8, seed: 3, onProgress: (_, __, e) => mse.push(e) })

  it('is trained, and no longer the identity', () => {
    expect(opq.isTrained).toBe(true)
    const identity = new OpqTransform(d, d, m, kernels)
    expect(identity.isTrained).toBe(false)
    expect(offIdentity(gramOfRows(identity.R, d, d), d)).toBe(0)
    let moved = 0
    for (let i = 0; i < d * d; i++) moved = Math.max(moved, Math.abs(opq.R[i]! - identity.R[i]!))
    expect(moved).toBeGreaterThan(0.1)
  })

  it('R is orthonormal: R^T R = I and R R^T = I within 1e-4', () => {
    expect(offIdentity(gramOfRows(opq.R, d, d), d)).toBeLessThanOrEqual(1e-4) // R R^T
    expect(offIdentity(gramOfRows(transpose(opq.R, d, d), d, d), d)).toBeLessThanOrEqual(1e-4) // R^T R
  })

  it('reverse(apply(x)) = x, and apply(reverse(y)) = y', () => {
    const q = randomVectors(50, d, 11, -5, 5)
    const y = new Float32Array(50 * d)
    const back = new Float32Array(50 * d)
    opq.apply(q, 50, y)
    opq.reverse(y, 50, back)
    for (let i = 0; i < q.length; i++) expect(Math.abs(back[i]! - q[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(q[i]!)))
    const again = new Float32Array(50 * d)
    opq.reverse(q, 50, y)
    opq.apply(y, 50, again)
    for (let i = 0; i < q.length; i++) expect(Math.abs(again[i]! - q[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(q[i]!)))
  })

  it('apply preserves norms, inner products and distances, and is y = R x', () => {
    const k = 40
    const v = randomVectors(k, d, 12, -3, 3)
    const y = new Float32Array(k * d)
    opq.apply(v, k, y)
    for (let i = 0; i < k; i++) {
      for (let a = 0; a < d; a++) {
        const want = ref.innerProduct(opq.R, a * d, v, i * d, d)
        expect(Math.abs(y[i * d + a]! - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)))
      }
      const nx = ref.innerProduct(v, i * d, v, i * d, d)
      expect(Math.abs(ref.innerProduct(y, i * d, y, i * d, d) - nx)).toBeLessThanOrEqual(1e-4 * nx)
      for (let j = 0; j < i; j++) {
        const dx = ref.l2sqr(v, i * d, v, j * d, d)
        expect(Math.abs(ref.l2sqr(y, i * d, y, j * d, d) - dx)).toBeLessThanOrEqual(1e-4 * Math.max(1, dx))
        const ip = ref.innerProduct(v, i * d, v, j * d, d)
        expect(Math.abs(ref.innerProduct(y, i * d, y, j * d, d) - ip)).toBeLessThanOrEqual(1e-4 * Math.max(1, nx))
      }
    }
  })

  it('the rotation beats no rotation: a lower PQ reconstruction error than a PQ on x itself', () => {
    expect(mse.length).toBe(6)
    expect(mse.every((e) => Number.isFinite(e) && e > 0)).toBe(true)
    expect(mse[mse.length - 1]!).toBeLessThan(mse[0]!)
    // A PQ trained on the unrotated data, with as many k-means iterations in all.
    const pq = new ProductQuantizer(d, m, nbits, kernels)
    pq.train(x, n, { seed: 3, iterations: 8 + 5 * 3, tolerance: 0, maxPointsPerCentroid: Infinity, minPointsPerCentroid: 0 })
    const codes = new Uint8Array(n * pq.codeSize)
    const rec = new Float32Array(n * d)
    pq.encode(x, n, codes)
    pq.decode(codes, n, rec)
    let plain = 0
    for (let i = 0; i < n * d; i++) plain += (x[i]! - rec[i]!) ** 2
    plain /= n
    // Observed: 48 against 101 (the data mixes a few strong directions over all dimensions).
    expect(mse[mse.length - 1]!).toBeLessThan(0.75 * plain)
  })

  it('is deterministic for a seed, and exportState / loadState restore the rotation', () => {
    const again = new OpqTransform(d, d, m, kernels)
    again.train(x, n, nbits, { iterations: 6, pqIterations: 3, pqIterationsFirst: 8, seed: 3 })
    expect(Array.from(again.R)).toEqual(Array.from(opq.R))
    const restored = new OpqTransform(d, d, m, kernels)
    restored.loadState(opq.exportState())
    expect(restored.isTrained).toBe(true)
    expect(Array.from(restored.R)).toEqual(Array.from(opq.R))
  })

  it('dOut < dIn: orthonormal rows (R R^T = I), and reverse then apply gives the rotated vector back', () => {
    const dOut = 8
    const t = new OpqTransform(d, dOut, 2, kernels)
    t.train(x, n, nbits, { iterations: 2, pqIterations: 2, pqIterationsFirst: 4, seed: 5 })
    expect(offIdentity(gramOfRows(t.R, dOut, d), dOut)).toBeLessThanOrEqual(1e-4)
    const v = randomVectors(20, d, 13)
    const y = new Float32Array(20 * dOut)
    const back = new Float32Array(20 * d)
    const y2 = new Float32Array(20 * dOut)
    t.apply(v, 20, y)
    t.reverse(y, 20, back)
    t.apply(back, 20, y2)
    for (let i = 0; i < y.length; i++) expect(Math.abs(y2[i]! - y[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(y[i]!)))
    // a projection never lengthens a vector
    for (let i = 0; i < 20; i++)
      expect(ref.innerProduct(y, i * dOut, y, i * dOut, dOut)).toBeLessThanOrEqual(ref.innerProduct(v, i * d, v, i * d, d) * (1 + 1e-5))
  })
})

describe('OpqTransform bad input', () => {
  const kernels = fastBackends[0]!.kernels
  const code = (f: () => unknown): string => {
    try {
      f()
    } catch (e) {
      expect(e).toBeInstanceOf(VqError)
      return (e as VqError).code
    }
    throw new Error('expected a VqError')
  }

  it('an output dimension above the input, or an m that does not divide it, is BAD_OPTION', () => {
    expect(code(() => new OpqTransform(8, 9, 1, kernels))).toBe('BAD_OPTION')
    expect(code(() => new OpqTransform(8, 0, 1, kernels))).toBe('BAD_OPTION')
    expect(code(() => new OpqTransform(8, 8, 3, kernels))).toBe('BAD_OPTION')
    expect(code(() => new OpqTransform(8, 8, 0, kernels))).toBe('BAD_OPTION')
  })

  it('fewer training vectors than centroids per sub-quantizer is TOO_FEW_TRAINING_POINTS', () => {
    const t = new OpqTransform(8, 8, 2, kernels)
    expect(code(() => t.train(randomVectors(15, 8, 1), 15, 4))).toBe('TOO_FEW_TRAINING_POINTS')
    expect(t.isTrained).toBe(false)
  })

  it('a saved rotation of another shape is CORRUPT_FILE', () => {
    const t = new OpqTransform(8, 8, 2, kernels)
    expect(code(() => new OpqTransform(8, 4, 2, kernels).loadState(t.exportState()))).toBe('CORRUPT_FILE')
    expect(code(() => new OpqTransform(9, 8, 2, kernels).loadState(t.exportState()))).toBe('CORRUPT_FILE')
  })
})
