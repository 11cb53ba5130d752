import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { heapInit, heapSort, tsKernels } from '../../native-free-kernels/index.js'
import { VqFormatError, VqInputError, VqOptionError, VqStateError } from '../../src/errors.js'
import { CoarseQuantizer } from '../../src/ivf/coarse.js'
import { InvertedLists, LIST_STRIDE } from '../../src/ivf/inverted-lists.js'
import { RABITQ_EPS0, type RaBitQOptions, RaBitQuantizer, rabitqLayout, randomRotation } from '../../src/quantizers/rabitq.js'
import { Rng } from '../../src/util/random.js'
import { expectVqError } from '../helpers/errors.js'

// ---------------------------------------------------------------------------------------
// Plain reference, float64 loops straight from the formulas (module comment of rabitq.ts):
// reads a code field by field and estimates without tables, popcounts or folded constants.
// ---------------------------------------------------------------------------------------

interface RefCode {
  bits: number[]
  a: number
  dpm: number
  fError: number | null
  fields: number[]
  fAdd: number
  fRescale: number
}

function refReadCode(codec: RaBitQuantizer, codes: Uint8Array, i: number): RefCode {
  const d = codec.dim
  const ex = codec.nbits - 1
  const B = Math.ceil(d / 8)
  const cs = codec.codeSize
  const code = codes.slice(i * cs, (i + 1) * cs)
  const f32 = (off: number): number => new DataView(code.buffer).getFloat32(off, true)
  const bits: number[] = []
  for (let t = 0; t < d; t++) bits.push((code[Math.floor(t / 8)]! >> (t % 8)) & 1)
  const hasError = ex > 0 || codec.metric === 'ip'
  const fields: number[] = []
  let fAdd = 0
  let fRescale = 0
  if (ex > 0) {
    const exOff = B + 12
    for (let t = 0; t < d; t++) {
      let v = 0
      for (let k = 0; k < ex; k++) {
        const p = t * ex + k
        v += ((code[exOff + Math.floor(p / 8)]! >> (p % 8)) & 1) * 2 ** k
      }
      fields.push(v)
    }
    const E = Math.ceil((d * ex) / 8)
    fAdd = f32(exOff + E)
    fRescale = f32(exOff + E + 4)
  }
  return { bits, a: f32(B), dpm: f32(B + 4), fError: hasError ? f32(B + 8) : null, fields, fAdd, fRescale }
}

/** y = P (v - c) in float64 (P = identity without rotation). */
function refRotate(codec: RaBitQuantizer, v: ArrayLike<number>, c: ArrayLike<number> | null): number[] {
  const d = codec.dim
  const diff = Array.from({ length: d }, (_, t) => v[t]! - (c ? c[t]! : 0))
  if (!codec.rotate) return diff
  return Array.from({ length: d }, (_, j) => {
    let s = 0
    for (let t = 0; t < d; t++) s += codec.rotation[j * d + t]! * diff[t]!
    return s
  })
}

/** The query as the 1-bit estimate sees it: y itself (qb = 0) or its qb-bit scalar quantization, dequantized. */
function refQuantizedQuery(y: number[], qb: number): number[] {
  if (qb === 0) return y
  const top = 2 ** qb - 1
  const lo = Math.min(...y)
  const delta = (Math.max(...y) - lo) / top
  return y.map((v) => {
    if (!(delta > 0)) return lo
    const z = (v - lo) / delta
    return lo + delta * (z <= 0 ? 0 : z >= top ? top : Math.floor(z + 0.5))
  })
}

interface RefEstimate {
  est1: number
  lower1: number
  full: number
  lowerFull: number
}

/** The reference estimates of code i against query q, codes relative to centroid c (null: zero). */
function refEstimate(
  codec: RaBitQuantizer,
  codes: Uint8Array,
  i: number,
  q: Float32Array,
  c: Float32Array | null,
  qb: number,
): RefEstimate {
  const d = codec.dim
  const ex = codec.nbits - 1
  const ip = codec.metric === 'ip'
  const code = refReadCode(codec, codes, i)
  const y = refRotate(codec, q, c)
  const y2 = y.reduce((s, v) => s + v * v, 0)
  const g = Math.sqrt(y2)
  const q2 = Array.from(q).reduce((s, v) => s + v * v, 0)
  const qc = c ? Array.from(q).reduce((s, v, t) => s + v * c[t]!, 0) : 0
  const dm1 = Math.max(d - 1, 1)
  // 1-bit: <r, y> ~ dpm <ō, ŷ>, ō_t = (2 b_t - 1) / sqrt(d).
  const yq = refQuantizedQuery(y, qb)
  let dot = 0
  for (let t = 0; t < d; t++) dot += ((2 * code.bits[t]! - 1) / Math.sqrt(d)) * yq[t]!
  const pre = code.a + y2 - 2 * code.dpm * dot
  const est1 = ip ? 0.5 * (pre - q2) : Math.max(0, pre)
  const fError = code.fError ?? 2 * RABITQ_EPS0 * Math.sqrt(Math.max(0, code.dpm * code.dpm - code.a) / dm1)
  const lo1 = est1 - fError * g
  const lower1 = ip ? lo1 : Math.max(0, lo1)
  if (ex === 0) return { est1, lower1, full: est1, lowerFull: lower1 }
  // Extended: ȳ_t = b_t 2^ex + e_t - (2^ex - 0.5); <r, y> ~ ||r|| <ȳ, y> / <ȳ, o>, folded into f_rescale.
  const ybar = code.fields.map((e, t) => code.bits[t]! * 2 ** ex + e - (2 ** ex - 0.5))
  let ey = 0
  let yy = 0
  for (let t = 0; t < d; t++) {
    ey += ybar[t]! * y[t]!
    yy += ybar[t]! * ybar[t]!
  }
  const v = (ip ? qc : y2) + code.fAdd + code.fRescale * ey
  const full = ip ? -v : Math.max(0, v)
  const rn = ip ? Math.sqrt(Math.max(0, code.dpm ** 2 - (code.fError! / RABITQ_EPS0) ** 2 * dm1)) : Math.sqrt(code.a)
  const absRes = Math.abs(code.fRescale)
  const ipn = absRes > 0 ? ((ip ? 1 : 2) * rn) / absRes : 0
  const err = absRes > 0 ? absRes * g * RABITQ_EPS0 * Math.sqrt(Math.max(0, yy - ipn * ipn) / dm1) : 0
  const lowerFull = ip ? full - err : Math.max(0, full - err)
  return { est1, lower1, full, lowerFull }
}

/** The true distance (vqlite convention) between q and row i of x. */
function trueDist(metric: 'l2' | 'ip', q: Float32Array, x: Float32Array, i: number, d: number): number {
  let s = 0
  for (let t = 0; t < d; t++) s += metric === 'l2' ? (q[t]! - x[i * d + t]!) ** 2 : -q[t]! * x[i * d + t]!
  return s
}

function gaussians(n: number, d: number, seed: number, shift = 0): Float32Array {
  const rng = new Rng(seed)
  const x = new Float32Array(n * d)
  for (let i = 0; i < n * d; i++) x[i] = rng.normal() + shift * ((i % d) / d)
  return x
}

function trained(d: number, options: RaBitQOptions, x: Float32Array, n: number): RaBitQuantizer {
  const c = new RaBitQuantizer(d, options, tsKernels)
  c.train(x, n)
  return c
}

function encoded(c: RaBitQuantizer, x: Float32Array, n: number): Uint8Array {
  const codes = new Uint8Array(n * c.codeSize)
  c.encode(x, n, codes)
  return codes
}

function close(a: number, b: number, scale: number): boolean {
  return Math.abs(a - b) <= 2e-4 * (Math.abs(b) + scale) + 1e-6
}

describe('RaBitQuantizer', () => {
  it('code sizes are FAISS IndexRaBitQ code sizes (d = 100: 21, 46, 71, 96, 121 bytes for 1, 2, 4, 6, 8 bits)', () => {
    const sizes = [1, 2, 4, 6, 8].map((b) => rabitqLayout(100, b, 'l2').codeSize)
    expect(sizes).toEqual([21, 46, 71, 96, 121])
    expect(rabitqLayout(100, 9, 'l2').codeSize).toBe(13 + 12 + Math.ceil(800 / 8) + 8)
    // 1-bit 'ip' codes also keep f_error (4 more bytes); multi-bit 'ip' is the same size as 'l2'.
    expect(rabitqLayout(100, 1, 'ip').codeSize).toBe(25)
    expect(rabitqLayout(100, 4, 'ip').codeSize).toBe(71)
  })

  it('the rotation is orthogonal, and the same for the same seed', () => {
    const d = 37
    const p = randomRotation(d, 5)
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0
        for (let t = 0; t < d; t++) s += p[i * d + t]! * p[j * d + t]!
        expect(Math.abs(s - (i === j ? 1 : 0))).toBeLessThan(1e-5)
      }
    }
    expect(randomRotation(d, 5)).toEqual(p)
    expect(randomRotation(d, 6)).not.toEqual(p)
  })

  it('codes hold the factors of the module comment (sign bits of P(x - c), A, dpm, f_error, f_add, f_rescale)', () => {
    const d = 29
    const n = 40
    const x = gaussians(n, d, 3, 2)
    for (const metric of ['l2', 'ip'] as const) {
      for (const nbits of [1, 3]) {
        const codec = trained(d, { nbits, metric, seed: 9 }, x, n)
        const codes = encoded(codec, x, n)
        for (let i = 0; i < n; i++) {
          const r = refRotate(codec, x.subarray(i * d, (i + 1) * d), codec.centroid)
          const code = refReadCode(codec, codes, i)
          const norm2 = r.reduce((s, v) => s + v * v, 0)
          const cos1 = r.reduce((s, v) => s + Math.abs(v), 0) / (Math.sqrt(d) * Math.sqrt(norm2))
          const x2 = Array.from(x.subarray(i * d, (i + 1) * d)).reduce((s, v) => s + v * v, 0)
          expect(code.bits).toEqual(r.map((v) => (v > 0 ? 1 : 0)))
          expect(close(code.a, metric === 'l2' ? norm2 : norm2 - x2, 1)).toBe(true)
          expect(close(code.dpm, Math.sqrt(norm2) / cos1, 1)).toBe(true)
          if (code.fError !== null) {
            const tmp = Math.sqrt(norm2) * RABITQ_EPS0 * Math.sqrt((1 / cos1 ** 2 - 1) / (d - 1))
            expect(close(code.fError, (metric === 'l2' ? 2 : 1) * tmp, 1)).toBe(true)
          }
          if (nbits > 1) {
            // ȳ agrees in sign with r, and f_rescale = m ||r|| / <ȳ, o>.
            const ybar = code.fields.map((e, t) => code.bits[t]! * 2 ** (nbits - 1) + e - (2 ** (nbits - 1) - 0.5))
            for (let t = 0; t < d; t++) expect(Math.sign(ybar[t]!)).toBe(r[t]! > 0 ? 1 : -1)
            const ipnorm = ybar.reduce((s, v, t) => s + Math.abs(v) * (Math.abs(r[t]!) / Math.sqrt(norm2)), 0)
            const want = metric === 'l2' ? (-2 * Math.sqrt(norm2)) / ipnorm : Math.sqrt(norm2) / ipnorm
            expect(close(code.fRescale, want, 1)).toBe(true)
            const cDotR = Array.from(codec.centroid).reduce((s, cv, t) => s + cv * (x[i * d + t]! - cv), 0)
            expect(close(code.fAdd, metric === 'l2' ? norm2 : cDotR, 1)).toBe(true)
          }
        }
      }
    }
  })

  it('the ex-bit magnitudes maximise the cosine with |o| over every critical scale (brute force, small d)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 1e6 }), (d, nbits, seed) => {
        const x = gaussians(1, d, seed)
        const codec = trained(d, { nbits, rotate: false, center: false }, x, 1)
        const code = refReadCode(codec, encoded(codec, x, 1), 0)
        const ex = nbits - 1
        const top = 2 ** ex - 1
        const norm = Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0))
        const o = Array.from(x, (v) => Math.abs(v) / norm)
        const cosOf = (u: number[]): number =>
          u.reduce((s, c, t) => s + (c + 0.5) * o[t]!, 0) / Math.sqrt(u.reduce((s, c) => s + (c + 0.5) ** 2, 0))
        const mags = code.fields.map((e, t) => (code.bits[t] ? e : top - e))
        // Scales from FAISS's search interval: tEnd = (top + 10) / max o, tStart = tEnd * TIGHT[ex].
        const tight = [0, 0.15, 0.2, 0.52][ex]!
        const tEnd = (top + 10) / Math.max(...o)
        let best = -1
        const ts = [tEnd * tight]
        for (let t = 0; t < d; t++) for (let k = 1; k <= top; k++) if (o[t]! > 0) ts.push(k / o[t]!)
        for (const t of ts) {
          if (t < tEnd * tight || t >= tEnd) continue
          best = Math.max(best, cosOf(o.map((v) => Math.min(Math.floor(t * v + 1e-5), top))))
        }
        expect(cosOf(mags)).toBeGreaterThanOrEqual(best - 1e-9)
      }),
      { numRuns: 60, seed: 16 },
    )
  })

  it("exSearch 'faiss' (FAISS's approximate scale search) gives valid codes whose cosine is never above the exact search's", () => {
    const d = 50
    const n = 60
    const x = gaussians(n, d, 91)
    for (const nbits of [2, 4, 8]) {
      const cosines = (exSearch: 'exact' | 'faiss'): number[] => {
        const codec = trained(d, { nbits, exSearch, rotate: false, center: false }, x, n)
        const codes = encoded(codec, x, n)
        return Array.from({ length: n }, (_, i) => {
          const code = refReadCode(codec, codes, i)
          const ex = nbits - 1
          let dot = 0
          let yy = 0
          let rr = 0
          for (let t = 0; t < d; t++) {
            const yb = code.bits[t]! * 2 ** ex + code.fields[t]! - (2 ** ex - 0.5)
            dot += yb * x[i * d + t]!
            yy += yb * yb
            rr += x[i * d + t]! ** 2
          }
          return dot / Math.sqrt(yy * rr)
        })
      }
      const exact = cosines('exact')
      const faiss = cosines('faiss')
      for (let i = 0; i < n; i++) {
        expect(faiss[i]!).toBeGreaterThan(0.5)
        expect(faiss[i]!).toBeLessThanOrEqual(exact[i]! + 1e-9)
      }
    }
    expectVqError(() => new RaBitQuantizer(4, { exSearch: 'fast' as 'exact' }, tsKernels), VqOptionError, 'BAD_OPTION', /exSearch/)
  })

  it('fast scans equal the reference estimator (1-bit, extended, bounds; l2 and ip; qb 0..8; rotated or not)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.constantFrom(1, 2, 3, 5, 7, 8, 9),
        fc.constantFrom('l2' as const, 'ip' as const),
        fc.constantFrom(0, 1, 4, 8),
        fc.boolean(),
        fc.integer({ min: 1, max: 1e6 }),
        (d, nbits, metric, qb, rotate, seed) => {
          const n = 25
          const x = gaussians(n, d, seed, 3)
          const codec = trained(d, { nbits, metric, rotate, seed, qb }, x, n)
          const codes = encoded(codec, x, n)
          const q = gaussians(1, d, seed + 1)
          const s = codec.scanner(metric)
          s.setQuery(q, 0)
          const scan = new Float32Array(n)
          const est1 = new Float32Array(n)
          const lower1 = new Float32Array(n)
          const est = new Float32Array(n)
          const lower = new Float32Array(n)
          s.scan(codes, n, scan)
          s.scan1Bit(codes, n, est1, lower1)
          s.scanWithBounds(codes, n, est, lower)
          for (let i = 0; i < n; i++) {
            const r = refEstimate(codec, codes, i, q, codec.centroid, qb)
            const scale = Math.abs(trueDist(metric, q, x, i, d)) + 1
            expect(close(est1[i]!, r.est1, scale)).toBe(true)
            expect(close(lower1[i]!, r.lower1, scale)).toBe(true)
            expect(close(scan[i]!, r.full, scale)).toBe(true)
            expect(close(est[i]!, r.full, scale)).toBe(true)
            expect(close(lower[i]!, r.lowerFull, scale)).toBe(true)
            expect(Math.fround(s.estimate(codes, i))).toBe(scan[i]!)
          }
        },
      ),
      { numRuns: 60, seed: 1616 },
    )
  })

  it('scanTwoStage: extended estimates only where the 1-bit bound allows, the same top k as the full scan up to bound failures', () => {
    const d = 40
    const n = 3000
    const k = 10
    const x = gaussians(n, d, 101, 1)
    const q = gaussians(1, d, 102, 1)
    for (const metric of ['l2', 'ip'] as const) {
      for (const nbits of [1, 3]) {
        const codec = trained(d, { nbits, metric, seed: 8 }, x, n)
        const codes = encoded(codec, x, n)
        const s = codec.scanner(metric)
        s.setQuery(q, 0)
        const hd = new Float32Array(k)
        const hl = new Float64Array(k)
        heapInit(k, hd, hl)
        const refined = s.scanTwoStage(codes, n, k, hd, hl, 100)
        heapSort(k, hd, hl)
        const all = new Float32Array(n)
        s.scan(codes, n, all)
        const want = Array.from(all.keys())
          .sort((a, b) => all[a]! - all[b]! || a - b)
          .slice(0, k)
        for (let j = 0; j < k; j++) expect(hd[j]).toBe(all[hl[j]! - 100]!)
        const got = new Set(Array.from(hl, (l) => l - 100))
        if (nbits === 1) {
          expect(refined).toBe(n)
          expect([...got].sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b))
        } else {
          expect(refined).toBeLessThan(n / 4)
          expect(want.filter((i) => got.has(i)).length).toBeGreaterThanOrEqual(k - 1)
        }
      }
    }
  })

  it('codes against an explicit centroid scan like residual codes against zero (IVF use)', () => {
    const d = 24
    const n = 30
    const x = gaussians(n, d, 11, 1)
    const cen = gaussians(1, d, 12)
    const q = gaussians(1, d, 13)
    for (const nbits of [1, 4]) {
      const codec = trained(d, { nbits, center: false, seed: 3 }, x, n)
      const a = new Uint8Array(n * codec.codeSize)
      codec.encodeAgainst(x, n, a, cen)
      const resid = x.map((v, i) => v - cen[i % d]!)
      const b = encoded(codec, resid, n)
      expect(a).toEqual(b)
      const s = codec.scanner('l2', { qb: 0 })
      const da = new Float32Array(n)
      const db = new Float32Array(n)
      s.setQueryAgainst(q, 0, cen, 0)
      s.scan(a, n, da)
      s.setQuery(
        q.map((v, t) => v - cen[t]!),
        0,
      )
      s.scan(b, n, db)
      for (let i = 0; i < n; i++) expect(close(da[i]!, db[i]!, trueDist('l2', q, x, i, d))).toBe(true)
      // Per-vector centroids (assign) give the codes of each vector against its own centroid.
      const cens = new Float32Array([...cen, ...gaussians(1, d, 14)])
      const assign = Array.from({ length: n }, (_, i) => i % 2)
      const c2 = new Uint8Array(n * codec.codeSize)
      codec.encodeAgainst(x, n, c2, cens, assign)
      const one = new Uint8Array(codec.codeSize)
      for (let i = 0; i < n; i++) {
        codec.encodeAgainst(x.subarray(i * d, (i + 1) * d), 1, one, cens.subarray(assign[i]! * d, (assign[i]! + 1) * d))
        expect(c2.subarray(i * codec.codeSize, (i + 1) * codec.codeSize)).toEqual(one)
      }
    }
  })

  it('the estimators are unbiased over rotations: the mean over 400 seeds is within 4 standard errors of the truth', () => {
    // One (x, q) pair, the estimate averaged over rotation seeds (qb = 0: no query rounding).
    // A wrong correction factor (dpm without 1/<ō, o>, f_rescale off by <ȳ, o>) biases the
    // mean by about 20% of <r, y>, far beyond 4 standard errors.
    const d = 24
    const x = gaussians(2, d, 21, 1)
    // q = c - 0.8 r + noise (c the mean of the two vectors, r = x0 - c): <r, q - c> is large, so a
    // wrong scale of the inner-product term shows, and the L2 distance is far from the clamp at 0.
    const noise = gaussians(1, d, 22)
    const q = Float32Array.from({ length: d }, (_, t) => {
      const c = (x[t]! + x[d + t]!) / 2
      return c - 0.8 * (x[t]! - c) + 0.3 * noise[t]!
    })
    for (const metric of ['l2', 'ip'] as const) {
      for (const nbits of [1, 3]) {
        const truth = trueDist(metric, q, x, 0, d)
        const ests: number[] = []
        for (let seed = 1; seed <= 400; seed++) {
          const codec = trained(d, { nbits, metric, seed }, x, 2)
          const codes = encoded(codec, x, 2)
          const s = codec.scanner(metric, { qb: 0 })
          s.setQuery(q, 0)
          const out = new Float32Array(2)
          s.scan(codes, 2, out)
          ests.push(out[0]!)
        }
        const mean = ests.reduce((a, b) => a + b, 0) / ests.length
        const sd = Math.sqrt(ests.reduce((a, b) => a + (b - mean) ** 2, 0) / (ests.length - 1))
        expect(sd).toBeGreaterThan(0)
        expect(Math.abs(mean - truth)).toBeLessThan((4 * sd) / Math.sqrt(ests.length))
      }
    }
  })

  it('the lower bounds hold for 95% to 99.5% of (query, code) pairs (EPS0 = 1.9: about 97%), 1-bit and extended', () => {
    const d = 64
    const n = 1000
    const nq = 12
    const x = gaussians(n, d, 31, 2)
    const qs = gaussians(nq, d, 32, 2)
    for (const metric of ['l2', 'ip'] as const) {
      for (const nbits of [1, 2, 5]) {
        for (const qb of [0, 4]) {
          const codec = trained(d, { nbits, metric, seed: 7 }, x, n)
          const codes = encoded(codec, x, n)
          const s = codec.scanner(metric, { qb })
          const est = new Float32Array(n)
          const lower = new Float32Array(n)
          let below = 0
          let above = 0
          for (let j = 0; j < nq; j++) {
            const q = qs.subarray(j * d, (j + 1) * d)
            s.setQuery(q, 0)
            s.scanWithBounds(codes, n, est, lower)
            for (let i = 0; i < n; i++) {
              const t = trueDist(metric, q, x, i, d)
              if (lower[i]! <= t) below++
              if (2 * est[i]! - lower[i]! >= t) above++
            }
          }
          const pairs = n * nq
          expect(below / pairs).toBeGreaterThanOrEqual(0.95)
          expect(below / pairs).toBeLessThanOrEqual(0.995)
          expect(above / pairs).toBeGreaterThanOrEqual(0.95)
        }
      }
    }
  })

  it('more bits, smaller error (RMSE of the L2 estimate falls with nbits)', () => {
    const d = 48
    const n = 400
    const x = gaussians(n, d, 41, 1)
    const q = gaussians(1, d, 42)
    let prev = Infinity
    for (const nbits of [1, 2, 3, 5, 9]) {
      const codec = trained(d, { nbits, seed: 2 }, x, n)
      const codes = encoded(codec, x, n)
      const s = codec.scanner('l2', { qb: 0 })
      s.setQuery(q, 0)
      const out = new Float32Array(n)
      s.scan(codes, n, out)
      let se = 0
      for (let i = 0; i < n; i++) se += (out[i]! - trueDist('l2', q, x, i, d)) ** 2
      const rmse = Math.sqrt(se / n)
      expect(rmse).toBeLessThan(prev)
      prev = rmse
    }
  })

  it('decode gives the vector whose inner product with q - c is the estimator', () => {
    const d = 20
    const n = 10
    const x = gaussians(n, d, 51, 1)
    const q = gaussians(1, d, 52)
    for (const nbits of [1, 4]) {
      const codec = trained(d, { nbits, seed: 4 }, x, n)
      const codes = encoded(codec, x, n)
      const back = new Float32Array(n * d)
      codec.decode(codes, n, back)
      const s = codec.scanner('l2', { qb: 0 })
      s.setQuery(q, 0)
      const out = new Float32Array(n)
      s.scan(codes, n, out)
      const c = codec.centroid
      for (let i = 0; i < n; i++) {
        let r2 = 0
        let y2 = 0
        let ip = 0
        for (let t = 0; t < d; t++) {
          r2 += (x[i * d + t]! - c[t]!) ** 2
          y2 += (q[t]! - c[t]!) ** 2
          ip += (q[t]! - c[t]!) * (back[i * d + t]! - c[t]!)
        }
        expect(close(out[i]!, Math.max(0, r2 + y2 - 2 * ip), r2 + y2)).toBe(true)
      }
    }
  })

  it('exportState / loadState round trip: the same codes and the same distances, bit for bit; deterministic for a seed', () => {
    const d = 40
    const n = 50
    const x = gaussians(n, d, 61, 1)
    const q = gaussians(1, d, 62)
    for (const options of [{ nbits: 1 }, { nbits: 6, metric: 'ip' as const }, { nbits: 3, rotate: false }] as RaBitQOptions[]) {
      const a = trained(d, { ...options, seed: 77 }, x, n)
      const b = new RaBitQuantizer(d, { ...options, seed: 77 }, tsKernels)
      const st = a.exportState()
      expect(st.kind).toBe('rabitq')
      b.loadState(st)
      expect(b.exportState()).toEqual(st)
      const ca = encoded(a, x, n)
      expect(encoded(b, x, n)).toEqual(ca)
      const same = trained(d, { ...options, seed: 77 }, x, n)
      expect(encoded(same, x, n)).toEqual(ca)
      const da = new Float32Array(n)
      const db = new Float32Array(n)
      const metric = options.metric ?? 'l2'
      const sa = a.scanner(metric)
      const sb = b.scanner(metric)
      sa.setQuery(q, 0)
      sb.setQuery(q, 0)
      sa.scan(ca, n, da)
      sb.scan(ca, n, db)
      expect(db).toEqual(da)
      if (options.rotate !== false) {
        const other = trained(d, { ...options, seed: 78 }, x, n)
        expect(encoded(other, x, n)).not.toEqual(ca)
      }
    }
  })

  it('bad options, shapes and states are VqErrors with stable codes', () => {
    const d = 8
    const x = gaussians(10, d, 71)
    for (const nbits of [0, 10, 1.5, Number.NaN]) {
      expectVqError(() => new RaBitQuantizer(d, { nbits }, tsKernels), VqOptionError, 'BAD_OPTION', /nbits/)
    }
    expectVqError(() => new RaBitQuantizer(0, {}, tsKernels), VqOptionError, 'BAD_OPTION')
    expectVqError(() => new RaBitQuantizer(d, { qb: 9 }, tsKernels), VqOptionError, 'BAD_OPTION', /qb/)
    expectVqError(() => new RaBitQuantizer(d, { metric: 'cosine' as 'l2' }, tsKernels), VqOptionError, 'BAD_OPTION')
    const fresh = new RaBitQuantizer(d, {}, tsKernels)
    expectVqError(() => fresh.encode(x, 10, new Uint8Array(10 * fresh.codeSize)), VqStateError, 'NOT_TRAINED')
    expectVqError(() => fresh.scanner('l2').setQuery(x, 0), VqStateError, 'NOT_TRAINED')
    expectVqError(() => fresh.train(x, 0), VqInputError, 'EMPTY_TRAINING_SET')
    const codec = trained(d, { nbits: 2 }, x, 10)
    expectVqError(() => codec.encode(x.subarray(0, 5 * d - 1), 5, new Uint8Array(5 * codec.codeSize)), VqInputError, 'DIMENSION_MISMATCH')
    expectVqError(() => codec.scanner('ip'), VqOptionError, 'BAD_OPTION', /metric/)
    expectVqError(() => codec.scanner('l2', { qb: -1 }), VqOptionError, 'BAD_OPTION')
    expectVqError(
      () => {
        codec.qb = 12
      },
      VqOptionError,
      'BAD_OPTION',
    )
    const s = codec.scanner('l2')
    expectVqError(() => s.setQuery(new Float32Array(d - 1), 0), VqInputError, 'DIMENSION_MISMATCH')
    const state = codec.exportState()
    expectVqError(() => new RaBitQuantizer(d + 1, { nbits: 2 }, tsKernels).loadState(state), VqFormatError, 'CORRUPT_FILE', /dim/)
    expectVqError(() => new RaBitQuantizer(d, { nbits: 3 }, tsKernels).loadState(state), VqFormatError, 'CORRUPT_FILE', /nbits/)
    const { centroid: _, ...noCentroid } = state.arrays
    expectVqError(
      () => new RaBitQuantizer(d, { nbits: 2 }, tsKernels).loadState({ ...state, arrays: noCentroid }),
      VqFormatError,
      'CORRUPT_FILE',
      /centroid/,
    )
    const broken = { ...state, arrays: { ...state.arrays, rotation: { shape: [d, d - 1], data: new Float32Array(d * (d - 1)) } } }
    expectVqError(() => new RaBitQuantizer(d, { nbits: 2 }, tsKernels).loadState(broken), VqFormatError, 'CORRUPT_FILE', /rotation/)
  })

  it('IVF lists of residual extended codes scan (CodeListScanner, per-list tables, no terms) as the reference estimate of the whole vector', () => {
    const d = 12
    const n = 90
    const nlist = 3
    const x = gaussians(n, d, 81, 2)
    const q = gaussians(1, d, 82, 2)
    for (const metric of ['l2', 'ip'] as const) {
      // 1-bit codes have a scanner of their own (test/quantizers/rabitq-list-scanner.test.ts).
      for (const nbits of [2, 3]) {
        const coarse = new CoarseQuantizer(nlist, d, metric, tsKernels)
        coarse.centroids = gaussians(nlist, d, 83, 2)
        const lists = Int32Array.from({ length: n }, (_, i) => i % nlist)
        const resid = x.map((v, i) => v - coarse.centroids[lists[Math.floor(i / d)]! * d + (i % d)]!)
        const codec = trained(d, { nbits, metric, seed: 5, qb: 4 }, resid, n)
        const codes = encoded(codec, resid, n)
        const plan = codec.listScanPlan({ kernels: tsKernels, inner: metric, residualOf: coarse })
        expect(plan.terms).toBe(false)
        const ids = Array.from({ length: n }, (_, i) => i)
        const view = InvertedLists.build(nlist, codec.codeSize, 0, lists, ids, ids, codes, null, null).view()
        const scanner = plan.create()
        scanner.setQuery(q, 0)
        const probeLists = Float64Array.from({ length: nlist }, (_, l) => l)
        const probeDist = Float32Array.from({ length: nlist }, (_, l) => {
          let s = 0
          for (let t = 0; t < d; t++)
            s += metric === 'l2' ? (q[t]! - coarse.centroids[l * d + t]!) ** 2 : -q[t]! * coarse.centroids[l * d + t]!
          return s
        })
        const hd = new Float32Array(n)
        const hl = new Float64Array(n)
        heapInit(n, hd, hl)
        expect(scanner.scanProbed(view, probeLists, probeDist, nlist, n, hd, hl)).toBe(n)
        heapSort(n, hd, hl)
        for (let j = 0; j < n; j++) {
          const l = Math.floor(hl[j]! / LIST_STRIDE)
          const i = view.ids[view.start[l]! + hl[j]! - l * LIST_STRIDE]!
          const c = coarse.centroids.subarray(l * d, (l + 1) * d)
          // L2: the codec set on q - c_l; IP: on q, plus the probe distance -<q, c_l>.
          const want =
            metric === 'l2'
              ? refEstimate(
                  codec,
                  codes,
                  i,
                  q.map((v, t) => v - c[t]!),
                  codec.centroid,
                  4,
                ).full
              : refEstimate(codec, codes, i, q, codec.centroid, 4).full + probeDist[l]!
          expect(close(hd[j]!, want, Math.abs(trueDist(metric, q, x, i, d)) + 1)).toBe(true)
        }
      }
    }
  })
})
