/**
 * Running searches over the state: one query on the calling thread, or a batch split
 * over the worker pool. A pooled batch is a reader of the write coordinator, so no write
 * mutates the lists it reads; its filter and lists are taken once it has entered.
 */
import type { SearchParams } from '../search/searcher.js'
import type { BatchProgress, SearchResult } from '../types.js'
import { CallControl, ProgressCounter } from '../util/cancel.js'
import { refresh } from './loader.js'
import type { ResolvedSearch } from './options.js'
import type { IndexState } from './state.js'

/** One prepared query (the metric's transform applied) on the calling thread. */
export function searchOne(state: IndexState, q: Float32Array, p: SearchParams): SearchResult {
  state.coordinator.assertNotMutating()
  const ids = new Float64Array(p.k)
  const distances = new Float32Array(p.k)
  state.searcher.search(state.lists.view(), q, 0, p, ids, distances)
  return { ids, distances }
}

/** Queries between two checkpoints of a followed batch on the calling thread. */
const BATCH_STEP = 16

/** How a batch is followed: its cancellation and progress (searchBatch's signal and onProgress). */
export interface BatchFollow {
  readonly signal?: AbortSignal | undefined
  readonly onProgress?: ((p: BatchProgress) => void) | undefined
}

/**
 * nq prepared queries, on `threads` workers when that pays (else on the calling thread).
 * p: searchParams(state, o) as the caller resolved them (a pooled batch resolves them
 * again once it has entered, in case a write committed meanwhile). `follow.signal`
 * cancels the batch (ABORTED) until its last query is done: on the pool, the workers stop
 * after their current claim; on the calling thread, the batch checks every BATCH_STEP
 * queries (pausing now and then, as a reader of the write coordinator, so no write changes
 * the lists meanwhile). `follow.onProgress` is told the queries done, rising to nq; a
 * callback that throws fails the batch with its error.
 */
export async function searchMany(
  state: IndexState,
  queries: Float32Array,
  nq: number,
  o: ResolvedSearch,
  p: SearchParams,
  threads: number,
  follow: BatchFollow = {},
): Promise<{ nq: number; k: number; ids: Float64Array; distances: Float32Array }> {
  const k = o.k
  const control = new CallControl('searchBatch()', [follow.signal])
  control.check()
  const report = follow.onProgress
  const progress = report ? new ProgressCounter(nq, (done, total) => report({ done, total })) : undefined
  const ids = new Float64Array(nq * k)
  const distances = new Float32Array(nq * k)
  // RFlat reads stored vectors; workers open the file read-only, which ':memory:' cannot offer.
  const shareable = !(state.spec.refine?.kind === 'flat' && state.path === ':memory:')
  if (threads > 0 && nq >= 2 * threads && shareable) {
    await state.coordinator.read(() => {
      state.open()
      control.check()
      // The filter first: a reader with newer commits on file catches up there, and the
      // snapshot below must be of that same state.
      const params = searchParams(state, o)
      const snapshot = { model: state.model, lists: state.lists.view(), path: state.path, storeVectors: state.storeVectors }
      const watch = { control, progress: progress && ((done: number) => progress.to(done)) }
      return state.pools.pool(threads).search(snapshot, queries, nq, params, ids, distances, watch)
    })
    progress?.finish()
  } else if (control.cancellable || progress) {
    await state.coordinator.read(async () => {
      state.open()
      control.check()
      const params = searchParams(state, o)
      const view = state.lists.view()
      const d = state.dim
      for (let i0 = 0; i0 < nq; i0 += BATCH_STEP) {
        const i1 = Math.min(nq, i0 + BATCH_STEP)
        for (let i = i0; i < i1; i++) {
          state.searcher.search(view, queries, i * d, params, ids.subarray(i * k, (i + 1) * k), distances.subarray(i * k, (i + 1) * k))
        }
        progress?.to(i1)
        if (i1 < nq) {
          const wait = control.pause()
          if (wait) await wait
        }
      }
    })
    progress?.finish()
  } else {
    state.coordinator.assertNotMutating()
    const view = state.lists.view()
    const d = state.dim
    for (let i = 0; i < nq; i++) {
      state.searcher.search(view, queries, i * d, p, ids.subarray(i * k, (i + 1) * k), distances.subarray(i * k, (i + 1) * k))
    }
  }
  return { nq, k, ids, distances }
}

/**
 * Per-query parameters with the filter's bitset (cached per filter until the next write).
 * The candidates re-ranked are min(k * refineFactor, index size), rounded up to a whole
 * multiple of k: refineFactor is clamped to ceil(size / k), which re-ranks every item
 * exactly as the larger factor would (its extra candidate slots could only stay empty),
 * so the candidate buffers never outgrow the index.
 */
export function searchParams(state: IndexState, o: ResolvedSearch): SearchParams {
  const filter = state.filterBits(o.filter, refresh) // first: it may catch a reader up
  const count = state.lists.count
  const refineFactor = Math.max(1, Math.min(o.refineFactor, Math.ceil(count / o.k)))
  // The same parameters as the last query's (the common case): that object again, not a new one.
  const last = state.lastParams
  if (
    last !== null &&
    last.k === o.k &&
    last.nprobe === o.nprobe &&
    last.refineFactor === refineFactor &&
    last.qb === o.qb &&
    last.errorBounds === o.errorBounds &&
    last.exactFactor === o.exactFactor &&
    last.filter === filter &&
    last.stage === o.stage
  ) {
    return last
  }
  const p: SearchParams = Object.freeze({
    k: o.k,
    nprobe: o.nprobe,
    refineFactor,
    qb: o.qb,
    errorBounds: o.errorBounds,
    exactFactor: o.exactFactor,
    filter,
    ...(o.stage ? { stage: o.stage } : {}),
  })
  state.lastParams = p
  return p
}
