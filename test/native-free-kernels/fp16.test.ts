import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { floatToHalf, HALF_TO_FLOAT, halfToFloat, referenceKernels as ref } from '../../native-free-kernels/index.js'
import { fastBackends } from '../helpers/backends.js'
import { maxRelErr, randomVectors } from '../helpers/data.js'

const dims = fc.oneof(fc.constantFrom(1, 3, 17, 100, 128), fc.integer({ min: 1, max: 40 }))
const counts = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 }))
const seeds = fc.integer({ min: 1, max: 2 ** 30 })

describe('half floats', () => {
  it('every finite half pattern round-trips through float and back', () => {
    for (let h = 0; h < 65536; h++) {
      const exp = (h >>> 10) & 31
      if (exp === 31) continue
      expect(floatToHalf(halfToFloat(h))).toBe(h)
      expect(HALF_TO_FLOAT[h]).toBe(halfToFloat(h))
    }
  })

  it('rounds to the nearest half, ties to even', () => {
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
        const f = Math.fround(x)
        const h = floatToHalf(f)
        const v = halfToFloat(h)
        // No other half is strictly nearer: compare with the neighbours of h.
        const up = halfToFloat((h & 0x8000) | ((h & 0x7fff) + 1))
        const downBits = (h & 0x7fff) === 0 ? 0x8001 ^ (h & 0x8000) : h - 1
        const down = halfToFloat(downBits)
        expect(Math.abs(v - f)).toBeLessThanOrEqual(Math.abs(up - f))
        expect(Math.abs(v - f)).toBeLessThanOrEqual(Math.abs(down - f))
      }),
      { numRuns: 2000 },
    )
    expect(halfToFloat(floatToHalf(1 + 2 ** -11))).toBe(1) // tie, even mantissa kept
    expect(halfToFloat(floatToHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9) // tie, rounds up to even
  })

  it('handles overflow, subnormals, infinities and NaN', () => {
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity)
    expect(halfToFloat(floatToHalf(-1e6))).toBe(-Infinity)
    expect(halfToFloat(floatToHalf(65504))).toBe(65504)
    expect(halfToFloat(floatToHalf(2 ** -24))).toBe(2 ** -24)
    expect(halfToFloat(floatToHalf(2 ** -26))).toBe(0)
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true)
  })
})

describe.each(fastBackends)('$name backend', ({ kernels: fast, tol }) => {
  describe('half-float distance kernels', () => {
    it('fp16L2 and fp16Dot match the reference', () => {
      fc.assert(
        fc.property(dims, counts, seeds, (d, n, seed) => {
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
        }),
      )
    })
  })
})
