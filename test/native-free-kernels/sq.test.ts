import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { floatToHalf, referenceKernels as ref } from '../../native-free-kernels/index.js'
import { Rng } from '../../src/util/random.js'
import { fastBackends } from '../helpers/backends.js'
import { maxRelErr, randomVectors } from '../helpers/data.js'

const dims = fc.oneof(fc.constantFrom(1, 3, 17, 100, 128), fc.integer({ min: 1, max: 40 }))
const counts = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 }))
const seeds = fc.integer({ min: 1, max: 2 ** 30 })

function randomBytes(len: number, max: number, seed: number): Uint8Array {
  const rng = new Rng(seed)
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = rng.int(max + 1)
  return out
}

describe.each(fastBackends)('$name backend', ({ kernels: fast, tol }) => {
  describe('SQ8 / SQ4 / fp16 distance kernels', () => {
    it('sq8L2 and sq8Dot match the reference', () => {
      fc.assert(fc.property(dims, counts, seeds, (d, n, seed) => {
        const qs = randomVectors(1, d, seed)
        const step = randomVectors(1, d, seed + 1, 0, 0.01)
        const codes = randomBytes(n * d, 255, seed + 2)
        const want = new Float32Array(n)
        const got = new Float32Array(n)
        ref.sq8L2(qs, step, codes, n, d, want)
        fast.sq8L2(qs, step, codes, n, d, got)
        expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
        ref.sq8Dot(step, 0.25, codes, n, d, want)
        fast.sq8Dot(step, 0.25, codes, n, d, got)
        expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
      }))
    })

    it('sq4L2 and sq4Dot match the reference (odd d leaves a lone low nibble)', () => {
      fc.assert(fc.property(dims, counts, seeds, (d, n, seed) => {
        const qs = randomVectors(1, d, seed)
        const step = randomVectors(1, d, seed + 1, 0, 0.2)
        const codes = randomBytes(n * ((d + 1) >> 1), 255, seed + 2)
        const want = new Float32Array(n)
        const got = new Float32Array(n)
        ref.sq4L2(qs, step, codes, n, d, want)
        fast.sq4L2(qs, step, codes, n, d, got)
        expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
        ref.sq4Dot(step, -1, codes, n, d, want)
        fast.sq4Dot(step, -1, codes, n, d, got)
        expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
      }))
    })

    it('fp16L2 and fp16Dot match the reference', () => {
      fc.assert(fc.property(dims, counts, seeds, (d, n, seed) => {
        const q = randomVectors(1, d, seed)
        const x = randomVectors(n, d, seed + 1, -3, 3)
        const codes = new Uint16Array(n * d)
        for (let i = 0; i < codes.length; i++) codes[i] = floatToHalf(x[i]!)
        const want = new Float32Array(n)
        const got = new Float32Array(n)
        ref.fp16L2(q, 0, codes, n, d, want)
        fast.fp16L2(q, 0, codes, n, d, got)
        expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
        ref.fp16Dot(q, 0, codes, n, d, want)
        fast.fp16Dot(q, 0, codes, n, d, got)
        expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
      }))
    })
  })
})
