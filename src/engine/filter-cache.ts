/**
 * The filter cache: the items a metadata filter allows, as a bitset over seq (shared
 * memory, so pooled searches read it in place), kept for the last few filters until the
 * next change of the index.
 */
import type { FilterBits } from '../search/searcher.js'
import { compileFilter } from '../storage/filter-sql.js'
import type { SqliteStore } from '../storage/sqlite-store.js'
import type { Filter } from '../types.js'

/** Filters remembered at once (oldest dropped first). */
const FILTER_CACHE_SIZE = 16

export class FilterCache {
  readonly #entries = new Map<string, FilterBits>()

  /** The bitset of a filter at this generation of the index (items up to nextSeq - 1). */
  bits(store: SqliteStore, filter: Filter, generation: number, nextSeq: number): FilterBits {
    const key = `${generation}:${JSON.stringify(filter)}`
    const hit = this.#entries.get(key)
    if (hit) return hit
    const { sql, params } = compileFilter(filter)
    const seqs = store.seqsWhere(sql, params)
    const bits = new Uint8Array(new SharedArrayBuffer((nextSeq >>> 3) + 1))
    for (const s of seqs) bits[s >>> 3]! |= 1 << (s & 7)
    const out = { bits, count: seqs.length }
    if (this.#entries.size >= FILTER_CACHE_SIZE) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, out)
    return out
  }

  /** Forgets every filter (after any change of the index). */
  clear(): void {
    this.#entries.clear()
  }
}
