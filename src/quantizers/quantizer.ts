/**
 * The codec contract. A quantizer turns vectors into fixed-size codes and back, and
 * makes scanners that compute query-to-code distances. Quantizers hold the math and
 * call kernels; they never touch storage.
 *
 * Internally every distance is "smaller is closer": 'l2' is the squared L2 distance,
 * 'ip' the negated inner product. (Cosine is 'l2' or 'ip' on normalised vectors; the
 * index maps it.)
 */

import type { ResidentRef } from '../../native-free-kernels/index.js'
import type { KMeansOptions } from '../clustering/kmeans.js'
import { VqFormatError, VqStateError } from '../errors.js'
import type { ListScanPlan, ListScanSetup } from './list-scanner.js'
import type { ProductQuantizer } from './pq.js'

/** Metric as the codecs see it. */
export type InnerMetric = 'l2' | 'ip'

/** Training context handed down by the index. */
export interface QuantizerTrainOptions extends Omit<KMeansOptions, 'onProgress' | 'kernels'> {
  onProgress?: (part: number, parts: number, p: Parameters<NonNullable<KMeansOptions['onProgress']>>[0]) => void
}

/** Prepared once per query, then scans many blocks of codes. */
export interface CodeScanner {
  /** Prepares for query q[qOff..qOff+d) (e.g. builds the PQ lookup table). */
  setQuery(q: Float32Array, qOff: number): void
  /**
   * out[i] = distance from the current query to code i; codes: n*scanCodeSize bytes; out:
   * >= n. resident: lets the kernels keep a copy of these codes (see Kernels.pqScan).
   */
  scan(codes: Uint8Array, n: number, out: Float32Array, resident?: ResidentRef): void
}

/** A trained array: its shape (row-major) and values. */
export interface TrainedArray {
  readonly shape: readonly number[]
  readonly data: Float32Array
}

/** Plain data that fully describes a trained quantizer (what storage persists). */
export interface QuantizerState {
  readonly kind: string
  readonly params: Readonly<Record<string, number>>
  readonly arrays: Readonly<Record<string, TrainedArray>>
}

/**
 * Checks that state.arrays[name] exists with the expected shape and returns its data;
 * throws VqFormatError('CORRUPT_FILE') otherwise.
 */
export function expectArray(state: QuantizerState, name: string, shape: readonly number[]): Float32Array {
  const a = state.arrays[name]
  const size = shape.reduce((x, y) => x * y, 1)
  if (!a || a.data.length !== size || a.shape.length !== shape.length || a.shape.some((v, i) => v !== shape[i])) {
    throw new VqFormatError('CORRUPT_FILE', `trained array "${name}" is missing or is not of shape [${shape.join(', ')}]`)
  }
  return a.data
}

/** A codec: vectors (row-major n*dim floats) <-> codes (n*codeSize bytes), plus distance scanners. */
export interface Quantizer {
  /** Dimension d of the vectors. */
  readonly dim: number
  /** Bytes per code. */
  readonly codeSize: number
  /**
   * Bytes per code as scanners read them (>= codeSize): a codec may want codes padded in
   * memory (8-bit PQ pads to a multiple of 4 bytes so the scan reads 32-bit words). The
   * pad bytes are zero and follow the code; stored codes are never padded.
   */
  readonly scanCodeSize: number
  /** False until train() succeeds (always true for codecs that need no training). */
  readonly isTrained: boolean
  /** Learns the codec from n vectors x (n*dim). Replaces any previous training. */
  train(x: Float32Array, n: number, options?: QuantizerTrainOptions): void
  /** Encodes n vectors x (n*dim) into out (n*codeSize bytes). */
  encode(x: Float32Array, n: number, out: Uint8Array): void
  /** Decodes n codes (n*codeSize bytes) into out (n*dim floats). */
  decode(codes: Uint8Array, n: number, out: Float32Array): void
  /** A new scanner for the metric; one per thread of queries, reused across queries. */
  scanner(metric: InnerMetric): CodeScanner
  /**
   * How IVF lists (or the single list of an exhaustive index) of this codec's codes are laid
   * out and scanned under `setup` (see list-scanner.ts): the codec's own list scanning.
   */
  listScanPlan(setup: ListScanSetup): ListScanPlan
  /**
   * Optional: train() with part of the work on worker threads (the same result); returns
   * false when the work is too small to be worth handing off (the caller then trains here).
   */
  trainWith?(x: Float32Array, n: number, options: QuantizerTrainOptions, parallel: ParallelTraining): Promise<boolean>
  /** The trained state, as plain typed arrays and numbers. */
  exportState(): QuantizerState
  /** Restores a trained state from exportState (throws VqFormatError when it does not fit this codec). */
  loadState(state: QuantizerState): void
}

/** Training work a codec may hand to worker threads (implemented by the worker pool). */
export interface ParallelTraining {
  /** Worker threads available. */
  readonly threads: number
  /** Trains all sub-quantizers of pq on n vectors x (n*pq.dim); returns the codebook. */
  trainPq(pq: ProductQuantizer, x: Float32Array, n: number, options: QuantizerTrainOptions): Promise<Float32Array>
}

/** Work below this size (distance evaluations) stays on the calling thread: the hand-off would cost more than it saves. */
export const PARALLEL_MIN_WORK = 2 ** 27

/** Throws VqStateError('NOT_TRAINED') unless the codec is trained (what: the call, for the message). */
export function assertTrained(codec: { readonly isTrained: boolean }, name: string, what: string): void {
  if (!codec.isTrained)
    throw new VqStateError('NOT_TRAINED', `${name}: ${what} needs a trained quantizer; call train() or loadState() first`)
}
