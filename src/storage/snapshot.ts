/**
 * Portable snapshots: an index as a stream of concatenated msgpack values (the storage
 * layer's one codec, msgpack.ts: msgpackr, typed arrays as typed arrays), readable by any
 * msgpack decoder that handles msgpackr's typed-array extension:
 *
 *   { kind: 'vqlite-snapshot', version: 1, manifest, properties?, textField? }
 *     (properties: the named values of setProperty; textField: the field of the FTS5
 *     keyword index, rebuilt from the metadata on import)
 *   { kind: 'arrays', arrays: { name: { dtype, shape, data } } }
 *   { kind: 'items', seqs: Float64Array, ids: Float64Array, lists: Int32Array, codes: Uint8Array,
 *     vectors: Uint8Array | null, metadata: (string | null)[] }      (repeated, up to 4096 items each)
 *   { kind: 'end', count }
 *
 * Bytes and rows only, like the rest of storage/.
 */
import { closeSync, existsSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs'
import { VqError, VqFormatError, VqStorageError } from '../errors.js'
import type { StoredArray } from './meta.js'
import { packValue, unpackMultiple } from './msgpack.js'
import type { SqliteStore } from './sqlite-store.js'

/** The `kind` of a snapshot's header record. */
export const SNAPSHOT_KIND = 'vqlite-snapshot'
/** Snapshot format version written by this vqlite. */
export const SNAPSHOT_VERSION = 1
const ITEMS_PER_RECORD = 4096
const READ_CHUNK = 8 << 20

/** One block of items as a snapshot carries it. */
export interface SnapshotItems {
  readonly seqs: Float64Array
  readonly ids: Float64Array
  readonly lists: Int32Array
  /** n*codeSize bytes. */
  readonly codes: Uint8Array
  /** n*vectorBytes bytes, or null when the index stores no vectors. */
  readonly vectors: Uint8Array | null
  readonly metadata: readonly (string | null)[]
}

/**
 * Writes the store's manifest, arrays and items to a new file at path (FILE_EXISTS if it
 * exists), through a temporary file renamed into place when complete.
 */
export function writeSnapshot(store: SqliteStore, path: string, codeSize: number): number {
  if (existsSync(path)) throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
  const tmp = `${path}.tmp-${process.pid}`
  const fd = openSync(tmp, 'wx')
  let count = 0
  try {
    const put = (v: unknown): void => {
      const b = packValue(v)
      writeSync(fd, b, 0, b.length)
    }
    // One read transaction: the snapshot is a consistent point in time.
    store.transaction(
      () => {
        put({
          kind: SNAPSHOT_KIND,
          version: SNAPSHOT_VERSION,
          manifest: store.readManifest(),
          properties: store.readProperties(),
          textField: store.textField,
        })
        put({ kind: 'arrays', arrays: store.readArrays() })
        store.forEachItem((rows) => {
          const n = rows.length
          const vb = rows[0]!.vector?.length ?? 0
          const seqs = new Float64Array(n)
          const ids = new Float64Array(n)
          const lists = new Int32Array(n)
          const codes = new Uint8Array(n * codeSize)
          const vectors = vb > 0 ? new Uint8Array(n * vb) : null
          const metadata: (string | null)[] = []
          rows.forEach((r, i) => {
            seqs[i] = r.seq
            ids[i] = r.id
            lists[i] = r.list
            codes.set(r.code, i * codeSize)
            if (vectors && r.vector) vectors.set(r.vector, i * vb)
            metadata.push(r.json)
          })
          put({ kind: 'items', seqs, ids, lists, codes, vectors, metadata })
          count += n
        }, ITEMS_PER_RECORD)
        put({ kind: 'end', count })
      },
      'exporting a snapshot',
      'read',
    )
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, path)
    return count
  } catch (e) {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true })
    throw e
  }
}

/** What readSnapshot hands to its visitor, record by record. */
export interface SnapshotVisitor {
  header(manifest: unknown, extra: { properties: Record<string, unknown>; textField: string | null }): void
  arrays(arrays: Record<string, StoredArray>): void
  items(items: SnapshotItems): void
}

/**
 * Reads a snapshot file synchronously, record by record. Throws VqFormatError: BAD_FILE
 * when it is not a vqlite snapshot or records are malformed, NEWER_FORMAT for a newer
 * snapshot version, TRUNCATED_FILE when it ends before its 'end' record or the item
 * count disagrees. Returns the item count.
 */
export function readSnapshot(path: string, visit: SnapshotVisitor): number {
  if (!existsSync(path)) throw new VqStorageError('NOT_FOUND', `${path}: no such file`)
  const fd = openSync(path, 'r')
  let state: 'header' | 'arrays' | 'items' | 'done' = 'header'
  let count = 0
  let declared = -1
  const bad = (why: string): never => {
    throw new VqFormatError('BAD_FILE', `${path}: not a valid vqlite snapshot (${why})`)
  }
  const onRecord = (v: unknown): void => {
    if (v === null || typeof v !== 'object') bad('a record is not an object')
    const r = v as Record<string, unknown>
    if (state === 'done') bad('data after the end record')
    if (state === 'header') {
      if (r['kind'] !== SNAPSHOT_KIND) bad('missing header')
      if (typeof r['version'] !== 'number' || r['version'] > SNAPSHOT_VERSION) {
        throw new VqFormatError(
          'NEWER_FORMAT',
          `${path}: snapshot version ${String(r['version'])} is newer than this vqlite reads (${SNAPSHOT_VERSION})`,
        )
      }
      visit.header(r['manifest'], {
        properties: (r['properties'] ?? {}) as Record<string, unknown>,
        textField: typeof r['textField'] === 'string' ? r['textField'] : null,
      })
      state = 'arrays'
    } else if (state === 'arrays') {
      if (r['kind'] !== 'arrays' || typeof r['arrays'] !== 'object' || r['arrays'] === null) bad('missing arrays record')
      const arrays: Record<string, StoredArray> = {}
      for (const [name, a] of Object.entries(r['arrays'] as Record<string, { dtype: string; shape: number[]; data: Float32Array }>)) {
        if (a.dtype !== 'float32' || !(a.data instanceof Float32Array) || !Array.isArray(a.shape)) bad(`array ${name}`)
        arrays[name] = { dtype: 'float32', shape: a.shape, data: a.data.slice() }
      }
      visit.arrays(arrays)
      state = 'items'
    } else if (r['kind'] === 'items') {
      const { seqs, ids, lists, codes, vectors, metadata } = r as unknown as SnapshotItems
      if (
        !(seqs instanceof Float64Array) ||
        !(ids instanceof Float64Array) ||
        !(lists instanceof Int32Array) ||
        lists.length !== ids.length ||
        !(codes instanceof Uint8Array) ||
        seqs.length !== ids.length ||
        !Array.isArray(metadata) ||
        metadata.length !== ids.length ||
        (vectors !== null && !(vectors instanceof Uint8Array))
      )
        bad('malformed items record')
      visit.items({ seqs, ids, lists, codes, vectors, metadata })
      count += ids.length
    } else if (r['kind'] === 'end') {
      declared = typeof r['count'] === 'number' ? r['count'] : -2
      state = 'done'
    } else {
      bad(`unknown record kind ${String(r['kind'])}`)
    }
  }
  try {
    let carry: Buffer = Buffer.alloc(0)
    for (;;) {
      const chunk = Buffer.alloc(READ_CHUNK)
      const got = readSync(fd, chunk, 0, READ_CHUNK, null)
      if (got === 0) break
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got)
      try {
        unpackMultiple(buf, onRecord)
        carry = Buffer.alloc(0)
      } catch (e) {
        const inc = e as { incomplete?: boolean; lastPosition?: number }
        if (!inc.incomplete || inc.lastPosition === undefined) {
          if (e instanceof VqError) throw e
          bad(`undecodable data (${(e as Error).message})`)
        }
        carry = Buffer.from(buf.subarray(inc.lastPosition))
      }
    }
    if (carry.length > 0 || (state as string) !== 'done') {
      throw new VqFormatError('TRUNCATED_FILE', `${path}: the snapshot ends before its end record (truncated)`)
    }
    if (declared !== count) throw new VqFormatError('TRUNCATED_FILE', `${path}: the snapshot holds ${count} items but declares ${declared}`)
    return count
  } finally {
    closeSync(fd)
  }
}
