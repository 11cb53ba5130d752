/**
 * Metadata and keyword queries, passed through to the store: find (items whose metadata
 * match a filter) and keyword search over the FTS5 text index (BM25). Both read the
 * file's latest committed state. Arguments and the filter are checked before any SQL
 * runs; SQLite errors come back typed; a damaged metadata row matches no filter that
 * reads metadata, and returning one is CORRUPT_FILE naming the item.
 */
import { VqInputError, VqOptionError } from '../errors.js'
import { MAX_FIND_LIMIT, MAX_NAME_LENGTH } from '../limits.js'
import { checkStoredMetadata } from '../metadata.js'
import { checkFilter, compileFilter, evaluating, FIELD } from '../storage/filter-sql.js'
import type { SqliteStore } from '../storage/sqlite-store.js'
import type { Filter, IdKind, Metadata } from '../types.js'

/** Most distinct words of one keyword query (BAD_ARGUMENT past it). */
export const MAX_QUERY_WORDS = 1000

/** The items whose metadata match a filter (ids ascending, at most `limit`), with their metadata. */
export function findItems(
  store: SqliteStore,
  filter: Filter,
  limit: number,
  ids: IdKind = 'integer',
): { id: number; metadata: Metadata }[] {
  const checked = checkFilter(filter)
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_FIND_LIMIT) {
    throw new VqOptionError(
      'BAD_OPTION',
      `find limit must be an integer from 1 to ${MAX_FIND_LIMIT} (MAX_FIND_LIMIT), got ${String(limit)}`,
    )
  }
  const { sql, params } = compileFilter(checked, ids)
  const rows = evaluating(store.path, 'finding items', () => store.itemsWhere(sql, params, limit))
  return rows.map((r) => {
    const text = checkStoredMetadata(r.json, `${store.path}: item ${r.id}`)
    return { id: r.id, metadata: text === null ? null : (JSON.parse(text) as Metadata) }
  })
}

/** Checks a text field name: a dotted path of names, at most MAX_NAME_LENGTH characters. */
export function checkTextField(field: string): void {
  if (typeof field !== 'string' || field.length > MAX_NAME_LENGTH || !FIELD.test(field)) {
    if (typeof field === 'string' && field.length > MAX_NAME_LENGTH) {
      throw new VqOptionError('BAD_OPTION', `text field is ${field.length} characters; the limit is ${MAX_NAME_LENGTH} (MAX_NAME_LENGTH)`)
    }
    throw new VqOptionError(
      'BAD_OPTION',
      `text field must be a dotted path of names, got ${typeof field === 'string' ? JSON.stringify(field) : String(field)}`,
    )
  }
}

/**
 * The FTS5 MATCH expression of a query's words (any may match), or null when it has none
 * (empty, or only punctuation). Every word is a quoted FTS5 string of letters and digits,
 * so no query text can be FTS5 syntax.
 */
export function matchExpression(query: string): string | null {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
  if (words.length === 0) return null
  const distinct = [...new Set(words)]
  if (distinct.length > MAX_QUERY_WORDS) {
    throw new VqInputError('BAD_ARGUMENT', `keyword query has ${distinct.length} distinct words; the limit is ${MAX_QUERY_WORDS}`)
  }
  return distinct.map((w) => `"${w}"`).join(' OR ')
}

/**
 * Up to k ids matching the query's words, best first, with BM25 scores (lower is better),
 * optionally filtered. A query without words (empty, only punctuation) finds nothing.
 */
export function keywordSearch(
  store: SqliteStore,
  query: string,
  k: number,
  filter: Filter | undefined,
  ids: IdKind = 'integer',
): { ids: Float64Array; scores: Float32Array } {
  if (typeof query !== 'string') {
    throw new VqInputError('BAD_ARGUMENT', `keywordSearch() query must be a string, got ${query === null ? 'null' : typeof query}`)
  }
  const checked = filter === undefined ? undefined : checkFilter(filter)
  const match = matchExpression(query)
  if (match === null) return { ids: new Float64Array(0), scores: new Float32Array(0) }
  const cond = checked === undefined ? { sql: '1', params: [] as unknown[] } : compileFilter(checked, ids)
  const r = evaluating(store.path, 'keyword search', () => store.keywordSearch(match, k, cond.sql, cond.params))
  return { ids: Float64Array.from(r.ids), scores: Float32Array.from(r.scores) }
}
