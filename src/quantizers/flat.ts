/** The identity codec: codes are the float32 vectors themselves (4*d bytes). Exact distances. */
import type { Kernels } from '../../native-free-kernels/index.js'
import { codeListPlan, type ListScanPlan, type ListScanSetup } from './list-scanner.js'
import type { CodeScanner, InnerMetric, Quantizer, QuantizerState } from './quantizer.js'

/** Float32 view of a code buffer (which the index keeps 4-byte aligned). */
function floats(codes: Uint8Array, count: number): Float32Array {
  if ((codes.byteOffset & 3) === 0) return new Float32Array(codes.buffer, codes.byteOffset, count)
  return new Float32Array(codes.slice(0, count * 4).buffer)
}

/** The identity codec: a code is the vector's 4*dim bytes of float32. */
export class FlatCodec implements Quantizer {
  /** Dimension d. */
  readonly dim: number
  /** 4*dim bytes. */
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
    this.codeSize = 4 * dim
    this.#kernels = kernels
  }

  /** Nothing to learn. */
  train(): void {}

  /** Copies n vectors x (n*dim floats) into out (n*4*dim bytes). */
  encode(x: Float32Array, n: number, out: Uint8Array): void {
    out.set(new Uint8Array(x.buffer, x.byteOffset, n * this.codeSize))
  }

  /** Copies n codes (n*4*dim bytes) into out (n*dim floats). */
  decode(codes: Uint8Array, n: number, out: Float32Array): void {
    out.set(floats(codes, n * this.dim))
  }

  /** Exact distances: squared L2 or negated inner product (see CodeScanner). */
  scanner(metric: InnerMetric): CodeScanner {
    const k = this.#kernels
    const d = this.dim
    const q = new Float32Array(d)
    return {
      setQuery(src, off) {
        // For 'ip' keep -q, so that the inner product is already the internal distance.
        for (let t = 0; t < d; t++) q[t] = metric === 'ip' ? -src[off + t]! : src[off + t]!
      },
      scan(codes, n, out) {
        const x = floats(codes, n * d)
        if (metric === 'l2') k.l2sqrMany(q, 0, x, n, d, out)
        else k.innerProductMany(q, 0, x, n, d, out)
      },
    }
  }

  /** Lists are scanned by CodeListScanner over scanner(). */
  listScanPlan(setup: ListScanSetup): ListScanPlan {
    return codeListPlan(this, setup)
  }

  /** Only the dimension: a Flat codec has no trained arrays. */
  exportState(): QuantizerState {
    return { kind: 'flat', params: { dim: this.dim }, arrays: {} }
  }

  /** Nothing to restore. */
  loadState(): void {}
}
