/**
 * Indexes made from trained arrays and ready codes (an index file of another library,
 * interop/): the composition, the trained arrays as IndexModel.exportArrays() names them,
 * and every item's list, id and code as stored. adoptIndex creates the new index and
 * commits the model and all the items in one transaction, without re-encoding anything;
 * adoptedOf is the inverse view of an open index (what an exporter writes).
 */
import { existsSync } from 'node:fs'
import { VqInputError, VqOptionError, VqStateError, VqStorageError } from '../errors.js'
import { normalizeIndexSpec } from '../factory/parse.js'
import { InvertedLists } from '../ivf/inverted-lists.js'
import { newManifest } from '../manifest.js'
import type { TrainedArray } from '../quantizers/quantizer.js'
import { IndexModel } from '../search/model.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import type { ConnectionOptions, IndexSpec, Metric } from '../types.js'
import { kernelsFor } from '../util/kernels.js'
import { removeCreated } from './loader.js'
import { resolveCreateOptions, storeOptions } from './options.js'
import { IndexState } from './state.js'
import { encodeVectors, fillVectors } from './vector-codec.js'

/** A trained index and its items, in the stored layout. */
export interface AdoptedIndex {
  readonly dim: number
  readonly metric: Metric
  /** The composition (refine stages are not adopted). */
  readonly spec: IndexSpec
  /** Trained arrays named as IndexModel.exportArrays() names them ("ivf.centroids", "codec.centroids", "opq.R", ...). */
  readonly arrays: Readonly<Record<string, TrainedArray>>
  /** Per item: its list (0 without IVF), id and code (n*codeSize bytes, the codec's stored layout); items keep this order. */
  readonly lists: Int32Array
  readonly ids: Float64Array
  readonly codes: Uint8Array
  /** The full vectors (n*dim, item order), stored as float32, with an RFlat stage; else null. */
  readonly vectors: Float32Array | null
}

/**
 * Creates a new index at path (which must not exist; or ':memory:') holding `a`: the
 * composition is checked as create() checks it, the arrays as open() checks them, the ids
 * as add() checks them; then the arrays and every item are committed in one transaction.
 * On any error the half-written file is removed. `what` names the source in messages.
 */
export function adoptIndex(path: string, a: AdoptedIndex, connection: ConnectionOptions, what: string): IndexState {
  const storeVectors = a.vectors ? 'float32' : 'none'
  const resolved = resolveCreateOptions({ dim: a.dim, metric: a.metric, ...a.spec, storeVectors, ...connection })
  const n = a.ids.length
  checkAdoptedIds(a.ids, what)
  const kernels = kernelsFor(connection.kernels)
  if (path !== ':memory:' && existsSync(path)) {
    throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
  }
  const manifest = newManifest(resolved.dim, resolved.metric, resolved.spec, storeVectors)
  // Model and lists first: nothing is created for arrays or codes that do not fit.
  const store0: { store?: SqliteStore } = {}
  try {
    const model = new IndexModel(normalizeIndexSpec(resolved.spec, resolved.dim), resolved.dim, resolved.metric, kernels)
    model.loadArrays(a.arrays)
    const cs = model.codeSize
    if (model.refineSize !== 0) throw new VqOptionError('BAD_OPTION', `${what}: refine stages cannot be adopted`)
    if (a.codes.length !== n * cs || a.lists.length !== n || (a.vectors && a.vectors.length !== n * a.dim)) {
      throw new VqInputError('BAD_ARGUMENT', `${what}: ${n} items need ${n * cs} code bytes and ${n} list numbers`)
    }
    for (let i = 0; i < n; i++) {
      const l = a.lists[i]!
      if (!(l >= 0 && l < model.coarse.nlist))
        throw new VqInputError('BAD_ARGUMENT', `${what}: item ${i} is in list ${l}, outside 0..${model.coarse.nlist - 1}`)
    }
    const store = SqliteStore.create(path, manifest, storeOptions(connection))
    store0.store = store
    const state = new IndexState(store, manifest, kernels, connection.threads)
    const seqs = new Uint32Array(n)
    for (let i = 0; i < n; i++) seqs[i] = i + 1
    const terms = model.usesTerms ? model.residualTerms(a.lists, a.codes, n) : null
    const lists = InvertedLists.build(
      model.coarse.nlist,
      model.scanCodeSize,
      0,
      a.lists,
      a.ids,
      seqs,
      model.padCodes(a.codes, n),
      null,
      terms,
    )
    const searcher = state.newSearcher(model)
    state.commit('importing the index', (m) => {
      const stored: Record<string, { dtype: 'float32'; shape: readonly number[]; data: Float32Array }> = {}
      for (const [name, arr] of Object.entries(model.exportArrays())) stored[name] = { dtype: 'float32', shape: arr.shape, data: arr.data }
      store.writeArrays(stored)
      const vectors = a.vectors ? { vectors: encodeVectors(a.vectors, n * a.dim, 'float32'), vectorBytes: 4 * a.dim } : {}
      store.insertItems({ ids: a.ids, lists: a.lists, codes: a.codes, codeSize: cs, ...vectors }, m.nextSeq)
      return { ...m, trained: true, nextSeq: m.nextSeq + n, count: n, codesGeneration: m.codesGeneration + 1 }
    })
    state.setModel(model, lists, searcher)
    return state
  } catch (e) {
    store0.store?.close()
    if (store0.store && path !== ':memory:') removeCreated(path)
    throw e
  }
}

/** Ids must be non-negative safe integers, each once (BAD_IDS / DUPLICATE_ID naming the first that is not). */
function checkAdoptedIds(ids: Float64Array, what: string): void {
  const seen = new Set<number>()
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    if (!(Number.isSafeInteger(id) && id >= 0)) {
      throw new VqInputError('BAD_IDS', `${what}: item ${i} has id ${id}; vqlite ids are integers from 0 to ${Number.MAX_SAFE_INTEGER}`)
    }
    if (seen.has(id)) throw new VqInputError('DUPLICATE_ID', `${what}: id ${id} appears more than once; vqlite ids are unique`)
    seen.add(id)
  }
}

/** Stored vectors read per statement by adoptedOf. */
const VECTOR_CHUNK = 4096

/**
 * The trained arrays and items of an open, trained index as adoptIndex takes them (with
 * the stored vectors, decoded, when it re-ranks on them): items
 * list by list, each list in its order (the codes without the scan padding).
 */
export function adoptedOf(state: IndexState): AdoptedIndex {
  const model = state.model
  const v = state.lists.view()
  const n = v.count
  const cs = model.codeSize
  const ss = model.scanCodeSize
  const lists = new Int32Array(n)
  const ids = new Float64Array(n)
  const codes = new Uint8Array(n * cs)
  let at = 0
  for (let l = 0; l < v.nlist; l++) {
    const s = v.start[l]!
    const size = v.size[l]!
    lists.fill(l, at, at + size)
    ids.set(v.ids.subarray(s, s + size), at)
    for (let i = 0; i < size; i++) codes.set(v.codes.subarray((s + i) * ss, (s + i) * ss + cs), (at + i) * cs)
    at += size
  }
  let vectors: Float32Array | null = null
  if (state.spec.refine?.kind === 'flat' && state.storeVectors !== 'none') {
    const d = state.dim
    vectors = new Float32Array(n * d)
    for (let i0 = 0; i0 < n; i0 += VECTOR_CHUNK) {
      const m = Math.min(VECTOR_CHUNK, n - i0)
      const chunk = ids.slice(i0, i0 + m)
      const found = fillVectors(state.store.readVectors(chunk, m), chunk, m, state.storeVectors, d, vectors.subarray(i0 * d, (i0 + m) * d))
      const missing = found.indexOf(0)
      if (missing >= 0) throw new VqStateError('NO_VECTORS', `id ${chunk[missing]} has no stored vector`)
    }
  }
  return { dim: state.dim, metric: state.metric, spec: state.spec, arrays: model.exportArrays(), lists, ids, codes, vectors }
}
