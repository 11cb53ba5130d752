/**
 * Encoding of a write's vectors that a caller follows: cancellable between chunks, with
 * progress of the vectors encoded. On the calling thread it encodes ENCODE_STEP vectors at
 * a time (pausing between them, see util/cancel.ts); on the worker pool (large batches) an
 * abort stops the workers' remaining claims. The codes are those of model.encodeWith.
 */
import { type Encoded, type IndexModel, PARALLEL_MIN_ENCODE } from '../search/model.js'
import type { CallControl } from '../util/cancel.js'
import type { IndexState } from './state.js'

/** Vectors per step of a followed encoding on the calling thread. */
const ENCODE_STEP = 2048

/**
 * Encodes n prepared vectors x (n*dim) with model, checking control between chunks and
 * telling progress the vectors done so far (rising; not necessarily up to n: the caller
 * reports the end). Without a signal or progress, exactly model.encodeWith.
 */
export async function encodeFollowed(
  state: IndexState,
  model: IndexModel,
  x: Float32Array,
  n: number,
  control: CallControl,
  progress?: (done: number) => void,
): Promise<Encoded> {
  const parallel = state.pools.parallel()
  if (!control.cancellable && !progress) return model.encodeWith(x, n, parallel)
  control.check()
  if (parallel && parallel.threads > 1 && n >= PARALLEL_MIN_ENCODE) {
    return state.pools.pool(parallel.threads).encode(model, x, n, { control, progress })
  }
  if (n <= ENCODE_STEP) {
    const enc = model.encode(x, n)
    progress?.(n)
    return enc
  }
  const d = model.dim
  const cs = model.codeSize
  const lists = new Int32Array(n)
  const codes = new Uint8Array(n * cs)
  let refine: Uint8Array | null = null
  let terms: Float32Array | null = null
  for (let i0 = 0; i0 < n; i0 += ENCODE_STEP) {
    const i1 = Math.min(n, i0 + ENCODE_STEP)
    const enc = model.encode(x.subarray(i0 * d, i1 * d), i1 - i0)
    lists.set(enc.lists, i0)
    codes.set(enc.codes, i0 * cs)
    if (enc.refine) {
      refine ??= new Uint8Array(n * model.refineSize)
      refine.set(enc.refine, i0 * model.refineSize)
    }
    if (enc.terms) {
      terms ??= new Float32Array(n)
      terms.set(enc.terms, i0)
    }
    progress?.(i1)
    const p = control.pause()
    if (p) await p
  }
  return { lists, codes, refine, terms }
}
