/** Read-only views of an index's in-memory part: list balance, reconstruction from codes, memory use. */
import { VqInputError } from '../errors.js'
import type { IndexStats, MemoryUsage, StoredItem } from '../types.js'
import { FIXED_OVERHEAD, kernelMemoryBytes } from './memory.js'
import type { IndexState } from './state.js'
import { decodeVector } from './vector-codec.js'

/** List sizes and balance (FAISS's imbalance factor). */
export function listStats(state: IndexState): IndexStats {
  const lists = state.lists
  const nlist = lists.nlist
  const listSizes = new Int32Array(nlist)
  let sq = 0
  let min = Infinity
  let max = 0
  let empty = 0
  for (let l = 0; l < nlist; l++) {
    const s = lists.size(l)
    listSizes[l] = s
    sq += s * s
    if (s < min) min = s
    if (s > max) max = s
    if (s === 0) empty++
  }
  const n = lists.count
  return { count: n, nlist, listSizes, minList: min, maxList: max, emptyLists: empty, imbalance: n === 0 ? 1 : (nlist * sq) / (n * n) }
}

/** The vector decoded from id's code (plus its list centroid, through the reverse transform). */
export function reconstruct(state: IndexState, id: number): Float32Array {
  const lists = state.lists
  const slot = lists.slotOf(id)
  if (slot < 0) throw new VqInputError('UNKNOWN_ID', `id ${id} is not in the index`)
  let list = 0
  const view = lists.view()
  for (let l = 0; l < view.nlist; l++) if (slot >= view.start[l]! && slot < view.start[l]! + view.size[l]!) list = l
  const model = state.model
  const y = new Float32Array(model.dCoded)
  model.codec.decode(lists.codeAt(slot).subarray(0, model.codeSize), 1, y)
  if (model.byResidual) for (let t = 0; t < model.dCoded; t++) y[t] = y[t]! + model.coarse.centroids[list * model.dCoded + t]!
  if (!model.transform) return y
  const out = new Float32Array(state.dim)
  model.transform.reverse(y, 1, out)
  return out
}

/**
 * Resident memory held for this index: the lists' arenas (codes, refine codes, terms, ids,
 * seqs, per-list arrays), the trained arrays and the kernels' WebAssembly memory (which
 * holds the fast-scan and resident copies of the lists). Stored vectors and metadata stay
 * on disk; the memory-mapped file's pages are the OS's page cache (RssFile), not counted.
 */
export function memoryUsage(state: IndexState): MemoryUsage {
  const b = state.lists.bytes
  const codes = b.codes + b.refine + b.terms
  const ids = b.ids + b.seqs + b.lists
  const trained = state.model.trainedBytes
  const fastScan = state.searcher.fastScanBytes
  const residentCodes = state.searcher.residentBytes
  const wasmMemory = kernelMemoryBytes(state.kernels, fastScan + residentCodes)
  return {
    codes,
    ids,
    trained,
    fastScan,
    residentCodes,
    wasmMemory,
    fixedOverhead: FIXED_OVERHEAD,
    total: codes + ids + trained + fastScan + residentCodes,
  }
}

/** The stored vector (decoded; null when none are stored) and metadata of id, or undefined for an unknown id. */
export function getItem(state: IndexState, id: number): StoredItem | undefined {
  const row = state.store.getItem(id)
  if (!row) return undefined
  return {
    id,
    vector: row.vector ? decodeVector(row.vector, state.storeVectors, state.dim, `id ${id}`) : null,
    metadata: row.metadata === null ? null : JSON.parse(row.metadata),
  }
}
