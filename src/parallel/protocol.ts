/**
 * Messages between the search pool and its worker threads. Every large array travels as a
 * view on a SharedArrayBuffer: the inverted-list arenas are shared as they are, the
 * trained arrays are copied into shared buffers once per index version, and the queries
 * and result arrays of a call are shared too. Nothing but small objects is copied per task.
 */
import type { IndexSpec, Metric, VectorStorage } from '../types.js'
import type { ListsView } from '../ivf/inverted-lists.js'

/** Everything a worker needs to rebuild the index's model for one version. */
export interface SharedModel {
  readonly spec: IndexSpec
  readonly dim: number
  readonly metric: Metric
  readonly kernels: string
  /** Trained arrays by name, data on SharedArrayBuffers. */
  readonly arrays: Record<string, { shape: readonly number[]; data: Float32Array }>
}

/** One chunk of queries. */
export interface SearchTask {
  /** Index version: the worker rebuilds its model only when this changes. */
  readonly version: string
  readonly model: SharedModel
  readonly lists: ListsView
  /** File to read stored vectors from for RFlat (':memory:' cannot be shared: RFlat runs in the caller). */
  readonly path: string
  readonly storeVectors: VectorStorage
  /** Prepared queries, nq*dim, shared; this task does rows [from, to). */
  readonly queries: Float32Array
  readonly from: number
  readonly to: number
  readonly k: number
  readonly nprobe: number
  readonly refineFactor: number
  readonly filter: { bits: Uint8Array; count: number } | null
  /** Results, nq*k, shared; the worker writes rows [from, to). */
  readonly outIds: Float64Array
  readonly outDist: Float32Array
}
