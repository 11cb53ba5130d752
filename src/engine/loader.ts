/**
 * Loading and catching up: the bulk load of an opened or imported file into memory, the
 * catch-up with other connections' commits (refresh), and the import of a snapshot into a
 * new file.
 */

import { existsSync, rmSync } from 'node:fs'
import type { Kernels } from '../../native-free-kernels/index.js'
import { VqError, VqFormatError, VqOptionError, VqStorageError } from '../errors.js'
import { normalizeIndexSpec } from '../factory/parse.js'
import { InvertedLists } from '../ivf/inverted-lists.js'
import { checkManifest, type Manifest } from '../manifest.js'
import { readSnapshot } from '../storage/snapshot.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import type { ConnectionOptions, IdKind } from '../types.js'
import { kernelsFor } from '../util/kernels.js'
import { storeOptions } from './options.js'
import { SnapshotChecker } from './snapshot-check.js'
import { IndexState } from './state.js'
import { splitCodes, vectorBytes } from './vector-codec.js'

/**
 * The state of an opened store: manifest checked, everything loaded in one read
 * transaction, then (a writer) the file switched to WAL mode. A file refused while loading
 * was never written: the store is closed and the error is CORRUPT_FILE (or another typed
 * error), never a raw one.
 */
export function loadState(store: SqliteStore, path: string, kernels: Kernels, threads: number | undefined): IndexState {
  try {
    const state = store.transaction(
      () => {
        const m = checkManifest(store.readManifest(), path)
        store.expectVectorBytes(vectorBytes(m.storeVectors, m.dim))
        const s = new IndexState(store, m, kernels, threads)
        loadAll(s)
        return s
      },
      'loading the index',
      'read',
    )
    store.enableWal()
    return state
  } catch (e) {
    store.close()
    throw damaged(e, path, 'loading the index')
  }
}

/**
 * Any error other than a typed one met while reading a file (an allocation sized from a
 * damaged value, a decoder's own error) is the file's damage: CORRUPT_FILE.
 */
function damaged(e: unknown, path: string, doing: string): Error {
  if (e instanceof VqError) return e
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
  return new VqFormatError('CORRUPT_FILE', `${path}: ${doing}: the file is damaged (${what})`, { cause: e })
}

/** Imports a snapshot into a new file and loads it; on any error the half-written target is removed. */
export function importIndex(snapshotPath: string, path: string, options: ConnectionOptions, ids: IdKind | 'any' = 'any'): IndexState {
  if (path !== ':memory:' && existsSync(path)) {
    throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
  }
  const kernels = kernelsFor(options.kernels)
  const store = importSnapshot(snapshotPath, path, options, kernels)
  try {
    const state = loadState(store, path, kernels, options.threads)
    if (ids !== 'any' && ids !== state.idKind) {
      throw new VqOptionError(
        'ID_KIND',
        `${snapshotPath} holds an index with ${state.idKind} ids, but import() was asked for ${ids} ids: pass { ids: '${state.idKind}' } (or 'any')`,
      )
    }
    return state
  } catch (e) {
    store.close()
    if (path !== ':memory:') removeCreated(path)
    throw e
  }
}

/**
 * Bytes of codes per chunk of the bulk load. The chunk comes as text (codes in hex), which
 * lives in V8's young generation and is recycled there: a blob per chunk would be a
 * malloc'd Buffer freed only at the next full GC, and the C allocator keeps what
 * piles up until then (up to the size of all the codes, measured).
 */
const LOAD_CHUNK_BYTES = 16 * 1024

/** Items per chunk for codes of `bytes` bytes (stored code plus refine code). */
function loadChunkRows(bytes: number): number {
  return Math.max(64, Math.min(8192, Math.floor(LOAD_CHUNK_BYTES / Math.max(1, bytes))))
}

/**
 * Loads trained arrays and every code of manifest m (the state's by default) into the
 * state (inside the caller's read transaction). Everything is read and checked before the
 * state changes: on an error the state is as it was.
 *
 * Memory: the lists' arenas are laid out from the items' list numbers (the first pass of
 * loadCodes) and filled chunk by chunk, so the load holds the final arenas plus the list
 * numbers (4 bytes per item) and one chunk, never a second copy of the codes and ids.
 */
export function loadAll(state: IndexState, m: Manifest = state.manifest): void {
  const spec = normalizeIndexSpec(m.spec, m.dim)
  const model = state.newModel(spec)
  if (m.trained) model.loadArrays(state.store.readArrays())
  const cs = model.codeSize
  const rs = model.refineSize
  const loaded = state.store.loadCodes(0, cs + rs, m.count)
  const n = loaded.count
  if (n !== m.count) {
    throw new VqFormatError('CORRUPT_FILE', `${state.path}: the manifest counts ${m.count} items but vq_codes holds ${n}`)
  }
  const nlist = model.coarse.nlist
  const bad = outsideList(loaded.lists, nlist)
  // (The error path reads the ids to name the item, as checkLoaded does.)
  if (bad >= 0) checkLoaded(state.path, loaded.lists, loaded.seqs, loaded.ids, nlist, m.nextSeq)
  const lists = InvertedLists.reserve(nlist, model.scanCodeSize, rs, model.usesTerms, loaded.lists)
  loaded.forEachChunk(loadChunkRows(cs + rs), (c, k) => {
    const chunkLists = c.lists.subarray(0, k)
    const seqs = c.seqs.subarray(0, k)
    checkLoaded(state.path, chunkLists, seqs, c.ids, nlist, m.nextSeq)
    const { codes, refine } = splitCodes(c.codes.subarray(0, k * (cs + rs)), k, cs, rs)
    const terms = model.usesTerms ? model.residualTerms(chunkLists, codes, k) : null
    lists.append(chunkLists, c.ids.subarray(0, k), seqs, model.padCodes(codes, k), refine, terms)
  })
  state.setModel(model, lists)
  state.spec = spec
  state.loadedSeq = m.nextSeq - 1
}

/** The position of the first list number outside 0..nlist-1, or -1. */
function outsideList(lists: Int32Array, nlist: number): number {
  for (let i = 0; i < lists.length; i++) {
    const l = lists[i]!
    if (!(l >= 0 && l < nlist)) return i
  }
  return -1
}

/** CORRUPT_FILE unless every loaded item's list is one of the model's and its seq was handed out (below nextSeq). */
function checkLoaded(path: string, lists: Int32Array, seqs: Uint32Array, ids: Float64Array, nlist: number, nextSeq: number): void {
  for (let i = 0; i < lists.length; i++) {
    const l = lists[i]!
    if (!(l >= 0 && l < nlist)) {
      throw new VqFormatError('CORRUPT_FILE', `${path}: vq_codes id ${ids[i]}: the item is in list ${l}, outside 0..${nlist - 1}`)
    }
    if (seqs[i]! >= nextSeq) {
      throw new VqFormatError(
        'CORRUPT_FILE',
        `${path}: vq_codes id ${ids[i]}: seq ${seqs[i]} is not below the manifest's nextSeq ${nextSeq}`,
      )
    }
  }
}

/**
 * Catches up with commits made by other connections; returns true when something
 * changed. While pooled searches are in flight the lists they read are left untouched:
 * the changes go to a copy that replaces them.
 */
export function refresh(state: IndexState): boolean {
  let changed = false
  try {
    refreshIn(state, () => {
      changed = true
    })
  } catch (e) {
    throw damaged(e, state.path, 'refreshing')
  }
  return changed
}

/** refresh() inside one read transaction; calls changed() when another connection committed. */
function refreshIn(state: IndexState, changed: () => void): void {
  state.store.transaction(
    () => {
      const m = checkManifest(state.store.readManifest(), state.path)
      if (m.generation === state.manifest.generation) return
      changed()
      if (
        m.codesGeneration !== state.manifest.codesGeneration ||
        m.trained !== state.manifest.trained ||
        m.description !== state.manifest.description
      ) {
        loadAll(state, m)
        state.manifest = m
        return
      }
      const model = state.model
      // Read and check everything first, then change the lists.
      const gone = new Set(state.store.tombstonesAfter(state.loadedSeq))
      const cs = model.codeSize
      const rs = model.refineSize
      const fresh = state.store.loadCodes(state.loadedSeq, cs + rs, m.count - state.lists.count + gone.size)
      const nf = fresh.ids.length
      checkLoaded(state.path, fresh.lists, fresh.seqs, fresh.ids, model.coarse.nlist, m.nextSeq)
      const { codes, refine } = splitCodes(fresh.codes, nf, cs, rs)
      const terms = model.usesTerms ? model.residualTerms(fresh.lists, codes, nf) : null
      const lists = state.coordinator.readers > 0 ? copyLists(state.lists, model.usesTerms) : state.lists
      lists.remove(gone)
      lists.append(fresh.lists, fresh.ids, fresh.seqs, model.padCodes(codes, nf), refine, terms)
      state.manifest = m
      state.loadedSeq = m.nextSeq - 1
      if (lists === state.lists) state.filters.clear()
      else state.setModel(model, lists)
    },
    'refreshing',
    'read',
  )
}

/** A copy of the lists in new arenas (same items, same order). */
export function copyLists(lists: InvertedLists, usesTerms: boolean): InvertedLists {
  const v = lists.view()
  const n = v.count
  const listOf = new Int32Array(n)
  const ids = new Float64Array(n)
  const seqs = new Uint32Array(n)
  const codes = new Uint8Array(n * v.codeSize)
  const refine = v.refine ? new Uint8Array(n * v.refineSize) : null
  const terms = usesTerms && v.terms ? new Float32Array(n) : null
  let at = 0
  for (let l = 0; l < v.nlist; l++) {
    const s = v.start[l]!
    const size = v.size[l]!
    listOf.fill(l, at, at + size)
    ids.set(v.ids.subarray(s, s + size), at)
    seqs.set(v.seqs.subarray(s, s + size), at)
    codes.set(v.codes.subarray(s * v.codeSize, (s + size) * v.codeSize), at * v.codeSize)
    if (refine) refine.set(v.refine!.subarray(s * v.refineSize, (s + size) * v.refineSize), at * v.refineSize)
    if (terms) terms.set(v.terms!.subarray(s, s + size), at)
    at += size
  }
  return InvertedLists.build(v.nlist, v.codeSize, v.refineSize, listOf, ids, seqs, codes, refine, terms)
}

/**
 * Writes a snapshot (from export()) into a new file at `path` (or ':memory:', which must
 * not exist) and returns its store, every record committed. Every record is checked
 * (SnapshotChecker) before it is written; nothing is created before the header passed.
 * On any error the half-written target is removed.
 */
function importSnapshot(snapshotPath: string, path: string, options: ConnectionOptions, kernels: Kernels): SqliteStore {
  let store: SqliteStore | undefined
  let created = false
  const check = new SnapshotChecker(snapshotPath, kernels)
  let extra: { properties: Record<string, unknown>; textField: string | null } = { properties: {}, textField: null }
  try {
    readSnapshot(snapshotPath, {
      header: (m, more, info) => {
        extra = more
        const manifest = check.header(m, more.properties, more.textField, info)
        store = SqliteStore.create(path, manifest, storeOptions(options))
        created = true
      },
      arrays: (arrays) => {
        check.arrays(arrays)
        store!.transaction(() => store!.writeArrays(arrays), 'importing trained arrays')
      },
      items: (b, record) => {
        check.items(b, record)
        const cs = check.codeBytes
        const vb = check.vectorBytes
        store!.transaction(() => {
          store!.insertRaw(
            Array.from(b.ids, (id, i) => ({
              seq: b.seqs[i]!,
              id,
              list: b.lists[i]!,
              code: b.codes.subarray(i * cs, (i + 1) * cs),
              vector: b.vectors ? b.vectors.subarray(i * vb, (i + 1) * vb) : null,
              json: b.metadata[i] ?? null,
            })),
          )
          if (b.keys) store!.insertRawKeys(b.ids, b.keys)
        }, 'importing items')
      },
      end: (count, record) => check.end(count, record),
    })
    if (!store) throw new VqFormatError('BAD_FILE', `${snapshotPath}: not a vqlite snapshot (no header)`)
    const s = store as SqliteStore
    s.transaction(() => {
      for (const [name, value] of Object.entries(extra.properties)) s.setProperty(name, value)
      if (extra.textField !== null) s.createTextIndex(extra.textField)
    }, 'importing properties and the text index')
    return s
  } catch (e) {
    ;(store as SqliteStore | undefined)?.close()
    if (created && path !== ':memory:') removeCreated(path)
    throw e
  }
}

/**
 * Removes the files of an index this process just created and failed to finish. Quiet:
 * it runs while another error is on its way out, which a failed removal must not hide.
 */
export function removeCreated(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      rmSync(f, { force: true })
    } catch {
      // left for the user; the error being thrown says what went wrong
    }
  }
}
