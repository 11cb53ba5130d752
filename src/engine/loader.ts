/**
 * Loading and catching up: the bulk load of an opened or imported file into memory, the
 * catch-up with other connections' commits (refresh), and the import of a snapshot into a
 * new file.
 */

import { existsSync, rmSync } from 'node:fs'
import type { Kernels } from '../../native-free-kernels/index.js'
import { VqFormatError, VqStorageError } from '../errors.js'
import { InvertedLists } from '../ivf/inverted-lists.js'
import { checkManifest } from '../manifest.js'
import { readSnapshot } from '../storage/snapshot.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import type { ConnectionOptions } from '../types.js'
import { kernelsFor } from '../util/kernels.js'
import { storeOptions } from './options.js'
import { SnapshotChecker } from './snapshot-check.js'
import { IndexState } from './state.js'
import { splitCodes } from './vector-codec.js'

/** The state of an opened store: manifest checked, everything loaded in one read transaction; closes the store on failure. */
export function loadState(store: SqliteStore, path: string, kernels: Kernels, threads: number | undefined): IndexState {
  try {
    return store.transaction(
      () => {
        const state = new IndexState(store, checkManifest(store.readManifest(), path), kernels, threads)
        loadAll(state)
        return state
      },
      'loading the index',
      'read',
    )
  } catch (e) {
    store.close()
    throw e
  }
}

/** Imports a snapshot into a new file and loads it; on any error the half-written target is removed. */
export function importIndex(snapshotPath: string, path: string, options: ConnectionOptions): IndexState {
  if (path !== ':memory:' && existsSync(path)) {
    throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
  }
  const kernels = kernelsFor(options.kernels)
  const store = importSnapshot(snapshotPath, path, options, kernels)
  try {
    return loadState(store, path, kernels, options.threads)
  } catch (e) {
    if (path !== ':memory:') removeCreated(path)
    throw e
  }
}

/** Loads trained arrays and every code into the state (inside the caller's read transaction). */
export function loadAll(state: IndexState): void {
  const m = state.manifest
  const model = state.newModel()
  if (m.trained) model.loadArrays(state.store.readArrays())
  const cs = model.codeSize
  const rs = model.refineSize
  const all = state.store.loadCodes(0, cs + rs, m.count)
  const { codes, refine } = splitCodes(all.codes, all.ids.length, cs, rs)
  for (const l of all.lists) {
    if (!(l >= 0 && l < model.coarse.nlist))
      throw new VqFormatError('CORRUPT_FILE', `${state.path}: an item is in list ${l}, outside 0..${model.coarse.nlist - 1}`)
  }
  const n = all.ids.length
  const terms = model.usesTerms ? model.residualTerms(all.lists, codes, n) : null
  state.setModel(
    model,
    InvertedLists.build(model.coarse.nlist, model.scanCodeSize, rs, all.lists, all.ids, all.seqs, model.padCodes(codes, n), refine, terms),
  )
  state.loadedSeq = m.nextSeq - 1
}

/**
 * Catches up with commits made by other connections; returns true when something
 * changed. While pooled searches are in flight the lists they read are left untouched:
 * the changes go to a copy that replaces them.
 */
export function refresh(state: IndexState): boolean {
  let changed = false
  state.store.transaction(
    () => {
      const m = checkManifest(state.store.readManifest(), state.path)
      if (m.generation === state.manifest.generation) return
      changed = true
      if (m.codesGeneration !== state.manifest.codesGeneration || m.trained !== state.manifest.trained) {
        state.manifest = m
        loadAll(state)
        return
      }
      const model = state.model
      const lists = state.coordinator.readers > 0 ? copyLists(state.lists, model.usesTerms) : state.lists
      lists.remove(new Set(state.store.tombstonesAfter(state.loadedSeq)))
      const cs = model.codeSize
      const rs = model.refineSize
      const fresh = state.store.loadCodes(state.loadedSeq, cs + rs, m.count)
      const { codes, refine } = splitCodes(fresh.codes, fresh.ids.length, cs, rs)
      const nf = fresh.ids.length
      const terms = model.usesTerms ? model.residualTerms(fresh.lists, codes, nf) : null
      lists.append(fresh.lists, fresh.ids, fresh.seqs, model.padCodes(codes, nf), refine, terms)
      state.manifest = m
      state.loadedSeq = m.nextSeq - 1
      if (lists === state.lists) state.filters.clear()
      else state.setModel(model, lists)
    },
    'refreshing',
    'read',
  )
  return changed
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
        store!.transaction(
          () =>
            store!.insertRaw(
              Array.from(b.ids, (id, i) => ({
                seq: b.seqs[i]!,
                id,
                list: b.lists[i]!,
                code: b.codes.subarray(i * cs, (i + 1) * cs),
                vector: b.vectors ? b.vectors.subarray(i * vb, (i + 1) * vb) : null,
                json: b.metadata[i] ?? null,
              })),
            ),
          'importing items',
        )
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
