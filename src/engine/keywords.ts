/**
 * Metadata and keyword queries, passed through to the store: find (items whose metadata
 * match a filter) and keyword search over the FTS5 text index (BM25).
 */
import { VqOptionError } from '../errors.js'
import { compileFilter, FIELD } from '../storage/filter-sql.js'
import type { SqliteStore } from '../storage/sqlite-store.js'
import type { Filter, Metadata } from '../types.js'

/** The items whose metadata match a filter (ids ascending, at most `limit`), with their metadata. */
export function findItems(store: SqliteStore, filter: Filter, limit: number): { id: number; metadata: Metadata }[] {
  const { sql, params } = compileFilter(filter)
  return store
    .itemsWhere(sql, params, limit)
    .map((r) => ({ id: r.id, metadata: r.json === null ? null : (JSON.parse(r.json) as Metadata) }))
}

/** Checks a text field name: a dotted path of names. */
export function checkTextField(field: string): void {
  if (!FIELD.test(field)) {
    throw new VqOptionError('BAD_OPTION', `text field must be a dotted path of names, got ${JSON.stringify(field)}`)
  }
}

/** The FTS5 MATCH expression of a query's words (any may match), or null when it has none. */
export function matchExpression(query: string): string | null {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
  if (words.length === 0) return null
  return [...new Set(words)].map((w) => `"${w}"`).join(' OR ')
}

/** Up to k ids matching the query's words, best first, with BM25 scores (lower is better), optionally filtered. */
export function keywordSearch(
  store: SqliteStore,
  query: string,
  k: number,
  filter: Filter | undefined,
): { ids: Float64Array; scores: Float32Array } {
  const match = matchExpression(query)
  if (match === null) return { ids: new Float64Array(0), scores: new Float32Array(0) }
  const cond = filter === undefined ? { sql: '1', params: [] as unknown[] } : compileFilter(filter)
  const r = store.keywordSearch(match, k, cond.sql, cond.params)
  return { ids: Float64Array.from(r.ids), scores: Float32Array.from(r.scores) }
}
