import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { referenceKernels as ref } from '../../native-free-kernels/index.js'
import { fastBackends } from '../helpers/backends.js'
import { maxRelErr, randomVectors } from '../helpers/data.js'

/** Dimensions the issue names, plus random small ones. */
const dims = fc.oneof(fc.constantFrom(1, 3, 17, 100, 128), fc.integer({ min: 1, max: 40 }))
const counts = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70 }))
const seeds = fc.integer({ min: 1, max: 2 ** 30 })
// Reference and fast kernels sum in different orders in float64 and then round to
// float32; observed worst relative difference ~1.2e-7 (one float32 ulp).

/** Checks check(a, b, d) on random rows a (na x d, seeded) and b (nb x d, the next seed) for dimensions from dims. */
function forRandomRows(na: number, nb: number, check: (a: Float32Array, b: Float32Array, d: number) => void): void {
  fc.assert(fc.property(dims, seeds, (d, seed) => check(randomVectors(na, d, seed), randomVectors(nb, d, seed + 1), d)))
}

describe('the cosineSimilarity oracle (reference only)', () => {
  it('is the inner product over the norms, in [-1, 1], and 0 (not NaN) for a zero vector', () => {
    forRandomRows(1, 1, (a, b, d) => {
      const c = ref.cosineSimilarity(a, 0, b, 0, d)
      const want = ref.innerProduct(a, 0, b, 0, d) / Math.sqrt(ref.innerProduct(a, 0, a, 0, d) * ref.innerProduct(b, 0, b, 0, d))
      expect(Math.abs(c - want)).toBeLessThanOrEqual(1e-12)
      expect(Math.abs(c)).toBeLessThanOrEqual(1 + 1e-12)
      const opposite = a.map((v) => -2 * v)
      expect(ref.cosineSimilarity(a, 0, opposite, 0, d)).toBeCloseTo(-1, 9)
    })
    const z = new Float32Array(5)
    const a = new Float32Array([1, 2, 3, 4, 5])
    expect(ref.cosineSimilarity(z, 0, a, 0, 5)).toBe(0)
    expect(ref.cosineSimilarity(a, 0, z, 0, 5)).toBe(0)
  })
})

describe.each(fastBackends)('$name backend', ({ kernels: fast, tol }) => {
  describe('one-to-one kernels', () => {
    it('l2sqr and innerProduct match the reference', () => {
      forRandomRows(3, 2, (a, b, d) => {
        for (const f of ['l2sqr', 'innerProduct'] as const) {
          const r = ref[f](a, d, b, d, d)
          const v = fast[f](a, d, b, d, d)
          expect(Math.abs(r - v)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(r)))
        }
      })
    })
  })

  describe('one-to-many kernels', () => {
    it('l2sqrMany, innerProductMany and normsL2sqr match the reference', () => {
      fc.assert(
        fc.property(dims, counts, seeds, (d, n, seed) => {
          const q = randomVectors(2, d, seed)
          const x = randomVectors(n, d, seed + 7)
          const want = new Float32Array(n + 1).fill(-7)
          const got = new Float32Array(n + 1).fill(-7)
          for (const f of ['l2sqrMany', 'innerProductMany'] as const) {
            ref[f](q, d, x, n, d, want)
            fast[f](q, d, x, n, d, got)
            expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
            expect(got[n]).toBe(-7) // nothing written past n
          }
          ref.normsL2sqr(x, n, d, want)
          fast.normsL2sqr(x, n, d, got)
          expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(tol)
        }),
      )
    })
  })

  describe('nearestRows (the IVF probe)', () => {
    /** The p first of n rows by (distance, row) on distances dist: the order nearestRows promises. */
    function firstP(dist: Float32Array, n: number, p: number): number[] {
      return Array.from({ length: n }, (_, i) => i)
        .sort((a, b) => dist[a]! - dist[b]! || a - b)
        .slice(0, p)
    }

    it('returns the p rows nearest by its own one-to-many distances, nearest first, ties to the smaller row; the reference agrees', () => {
      fc.assert(
        fc.property(dims, fc.integer({ min: 1, max: 300 }), seeds, fc.double({ min: 0, max: 1, noNaN: true }), (d, n, seed, frac) => {
          const p = Math.max(1, Math.ceil(frac * n))
          const q = randomVectors(1, d, seed)
          const x = randomVectors(n, d, seed + 3)
          // Some exactly tied rows (copies), so the tie order is exercised.
          for (let i = 1; i < n; i += 5) x.copyWithin(i * d, (i - 1) * d, i * d)
          for (const mode of ['l2', 'ip'] as const) {
            const own = new Float32Array(n)
            if (mode === 'l2') fast.l2sqrMany(q, 0, x, n, d, own)
            else {
              fast.innerProductMany(q, 0, x, n, d, own)
              for (let i = 0; i < n; i++) own[i] = -own[i]!
            }
            const dist = new Float32Array(p + 1).fill(-7)
            const rows = new Float64Array(p + 1).fill(-7)
            fast.nearestRows(q, 0, x, n, d, mode, p, dist, rows)
            const want = firstP(own, n, p)
            expect(Array.from(rows.subarray(0, p))).toEqual(want)
            expect(Array.from(dist.subarray(0, p))).toEqual(want.map((i) => own[i]!))
            expect(dist[p]).toBe(-7) // nothing written past p
            expect(rows[p]).toBe(-7)
            // The reference: the same distances within the kernels' tolerance.
            const rd = new Float32Array(p)
            const rr = new Float64Array(p)
            ref.nearestRows(q, 0, x, n, d, mode, p, rd, rr)
            expect(maxRelErr(dist, rd, p)).toBeLessThanOrEqual(tol * 4 + 1e-6)
          }
        }),
        { numRuns: 60 },
      )
    })

    it('reads pinned rows in place with the same results', () => {
      const d = 24
      const n = 1000
      const x = randomVectors(n, d, 91)
      const q = randomVectors(1, d, 92)
      const a = { dist: new Float32Array(50), rows: new Float64Array(50) }
      const b = { dist: new Float32Array(50), rows: new Float64Array(50) }
      fast.nearestRows(q, 0, x, n, d, 'l2', 50, a.dist, a.rows)
      const pinned = x.slice()
      fast.pin?.(pinned)
      fast.nearestRows(q, 0, pinned, n, d, 'l2', 50, b.dist, b.rows)
      expect(b.rows).toEqual(a.rows)
      expect(b.dist).toEqual(a.dist)
    })
  })

  describe('many-to-many kernels', () => {
    it('innerProductMatrix matches the reference for every tile shape and tail', () => {
      const sizes = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70 }), fc.constantFrom(64, 65, 256, 257))
      fc.assert(
        fc.property(dims, sizes, fc.integer({ min: 0, max: 300 }), seeds, (d, nx, ny, seed) => {
          const x = randomVectors(nx, d, seed)
          const y = randomVectors(ny, d, seed + 3)
          const want = new Float32Array(nx * ny)
          const got = new Float32Array(nx * ny)
          ref.innerProductMatrix(x, nx, y, ny, d, want)
          fast.innerProductMatrix(x, nx, y, ny, d, got)
          expect(maxRelErr(got, want, nx * ny)).toBeLessThanOrEqual(tol)
        }),
        { numRuns: 60 },
      )
    })

    it('nearestL2 finds a nearest row (ties and rounding aside) and reports its distance', () => {
      const sizes = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70 }), fc.constantFrom(63, 64, 65, 130))
      fc.assert(
        fc.property(dims, sizes, fc.integer({ min: 1, max: 600 }), seeds, (d, nx, ny, seed) => {
          const x = randomVectors(nx, d, seed)
          const y = randomVectors(ny, d, seed + 5)
          const yn = new Float64Array(ny)
          fast.normsL2sqr(y, ny, d, yn)
          const wantIdx = new Int32Array(nx)
          const wantDist = new Float32Array(nx)
          const gotIdx = new Int32Array(nx)
          const gotDist = new Float32Array(nx)
          const wantSecond = new Float32Array(nx)
          const gotSecond = new Float32Array(nx)
          ref.nearestL2(x, nx, y, ny, d, yn, wantIdx, wantDist, wantSecond)
          fast.nearestL2(x, nx, y, ny, d, yn, gotIdx, gotDist, gotSecond)
          for (let i = 0; i < nx; i++) {
            const j = gotIdx[i]!
            expect(j).toBeGreaterThanOrEqual(0)
            expect(j).toBeLessThan(ny)
            const exact = ref.l2sqr(x, i * d, y, j * d, d)
            // The chosen row is as near as the true nearest up to the cancellation error of
            // ||x||^2 + ||y||^2 - 2<x,y> in float64 (data in [-1,1]: below 1e-9 observed).
            expect(exact - wantDist[i]!).toBeLessThanOrEqual(1e-6 * Math.max(1, wantDist[i]!))
            expect(Math.abs(gotDist[i]! - exact)).toBeLessThanOrEqual(1e-5 * Math.max(1, exact))
            // The second-smallest distance matches the reference (Infinity with one row).
            if (ny === 1) expect(gotSecond[i]).toBe(Infinity)
            else expect(Math.abs(gotSecond[i]! - wantSecond[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, wantSecond[i]!))
          }
        }),
        { numRuns: 60 },
      )
    })

    it('nearestL2 picks the first of exactly tied rows', () => {
      const d = 3
      const y = new Float32Array([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1])
      const x = new Float32Array([1, 0, 0, 0, 0, 1])
      const yn = new Float64Array(4)
      fast.normsL2sqr(y, 4, d, yn)
      const idx = new Int32Array(2)
      const dist = new Float32Array(2)
      fast.nearestL2(x, 2, y, 4, d, yn, idx, dist)
      expect(Array.from(idx)).toEqual([0, 3])
      expect(Array.from(dist)).toEqual([0, 0])
    })
  })
})
