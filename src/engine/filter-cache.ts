/**
 * The filter cache: the items a metadata filter allows, as a bitset over seq (shared
 * memory, so pooled searches read it in place), kept for the last few filters until the
 * next change of the index. Keyed on the validated, canonical form of the filter (two
 * filters with the same key mean the same thing; a filter that fails validation never
 * reaches the cache).
 */
import type { FilterBits } from '../search/searcher.js'
import { type CheckedFilter, compileFilter, evaluating } from '../storage/filter-sql.js'
import type { SqliteStore } from '../storage/sqlite-store.js'

/** Filters remembered at once (oldest dropped first). */
const FILTER_CACHE_SIZE = 16

export class FilterCache {
  readonly #entries = new Map<string, FilterBits>()
  /** The index's kind of ids, which `$id` tests. */
  readonly #ids: 'integer' | 'string'

  constructor(ids: 'integer' | 'string' = 'integer') {
    this.#ids = ids
  }

  /** The bitset of a checked filter at this generation of the index (items up to nextSeq - 1). */
  bits(store: SqliteStore, filter: CheckedFilter, generation: number, nextSeq: number): FilterBits {
    const key = `${generation}:${filter.key}`
    const hit = this.#entries.get(key)
    if (hit) return hit
    const { sql, params } = compileFilter(filter, this.#ids)
    const seqs = evaluating(store.path, 'evaluating a filter', () => store.seqsWhere(sql, params))
    const bits = new Uint8Array(new SharedArrayBuffer((nextSeq >>> 3) + 1))
    let count = 0
    for (const s of seqs) {
      // Seqs past the state in memory cannot be searched (the caller evaluates on the same state).
      if (s >= nextSeq) continue
      bits[s >>> 3]! |= 1 << (s & 7)
      count++
    }
    const out = { bits, count }
    if (this.#entries.size >= FILTER_CACHE_SIZE) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, out)
    return out
  }

  /** Forgets every filter (after any change of the index). */
  clear(): void {
    this.#entries.clear()
  }
}
