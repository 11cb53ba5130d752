/**
 * A FAISS index as vqlite reads and writes it: the parts of the FAISS objects that the
 * supported types hold, in FAISS's own terms (see reader.ts for the file layout), before
 * mapping.ts turns them into a vqlite index (or back).
 */
import { VqFormatError } from '../../errors.js'

/** FAISS MetricType values (faiss/MetricType.h). */
export const METRIC_INNER_PRODUCT = 0
export const METRIC_L2 = 1

/** FAISS ScalarQuantizer::QuantizerType values read or written here. */
export const QT_8BIT = 0
export const QT_4BIT = 1
export const QT_8BIT_UNIFORM = 2
export const QT_4BIT_UNIFORM = 3
export const QT_FP16 = 4
export const QT_8BIT_DIRECT = 5

/** FAISS ScalarQuantizer::RangeStat values (only meaningful for training). */
export const RS_MINMAX = 0
export const RS_QUANTILES = 2

/** The codec of the vectors (the fine quantizer under IVF). */
export type FaissCodec =
  | { readonly kind: 'flat' }
  /** ProductQuantizer: centroids layout (m, 2^nbits, d/m). */
  | { readonly kind: 'pq'; readonly m: number; readonly nbits: number; readonly centroids: Float32Array }
  /** ScalarQuantizer: qtype, rangestat (and its argument) and `trained` (vmin then vdiff). */
  | {
      readonly kind: 'sq'
      readonly qtype: number
      readonly rangestat: number
      readonly rangestatArg: number
      readonly trained: Float32Array
    }

/** A FAISS index of one of the supported types. */
export interface FaissIndex {
  /** Input dimension (of the outermost index). */
  readonly d: number
  /** METRIC_L2 or METRIC_INNER_PRODUCT. */
  readonly metric: number
  /** A linear transform y = A x in front (IndexPreTransform with one LTra / rrot), A of shape (dOut, dIn). */
  readonly transform: { readonly fourcc: string; readonly dIn: number; readonly dOut: number; readonly A: Float32Array } | null
  /** Inverted file: nlist centroids (nlist*dCoded, the coarse IndexFlat's vectors), by_residual, nprobe. */
  readonly ivf: { readonly nlist: number; readonly centroids: Float32Array; readonly byResidual: boolean; readonly nprobe: number } | null
  readonly codec: FaissCodec
  /** Bytes per code (flat layout: fast-scan codes are unpacked). */
  readonly codeSize: number
  /** Per item: its list (0 without IVF), its label, and its code (n*codeSize bytes), in FAISS's order. */
  readonly lists: Int32Array
  readonly ids: Float64Array
  readonly codes: Uint8Array
  /**
   * IndexRefineFlat: the full vectors of the items (n*d, input space, in item order) the
   * base's k * kFactor candidates are re-ranked on; null without.
   */
  readonly refine: { readonly vectors: Float32Array; readonly kFactor: number } | null
  /** The fourccs of the objects read, outermost first (for messages). */
  readonly fourccs: readonly string[]
}

/** Bytes per code of a ScalarQuantizer qtype over d dimensions (-1 for the ones not read). */
export function sqCodeSize(qtype: number, d: number): number {
  switch (qtype) {
    case QT_8BIT:
    case QT_8BIT_UNIFORM:
    case QT_8BIT_DIRECT:
      return d
    case QT_4BIT:
    case QT_4BIT_UNIFORM:
      return (d + 1) >>> 1
    case QT_FP16:
      return 2 * d
    default:
      return -1
  }
}

/** Names of ScalarQuantizer qtypes, for messages. */
export const QTYPE_NAMES = [
  'QT_8bit',
  'QT_4bit',
  'QT_8bit_uniform',
  'QT_4bit_uniform',
  'QT_fp16',
  'QT_8bit_direct',
  'QT_6bit',
  'QT_bf16',
  'QT_8bit_direct_signed',
  'QT_0bit',
]

/** The error of a FAISS index type vqlite does not read: names the fourcc and why. */
export function unsupported(file: string, fourcc: string, why: string): VqFormatError {
  return new VqFormatError('UNSUPPORTED_FAISS_INDEX', `${file}: FAISS index ${fourcc}: ${why}`)
}
