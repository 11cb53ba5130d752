import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { packCodes, pqCodeSize, referenceKernels as ref, unpackCodes } from '../../native-free-kernels/index.js'
import { Rng } from '../../src/util/random.js'
import { fastBackends } from '../helpers/backends.js'
import { maxRelErr, randomVectors } from '../helpers/data.js'

const seeds = fc.integer({ min: 1, max: 2 ** 30 })

function randomSubCodes(n: number, m: number, nbits: number, seed: number): Int32Array {
  const rng = new Rng(seed)
  const sub = new Int32Array(n * m)
  for (let i = 0; i < sub.length; i++) sub[i] = rng.int(1 << nbits)
  return sub
}

describe.each(fastBackends)('$name backend', ({ kernels: fast, tol }) => {
  describe('packCodes / unpackCodes', () => {
    it('round-trip every nbits 1..8 and any m', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 0, max: 20 }),
          seeds,
          (nbits, m, n, seed) => {
            const sub = randomSubCodes(n, m, nbits, seed)
            const codes = new Uint8Array(n * pqCodeSize(m, nbits))
            packCodes(sub, n, m, nbits, codes)
            const back = new Int32Array(n * m)
            unpackCodes(codes, n, m, nbits, back)
            expect(back).toEqual(sub)
          },
        ),
      )
    })

    it('packs 4-bit codes low nibble first, as FAISS', () => {
      const codes = new Uint8Array(2)
      packCodes([1, 2, 3, 4], 1, 4, 4, codes)
      expect(Array.from(codes)).toEqual([0x21, 0x43])
    })
  })

  describe('pqTableL2 / pqTableIP', () => {
    it('match the reference', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 16 }),
          fc.integer({ min: 1, max: 9 }),
          fc.constantFrom(16, 32, 256),
          seeds,
          (m, dsub, ksub, seed) => {
            const q = randomVectors(1, m * dsub, seed)
            const cent = randomVectors(m * ksub, dsub, seed + 1)
            const want = new Float32Array(m * ksub)
            const got = new Float32Array(m * ksub)
            for (const f of ['pqTableL2', 'pqTableIP'] as const) {
              ref[f](q, 0, cent, m, ksub, dsub, want)
              fast[f](q, 0, cent, m, ksub, dsub, got)
              expect(maxRelErr(got, want, m * ksub)).toBeLessThanOrEqual(tol)
            }
          },
        ),
        { numRuns: 40 },
      )
    })
  })

  describe('pqScan', () => {
    // Every unrolled path (m = 4, 8, 16, 32, 64 for 8 bits; m = 8, 16, 32, 64 for 4 bits),
    // the word-generic paths (m = 12, 24), odd m and every other nbits.
    const ms = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 8, 12, 16, 24, 32, 40, 64, 65), fc.integer({ min: 1, max: 70 }))
    const nbitsArb = fc.oneof(fc.constantFrom(4, 8), fc.integer({ min: 1, max: 8 }))

    it('matches the reference on random codes, including n = 0', () => {
      fc.assert(
        fc.property(ms, nbitsArb, fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })), seeds, (m, nbits, n, seed) => {
          const ksub = 1 << nbits
          const table = randomVectors(m * ksub, 1, seed, 0, 4)
          const codes = new Uint8Array(n * pqCodeSize(m, nbits))
          packCodes(randomSubCodes(n, m, nbits, seed + 2), n, m, nbits, codes)
          const want = new Float32Array(n + 1).fill(-3)
          const got = new Float32Array(n + 1).fill(-3)
          ref.pqScan(codes, n, m, nbits, table, want)
          fast.pqScan(codes, n, m, nbits, table, got)
          expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
          expect(got[n]).toBe(-3)
        }),
        { numRuns: 300 },
      )
    })

    it('takes the byte path on misaligned views and still matches', () => {
      for (const [m, nbits] of [
        [16, 8],
        [16, 4],
        [32, 4],
      ] as const) {
        const n = 37
        const cs = pqCodeSize(m, nbits)
        const buf = new Uint8Array(1 + n * cs)
        packCodes(randomSubCodes(n, m, nbits, 9), n, m, nbits, buf.subarray(1))
        const table = randomVectors(m << nbits, 1, 4)
        const want = new Float32Array(n)
        const got = new Float32Array(n)
        ref.pqScan(buf.subarray(1), n, m, nbits, table, want)
        fast.pqScan(buf.subarray(1), n, m, nbits, table, got)
        expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
      }
    })

    it('ADC equals the distance to the reconstruction', () => {
      // With the L2 table, sum_j table[j][c_j] is exactly ||q - decode(code)||^2.
      const m = 8,
        dsub = 3,
        nbits = 8,
        ksub = 256,
        n = 20
      const cent = randomVectors(m * ksub, dsub, 11)
      const q = randomVectors(1, m * dsub, 12)
      const sub = randomSubCodes(n, m, nbits, 13)
      const codes = new Uint8Array(n * m)
      packCodes(sub, n, m, nbits, codes)
      const table = new Float32Array(m * ksub)
      fast.pqTableL2(q, 0, cent, m, ksub, dsub, table)
      const adc = new Float32Array(n)
      fast.pqScan(codes, n, m, nbits, table, adc)
      const recon = new Float32Array(m * dsub)
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < m; j++)
          recon.set(cent.subarray((j * ksub + sub[i * m + j]!) * dsub, (j * ksub + sub[i * m + j]! + 1) * dsub), j * dsub)
        expect(adc[i]).toBeCloseTo(ref.l2sqr(q, 0, recon, 0, m * dsub), 4)
      }
    })
  })
})
