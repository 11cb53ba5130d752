/**
 * Filters of VqliteVectorStore: vqlite Filter objects written over the documents' metadata,
 * as a LangChain user sees it ({ source: 'a.md', year: { $gte: 2020 } }). The store keeps
 * each document as the item metadata { pageContent, metadata }, so a filter's field paths
 * are moved under "metadata." before vqlite compiles it: "source" becomes "metadata.source",
 * "loc.lines.from" becomes "metadata.loc.lines.from", inside $and / $or / $not too. The
 * operators and values are vqlite's, unchanged (README, "Filters"); "$id" is the document
 * id. Anything malformed is passed on as it is, for vqlite to refuse with BAD_FILTER.
 */
import { VqInputError } from '../errors.js'
import { MAX_FILTER_DEPTH } from '../limits.js'
import type { Filter } from '../types.js'

/** Where the store keeps a document's metadata inside the item metadata. */
export const METADATA_FIELD = 'metadata'

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** The vqlite filter over the stored items that a document-metadata filter means. */
export function indexFilter(filter: unknown): Filter {
  if (typeof filter === 'function') {
    throw new VqInputError(
      'BAD_FILTER',
      'VqliteVectorStore filters are vqlite Filter objects over the documents\' metadata, such as { source: "a.md" }, not functions',
    )
  }
  return rewrite(filter, 0) as Filter
}

function rewrite(f: unknown, depth: number): unknown {
  // Past vqlite's depth limit (or around a cycle) the filter goes on unchanged: vqlite refuses it.
  if (!isPlainObject(f) || depth > MAX_FILTER_DEPTH) return f
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(f)) {
    const v = f[key]
    if (key === '$and' || key === '$or') out[key] = Array.isArray(v) ? v.map((m) => rewrite(m, depth + 1)) : v
    else if (key === '$not') out[key] = rewrite(v, depth + 1)
    else if (key.startsWith('$')) out[key] = v
    else out[`${METADATA_FIELD}.${key}`] = v
  }
  return out
}
