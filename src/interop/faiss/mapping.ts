/**
 * FAISS index <-> vqlite index, exactly: codes are carried as they are (never re-encoded),
 * so distances computed on them agree with FAISS's.
 *
 * - Metric: METRIC_L2 <-> 'l2', METRIC_INNER_PRODUCT <-> 'ip' (vqlite reports -<q, x> where
 *   FAISS reports <q, x>). FAISS has no cosine: a cosine index is refused on export.
 * - Flat, IVF lists and ids: the same bytes (float32 vectors; int64 ids in the lists).
 *   Without IVF FAISS labels items by position (0..n-1) unless an IndexIDMap holds the ids.
 * - PQ: the same codebook layout (m, ksub, dsub) and the same codes: both pack sub-codes
 *   LSB first (FAISS's PQEncoderGeneric, vqlite's packCodes), one byte each for 8 bits, two
 *   per byte (sub-code 2i in the low nibble) for 4 bits.
 * - SQ: FAISS decodes code c of dimension t as vmin_t + (c + 0.5) / (L - 1) * vdiff_t with
 *   L = 256 (QT_8bit) or 16 (QT_4bit); vqlite as offset_t + step_t * c. So
 *   step = vdiff / (L - 1), offset = vmin + step / 2, and back vmin = offset - step / 2,
 *   vdiff = step * (L - 1): the same reconstruction (to float32 rounding). The _uniform
 *   forms (one vmin, vdiff for every dimension) become per-dimension ranges that are all
 *   equal; QT_8bit_direct (x = c) becomes offset 0, step 1. The nibble order is the same
 *   (dimension 2i in the low nibble). QT_fp16: the same IEEE half floats.
 * - IVF: by_residual as it is (vqlite's byResidual, for PQ and scalar codecs); the coarse
 *   IndexFlat's vectors are the centroids. A FAISS IVF of one list maps to an exhaustive
 *   index (when by residual, only if its centroid is zero).
 * - OPQ: IndexPreTransform with one LTra (or rrot) matrix A, no bias, orthonormal rows, in
 *   front of a PQ index <-> vqlite's OPQ rotation R = A (dOut, dIn).
 * - RFlat: IndexRefineFlat (the index re-ranked on an IndexFlat of the full vectors) <->
 *   'RFlat' with the vectors stored as float32 (float16 ones are written decoded). FAISS's
 *   k_factor is search option refineFactor in vqlite (written as 1, vqlite's default).
 */

import type { AdoptedIndex } from '../../engine/adopt.js'
import { VqStateError } from '../../errors.js'
import { formatIndexDescription } from '../../factory/parse.js'
import { MAX_OPQ_DIM } from '../../limits.js'
import type { TrainedArray } from '../../quantizers/quantizer.js'
import type { CodecSpec, IndexSpec } from '../../types.js'
import {
  type FaissCodec,
  type FaissIndex,
  METRIC_INNER_PRODUCT,
  METRIC_L2,
  QT_4BIT,
  QT_4BIT_UNIFORM,
  QT_8BIT,
  QT_8BIT_DIRECT,
  QT_8BIT_UNIFORM,
  QT_FP16,
  RS_MINMAX,
  RS_QUANTILES,
  unsupported,
} from './format.js'

/** Largest deviation of A A^T from the identity accepted as a rotation. */
const ORTHONORMAL_TOLERANCE = 1e-3

/** The vqlite index of a FAISS index read from `file` (UNSUPPORTED_FAISS_INDEX for what vqlite cannot hold). */
export function fromFaissIndex(f: FaissIndex, file: string): AdoptedIndex {
  const name = f.fourccs.join('/')
  const dCoded = f.transform ? f.transform.dOut : f.d
  const arrays: Record<string, TrainedArray> = {}
  let codec: CodecSpec
  const c = f.codec
  if (c.kind === 'flat') codec = { kind: 'flat' }
  else if (c.kind === 'pq') {
    codec = { kind: 'pq', m: c.m, nbits: c.nbits }
    const ksub = 1 << c.nbits
    arrays['codec.centroids'] = { shape: [c.m, ksub, dCoded / c.m], data: c.centroids }
  } else if (c.qtype === QT_FP16) codec = { kind: 'fp16' }
  else {
    const eight = c.qtype === QT_8BIT || c.qtype === QT_8BIT_UNIFORM || c.qtype === QT_8BIT_DIRECT
    codec = { kind: eight ? 'sq8' : 'sq4' }
    const top = eight ? 255 : 15
    const offset = new Float32Array(dCoded)
    const step = new Float32Array(dCoded)
    for (let t = 0; t < dCoded; t++) {
      if (c.qtype === QT_8BIT_DIRECT) {
        step[t] = 1
        continue
      }
      const uniform = c.qtype === QT_8BIT_UNIFORM || c.qtype === QT_4BIT_UNIFORM
      const vmin = uniform ? c.trained[0]! : c.trained[t]!
      const vdiff = uniform ? c.trained[1]! : c.trained[dCoded + t]!
      step[t] = vdiff / top
      offset[t] = vmin + step[t]! / 2
    }
    arrays['codec.offset'] = { shape: [dCoded], data: offset }
    arrays['codec.step'] = { shape: [dCoded], data: step }
  }
  const spec: { -readonly [K in keyof IndexSpec]: IndexSpec[K] } = { codec }
  if (f.ivf) {
    if (f.ivf.nlist === 1) {
      if (f.ivf.byResidual && f.ivf.centroids.some((v) => v !== 0)) {
        throw unsupported(
          file,
          name,
          'one list whose codes are residuals of a non-zero centroid (vqlite keeps no centroid for a single list)',
        )
      }
    } else {
      if (c.kind === 'flat' && f.ivf.byResidual) throw unsupported(file, name, 'IVF flat codes by residual')
      spec.ivf = { nlist: f.ivf.nlist, byResidual: f.ivf.byResidual }
      arrays['ivf.centroids'] = { shape: [f.ivf.nlist, dCoded], data: f.ivf.centroids }
    }
  }
  if (f.transform) {
    const { dIn, dOut, A } = f.transform
    if (c.kind !== 'pq')
      throw unsupported(file, name, `a ${f.transform.fourcc} matrix in front of a non-PQ index (vqlite's OPQ stage goes before a PQ codec)`)
    if (dOut > dIn)
      throw unsupported(file, name, `${f.transform.fourcc} maps ${dIn} to ${dOut} dimensions (vqlite's OPQ keeps or reduces the dimension)`)
    if (dIn > MAX_OPQ_DIM) throw unsupported(file, name, `an OPQ matrix on ${dIn} dimensions (vqlite's limit is ${MAX_OPQ_DIM})`)
    const dev = orthonormalDeviation(A, dOut, dIn)
    if (dev > ORTHONORMAL_TOLERANCE) {
      throw unsupported(
        file,
        name,
        `${f.transform.fourcc} is not a rotation (rows orthonormal to ${ORTHONORMAL_TOLERANCE}, off by ${dev.toPrecision(3)}): vqlite's OPQ stage is a rotation`,
      )
    }
    spec.transform = { kind: 'opq', m: c.m, dOut }
    arrays['opq.R'] = { shape: [dOut, dIn], data: A }
  }
  if (f.refine) spec.refine = { kind: 'flat' }
  return {
    dim: f.d,
    metric: f.metric === METRIC_L2 ? 'l2' : 'ip',
    spec,
    vectors: f.refine ? f.refine.vectors : null,
    arrays,
    lists: f.ivf && f.ivf.nlist === 1 ? new Int32Array(f.lists.length) : f.lists,
    ids: f.ids,
    codes: f.codes,
  }
}

/** max |A A^T - I| over the dOut x dOut entries (A row-major dOut x dIn). */
function orthonormalDeviation(A: Float32Array, dOut: number, dIn: number): number {
  let worst = 0
  for (let i = 0; i < dOut; i++) {
    for (let j = i; j < dOut; j++) {
      let s = 0
      for (let t = 0; t < dIn; t++) s += A[i * dIn + t]! * A[j * dIn + t]!
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)))
    }
  }
  return worst
}

/** The refusal of a vqlite index that FAISS cannot express (naming what). */
function notExpressible(description: string, why: string): VqStateError {
  return new VqStateError('UNSUPPORTED_FAISS_INDEX', `cannot write the ${description} index as a FAISS file: ${why}`)
}

function arrayOf(a: AdoptedIndex, name: string): Float32Array {
  const x = a.arrays[name]
  if (!x) throw new VqStateError('NOT_TRAINED', `the index has no trained array ${name}`)
  return x.data
}

/**
 * The FAISS index of a vqlite index (UNSUPPORTED_FAISS_INDEX for RaBitQ, refine stages and
 * the cosine metric, which FAISS cannot express). nprobe: what the FAISS file's IVF header
 * says to probe by default.
 */
export function toFaissIndex(a: AdoptedIndex, nprobe: number): FaissIndex {
  const { spec, dim } = a
  const description = formatIndexDescription(spec, dim)
  if (a.metric === 'cosine') {
    throw notExpressible(
      description,
      "FAISS has no cosine metric (vqlite stores cosine indexes' codes of unit vectors with L2 distances; create an 'ip' or 'l2' index over normalised vectors to exchange it)",
    )
  }
  if (spec.refine && (spec.refine.kind !== 'flat' || spec.refine.narrow)) {
    throw notExpressible(
      description,
      `the refine stage ${description.split(',').pop()} has no FAISS counterpart that vqlite writes (plain RFlat is written as IndexRefineFlat)`,
    )
  }
  if (spec.refine && !a.vectors) throw notExpressible(description, 'RFlat without stored vectors')
  if (spec.transform?.kind === 'pad')
    throw notExpressible(description, 'the Pad stage (FAISS has RemapDimensionsTransform, which vqlite does not write)')
  const dCoded = spec.transform ? (spec.transform.dOut ?? dim) : dim
  const c = spec.codec
  let codec: FaissCodec
  let codeSize: number
  switch (c.kind) {
    case 'rabitq':
      throw notExpressible(description, "RaBitQ codes are vqlite's own (FAISS's IndexRaBitQ lays out its codes and factors differently)")
    case 'flat':
      codec = { kind: 'flat' }
      codeSize = 4 * dCoded
      break
    case 'pq': {
      const nbits = c.nbits ?? 8
      codec = { kind: 'pq', m: c.m, nbits, centroids: arrayOf(a, 'codec.centroids') }
      codeSize = Math.ceil((c.m * nbits) / 8)
      break
    }
    case 'fp16':
      codec = { kind: 'sq', qtype: QT_FP16, rangestat: RS_MINMAX, rangestatArg: 0, trained: new Float32Array(0) }
      codeSize = 2 * dCoded
      break
    case 'sq8':
    case 'sq4': {
      const top = c.kind === 'sq8' ? 255 : 15
      const offset = arrayOf(a, 'codec.offset')
      const step = arrayOf(a, 'codec.step')
      const trained = new Float32Array(2 * dCoded)
      for (let t = 0; t < dCoded; t++) {
        trained[t] = offset[t]! - step[t]! / 2
        trained[dCoded + t] = step[t]! * top
      }
      const clip = c.clip ?? 0
      codec = {
        kind: 'sq',
        qtype: c.kind === 'sq8' ? QT_8BIT : QT_4BIT,
        rangestat: clip > 0 ? RS_QUANTILES : RS_MINMAX,
        rangestatArg: clip,
        trained,
      }
      codeSize = c.kind === 'sq8' ? dCoded : (dCoded + 1) >>> 1
      break
    }
  }
  let ivf: FaissIndex['ivf'] = null
  if (spec.ivf) {
    const nlist = spec.ivf.nlist
    ivf = {
      nlist,
      centroids: nlist === 1 ? new Float32Array(dCoded) : arrayOf(a, 'ivf.centroids'),
      byResidual: nlist > 1 && (spec.ivf.byResidual ?? false),
      nprobe: Math.min(nprobe, nlist),
    }
  }
  const transform = spec.transform ? { fourcc: 'LTra', dIn: dim, dOut: dCoded, A: arrayOf(a, 'opq.R') } : null
  return {
    d: dim,
    metric: a.metric === 'ip' ? METRIC_INNER_PRODUCT : METRIC_L2,
    transform,
    ivf,
    codec,
    codeSize,
    lists: a.lists,
    ids: a.ids,
    codes: a.codes,
    refine: spec.refine ? { vectors: a.vectors!, kFactor: 1 } : null,
    fourccs: [],
  }
}
