/**
 * Scalar quantizers: each dimension on its own.
 *
 * 'sq8' / 'sq4': L = 256 or 16 levels per dimension over a range [vmin_t, vmin_t + vdiff_t]
 * learned at training (min/max of the training data, or quantiles when clipping). The
 * range is cut into L equal bins and a value decodes to the centre of its bin:
 *   code = clamp(floor((x - vmin) / vdiff * L), 0, L-1),   x^ = offset + step * code,
 *   step = vdiff / L,   offset = vmin + step / 2,
 * so the error is at most step/2 inside the range. Codes: one byte per dimension (sq8),
 * or two dimensions per byte, low nibble first (sq4: ceil(d/2) bytes).
 *
 * 'fp16': IEEE half floats, 2 bytes per dimension, no training.
 *
 * Distances are computed on the codes, by per-query lookup tables (see scanner()); the
 * sq8L2/sq8Dot/sq4L2/sq4Dot kernels compute the same sums arithmetically.
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import { floatToHalf, HALF_TO_FLOAT } from '../../native-free-kernels/index.js'
import { VqInputError, VqOptionError } from '../errors.js'
import { Rng } from '../util/random.js'
import { codeListPlan, type ListScanPlan, type ListScanSetup } from './list-scanner.js'
import {
  assertTrained,
  type CodeScanner,
  expectArray,
  type InnerMetric,
  type Quantizer,
  type QuantizerState,
  type QuantizerTrainOptions,
} from './quantizer.js'

/** Training vectors used to estimate quantiles when clipping. */
const QUANTILE_SAMPLE = 65536

/** An 8-bit or 4-bit per-dimension scalar quantizer (see the module comment). */
export class ScalarQuantizer implements Quantizer {
  /** Dimension d. */
  readonly dim: number
  /** Bits per dimension: 8 or 4. */
  readonly bits: 8 | 4
  /** Fraction of training values clipped at each end of every dimension's range. */
  readonly clip: number
  /** Bytes per code: d (8 bits) or ceil(d/2) (4 bits). */
  readonly codeSize: number
  /** Codes are scanned as stored. */
  get scanCodeSize(): number {
    return this.codeSize
  }
  /** Per-dimension decode offset (centre of bin 0), length d. Empty until trained. */
  offset: Float32Array
  /** Per-dimension bin width, length d. Empty until trained. */
  step: Float32Array
  readonly #kernels: Kernels

  /** Throws VqOptionError when clip is not in [0, 0.5). */
  constructor(dim: number, bits: 8 | 4, clip: number, kernels: Kernels) {
    if (!(clip >= 0 && clip < 0.5)) throw new VqOptionError('BAD_OPTION', `SQ clip must be in [0, 0.5), got ${clip}`)
    this.dim = dim
    this.bits = bits
    this.clip = clip
    this.codeSize = bits === 8 ? dim : (dim + 1) >>> 1
    this.offset = new Float32Array(0)
    this.step = new Float32Array(0)
    this.#kernels = kernels
  }

  /** True once train() has succeeded. */
  get isTrained(): boolean {
    return this.step.length === this.dim
  }

  /** Learns per-dimension ranges: min/max, or the clip and 1-clip quantiles. */
  train(x: Float32Array, n: number, options: QuantizerTrainOptions = {}): void {
    const d = this.dim
    if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'scalar quantizer training needs at least one vector, got 0')
    const lo = new Float64Array(d).fill(Infinity)
    const hi = new Float64Array(d).fill(-Infinity)
    if (this.clip === 0) {
      for (let i = 0; i < n; i++) {
        for (let t = 0; t < d; t++) {
          const v = x[i * d + t]!
          if (v < lo[t]!) lo[t] = v
          if (v > hi[t]!) hi[t] = v
        }
      }
    } else {
      const ns = Math.min(n, QUANTILE_SAMPLE)
      const rows = ns < n ? new Rng(options.seed ?? 1234).sample(n, ns) : undefined
      const col = new Float32Array(ns)
      for (let t = 0; t < d; t++) {
        for (let i = 0; i < ns; i++) col[i] = x[(rows ? rows[i]! : i) * d + t]!
        col.sort()
        lo[t] = col[Math.floor(this.clip * (ns - 1))]!
        hi[t] = col[Math.ceil((1 - this.clip) * (ns - 1))]!
      }
    }
    const levels = 1 << this.bits
    const offset = new Float32Array(d)
    const step = new Float32Array(d)
    for (let t = 0; t < d; t++) {
      const s = (hi[t]! - lo[t]!) / levels
      step[t] = s
      offset[t] = lo[t]! + s / 2
    }
    this.offset = offset
    this.step = step
  }

  /** Encodes n vectors x (n*dim floats) into out (n*codeSize bytes), clamping to the trained range. */
  encode(x: Float32Array, n: number, out: Uint8Array): void {
    assertTrained(this, 'ScalarQuantizer', 'encoding')
    const d = this.dim
    const levels = 1 << this.bits
    const top = levels - 1
    const lo = new Float64Array(d)
    const inv = new Float64Array(d)
    for (let t = 0; t < d; t++) {
      lo[t] = this.offset[t]! - this.step[t]! / 2
      inv[t] = this.step[t]! > 0 ? 1 / this.step[t]! : 0
    }
    const code = (i: number, t: number): number => {
      const c = Math.floor((x[i * d + t]! - lo[t]!) * inv[t]!)
      return c < 0 ? 0 : c > top ? top : c
    }
    if (this.bits === 8) {
      for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) out[i * d + t] = code(i, t)
    } else {
      const cs = this.codeSize
      for (let i = 0; i < n; i++) {
        for (let t = 0; t < d; t += 2) {
          const hiNib = t + 1 < d ? code(i, t + 1) << 4 : 0
          out[i * cs + (t >>> 1)] = code(i, t) | hiNib
        }
      }
    }
  }

  /** Decodes n codes (n*codeSize bytes) into out (n*dim floats): offset + step*code. */
  decode(codes: Uint8Array, n: number, out: Float32Array): void {
    assertTrained(this, 'ScalarQuantizer', 'decoding')
    const d = this.dim
    const cs = this.codeSize
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < d; t++) {
        const c = this.bits === 8 ? codes[i * cs + t]! : (codes[i * cs + (t >>> 1)]! >>> ((t & 1) * 4)) & 15
        out[i * d + t] = this.offset[t]! + this.step[t]! * c
      }
    }
  }

  /**
   * Distances by table lookup: setQuery builds, for every dimension t and code value c,
   * table[t*L + c] = (q_t - offset_t - step_t*c)^2 ('l2') or -q_t*(offset_t + step_t*c)
   * ('ip'), L = 2^bits (d*L floats: 100 KiB for d = 100, 8 bits). A code is then exactly a
   * PQ code with m = d sub-spaces of one dimension, in the same packing, and the scan is
   * the ADC kernel: one lookup and one add per dimension instead of two multiplies.
   */
  scanner(metric: InnerMetric): CodeScanner {
    const d = this.dim
    const k = this.#kernels
    const bits = this.bits
    const levels = 1 << bits
    const table = new Float32Array(d * levels)
    // A new version per query (of this table array): the backend may keep its copy of the
    // table between lists (see Kernels.pqScan).
    let version = 0
    return {
      setQuery: (q, off) => {
        assertTrained(this, 'ScalarQuantizer', 'scanning')
        const { offset, step } = this
        version++
        for (let t = 0; t < d; t++) {
          const qt = q[off + t]!
          const base = t * levels
          for (let c = 0; c < levels; c++) {
            const x = offset[t]! + step[t]! * c
            table[base + c] = metric === 'l2' ? (qt - x) * (qt - x) : -qt * x
          }
        }
      },
      scan(codes, n, out, resident) {
        k.pqScan(codes, n, d, bits, table, out, version, resident)
      },
    }
  }

  /** Lists are scanned by CodeListScanner over scanner() (residual L2 by item terms). */
  listScanPlan(setup: ListScanSetup): ListScanPlan {
    return codeListPlan(this, setup)
  }

  /** dim, clip and the per-dimension offset and step (d floats each). */
  exportState(): QuantizerState {
    return {
      kind: this.bits === 8 ? 'sq8' : 'sq4',
      params: { dim: this.dim, clip: this.clip },
      arrays: { offset: { shape: [this.dim], data: this.offset }, step: { shape: [this.dim], data: this.step } },
    }
  }

  /** Restores the per-dimension offset and step (shape [d] each). */
  loadState(state: QuantizerState): void {
    this.offset = expectArray(state, 'offset', [this.dim]).slice()
    this.step = expectArray(state, 'step', [this.dim]).slice()
  }
}

/** Half-float codec: 2 bytes per dimension, no training. */
export class Fp16Codec implements Quantizer {
  /** Dimension d. */
  readonly dim: number
  /** 2*dim bytes. */
  readonly codeSize: number
  /** Codes are scanned as stored. */
  get scanCodeSize(): number {
    return this.codeSize
  }
  /** Always true: nothing to learn. */
  readonly isTrained = true
  readonly #kernels: Kernels

  /** dim: vector dimension; kernels: the backend that computes distances. */
  constructor(dim: number, kernels: Kernels) {
    this.dim = dim
    this.codeSize = 2 * dim
    this.#kernels = kernels
  }

  /** Nothing to learn. */
  train(): void {}

  /** Encodes n vectors x (n*dim floats) into out (n*2*dim bytes, little-endian halves, nearest-even rounding). */
  encode(x: Float32Array, n: number, out: Uint8Array): void {
    const len = n * this.dim
    for (let i = 0; i < len; i++) {
      const h = floatToHalf(x[i]!)
      out[2 * i] = h & 255
      out[2 * i + 1] = h >>> 8
    }
  }

  /** Decodes n codes (n*2*dim bytes) into out (n*dim floats). */
  decode(codes: Uint8Array, n: number, out: Float32Array): void {
    const len = n * this.dim
    for (let i = 0; i < len; i++) out[i] = HALF_TO_FLOAT[codes[2 * i]! | (codes[2 * i + 1]! << 8)]!
  }

  /** Distances on the half floats directly (fp16L2 / fp16Dot kernels). */
  scanner(metric: InnerMetric): CodeScanner {
    const d = this.dim
    const k = this.#kernels
    const q = new Float32Array(d)
    return {
      setQuery(src, off) {
        for (let t = 0; t < d; t++) q[t] = metric === 'ip' ? -src[off + t]! : src[off + t]!
      },
      scan(codes, n, out) {
        const h =
          (codes.byteOffset & 1) === 0
            ? new Uint16Array(codes.buffer, codes.byteOffset, n * d)
            : new Uint16Array(codes.slice(0, n * d * 2).buffer)
        if (metric === 'l2') k.fp16L2(q, 0, h, n, d, out)
        else k.fp16Dot(q, 0, h, n, d, out)
      },
    }
  }

  /** Lists are scanned by CodeListScanner over scanner(). */
  listScanPlan(setup: ListScanSetup): ListScanPlan {
    return codeListPlan(this, setup)
  }

  /** Only the dimension: nothing is trained. */
  exportState(): QuantizerState {
    return { kind: 'fp16', params: { dim: this.dim }, arrays: {} }
  }

  /** Nothing to restore. */
  loadState(): void {}
}
