/**
 * Messages between the worker pool and its threads. Every large array travels as a view on
 * a SharedArrayBuffer: the inverted-list arenas are shared as they are, trained arrays are
 * copied into shared buffers once per model, inputs and outputs of a call are shared too.
 * Nothing but small objects is copied per task.
 */
import type { AssignRequest } from '../clustering/kmeans.js'
import type { ListsView } from '../ivf/inverted-lists.js'
import type { QuantizerTrainOptions } from '../quantizers/quantizer.js'
import type { IndexSpec, Metric, VectorStorage } from '../types.js'

/** Everything a worker needs to rebuild a trained model. */
export interface SharedModel {
  /** Process-unique id of the model: workers rebuild only when it changes. */
  readonly uid: number
  readonly spec: IndexSpec
  readonly dim: number
  readonly metric: Metric
  readonly kernels: string
  /** Trained arrays by name, data on SharedArrayBuffers. */
  readonly arrays: Record<string, { shape: readonly number[]; data: Float32Array }>
}

/**
 * Search queries [from, to) of a shared batch. Every task of a call gets the whole range and
 * the same counter: a worker claims `chunk` queries at a time (Atomics.add on next[0], the
 * queries claimed so far), until the range is exhausted, so the threads finish together
 * however uneven the queries' costs or the threads' shares of the CPU.
 */
export interface SearchTask {
  readonly kind: 'search'
  readonly model: SharedModel
  readonly lists: ListsView
  /** File to read stored vectors from for RFlat. */
  readonly path: string
  readonly storeVectors: VectorStorage
  /** Prepared queries, nq*dim. */
  readonly queries: Float32Array
  readonly from: number
  readonly to: number
  /** Shared claim counter (Int32Array of 1 on a SharedArrayBuffer, starting at 0). */
  readonly next: Int32Array
  /** Queries per claim (>= 1). */
  readonly chunk: number
  /**
   * Shared count of the items done (Int32Array of 1), raised after each claim, for the
   * caller's progress; null when nobody watches. The caller stops a call early by moving
   * `next` past `to`: the workers then finish their current claim and claim no more.
   */
  readonly done: Int32Array | null
  readonly k: number
  readonly nprobe: number
  readonly refineFactor: number
  readonly qb: number
  readonly errorBounds: boolean
  readonly exactFactor: number
  readonly filter: { bits: Uint8Array; count: number } | null
  /** 'candidates': first-stage labels and internal distances, not results (see SearchParams.stage). */
  readonly stage: 'candidates' | undefined
  /** Results, nq*k; the worker writes rows [from, to). */
  readonly outIds: Float64Array
  readonly outDist: Float32Array
}

/**
 * Rows [from, to) of a k-means assignment request (see AssignRequest; all arrays shared),
 * claimed `chunk` rows at a time from the shared counter `next` as SearchTask's queries.
 */
export interface AssignTask {
  readonly kind: 'assign'
  readonly kernels: string
  readonly request: AssignRequest
  readonly from: number
  readonly to: number
  readonly next: Int32Array
  readonly chunk: number
}

/** Encoding of prepared vectors [from, to) with a trained model, claimed `chunk` vectors at a time from `next`. */
export interface EncodeTask {
  readonly kind: 'encode'
  readonly model: SharedModel
  readonly x: Float32Array
  readonly from: number
  readonly to: number
  readonly next: Int32Array
  readonly chunk: number
  /** As SearchTask's. */
  readonly done: Int32Array | null
  readonly lists: Int32Array
  /** n*codeSize bytes (stored layout). */
  readonly codes: Uint8Array
  readonly refine: Uint8Array | null
  readonly terms: Float32Array | null
}

/** Training of PQ sub-quantizers j0..j1-1. */
export interface TrainPqTask {
  readonly kind: 'trainPq'
  readonly kernels: string
  readonly dim: number
  readonly m: number
  readonly nbits: number
  readonly x: Float32Array
  readonly n: number
  readonly rows: Int32Array | null
  readonly j0: number
  readonly j1: number
  readonly options: Omit<QuantizerTrainOptions, 'onProgress' | 'onWarning'>
  /** Centroids, layout (m, ksub, dsub); the worker writes sub-spaces j0..j1-1. */
  readonly out: Float32Array
}

export type Task = SearchTask | AssignTask | EncodeTask | TrainPqTask

/**
 * A task's failure as it crosses the thread boundary: structured cloning keeps an Error's
 * message but drops its class and its code, so a worker returns this instead of throwing,
 * and the pool rebuilds the typed error (see pool.ts).
 */
export interface TaskFailure {
  readonly failed: true
  /** The error's class name (e.g. VqFormatError, RangeError). */
  readonly name: string
  /** A VqError's code, or null for other errors. */
  readonly code: string | null
  readonly message: string
}

/** What a task returns: how many items it handled, or its failure. */
export type TaskResult = number | TaskFailure

/** The failure of a task from what it threw (anything: an Error, a string, an object). */
export function taskFailure(e: unknown): TaskFailure {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    return { failed: true, name: e.name, code: typeof code === 'string' ? code : null, message: e.message }
  }
  return { failed: true, name: typeof e, code: null, message: describeThrown(e) }
}

/** A readable message of anything thrown (never "[object Object]"). */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message === '' ? e.name : `${e.name}: ${e.message}`
  if (typeof e === 'object' && e !== null) {
    const m = (e as { message?: unknown }).message
    if (typeof m === 'string') return m
    try {
      return JSON.stringify(e) ?? String(e)
    } catch {
      return Object.prototype.toString.call(e)
    }
  }
  return String(e)
}
