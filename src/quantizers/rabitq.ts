/**
 * RaBitQ (Gao and Long, SIGMOD 2024) and extended RaBitQ (b bits per dimension, Gao et al.
 * 2025), with FAISS 1.15's semantics (IndexRaBitQ / RaBitQuantizer / RaBitQUtils).
 *
 * A vector x is coded relative to a centroid c (the training mean for an exhaustive index,
 * FAISS's IndexRaBitQ; a list centroid for IVF, or zero): r = P(x - c), P a seeded random
 * orthogonal rotation (FAISS leaves the rotation to an "RR" transform; here it is part of the
 * codec, on by default, off with rotate: false). With o = r/||r||:
 *
 * - sign bits b_i = [r_i > 0]; the code's unit vector is ō = (2b - 1)/sqrt(d), and
 *   cos1 = <ō, o> = sum|r_i| / (sqrt(d) ||r||).
 * - the unbiased estimator of <r, y> for any y (here y = P(q - c)) is ||r|| <ō, y> / cos1,
 *   so   ||q - x||^2 = ||r||^2 + ||y||^2 - 2 <r, y>  is estimated with two floats per code:
 *   A = ||r||^2 (L2) or ||r||^2 - ||x||^2 (IP), and dpm = ||r|| / cos1.
 * - error bound (paper, Theorem 3.2; FAISS kConstEpsilon): with EPS0 = 1.9,
 *   |est - <r, y>| <= ||r|| ||y|| EPS0 sqrt((1 - cos1^2) / (cos1^2 (d - 1)))
 *   with high probability: the error is roughly normal with standard deviation (bound /
 *   EPS0), so each side fails for about 3% of pairs (the tests check 95% to 99.5%).
 *   On a distance the bound is f_error * ||y||, f_error = 2 (L2) or 1 (IP) times
 *   ||r|| EPS0 sqrt((1/cos1^2 - 1)/(d - 1)).
 * - extended RaBitQ (nbits = 1 + ex, ex = 1..8): per dimension an ex-bit magnitude
 *   u_i = min(floor(t |o_i|), 2^ex - 1), the scale t found by scanning the step points of
 *   FAISS's interval for the largest cosine between (u + 0.5) and |o| (exSearch 'exact'; or
 *   FAISS's approximate version of that scan, 'faiss'), stored flipped (2^ex - 1 - u) when r_i <= 0; the code vector is
 *   ȳ_i = sign_i (u_i + 0.5), i.e. ȳ_i = (b_i 2^ex + e_i) - (2^ex - 0.5) from the stored
 *   sign bit b_i and field e_i, and <r, y> is estimated by ||r|| <ȳ, y> / <ȳ, o>. Stored:
 *   f_add = ||r||^2 (L2) or <c, x - c> (IP), f_rescale = -2 ||r|| / <ȳ, o> (L2) or
 *   ||r|| / <ȳ, o> (IP). The full estimator's own bound has the same form with
 *   cos = <ȳ, o> / ||ȳ|| (scanWithBounds).
 *
 * Query side (1-bit estimate only, as in FAISS): y is scalar-quantized to qb bits over
 * [min y, max y] (qb = 0: float query). <ō, y> is then a sum of per-byte lookups (a table of
 * 256 entries per code byte, the byte-wise form of FAISS's bit-plane popcounts). The
 * extra-bit estimate always uses the float query (FAISS does the same).
 *
 * Distances are vqlite's: 'l2' the squared L2 (clamped at 0, as FAISS), 'ip' the negated
 * inner product.
 *
 * Code layout (little-endian float32; B = ceil(d/8), E = ceil(d*ex/8)), the same bytes as
 * FAISS's IndexRaBitQ codes except the 1-bit 'ip' layout, which also keeps f_error (FAISS
 * keeps it for multi-bit codes only; the 'ip' bound cannot be recovered without it):
 *
 *   nbits = 1, 'l2':  [0, B) sign bits (dim i: byte i>>3, bit i&7) | A | dpm          B + 8 bytes
 *   nbits = 1, 'ip':  [0, B) sign bits | A | dpm | f_error                           B + 12 bytes
 *   nbits >= 2:       [0, B) sign bits | A | dpm | f_error | [E bytes ex-fields,
 *                     dim i at stream bits i*ex.., LSB first] | f_add | f_rescale    B + 12 + E + 8 bytes
 */
import { heapPush, heapPushMany, type Kernels } from '../../native-free-kernels/index.js'
import { VqFormatError, VqInputError, VqOptionError } from '../errors.js'
import { Rng } from '../util/random.js'
import type { ListScanPlan, ListScanSetup } from './list-scanner.js'
import {
  assertTrained,
  type CodeScanner,
  expectArray,
  type InnerMetric,
  type Quantizer,
  type QuantizerState,
  type QuantizerTrainOptions,
} from './quantizer.js'
import { RaBitqLutScanner } from './rabitq-list-scanner.js'

/** The confidence constant of the error bound (the paper's epsilon_0; FAISS's kConstEpsilon). */
export const RABITQ_EPS0 = 1.9
/** FAISS's default number of query bits. */
export const RABITQ_DEFAULT_QB = 4
/** Start of the scale search of the ex-bit quantizer, per ex (FAISS's kTightStart). */
const TIGHT_START = [0, 0.15, 0.2, 0.52, 0.59, 0.71, 0.75, 0.77, 0.81]
/** Levels past the top code the scale search goes (FAISS's kNEnum). */
const SEARCH_EXTRA = 10
/** Rounding slack of the ex-bit quantizer (FAISS's kEps). */
const ROUND_EPS = 1e-5
/** Vectors encoded per block. */
const ENCODE_BLOCK = 1024
/** Ex-field bytes up to which the extended estimate sums them by byte tables (above: field by field). */
const EX_TABLE_MAX_BYTES = 32
/** Codes per block of scanTwoStage's first stage. */
const TWO_STAGE_BLOCK = 1024
/** Default seed of the rotation. */
const DEFAULT_SEED = 1234

/** Options of a RaBitQuantizer. */
export interface RaBitQOptions {
  /** Bits per dimension: 1 (RaBitQ) or 2..9 (extended RaBitQ: a sign bit and nbits - 1 extra bits). Default 1. */
  nbits?: number
  /** The metric the codes' factors are for ('l2' or 'ip'). Default 'l2'. */
  metric?: InnerMetric
  /** Rotate by a seeded random orthogonal matrix before coding. Default true. */
  rotate?: boolean
  /** Seed of the rotation. Default 1234. */
  seed?: number
  /** Code relative to the training mean (FAISS IndexRaBitQ; true) or to zero (IVF residuals; false). Default true. */
  center?: boolean
  /** Query bits of the 1-bit estimate, 0..8 (0: float query). Default 4 (FAISS). */
  qb?: number
  /**
   * How the ex-bit magnitudes are chosen: 'exact' (default) maximises the cosine between the
   * code and the residual over FAISS's scale interval; 'faiss' reproduces FAISS 1.15's
   * approximate search (see exMagnitudesFaiss), for parity checks.
   */
  exSearch?: 'exact' | 'faiss'
}

/** Options of one scanner. */
export interface RaBitQScanOptions {
  /** Query bits of the 1-bit estimate, 0..8 (0: float query). Default: the codec's qb. */
  qb?: number
}

/** Where the parts of a code are (see the module comment). */
export interface RaBitQLayout {
  /** Bytes of sign bits, ceil(d/8). */
  readonly signBytes: number
  /** Offset of A (float32). */
  readonly offA: number
  /** Offset of dpm (float32). */
  readonly offDpm: number
  /** Offset of f_error (float32), or -1 when the code has none (1-bit 'l2'). */
  readonly offError: number
  /** Offset of the ex-fields, or -1 (1-bit). */
  readonly offEx: number
  /** Bytes of ex-fields, ceil(d*ex/8). */
  readonly exBytes: number
  /** Offset of f_add (float32), or -1. */
  readonly offAdd: number
  /** Offset of f_rescale (float32), or -1. */
  readonly offRescale: number
  /** Bytes per code. */
  readonly codeSize: number
}

/** The layout of a code of dimension d with nbits bits per dimension for the metric. */
export function rabitqLayout(d: number, nbits: number, metric: InnerMetric): RaBitQLayout {
  const ex = nbits - 1
  const signBytes = (d + 7) >>> 3
  const hasError = ex > 0 || metric === 'ip'
  const base = signBytes + (hasError ? 12 : 8)
  const exBytes = ex > 0 ? (d * ex + 7) >>> 3 : 0
  return {
    signBytes,
    offA: signBytes,
    offDpm: signBytes + 4,
    offError: hasError ? signBytes + 8 : -1,
    offEx: ex > 0 ? base : -1,
    exBytes,
    offAdd: ex > 0 ? base + exBytes : -1,
    offRescale: ex > 0 ? base + exBytes + 4 : -1,
    codeSize: ex > 0 ? base + exBytes + 8 : base,
  }
}

/** A seeded d x d random orthogonal matrix (Gram-Schmidt on Gaussian rows), row-major: y = P x. */
export function randomRotation(d: number, seed: number): Float32Array {
  const rng = new Rng(seed)
  const m = new Float64Array(d * d)
  for (let i = 0; i < d * d; i++) m[i] = rng.normal()
  for (let i = 0; i < d; i++) {
    const ri = i * d
    // Two passes of modified Gram-Schmidt keep the rows orthogonal to float64 precision.
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const rj = j * d
        let dot = 0
        for (let t = 0; t < d; t++) dot += m[ri + t]! * m[rj + t]!
        for (let t = 0; t < d; t++) m[ri + t] = m[ri + t]! - dot * m[rj + t]!
      }
    }
    let norm = 0
    for (let t = 0; t < d; t++) norm += m[ri + t]! * m[ri + t]!
    const inv = 1 / Math.sqrt(norm)
    for (let t = 0; t < d; t++) m[ri + t] = m[ri + t]! * inv
  }
  return Float32Array.from(m)
}

function checkQb(qb: number): number {
  if (!Number.isInteger(qb) || qb < 0 || qb > 8) {
    throw new VqOptionError('BAD_OPTION', `RaBitQ query bits qb must be an integer from 0 to 8, got ${qb}`)
  }
  return qb
}

/**
 * The ex-bit magnitudes of one vector: oAbs = |r|/||r|| (length d), ex extra bits; writes
 * u[i] in [0, 2^ex) and returns <u + 0.5, oAbs>.
 *
 * The scale t is chosen among the step points k/oAbs_i (where some floor(t*oAbs_i) steps) in
 * FAISS's interval [tStart, tEnd), tEnd = (2^ex - 1 + 10)/max oAbs, tStart = tEnd * TIGHT[ex]:
 * every step point is a key of one sort (the dimension in the low mantissa bits of the key, a
 * relative change below 2^-40 that ROUND_EPS absorbs; words: the keys' 32-bit halves, low
 * half first on the little-endian platforms Node runs on), then one pass in increasing t keeps
 * the running numerator <u + 0.5, oAbs> and denominator ||u + 0.5||^2.
 *
 * exact (faiss false): magnitudes clamped to 2^ex - 1 throughout, the best cosine among the
 * start and every step. faiss: FAISS 1.15's version of the scan: magnitudes start unclamped
 * (above 2^ex - 1 for some dimensions at ex = 3, which then step once more), the running
 * 1/sqrt(denominator) follows FAISS's first-order rule inv *= 1 - 0.5 delta / (old + delta/2)
 * (it drifts low as steps accumulate, under-rating larger scales), and the best starts at 0.
 * Final magnitudes are min(floor(t*oAbs_i + eps), 2^ex - 1) in both.
 */
function exMagnitudes(
  oAbs: Float64Array,
  d: number,
  ex: number,
  u: Int32Array,
  keys: Float64Array,
  words: Uint32Array,
  faiss: boolean,
): number {
  const top = (1 << ex) - 1
  let omax = 0
  for (let i = 0; i < d; i++) if (oAbs[i]! > omax) omax = oAbs[i]!
  if (omax === 0) {
    u.fill(0, 0, d)
    return 0
  }
  const tEnd = (top + SEARCH_EXTRA) / omax
  const tStart = tEnd * TIGHT_START[ex]!
  const idBits = 32 - Math.clz32(d - 1 || 1)
  const idMask = (1 << idBits) - 1
  let denom = 0
  let num = 0
  let m = 0
  for (let i = 0; i < d; i++) {
    const o = oAbs[i]!
    const c0 = Math.floor(tStart * o + ROUND_EPS)
    const c = faiss ? c0 : Math.min(c0, top)
    u[i] = c
    denom += (c + 0.5) * (c + 0.5)
    num += (c + 0.5) * o
    if (!(o > 0)) continue
    const kmax = c < top ? top : faiss ? c + 1 : c
    for (let k = c + 1; k <= kmax; k++) {
      const t = k / o
      if (!(t < tEnd)) break
      keys[m] = t
      words[2 * m] = (words[2 * m]! & ~idMask) | i
      m++
    }
  }
  const ev = keys.subarray(0, m)
  ev.sort()
  let bestT = tStart
  let best = num / Math.sqrt(denom)
  let inv = 0
  if (faiss) {
    inv = 1 / Math.sqrt(denom)
    best = 0
    bestT = 0
  }
  for (let e = 0; e < m; e++) {
    const t = keys[e]!
    const i = words[2 * e]! & idMask
    const c = u[i]! + 1
    u[i] = c
    denom += 2 * c
    num += oAbs[i]!
    let ip: number
    if (faiss) {
      const delta = 2 * c
      inv *= 1 - (0.5 * delta) / (denom - delta + delta * 0.5)
      ip = num * inv
    } else ip = num / Math.sqrt(denom)
    if (ip > best) {
      best = ip
      bestT = t
    }
  }
  let ipnorm = 0
  for (let i = 0; i < d; i++) {
    const c = Math.min(Math.floor(bestT * oAbs[i]! + ROUND_EPS), top)
    u[i] = c
    ipnorm += (c + 0.5) * oAbs[i]!
  }
  return ipnorm
}

/** RaBitQ codes of dimension dim (see the module comment). */
export class RaBitQuantizer implements Quantizer {
  readonly dim: number
  /** Bits per dimension, 1..9. */
  readonly nbits: number
  /** Extra bits per dimension, nbits - 1. */
  readonly exBits: number
  /** The metric the codes are for. */
  readonly metric: InnerMetric
  readonly rotate: boolean
  readonly seed: number
  readonly center: boolean
  readonly exSearch: 'exact' | 'faiss'
  readonly layout: RaBitQLayout
  readonly codeSize: number
  /** Codes are scanned as stored. */
  get scanCodeSize(): number {
    return this.codeSize
  }
  /** Centroid codes are relative to (original space, length d); empty until trained. */
  centroid: Float32Array = new Float32Array(0)
  /** The rotation P (d*d, row-major, y = P x); empty until trained, or when rotate is false. */
  rotation: Float32Array = new Float32Array(0)
  #qb: number
  readonly #kernels: Kernels

  /** Throws VqOptionError for a bad dimension, nbits (1..9), metric or qb (0..8). */
  constructor(dim: number, options: RaBitQOptions, kernels: Kernels) {
    if (!Number.isInteger(dim) || dim < 1) throw new VqOptionError('BAD_OPTION', `RaBitQ dimension must be a positive integer, got ${dim}`)
    const nbits = options.nbits ?? 1
    if (!Number.isInteger(nbits) || nbits < 1 || nbits > 9) {
      throw new VqOptionError('BAD_OPTION', `RaBitQ nbits must be an integer from 1 to 9, got ${nbits}`)
    }
    const metric = options.metric ?? 'l2'
    if (metric !== 'l2' && metric !== 'ip')
      throw new VqOptionError('BAD_OPTION', `RaBitQ metric must be 'l2' or 'ip', got ${String(metric)}`)
    const seed = options.seed ?? DEFAULT_SEED
    if (!Number.isInteger(seed)) throw new VqOptionError('BAD_OPTION', `RaBitQ seed must be an integer, got ${seed}`)
    this.#qb = checkQb(options.qb ?? RABITQ_DEFAULT_QB)
    this.dim = dim
    this.nbits = nbits
    this.exBits = nbits - 1
    this.metric = metric
    this.rotate = options.rotate ?? true
    this.seed = seed
    this.center = options.center ?? true
    const exSearch = options.exSearch ?? 'exact'
    if (exSearch !== 'exact' && exSearch !== 'faiss') {
      throw new VqOptionError('BAD_OPTION', `RaBitQ exSearch must be 'exact' or 'faiss', got ${String(exSearch)}`)
    }
    this.exSearch = exSearch
    this.layout = rabitqLayout(dim, nbits, metric)
    this.codeSize = this.layout.codeSize
    this.#kernels = kernels
  }

  /** Query bits of the scanners made from now on without an explicit qb (0..8). */
  get qb(): number {
    return this.#qb
  }
  set qb(v: number) {
    this.#qb = checkQb(v)
  }

  get isTrained(): boolean {
    return this.centroid.length === this.dim && (!this.rotate || this.rotation.length === this.dim * this.dim)
  }

  /** The rotation (from the seed) and the centroid (the mean of x when center, else zero). */
  train(x: Float32Array, n: number, _options?: QuantizerTrainOptions): void {
    const d = this.dim
    const c = new Float64Array(d)
    if (this.center) {
      if (n < 1) throw new VqInputError('EMPTY_TRAINING_SET', 'RaBitQ training needs at least one vector to centre on, got 0')
      this.#checkRows(x, n, 'training vectors')
      for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) c[t] = c[t]! + x[i * d + t]!
      for (let t = 0; t < d; t++) c[t] = c[t]! / n
    }
    this.rotation = this.rotate ? randomRotation(d, this.seed) : new Float32Array(0)
    this.centroid = Float32Array.from(c)
  }

  #checkRows(x: Float32Array, n: number, what: string): void {
    if (!Number.isInteger(n) || n < 0 || x.length < n * this.dim) {
      throw new VqInputError('DIMENSION_MISMATCH', `RaBitQ: ${what} hold ${x.length} values, fewer than n*d = ${n}*${this.dim}`)
    }
  }

  /** Encodes n vectors x (n*dim) relative to the codec's centroid into out (n*codeSize bytes). */
  encode(x: Float32Array, n: number, out: Uint8Array): void {
    assertTrained(this, 'RaBitQuantizer', 'encoding')
    this.encodeAgainst(x, n, out, this.centroid)
  }

  /**
   * Encodes n vectors x (n*dim) into out (n*codeSize bytes), vector i relative to the
   * centroid centroids[assign[i]*d ..+d) (original space; assign absent: row 0 for all;
   * centroids null: zero). For IVF: centroids = the list centroids, assign = the lists.
   */
  encodeAgainst(x: Float32Array, n: number, out: Uint8Array, centroids: Float32Array | null, assign?: ArrayLike<number>): void {
    assertTrained(this, 'RaBitQuantizer', 'encoding')
    this.#checkRows(x, n, 'vectors')
    const d = this.dim
    const cs = this.codeSize
    if (out.length < n * cs) throw new VqInputError('BAD_ARGUMENT', `RaBitQ: code buffer of ${out.length} bytes, need ${n * cs}`)
    const L = this.layout
    const ex = this.exBits
    const ip = this.metric === 'ip'
    const sqrtD = Math.sqrt(d)
    const dm1 = d > 1 ? d - 1 : 1
    const errMul = ip ? 1 : 2
    const block = Math.min(ENCODE_BLOCK, Math.max(n, 1))
    const diff = new Float32Array(block * d)
    const rot = this.rotate ? new Float32Array(block * d) : diff
    const oAbs = new Float64Array(d)
    const u = new Int32Array(d)
    // Step points of the ex-bit scale search: at most d * 2^ex (see exMagnitudes).
    const keys = new Float64Array(ex > 0 ? d << ex : 0)
    const words = new Uint32Array(keys.buffer)
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength)
    for (let i0 = 0; i0 < n; i0 += block) {
      const b = Math.min(block, n - i0)
      for (let i = 0; i < b; i++) {
        const cOff = centroids === null ? -1 : (assign ? assign[i0 + i]! : 0) * d
        for (let t = 0; t < d; t++) diff[i * d + t] = x[(i0 + i) * d + t]! - (cOff < 0 ? 0 : centroids![cOff + t]!)
      }
      if (this.rotate) this.#kernels.innerProductMatrix(diff, b, this.rotation, d, d, rot)
      for (let i = 0; i < b; i++) {
        const base = (i0 + i) * cs
        out.fill(0, base, base + cs)
        const ro = i * d
        let norm2 = 0
        let sumAbs = 0
        for (let t = 0; t < d; t++) {
          const v = rot[ro + t]!
          norm2 += v * v
          if (v > 0) {
            sumAbs += v
            out[base + (t >>> 3)] = out[base + (t >>> 3)]! | (1 << (t & 7))
          } else sumAbs -= v
        }
        const norm = Math.sqrt(norm2)
        const cos1 = norm > 0 ? sumAbs / (sqrtD * norm) : 0
        const dpm = cos1 > 0 ? norm / cos1 : 0
        // ||x||^2 and <c, x - c> (IP factors), in the original space.
        let xNorm2 = 0
        let cDotR = 0
        if (ip) {
          const cOff = centroids === null ? -1 : (assign ? assign[i0 + i]! : 0) * d
          for (let t = 0; t < d; t++) {
            const xv = x[(i0 + i) * d + t]!
            xNorm2 += xv * xv
            if (cOff >= 0) cDotR += centroids![cOff + t]! * diff[i * d + t]!
          }
        }
        dv.setFloat32(base + L.offA, ip ? norm2 - xNorm2 : norm2, true)
        dv.setFloat32(base + L.offDpm, dpm, true)
        if (L.offError >= 0) {
          const ferr = cos1 > 0 && cos1 < 1 ? errMul * norm * RABITQ_EPS0 * Math.sqrt((1 / (cos1 * cos1) - 1) / dm1) : 0
          dv.setFloat32(base + L.offError, ferr, true)
        }
        if (ex > 0) {
          let fAdd = 0
          let fRescale = 0
          const top = (1 << ex) - 1
          if (norm > 0) {
            for (let t = 0; t < d; t++) oAbs[t] = Math.abs(rot[ro + t]!) / norm
            const ipnorm = exMagnitudes(oAbs, d, ex, u, keys, words, this.exSearch === 'faiss')
            const eb = base + L.offEx
            for (let t = 0; t < d; t++) {
              const v = rot[ro + t]! > 0 ? u[t]! : top - u[t]!
              const p = t * ex
              // A field spans at most two bytes (ex <= 8).
              const w = v << (p & 7)
              out[eb + (p >>> 3)] = out[eb + (p >>> 3)]! | (w & 255)
              if (w > 255) out[eb + (p >>> 3) + 1] = out[eb + (p >>> 3) + 1]! | (w >>> 8)
            }
            fAdd = ip ? cDotR : norm2
            fRescale = ipnorm > 0 ? (ip ? norm / ipnorm : (-2 * norm) / ipnorm) : 0
          }
          dv.setFloat32(base + L.offAdd, fAdd, true)
          dv.setFloat32(base + L.offRescale, fRescale, true)
        }
      }
    }
  }

  /** Decodes n codes relative to the codec's centroid into out (n*dim floats); see decodeAgainst. */
  decode(codes: Uint8Array, n: number, out: Float32Array): void {
    assertTrained(this, 'RaBitQuantizer', 'decoding')
    this.decodeAgainst(codes, n, out, this.centroid)
  }

  /**
   * The reconstructions c + P^T r^ of n codes (centroids / assign as in encodeAgainst), r^ the
   * vector whose inner product with any y is the estimator's: ō dpm (1-bit) or ȳ ||r||/<ȳ, o>
   * (extended). Geared to inner products, as FAISS's decode: ||r^|| >= ||r||.
   */
  decodeAgainst(codes: Uint8Array, n: number, out: Float32Array, centroids: Float32Array | null, assign?: ArrayLike<number>): void {
    assertTrained(this, 'RaBitQuantizer', 'decoding')
    const d = this.dim
    const cs = this.codeSize
    const L = this.layout
    const ex = this.exBits
    const cb = -((1 << ex) - 0.5)
    const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
    const r = new Float64Array(d)
    const P = this.rotation
    for (let i = 0; i < n; i++) {
      const base = i * cs
      if (ex === 0) {
        const s = dv.getFloat32(base + L.offDpm, true) / Math.sqrt(d)
        for (let t = 0; t < d; t++) r[t] = (codes[base + (t >>> 3)]! >>> (t & 7)) & 1 ? s : -s
      } else {
        const resc = dv.getFloat32(base + L.offRescale, true)
        const scale = this.metric === 'ip' ? resc : -resc / 2
        const eb = base + L.offEx
        for (let t = 0; t < d; t++) r[t] = scale * (rabitqField(codes, base, eb, t, ex) + cb)
      }
      const cOff = centroids === null ? -1 : (assign ? assign[i]! : 0) * d
      for (let t = 0; t < d; t++) {
        let v = 0
        if (this.rotate) for (let j = 0; j < d; j++) v += P[j * d + t]! * r[j]!
        else v = r[t]!
        out[i * d + t] = v + (cOff < 0 ? 0 : centroids![cOff + t]!)
      }
    }
  }

  /** A scanner for the codec's metric (VqOptionError for the other metric: the codes' factors are metric-specific). */
  scanner(metric: InnerMetric, options: RaBitQScanOptions = {}): RaBitQScanner {
    if (metric !== this.metric) {
      throw new VqOptionError('BAD_OPTION', `RaBitQ codes were made for metric '${this.metric}' and cannot be scanned under '${metric}'`)
    }
    return new RaBitQScanner(this, checkQb(options.qb ?? this.#qb))
  }

  /**
   * Lists are scanned by CodeListScanner with per-list tables: under L2 with IVF residuals
   * ('table' mode) the scanner is set on q - c_l for each probed list, so the 1-bit query
   * quantization and the error scale follow ||q - c_l|| as in FAISS's IndexIVFRaBitQ; there
   * are no item terms (the factors are in the code). Under IP ('ip' mode) the scanner is set
   * on q and the probe distance -<q, c_l> is added: exact in expectation, with an error scale
   * of ||q - m|| instead of FAISS's ||q - c_l|| (m: the codec's centroid).
   */
  listScanPlan(setup: ListScanSetup): ListScanPlan {
    // The lookup-table scan of the sign bits (rabitq-list-scanner.ts; extended codes are
    // rescored with every bit), which also gives the error bounds of bound-driven re-ranking.
    return { terms: false, create: () => new RaBitqLutScanner(this, setup) }
  }

  exportState(): QuantizerState {
    const d = this.dim
    const arrays: Record<string, { shape: number[]; data: Float32Array }> = { centroid: { shape: [d], data: this.centroid } }
    if (this.rotate) arrays['rotation'] = { shape: [d, d], data: this.rotation }
    return {
      kind: 'rabitq',
      params: {
        dim: d,
        nbits: this.nbits,
        metric: this.metric === 'ip' ? 1 : 0,
        rotate: this.rotate ? 1 : 0,
        seed: this.seed,
        center: this.center ? 1 : 0,
        qb: this.#qb,
        exSearch: this.exSearch === 'faiss' ? 1 : 0,
      },
      arrays,
    }
  }

  /** Restores exportState's state; VqFormatError('CORRUPT_FILE') when it is not a state of this configuration. */
  loadState(state: QuantizerState): void {
    const p = state.params
    const want: Record<string, number> = {
      dim: this.dim,
      nbits: this.nbits,
      metric: this.metric === 'ip' ? 1 : 0,
      rotate: this.rotate ? 1 : 0,
    }
    // The index restores a codec from its arrays alone (IndexModel.loadArrays: the
    // parameters come from the description); a state from exportState must agree with them.
    for (const [k, v] of Object.entries(want)) {
      if (p[k] !== undefined && p[k] !== v) throw new VqFormatError('CORRUPT_FILE', `RaBitQ state has ${k} = ${p[k]}, this codec has ${v}`)
    }
    const centroid = expectArray(state, 'centroid', [this.dim]).slice()
    const rotation = this.rotate ? expectArray(state, 'rotation', [this.dim, this.dim]).slice() : new Float32Array(0)
    this.centroid = centroid
    this.rotation = rotation
  }
}

/** The value (b_i 2^ex + e_i) of dimension t of the code at base (ex-fields at eb): ȳ_t = value + cb. */
export function rabitqField(codes: Uint8Array, base: number, eb: number, t: number, ex: number): number {
  const sb = (codes[base + (t >>> 3)]! >>> (t & 7)) & 1
  const p = t * ex
  const q = eb + (p >>> 3)
  const w = codes[q]! | (codes[q + 1]! << 8)
  return (sb << ex) + ((w >>> (p & 7)) & ((1 << ex) - 1))
}

/** A query's state and the scans of RaBitQ codes (one per thread of queries). */
export class RaBitQScanner implements CodeScanner {
  readonly #c: RaBitQuantizer
  /** Query bits of the 1-bit estimate (0: float query). */
  readonly qb: number
  readonly #d: number
  /** y = P(q - c), float64. */
  readonly #y: Float64Array
  readonly #diff: Float64Array
  /** 1-bit table: per sign byte j, 256 entries of c1 <qq, bits> + c2 popcount. */
  readonly #t1: Float64Array
  /** Full (extended) table: sign bytes then ex bytes, 256 entries each, on the float query. */
  readonly #tf: Float64Array
  /** The ex-fields are summed by byte tables (few ex bytes) or field by field. */
  readonly #exTable: boolean
  #c34 = 0
  /** ||y||^2 = ||q - c||^2. */
  #y2 = 0
  /** ||y||. */
  #g = 0
  /** ||q||^2 and <q, c> (IP). */
  #q2 = 0
  #qc = 0
  /** cb * sum y: the constant of the extended estimate. */
  #fullConst = 0
  #set = false
  readonly #one = new Float32Array(1)
  readonly #blockEst = new Float32Array(TWO_STAGE_BLOCK)
  readonly #blockLower = new Float32Array(TWO_STAGE_BLOCK)

  constructor(codec: RaBitQuantizer, qb: number) {
    this.#c = codec
    this.qb = qb
    const d = codec.dim
    this.#d = d
    this.#y = new Float64Array(d)
    this.#diff = new Float64Array(d)
    const L = codec.layout
    this.#t1 = new Float64Array(L.signBytes * 256)
    this.#exTable = L.exBytes <= EX_TABLE_MAX_BYTES
    this.#tf = codec.exBits > 0 ? new Float64Array((L.signBytes + (this.#exTable ? L.exBytes : 0)) * 256) : new Float64Array(0)
  }

  /** Sets the query q[qOff..qOff+d), relative to the codec's centroid (codes from encode()). */
  setQuery(q: Float32Array, qOff: number): void {
    this.setQueryAgainst(q, qOff, this.#c.centroid, 0)
  }

  /** Sets the query relative to centroid[cOff..cOff+d) (null: zero): for codes encoded against that centroid. */
  setQueryAgainst(q: Float32Array, qOff: number, centroid: Float32Array | null, cOff: number): void {
    const c = this.#c
    assertTrained(c, 'RaBitQuantizer', 'scanning')
    const d = this.#d
    if (qOff < 0 || q.length < qOff + d)
      throw new VqInputError('DIMENSION_MISMATCH', `RaBitQ query needs ${d} values from offset ${qOff}, got ${q.length}`)
    const diff = this.#diff
    const y = this.#y
    let q2 = 0
    let qc = 0
    for (let t = 0; t < d; t++) {
      const qv = q[qOff + t]!
      const cv = centroid === null ? 0 : centroid[cOff + t]!
      diff[t] = qv - cv
      q2 += qv * qv
      qc += qv * cv
    }
    if (c.rotate) {
      const P = c.rotation
      for (let j = 0; j < d; j++) {
        let s = 0
        for (let t = 0; t < d; t++) s += P[j * d + t]! * diff[t]!
        y[j] = s
      }
    } else y.set(diff)
    let y2 = 0
    let ySum = 0
    for (let t = 0; t < d; t++) {
      y2 += y[t]! * y[t]!
      ySum += y[t]!
    }
    this.#y2 = y2
    this.#g = Math.sqrt(y2)
    this.#q2 = q2
    this.#qc = qc
    const invSqrtD = 1 / Math.sqrt(d)
    // 1-bit query: qq_t = round((y_t - vmin)/delta) in [0, 2^qb - 1] (qb = 0: y itself).
    const w = this.#diff // reused: the per-dimension weights of the 1-bit table
    let c1: number
    let c2: number
    if (this.qb === 0) {
      for (let t = 0; t < d; t++) w[t] = y[t]!
      c1 = 2 * invSqrtD
      c2 = 0
      this.#c34 = ySum * invSqrtD
    } else {
      const top = (1 << this.qb) - 1
      let vmin = Infinity
      let vmax = -Infinity
      for (let t = 0; t < d; t++) {
        if (y[t]! < vmin) vmin = y[t]!
        if (y[t]! > vmax) vmax = y[t]!
      }
      const delta = (vmax - vmin) / top
      let sumQq = 0
      for (let t = 0; t < d; t++) {
        let v = 0
        if (delta > 0) {
          const z = (y[t]! - vmin) / delta
          v = z <= 0 ? 0 : z >= top ? top : Math.floor(z + 0.5)
        }
        w[t] = v
        sumQq += v
      }
      c1 = 2 * delta * invSqrtD
      c2 = 2 * vmin * invSqrtD
      this.#c34 = invSqrtD * (delta * sumQq + d * vmin)
    }
    byteTables(this.#t1, 0, w, d, 1, c1, c2)
    const ex = c.exBits
    if (ex > 0) {
      const L = c.layout
      // Sign bits weigh 2^ex y_t, field bit k of dimension t weighs 2^k y_t; cb = -(2^ex - 0.5).
      byteTables(this.#tf, 0, y, d, 1, 1 << ex, 0)
      if (this.#exTable) byteTables(this.#tf, L.signBytes * 256, y, d, ex, 1, 0)
      this.#fullConst = -((1 << ex) - 0.5) * ySum
    }
    this.#set = true
  }

  #check(codes: Uint8Array, n: number, outs: Float32Array[]): void {
    if (!this.#set) throw new VqInputError('BAD_ARGUMENT', 'RaBitQ scanner: setQuery() must come before scanning')
    if (codes.length < n * this.#c.codeSize)
      throw new VqInputError('BAD_ARGUMENT', `RaBitQ scan: ${codes.length} code bytes for ${n} codes`)
    for (const o of outs) if (o.length < n) throw new VqInputError('BAD_ARGUMENT', `RaBitQ scan: output of ${o.length} for ${n} codes`)
  }

  /** out[i] = the estimated distance to code i: the 1-bit estimate (nbits = 1) or the extended one. */
  scan(codes: Uint8Array, n: number, out: Float32Array): void {
    if (this.#c.exBits === 0) this.scan1Bit(codes, n, out)
    else this.#scanFull(codes, n, out, null)
  }

  /**
   * The 1-bit estimate of every code (also of extended codes: their sign bits and base
   * factors), and with lower its lower bound est - f_error ||q - c|| (the first stage of
   * FAISS's two-stage multi-bit search). The upper bound is est + (est - lower) before
   * clamping. For 1-bit 'l2' codes f_error is computed from A and dpm.
   */
  scan1Bit(codes: Uint8Array, n: number, est: Float32Array, lower?: Float32Array): void {
    this.#check(codes, n, lower ? [est, lower] : [est])
    const c = this.#c
    const L = c.layout
    const cs = c.codeSize
    const B = L.signBytes
    const t1 = this.#t1
    const c34 = this.#c34
    const y2 = this.#y2
    const ip = c.metric === 'ip'
    const q2 = this.#q2
    const g = this.#g
    const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
    const errScale = (2 * RABITQ_EPS0) / Math.sqrt(this.#d > 1 ? this.#d - 1 : 1)
    const B4 = B & ~3
    for (let i = 0; i < n; i++) {
      const base = i * cs
      // Four lookups per step (about half the instructions of one per step: callgrind).
      let s = 0
      let j = 0
      for (; j < B4; j += 4) {
        const o = base + j
        s +=
          t1[(j << 8) | codes[o]!]! +
          t1[((j + 1) << 8) | codes[o + 1]!]! +
          t1[((j + 2) << 8) | codes[o + 2]!]! +
          t1[((j + 3) << 8) | codes[o + 3]!]!
      }
      for (; j < B; j++) s += t1[(j << 8) | codes[base + j]!]!
      const a = dv.getFloat32(base + L.offA, true)
      const dpm = dv.getFloat32(base + L.offDpm, true)
      const pre = a + y2 - 2 * dpm * (s - c34)
      const e = ip ? 0.5 * (pre - q2) : pre > 0 ? pre : 0
      est[i] = e
      if (lower) {
        let ferr: number
        if (L.offError >= 0) ferr = dv.getFloat32(base + L.offError, true)
        else {
          const x = dpm * dpm - a
          ferr = x > 0 ? errScale * Math.sqrt(x) : 0
        }
        const lo = e - ferr * g
        lower[i] = !ip && lo < 0 ? 0 : lo
      }
    }
  }

  /**
   * FAISS's two-stage search of n codes into the heap hd / hl of k entries (topk.ts; labels
   * labelOffset + i): the 1-bit estimate and its lower bound for every code, then the
   * extended estimate only for the codes whose lower bound is below the heap's current k-th
   * distance. A code whose bound fails (about 3%) may be skipped although its extended
   * estimate would have entered. 1-bit codes: every 1-bit estimate is offered. Returns the
   * number of codes given the extended estimate (n for 1-bit codes).
   */
  scanTwoStage(codes: Uint8Array, n: number, k: number, hd: Float32Array, hl: Float64Array, labelOffset: number): number {
    const c = this.#c
    const cs = c.codeSize
    const est = this.#blockEst
    const lower = this.#blockLower
    const twoStage = c.exBits > 0
    const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
    let refined = 0
    for (let o = 0; o < n; o += TWO_STAGE_BLOCK) {
      const b = Math.min(TWO_STAGE_BLOCK, n - o)
      const block = codes.subarray(o * cs, (o + b) * cs)
      if (!twoStage) {
        this.scan1Bit(block, b, est)
        heapPushMany(k, hd, hl, est, b, labelOffset + o)
        refined += b
        continue
      }
      this.scan1Bit(block, b, est, lower)
      let top = hd[0]!
      for (let i = 0; i < b; i++) {
        if (!(lower[i]! < top)) continue
        refined++
        if (heapPush(k, hd, hl, Math.fround(this.#fullOf(codes, (o + i) * cs, dv)), labelOffset + o + i)) top = hd[0]!
      }
    }
    return refined
  }

  /** The extended estimate of every code (nbits >= 2) and its lower bound (see the module comment); for 1-bit codes, scan1Bit. */
  scanWithBounds(codes: Uint8Array, n: number, est: Float32Array, lower: Float32Array): void {
    if (this.#c.exBits === 0) this.scan1Bit(codes, n, est, lower)
    else this.#scanFull(codes, n, est, lower)
  }

  /**
   * The estimated distance to code i of codes (the extended estimate; for 1-bit codes the
   * 1-bit one): the refinement step of a two-stage search over scan1Bit's bounds.
   */
  estimate(codes: Uint8Array, i: number): number {
    const c = this.#c
    if (!this.#set) throw new VqInputError('BAD_ARGUMENT', 'RaBitQ scanner: setQuery() must come before scanning')
    if (c.exBits === 0) {
      this.scan1Bit(codes.subarray(i * c.codeSize, (i + 1) * c.codeSize), 1, this.#one)
      return this.#one[0]!
    }
    const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
    return this.#fullOf(codes, i * c.codeSize, dv)
  }

  /** The extended estimate of the code at base (a distance: clamped L2 or negated IP). */
  #fullOf(codes: Uint8Array, base: number, dv: DataView): number {
    const c = this.#c
    const L = c.layout
    const B = L.signBytes
    const tf = this.#tf
    let s = this.#fullConst
    for (let j = 0; j < B; j++) s += tf[(j << 8) | codes[base + j]!]!
    const eb = base + L.offEx
    if (this.#exTable) {
      const E = L.exBytes
      for (let j = 0; j < E; j++) s += tf[((B + j) << 8) | codes[eb + j]!]!
    } else {
      const y = this.#y
      const d = this.#d
      const ex = c.exBits
      if (ex === 8) {
        for (let t = 0; t < d; t++) s += y[t]! * codes[eb + t]!
      } else {
        const mask = (1 << ex) - 1
        for (let t = 0, p = 0; t < d; t++, p += ex) {
          const q = eb + (p >>> 3)
          s += y[t]! * (((codes[q]! | (codes[q + 1]! << 8)) >>> (p & 7)) & mask)
        }
      }
    }
    const v =
      (c.metric === 'ip' ? this.#qc : this.#y2) + dv.getFloat32(base + L.offAdd, true) + dv.getFloat32(base + L.offRescale, true) * s
    return c.metric === 'ip' ? -v : v > 0 ? v : 0
  }

  /** The extended estimate (and with lower its bound) of n codes. */
  #scanFull(codes: Uint8Array, n: number, est: Float32Array, lower: Float32Array | null): void {
    this.#check(codes, n, lower ? [est, lower] : [est])
    const c = this.#c
    const L = c.layout
    const cs = c.codeSize
    const ex = c.exBits
    const ip = c.metric === 'ip'
    const d = this.#d
    const dm1 = d > 1 ? d - 1 : 1
    const cb = -((1 << ex) - 0.5)
    const errScale = (RABITQ_EPS0 * this.#g) / Math.sqrt(dm1)
    const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
    for (let i = 0; i < n; i++) {
      const base = i * cs
      const e = this.#fullOf(codes, base, dv)
      est[i] = e
      if (lower) {
        // ||r|| (L2: sqrt(A); IP: from dpm and the 1-bit f_error), <ȳ, o> = m ||r|| / |f_rescale|.
        const a = dv.getFloat32(base + L.offA, true)
        let rn: number
        if (ip) {
          const dpm = dv.getFloat32(base + L.offDpm, true)
          const fe = dv.getFloat32(base + L.offError, true) / RABITQ_EPS0
          const r2 = dpm * dpm - fe * fe * dm1
          rn = r2 > 0 ? Math.sqrt(r2) : 0
        } else rn = Math.sqrt(a > 0 ? a : 0)
        const fRes = dv.getFloat32(base + L.offRescale, true)
        const absRes = fRes < 0 ? -fRes : fRes
        let err = 0
        if (absRes > 0) {
          const ipn = ((ip ? 1 : 2) * rn) / absRes
          const eb = base + L.offEx
          let yy = 0
          for (let t = 0; t < d; t++) {
            const f = rabitqField(codes, base, eb, t, ex) + cb
            yy += f * f
          }
          const x = yy - ipn * ipn
          err = x > 0 ? absRes * errScale * Math.sqrt(x) : 0
        }
        const lo = e - err
        lower[i] = !ip && lo < 0 ? 0 : lo
      }
    }
  }
}

/**
 * Byte lookup tables over a bit stream: bit p of the stream (p = t*width + k, t < d, k <
 * width) weighs w[t] * 2^k * mul, plus add per set bit; writes, for every byte j of the stream,
 * out[off + j*256 + b] = the sum of the weights of the set bits of b. Bytes: ceil(d*width/8).
 */
function byteTables(out: Float64Array, off: number, w: Float64Array, d: number, width: number, mul: number, add: number): void {
  const bits = d * width
  const bytes = (bits + 7) >>> 3
  const bw = new Float64Array(8)
  for (let j = 0; j < bytes; j++) {
    for (let k = 0; k < 8; k++) {
      const p = j * 8 + k
      bw[k] = p < bits ? w[Math.floor(p / width)]! * mul * 2 ** (p % width) + add : 0
    }
    const o = off + j * 256
    out[o] = 0
    for (let b = 1; b < 256; b++) {
      const low = 31 - Math.clz32(b & -b)
      out[o + b] = out[o + (b & (b - 1))]! + bw[low]!
    }
  }
}
