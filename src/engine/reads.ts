/**
 * Reads in the user's terms: search results with their ids as the index keys them (string
 * ids looked up for the k results) and, when asked, their metadata (one statement for the
 * lot); items() as pages in insertion order; count(filter). Every read sees the file's
 * latest committed state.
 */
import { VqOptionError } from '../errors.js'
import { checkFilter, compileFilter, evaluating } from '../storage/filter-sql.js'
import type { BatchSearchResult, Filter, Id, SearchResult, StoredItem } from '../types.js'
import { publicIds } from './ids.js'
import type { ItemsPlan } from './options.js'
import type { IndexState } from './state.js'
import { decodeVector } from './vector-codec.js'

/** Results of n slots (integer ids, -1 padded) as the user sees them: keys for string ids, metadata when asked. */
export function publicResult(
  state: IndexState,
  ids: Float64Array,
  distances: Float32Array,
  includeMetadata: boolean,
): { ids: Float64Array | string[]; distances: Float32Array; metadata?: unknown[] } {
  const out = publicIds(state, ids)
  if (!includeMetadata) return { ids: out, distances }
  const json = state.store.metadataOf(ids)
  return { ids: out, distances, metadata: json.map((t) => (t === null ? null : JSON.parse(t))) }
}

/** The SQL condition of an optional filter (checked: BAD_FILTER). */
function condition(state: IndexState, filter: Filter | undefined): { sql: string; params: unknown[] } {
  if (filter === undefined) return { sql: '1', params: [] }
  return compileFilter(checkFilter(filter), state.idKind)
}

/** How many items match the filter (all items without one). */
export function countItems(state: IndexState, filter: Filter | undefined): number {
  if (filter === undefined) return state.lists.count
  const { sql, params } = condition(state, filter)
  return evaluating(state.path, 'counting items', () => state.store.countWhere(sql, params))
}

/**
 * The items matching plan.filter in insertion order (seq), read batchSize rows at a time,
 * each page in its own read of the file's latest state: an item deleted before its page
 * is read is not seen, one added or upserted meanwhile is seen at the end.
 */
export async function* iterateItems(state: IndexState, plan: ItemsPlan): AsyncGenerator<StoredItem<unknown, Id>, void, undefined> {
  const { sql, params } = condition(state, plan.filter)
  if (plan.includeVectors && state.storeVectors === 'none') {
    throw new VqOptionError(
      'BAD_OPTION',
      'items({ includeVectors: true }) needs stored vectors; this index was created with storeVectors: "none"',
    )
  }
  const strings = state.idKind === 'string'
  let after = 0
  for (;;) {
    state.open()
    const rows = evaluating(state.path, 'reading items', () =>
      state.store.itemsPage(after, sql, params, plan.batchSize, plan.includeVectors, strings),
    )
    for (const r of rows) {
      yield {
        id: strings ? r.key! : r.id,
        vector: r.vector ? decodeVector(r.vector, state.storeVectors, state.dim, `id ${r.id}`) : null,
        metadata: r.json === null ? null : JSON.parse(r.json),
      }
    }
    if (rows.length < plan.batchSize) return
    after = rows[rows.length - 1]!.seq
  }
}

/** An internal batch result (integer ids) as the user sees it: keys for string ids, metadata when asked, rows and iteration. */
export function publicBatch(
  state: IndexState,
  r: { nq: number; k: number; ids: Float64Array; distances: Float32Array },
  includeMetadata: boolean,
): BatchSearchResult<Id, unknown> {
  const { ids, metadata } = publicResult(state, r.ids, r.distances, includeMetadata)
  return batchResult(r.nq, r.k, ids, r.distances, metadata)
}

/** A batch result of nq rows of k (public ids, distances, optional metadata) with row(i) and iteration by query. */
export function batchResult(
  nq: number,
  k: number,
  ids: Float64Array | string[],
  distances: Float32Array,
  metadata: unknown[] | undefined,
): BatchSearchResult<Id, unknown> {
  const row = (i: number): SearchResult<Id, unknown> => {
    const rowIds = ids instanceof Float64Array ? ids.subarray(i * k, (i + 1) * k) : ids.slice(i * k, (i + 1) * k)
    const d = distances.subarray(i * k, (i + 1) * k)
    return (
      metadata ? { ids: rowIds, distances: d, metadata: metadata.slice(i * k, (i + 1) * k) } : { ids: rowIds, distances: d }
    ) as SearchResult<Id, unknown>
  }
  return {
    nq,
    k,
    ids: ids as BatchSearchResult<Id, unknown>['ids'],
    distances,
    ...(metadata ? { metadata } : {}),
    row,
    *[Symbol.iterator]() {
      for (let i = 0; i < nq; i++) yield row(i)
    },
  }
}
