/**
 * IndexModel: the trained math of an index, composed from its spec:
 *   [OPQ rotation] -> [IVF coarse quantizer] -> codec (on residuals for PQ) [-> refine codec]
 * The refine codec is either a second codec of the vectors ("Refine(SQ8)") or, for a
 * narrowed RFlat ("RFlat(PQ25)"), a codec of each vector's first-stage error in the coded
 * space (the coded vector minus the codec's reconstruction), added to it when rescoring.
 * It trains, encodes (list number, code, refine code per vector), exports and restores its
 * arrays, and makes list scanners. It holds no items and does no I/O.
 *
 * Vectors reach the model already prepared by the index (L2-normalised for cosine).
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import { type AssignRequest, assignPausing, type KMeansOptions } from '../clustering/kmeans.js'
import { buildQuantizer } from '../factory/build.js'
import { COARSE_DEFAULTS, CoarseQuantizer } from '../ivf/coarse.js'
import { randomUid } from '../ivf/inverted-lists.js'
import type { ListScanPlan } from '../quantizers/list-scanner.js'
import { ProductQuantizer } from '../quantizers/pq.js'
import {
  type InnerMetric,
  PARALLEL_MIN_WORK,
  type ParallelTraining,
  type Quantizer,
  type QuantizerState,
  type TrainedArray,
} from '../quantizers/quantizer.js'
import { RaBitQuantizer } from '../quantizers/rabitq.js'
import { residualTerms } from '../quantizers/residual.js'
import { type OpqTrainOptions, OpqTransform } from '../transforms/opq.js'
import { PadTransform } from '../transforms/pad.js'
import type { IndexSpec, Metric } from '../types.js'

/** Training options the model understands (k-means ones apply to the codec, coarse ones to IVF). */
export interface ModelTrainOptions extends Omit<KMeansOptions, 'kernels' | 'onProgress'> {
  /** Iterations of the IVF coarse k-means. Default 10. */
  ivfIterations?: number
  /** Points per coarse centroid used to train IVF. Default 64. */
  ivfMaxPointsPerCentroid?: number
  /** OPQ alternations. Default 20. */
  opqIterations?: number
  onProgress?: (stage: string, part: number, parts: number, p: Parameters<NonNullable<KMeansOptions['onProgress']>>[0]) => void
  /**
   * A cancellable caller's checkpoint (util/cancel.ts CallControl.pause): awaited, when it
   * returns a promise, between stages and between the k-means assignment blocks that run on
   * this thread; it throws to stop the training. The trained model is the same with or
   * without it. (OPQ's alternations and the work handed to workers are not interrupted.)
   */
  checkpoint?: () => Promise<void> | undefined
}

/**
 * Work the model can hand to worker threads (implemented by the worker pool). Every
 * method computes exactly what the single-threaded code computes.
 */
export interface Parallel extends ParallelTraining {
  /** One k-means assignment step. */
  assign(r: AssignRequest): Promise<void>
  /** Encodes n prepared vectors. */
  encode(model: IndexModel, x: Float32Array, n: number): Promise<Encoded>
}

/** Bytes of the float32 term after a narrowed RFlat's error code (see IndexModel.refineSize). */
export const NARROW_TERM_BYTES = 4

/** Encodes below this size stay on the calling thread (the hand-off would cost more than it saves). */
export const PARALLEL_MIN_ENCODE = 16384

/** The result of encoding n vectors. */
export interface Encoded {
  /** List of each vector (all 0 without IVF). */
  readonly lists: Int32Array
  /** n*codeSize bytes. */
  readonly codes: Uint8Array
  /** n*refineSize bytes, or null without a refine codec. */
  readonly refine: Uint8Array | null
  /** Per-item residual terms (n floats) when usesTerms, else null. */
  readonly terms: Float32Array | null
}

export class IndexModel {
  /** Normalised spec (every default filled). */
  readonly spec: IndexSpec
  /** Input dimension. */
  readonly dim: number
  /** Dimension the coarse quantizer and codec see (after OPQ). */
  readonly dCoded: number
  readonly metric: Metric
  /** Metric as codecs see it: 'ip' for ip, 'l2' for l2 and cosine. */
  readonly inner: InnerMetric
  readonly transform: OpqTransform | PadTransform | null
  readonly coarse: CoarseQuantizer
  readonly codec: Quantizer
  /** The refine codec: of the vectors (Refine(...)) or of the first-stage error (narrowed RFlat, see narrows). */
  readonly refineCodec: Quantizer | null
  /** The refine codec encodes the first stage's error in the coded space (RFlat(<codec>)). */
  readonly narrows: boolean
  /** Codes are of x - centroid(list). */
  readonly byResidual: boolean
  readonly kernels: Kernels
  /** How the codec's lists are laid out and scanned (Quantizer.listScanPlan). */
  readonly scan: ListScanPlan
  /** Identity of this model (worker threads cache rebuilt models by it): a random 53-bit integer per instance. */
  readonly uid = randomUid()

  /** An untrained model for a normalised spec (see normalizeIndexSpec). */
  constructor(spec: IndexSpec, dim: number, metric: Metric, kernels: Kernels) {
    this.spec = spec
    this.dim = dim
    this.metric = metric
    this.inner = metric === 'ip' ? 'ip' : 'l2'
    this.kernels = kernels
    const t = spec.transform
    this.transform = !t ? null : t.kind === 'pad' ? new PadTransform(dim, t.dOut) : new OpqTransform(dim, t.dOut ?? dim, t.m, kernels)
    this.dCoded = this.transform ? this.transform.dOut : dim
    this.coarse = new CoarseQuantizer(spec.ivf?.nlist ?? 1, this.dCoded, this.inner, kernels)
    this.byResidual = (spec.ivf?.byResidual ?? false) && (spec.ivf?.nlist ?? 1) > 1
    this.codec = buildQuantizer(spec.codec, this.dCoded, kernels, { inner: this.inner, residual: this.byResidual })
    const r = spec.refine
    this.narrows = r?.kind === 'flat' && r.narrow !== undefined
    this.refineCodec =
      r?.kind === 'codec'
        ? buildQuantizer(r.codec, dim, kernels, { inner: this.inner, residual: false })
        : r?.narrow
          ? buildQuantizer(r.narrow, this.dCoded, kernels, { inner: 'l2', residual: true })
          : null
    this.scan = this.codec.listScanPlan({ kernels, inner: this.inner, residualOf: this.byResidual ? this.coarse : null })
  }

  /** True when every part is trained. */
  get isTrained(): boolean {
    return (this.transform?.isTrained ?? true) && this.coarse.isTrained && this.codec.isTrained && (this.refineCodec?.isTrained ?? true)
  }

  /** Bytes per code. */
  get codeSize(): number {
    return this.codec.codeSize
  }

  /** Bytes per code in memory, as the scanner reads it (see Quantizer.scanCodeSize). */
  get scanCodeSize(): number {
    return this.codec.scanCodeSize
  }

  /** n stored codes (n*codeSize bytes) in the scan layout (n*scanCodeSize bytes, zero-padded); the same array when no padding is needed. */
  padCodes(codes: Uint8Array, n: number): Uint8Array {
    const cs = this.codeSize
    const ss = this.scanCodeSize
    if (ss === cs) return codes
    const out = new Uint8Array(n * ss)
    for (let i = 0; i < n; i++) out.set(codes.subarray(i * cs, (i + 1) * cs), i * ss)
    return out
  }

  /**
   * Bytes per refine code (0 without a refine codec). A narrowed RFlat's refine code is the
   * narrowing codec's code of the first-stage error e, then a float32 term: under L2
   * 2 <x1, e^> (x1 the first stage's reconstruction, e^ the decoded error), so that
   * ||q - x1 - e^||^2 = ||q - x1||^2 + ||q - e^||^2 + term - ||q||^2 (the error codec's L2
   * table sum gives ||q - e^||^2); 0 under IP (-<q, x1 + e^> needs no term).
   */
  get refineSize(): number {
    if (!this.refineCodec) return 0
    return this.refineCodec.codeSize + (this.narrows ? NARROW_TERM_BYTES : 0)
  }

  /**
   * Trains every part on n prepared vectors x (n*dim), in pipeline order. With `parallel`,
   * the IVF k-means assignment steps and the PQ sub-quantizers run on worker threads.
   */
  async train(x: Float32Array, n: number, options: ModelTrainOptions = {}, parallel?: Parallel): Promise<void> {
    const { onProgress, ivfIterations, ivfMaxPointsPerCentroid, opqIterations, checkpoint, ...km } = options
    const pause = async (): Promise<void> => {
      const p = checkpoint?.()
      if (p) await p
    }
    let xt = x
    if (this.transform instanceof PadTransform) {
      xt = new Float32Array(n * this.dCoded)
      this.transform.apply(x, n, xt)
    } else if (this.transform) {
      const opq: OpqTrainOptions = { iterations: opqIterations ?? 20, ...(km.seed !== undefined ? { seed: km.seed } : {}) }
      if (onProgress)
        opq.onProgress = (it, total, mse) =>
          onProgress('opq', it - 1, total, { phase: 'iterate', iteration: it, iterations: total, objective: mse })
      this.transform.train(x, n, (this.spec.codec as { nbits?: number }).nbits ?? 8, opq)
      xt = new Float32Array(n * this.dCoded)
      this.transform.apply(x, n, xt)
      await pause()
    }
    const xAll = xt
    let lists: Int32Array | undefined
    let nCodec = n
    if (this.coarse.nlist > 1) {
      const ivfOptions: Omit<KMeansOptions, 'kernels'> = {
        ...(km.seed !== undefined ? { seed: km.seed } : {}),
        iterations: ivfIterations ?? COARSE_DEFAULTS.iterations,
        maxPointsPerCentroid: ivfMaxPointsPerCentroid ?? COARSE_DEFAULTS.maxPointsPerCentroid,
        init: COARSE_DEFAULTS.init,
        ...(km.onWarning ? { onWarning: km.onWarning } : {}),
        ...(onProgress ? { onProgress: (p) => onProgress('ivf', 0, 1, p) } : {}),
      }
      const nt = Math.min(n, this.coarse.nlist * (ivfOptions.maxPointsPerCentroid ?? COARSE_DEFAULTS.maxPointsPerCentroid))
      if (parallel && parallel.threads > 1 && nt * this.coarse.nlist * this.dCoded >= PARALLEL_MIN_WORK) {
        await this.coarse.trainWith(xt, n, ivfOptions, async (r) => {
          await parallel.assign(r)
          await pause()
        })
      } else if (checkpoint) {
        await this.coarse.trainWith(xt, n, ivfOptions, (r) => assignPausing(this.kernels, r, checkpoint))
      } else {
        this.coarse.train(xt, n, ivfOptions)
      }
      await pause()
      if (this.byResidual) {
        // A PQ trains on a seeded sample of at most ksub * maxPointsPerCentroid rows
        // (trainingRows): only those rows are assigned and made residuals (as FAISS's
        // train_encoder_num_vectors). The sample of the gathered rows is all of them, in
        // the same order, so the codebook is the same as from every row's residual.
        // RaBitQ on residuals (centred on the list centroids) learns nothing from its data
        // (the rotation comes from the seed): no row needs assigning.
        const rows =
          this.codec instanceof ProductQuantizer
            ? this.codec.trainingRows(n, km).rows
            : this.codec instanceof RaBitQuantizer && !this.codec.center
              ? new Int32Array(0)
              : null
        if (rows) {
          const d = this.dCoded
          const sub = new Float32Array(rows.length * d)
          for (let i = 0; i < rows.length; i++) sub.set(xt.subarray(rows[i]! * d, (rows[i]! + 1) * d), i * d)
          xt = sub
          nCodec = rows.length
        }
        lists = new Int32Array(nCodec)
        this.coarse.assign(xt, nCodec, lists, new Float32Array(nCodec))
      }
    }
    const codecInput = lists ? this.#residuals(xt, nCodec, lists) : xt
    const codecOptions = {
      ...km,
      ...(onProgress
        ? {
            onProgress: (part: number, parts: number, p: Parameters<NonNullable<KMeansOptions['onProgress']>>[0]) =>
              onProgress('codec', part, parts, p),
          }
        : {}),
    }
    await pause()
    const handed = parallel && this.codec.trainWith ? await this.codec.trainWith(codecInput, nCodec, codecOptions, parallel) : false
    if (!handed) {
      if (checkpoint && this.codec instanceof ProductQuantizer) await this.codec.trainPausing(codecInput, nCodec, codecOptions, checkpoint)
      else this.codec.train(codecInput, nCodec, codecOptions)
    }
    await pause()
    if (this.narrows) this.#trainNarrow(xAll, n, km)
    else this.refineCodec?.train(x, n, { ...km })
    await pause()
  }

  /**
   * Trains the narrowing codec on the first-stage errors of its own sample of the n coded
   * vectors xt (a PQ's trainingRows; every row for the other codecs).
   */
  #trainNarrow(xt: Float32Array, n: number, km: Omit<KMeansOptions, 'kernels' | 'onProgress'>): void {
    const narrow = this.refineCodec!
    const d = this.dCoded
    const rows = narrow instanceof ProductQuantizer ? narrow.trainingRows(n, km).rows : null
    let xs = xt
    let ns = n
    if (rows) {
      xs = new Float32Array(rows.length * d)
      for (let i = 0; i < rows.length; i++) xs.set(xt.subarray(rows[i]! * d, (rows[i]! + 1) * d), i * d)
      ns = rows.length
    }
    const { codes, input } = this.#firstStage(xs, ns)
    narrow.train(this.#firstStageError(input, codes, ns), ns, { ...km })
  }

  /** The refine codes of a narrowed RFlat (see refineSize) for n coded vectors xt and their first-stage errors. */
  #narrowCodes(xt: Float32Array, error: Float32Array, n: number): Uint8Array {
    const narrow = this.refineCodec!
    const cs = narrow.codeSize
    const rs = this.refineSize
    const d = this.dCoded
    const codes = new Uint8Array(n * cs)
    const out = new Uint8Array(n * rs)
    if (n === 0) return out
    narrow.encode(error, n, codes)
    const e = new Float32Array(n * d)
    narrow.decode(codes, n, e)
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
    for (let i = 0; i < n; i++) {
      let term = 0
      if (this.inner === 'l2') for (let t = i * d; t < (i + 1) * d; t++) term += 2 * (xt[t]! - error[t]!) * e[t]!
      out.set(codes.subarray(i * cs, (i + 1) * cs), i * rs)
      view.setFloat32(i * rs + cs, term, true)
    }
    return out
  }

  /**
   * The first stage of n coded vectors xt (n*dCoded): their lists, codes and the codec's
   * input (the residuals by residual, else xt).
   */
  #firstStage(xt: Float32Array, n: number): { lists: Int32Array; codes: Uint8Array; input: Float32Array } {
    const lists = new Int32Array(n)
    this.coarse.assign(xt, n, lists, new Float32Array(n))
    const codes = new Uint8Array(n * this.codeSize)
    if (n === 0) return { lists, codes, input: xt }
    const input = this.byResidual ? this.#residuals(xt, n, lists) : xt
    this.codec.encode(input, n, codes)
    return { lists, codes, input }
  }

  /** The first-stage errors of n vectors: the codec's input minus the reconstruction of their codes. */
  #firstStageError(input: Float32Array, codes: Uint8Array, n: number): Float32Array {
    const error = new Float32Array(n * this.dCoded)
    if (n === 0) return error
    this.codec.decode(codes, n, error)
    for (let i = 0; i < error.length; i++) error[i] = input[i]! - error[i]!
    return error
  }

  /** x - centroid(list) for n coded vectors (n*dCoded). */
  #residuals(xt: Float32Array, n: number, lists: Int32Array): Float32Array {
    const d = this.dCoded
    const r = new Float32Array(n * d)
    const c = this.coarse.centroids
    for (let i = 0; i < n; i++) {
      const co = lists[i]! * d
      for (let t = 0; t < d; t++) r[i * d + t] = xt[i * d + t]! - c[co + t]!
    }
    return r
  }

  /** encode() on worker threads for large batches (the same result). */
  async encodeWith(x: Float32Array, n: number, parallel?: Parallel): Promise<Encoded> {
    if (parallel && parallel.threads > 1 && n >= PARALLEL_MIN_ENCODE) return parallel.encode(this, x, n)
    return this.encode(x, n)
  }

  /** Encodes n prepared vectors x (n*dim): list, code and refine code of each. */
  encode(x: Float32Array, n: number): Encoded {
    let xt = x
    if (this.transform) {
      xt = new Float32Array(n * this.dCoded)
      this.transform.apply(x, n, xt)
    }
    const { lists, codes, input } = this.#firstStage(xt, n)
    let refine: Uint8Array | null = null
    if (this.narrows) {
      refine = this.#narrowCodes(xt, this.#firstStageError(input, codes, n), n)
    } else if (this.refineCodec) {
      refine = new Uint8Array(n * this.refineSize)
      if (n > 0) this.refineCodec.encode(x, n, refine)
    }
    return { lists, codes, refine, terms: this.usesTerms ? this.residualTerms(lists, codes, n) : null }
  }

  /** True when the lists keep a per-item residual term (see residual.ts; the codec's plan decides). */
  get usesTerms(): boolean {
    return this.scan.terms
  }

  /**
   * The residual terms ||r||^2 + 2<c, r> of n items (see residual.ts): lists (n list
   * numbers), codes (n*codeSize bytes).
   */
  residualTerms(lists: Int32Array, codes: Uint8Array, n: number): Float32Array {
    return residualTerms(this.codec, this.coarse.centroids, this.kernels, lists, codes, n)
  }

  /** Every trained array, with prefixed names ("opq.R", "ivf.centroids", "codec.centroids", "refine.step", ...). */
  exportArrays(): Record<string, TrainedArray> {
    const out: Record<string, TrainedArray> = {}
    const add = (prefix: string, s: QuantizerState | undefined): void => {
      if (!s) return
      for (const [name, a] of Object.entries(s.arrays)) out[`${prefix}.${name}`] = a
    }
    add('opq', this.transform?.exportState())
    add('ivf', this.coarse.exportState())
    add('codec', this.codec.exportState())
    add('refine', this.refineCodec?.exportState())
    return out
  }

  /** Restores every part from exportArrays() output (throws VqFormatError when something does not fit). */
  loadArrays(arrays: Readonly<Record<string, TrainedArray>>): void {
    const part = (prefix: string): QuantizerState => {
      const a: Record<string, TrainedArray> = {}
      for (const [name, v] of Object.entries(arrays)) if (name.startsWith(`${prefix}.`)) a[name.slice(prefix.length + 1)] = v
      return { kind: prefix, params: {}, arrays: a }
    }
    this.transform?.loadState(part('opq'))
    this.coarse.loadState(part('ivf'))
    this.codec.loadState(part('codec'))
    this.refineCodec?.loadState(part('refine'))
  }

  /** Bytes of every trained array. */
  get trainedBytes(): number {
    let b = 0
    for (const a of Object.values(this.exportArrays())) b += a.data.byteLength
    return b
  }
}
