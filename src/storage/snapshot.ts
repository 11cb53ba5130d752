/**
 * Portable snapshots: an index as a stream of concatenated msgpack values (the storage
 * layer's one codec, msgpack.ts: msgpackr, typed arrays as typed arrays), readable by any
 * msgpack decoder that handles msgpackr's typed-array extension:
 *
 *   { kind: 'vqlite-snapshot', version: 3, manifest, properties, textField, check }
 *     (properties: the named values of setProperty; textField: the field of the FTS5
 *     keyword index, rebuilt from the metadata on import, or null)
 *   { kind: 'arrays', arrays: { name: { dtype, shape, data } }, check }
 *   { kind: 'items', seqs: Float64Array, ids: Float64Array, lists: Int32Array, codes: Uint8Array,
 *     vectors: Uint8Array | null, metadata: (string | null)[], keys?: string[], check }   (repeated, up to 4096 items each;
 *     keys, from version 4: the string ids of an index created with ids: 'string')
 *   { kind: 'end', count, check }
 *
 * `check` (versions 2 and 3) is the first 16 bytes of the SHA-256 of the record's content (see
 * recordCheck), so that a damaged byte anywhere is refused rather than imported as a
 * different item. Version 1 snapshots (vqlite before checks) have no `check` and are read
 * with every structural check but this one. Version 3 (RaBitQ codecs) has the records of
 * version 2: a snapshot of version 2 reads as one of version 3, and older vqlite versions
 * refuse a version 3 snapshot (one that may hold a codec they do not know) as newer. Version 4
 * (string ids) adds `keys` to the items records of string-id indexes, covered by the check.
 *
 * readSnapshot trusts nothing: every record is checked for its shape here (kinds, keys,
 * types, lengths); what a record must agree with (the manifest's sizes, ids, seqs) is for
 * the importer (engine/snapshot-check.ts). Bytes and rows only, like the rest of storage/.
 */
import { createHash } from 'node:crypto'
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { dirname } from 'node:path'
import { VqError, VqFormatError, VqStorageError } from '../errors.js'
import type { StoredArray } from './meta.js'
import { packValue, unpackMultiple } from './msgpack.js'
import type { SqliteStore } from './sqlite-store.js'

/** The `kind` of a snapshot's header record. */
export const SNAPSHOT_KIND = 'vqlite-snapshot'
/** Snapshot format version written by this vqlite (2: records carry a check; 3: RaBitQ codecs, the same records; 4: string ids). */
export const SNAPSHOT_VERSION = 4
const ITEMS_PER_RECORD = 4096
const READ_CHUNK = 8 << 20
const CHECK_BYTES = 16

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
  /** The items' string ids (string-id indexes only). */
  readonly keys?: readonly string[]
}

/** The check of a record: SHA-256 (first 16 bytes) of its content, by kind. */
function recordCheck(kind: string, content: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  h.update(kind)
  for (const part of content) {
    const len = Buffer.alloc(8)
    len.writeDoubleLE(part.byteLength)
    h.update(len)
    h.update(part)
  }
  return new Uint8Array(h.digest().subarray(0, CHECK_BYTES))
}

function bytesOf(a: Float64Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

function headerCheck(version: number, manifest: unknown, properties: unknown, textField: unknown): Uint8Array {
  return recordCheck(SNAPSHOT_KIND, [packValue([version, manifest, properties, textField])])
}
function arraysCheck(arrays: unknown): Uint8Array {
  return recordCheck('arrays', [packValue(arrays)])
}
function itemsCheck(record: number, b: SnapshotItems): Uint8Array {
  const no = Buffer.alloc(8)
  no.writeDoubleLE(record)
  return recordCheck('items', [
    no,
    bytesOf(b.seqs),
    bytesOf(b.ids),
    bytesOf(b.lists),
    b.codes,
    b.vectors === null ? Buffer.from('null') : b.vectors,
    packValue(b.metadata),
    ...(b.keys === undefined ? [] : [packValue(b.keys)]),
  ])
}
function endCheck(count: number, records: number): Uint8Array {
  return recordCheck('end', [packValue([count, records])])
}

/** A file-system error of export as a VqStorageError naming the snapshot path. */
function exportError(e: unknown, path: string): Error {
  if (e instanceof VqError) return e
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  const msg = (e as Error | undefined)?.message ?? String(e)
  const opts = { cause: e }
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new VqStorageError('NOT_FOUND', `${path}: cannot export: the folder ${dirname(path)} does not exist (${code})`, opts)
    case 'EEXIST':
      return new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`, opts)
    case 'EROFS':
      return new VqStorageError('READ_ONLY', `${path}: cannot export: the file system is read-only (EROFS)`, opts)
    case 'EACCES':
    case 'EPERM':
      return new VqStorageError('READ_ONLY', `${path}: cannot export: no permission to write in ${dirname(path)} (${code})`, opts)
    case 'ENOSPC':
    case 'EDQUOT':
      return new VqStorageError('IO_ERROR', `${path}: cannot export: disk full (${code}); nothing was written`, opts)
    case 'EISDIR':
      return new VqStorageError('CANNOT_OPEN', `${path}: cannot export: the path is a folder (EISDIR)`, opts)
    default:
      if (code !== undefined) return new VqStorageError('IO_ERROR', `${path}: cannot export: I/O error (${code}: ${msg})`, opts)
      return e instanceof Error ? e : new Error(String(e))
  }
}

/**
 * Writes the store's manifest, arrays and items to a new file at path (FILE_EXISTS if it
 * exists), through a temporary file beside it, linked into place when complete (never
 * over a file that appeared meanwhile). File-system refusals are VqStorageError
 * (NOT_FOUND, READ_ONLY, IO_ERROR "disk full", ...); on any error the temporary file is
 * removed and nothing else changes. Returns the item count.
 */
export function writeSnapshot(store: SqliteStore, path: string, codeSize: number): number {
  if (existsSync(path)) throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`
  let fd: number | undefined
  let count = 0
  try {
    fd = openSync(tmp, 'wx')
    const out = fd
    const put = (v: unknown): void => {
      const b = packValue(v)
      let at = 0
      while (at < b.length) at += writeSync(out, b, at, b.length - at)
    }
    // One read transaction: the snapshot is a consistent point in time.
    store.transaction(
      () => {
        const manifest = store.readManifest()
        const properties = store.readProperties()
        const textField = store.textField
        const check = headerCheck(SNAPSHOT_VERSION, manifest, properties, textField)
        put({ kind: SNAPSHOT_KIND, version: SNAPSHOT_VERSION, manifest, properties, textField, check })
        const arrays = store.readArrays()
        put({ kind: 'arrays', arrays, check: arraysCheck(arrays) })
        let record = 0
        const withKeys = (manifest as { ids?: unknown } | null)?.ids === 'string'
        store.forEachItem(
          (rows) => {
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
            const b: SnapshotItems = withKeys
              ? { seqs, ids, lists, codes, vectors, metadata, keys: rows.map((r) => r.key!) }
              : { seqs, ids, lists, codes, vectors, metadata }
            put({ ...b, kind: 'items', check: itemsCheck(record, b) })
            record++
            count += n
          },
          ITEMS_PER_RECORD,
          withKeys,
        )
        put({ kind: 'end', count, check: endCheck(count, record) })
      },
      'exporting a snapshot',
      'read',
    )
    fsyncSync(out)
    closeSync(out)
    fd = undefined
    publish(tmp, path)
    syncFolder(path)
    return count
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd)
      } catch {
        // already closed
      }
    }
    removeQuietly(tmp)
    throw exportError(e, path)
  }
}

/** Removes a file if it is there; a path that cannot hold one (under a file, a missing folder) has nothing to remove. */
function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true })
  } catch {
    // nothing was created there
  }
}

/** Moves the finished temporary file to path without ever replacing a file there. */
function publish(tmp: string, path: string): void {
  try {
    linkSync(tmp, path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    // File systems without hard links: a rename after the existence check.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'ENOSYS') throw e
    if (existsSync(path)) throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
    renameSync(tmp, path)
    return
  }
  rmSync(tmp, { force: true })
}

/** fsync of the folder of path (the new name is durable); best effort where folders cannot be opened. */
function syncFolder(path: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dirname(path), 'r')
    fsyncSync(fd)
  } catch {
    // not supported here (e.g. Windows); the file itself is synced
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** What readSnapshot hands to its visitor, record by record (record: 0 for the header). */
export interface SnapshotVisitor {
  header(
    manifest: unknown,
    extra: { properties: Record<string, unknown>; textField: string | null },
    info: { version: number; fileBytes: number },
  ): void
  arrays(arrays: Record<string, StoredArray>): void
  items(items: SnapshotItems, record: number): void
  /** The end record, after every item record (count: the items it declares). */
  end?(count: number, record: number): void
}

const HEADER_KEYS = ['kind', 'version', 'manifest', 'properties', 'textField', 'check']
const ARRAYS_KEYS = ['kind', 'arrays', 'check']
const ITEMS_KEYS = ['kind', 'seqs', 'ids', 'lists', 'codes', 'vectors', 'metadata', 'keys', 'check']
const END_KEYS = ['kind', 'count', 'check']

function sameBytes(a: unknown, b: Uint8Array): boolean {
  return a instanceof Uint8Array && a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)
}

/**
 * Reads a snapshot file synchronously, record by record, checking the shape of every
 * record before the visitor sees it. Throws VqFormatError: BAD_FILE when the file is not
 * a vqlite snapshot (its first record is not a snapshot header); NEWER_FORMAT for a
 * newer snapshot version; CORRUPT_FILE naming the record and the field when a record
 * after the header is damaged (undecodable, wrong keys or types, a failed check, an end
 * count that disagrees); TRUNCATED_FILE when the file ends before its end record.
 * VqStorageError NOT_FOUND / CANNOT_OPEN when it cannot be read. Returns the item count.
 */
export function readSnapshot(path: string, visit: SnapshotVisitor): number {
  let fd: number
  try {
    // Non-blocking: a FIFO or device must be refused below, not waited on forever.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VqStorageError('NOT_FOUND', `${path}: no such file`, { cause: e })
    throw new VqStorageError('CANNOT_OPEN', `${path}: cannot read the snapshot (${code ?? String(e)})`, { cause: e })
  }
  let fileBytes: number
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) {
      closeSync(fd)
      throw new VqFormatError('BAD_FILE', `${path}: not a vqlite snapshot (not a regular file)`)
    }
    fileBytes = st.size
  } catch (e) {
    if (e instanceof VqError) throw e
    closeSync(fd)
    throw new VqStorageError('CANNOT_OPEN', `${path}: cannot read the snapshot (${(e as Error).message})`, { cause: e })
  }
  let state: 'header' | 'arrays' | 'items' | 'done' = 'header'
  let version = 0
  let record = 0
  let itemRecords = 0
  let count = 0
  const notSnapshot = (why: string): never => {
    throw new VqFormatError('BAD_FILE', `${path}: not a vqlite snapshot (${why})`)
  }
  const corrupt = (what: string): never => {
    throw new VqFormatError('CORRUPT_FILE', `${path}: record ${record} of the snapshot is damaged (${what})`)
  }
  const keysOf = (r: Record<string, unknown>, allowed: readonly string[], kind: string): void => {
    for (const k of Object.keys(r)) if (!allowed.includes(k)) corrupt(`unknown field ${JSON.stringify(k)} in the ${kind} record`)
    if (version >= 2) {
      if (!(r['check'] instanceof Uint8Array) || r['check'].length !== CHECK_BYTES) corrupt(`the ${kind} record has no valid check`)
    } else if ('check' in r) corrupt(`a version-1 ${kind} record with a check field`)
  }
  const onRecord = (v: unknown): void => {
    if (state === 'header') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) notSnapshot('the first record is not a snapshot header')
      const r = v as Record<string, unknown>
      if (r['kind'] !== SNAPSHOT_KIND) notSnapshot('the first record is not a snapshot header')
      const ver = r['version']
      if (typeof ver !== 'number' || !Number.isInteger(ver) || ver < 1) corrupt(`header: version ${String(ver)}`)
      if ((ver as number) > SNAPSHOT_VERSION) {
        throw new VqFormatError(
          'NEWER_FORMAT',
          `${path}: snapshot version ${String(ver)} is newer than this vqlite reads (${SNAPSHOT_VERSION})`,
        )
      }
      version = ver as number
      keysOf(r, HEADER_KEYS, 'header')
      const properties = r['properties'] ?? {}
      if (properties === null || typeof properties !== 'object' || Array.isArray(properties) || ArrayBuffer.isView(properties))
        corrupt('header: properties is not a map of names to values')
      const textField = r['textField'] ?? null
      if (textField !== null && typeof textField !== 'string') corrupt(`header: textField is a ${typeof textField}, not a name`)
      if (version >= 2 && !sameBytes(r['check'], headerCheck(version, r['manifest'], r['properties'], r['textField'])))
        corrupt('header: its content does not match its check')
      visit.header(
        r['manifest'],
        { properties: properties as Record<string, unknown>, textField: textField as string | null },
        { version, fileBytes },
      )
      state = 'arrays'
      record++
      return
    }
    if (state === 'done') corrupt('data after the end record')
    if (v === null || typeof v !== 'object' || Array.isArray(v)) corrupt('not a record (a map)')
    const r = v as Record<string, unknown>
    if (state === 'arrays') {
      if (r['kind'] !== 'arrays') corrupt(`expected the arrays record, found kind ${JSON.stringify(String(r['kind']))}`)
      keysOf(r, ARRAYS_KEYS, 'arrays')
      const raw = r['arrays']
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || ArrayBuffer.isView(raw)) corrupt('arrays: not a map')
      if (version >= 2 && !sameBytes(r['check'], arraysCheck(raw))) corrupt('arrays: the content does not match its check')
      const arrays: Record<string, StoredArray> = {}
      for (const [name, a] of Object.entries(raw as Record<string, unknown>)) {
        if (a === null || typeof a !== 'object') corrupt(`array ${JSON.stringify(name)} is not a map`)
        const { dtype, shape, data } = a as { dtype: unknown; shape: unknown; data: unknown }
        if (dtype !== 'float32') corrupt(`array ${JSON.stringify(name)}: dtype ${JSON.stringify(String(dtype))}`)
        if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
          corrupt(`array ${JSON.stringify(name)}: shape is not a list of sizes`)
        if (!(data instanceof Float32Array)) corrupt(`array ${JSON.stringify(name)}: data is not float32`)
        const f = data as Float32Array
        const size = (shape as number[]).reduce((x, y) => x * y, 1)
        if (size !== f.length) corrupt(`array ${JSON.stringify(name)}: shape [${String(shape)}] holds ${size} values, data ${f.length}`)
        for (let i = 0; i < f.length; i++) if (!Number.isFinite(f[i]!)) corrupt(`array ${JSON.stringify(name)}: value ${i} is ${f[i]}`)
        arrays[name] = { dtype: 'float32', shape: [...(shape as number[])], data: f.slice() }
      }
      visit.arrays(arrays)
      state = 'items'
      record++
      return
    }
    if (r['kind'] === 'items') {
      keysOf(r, ITEMS_KEYS, 'items')
      const { seqs, ids, lists, codes, vectors, metadata, keys } = r as Record<string, unknown>
      if (!(ids instanceof Float64Array) || ids.length === 0) corrupt('items: ids is not a non-empty float64 array')
      const n = (ids as Float64Array).length
      if (!(seqs instanceof Float64Array) || seqs.length !== n) corrupt(`items: seqs is not ${n} float64 values`)
      if (!(lists instanceof Int32Array) || lists.length !== n) corrupt(`items: lists is not ${n} int32 values`)
      if (!(codes instanceof Uint8Array)) corrupt('items: codes is not bytes')
      if (vectors !== null && !(vectors instanceof Uint8Array)) corrupt('items: vectors is neither bytes nor null')
      if (!Array.isArray(metadata) || metadata.length !== n) corrupt(`items: metadata is not a list of ${n} entries`)
      for (let i = 0; i < n; i++) {
        const m = (metadata as unknown[])[i]
        if (m !== null && typeof m !== 'string') corrupt(`items: metadata of item ${i} is a ${typeof m}, not JSON text or null`)
      }
      if (keys !== undefined) {
        if (version < 4) corrupt(`items: string ids in a version-${version} snapshot`)
        if (!Array.isArray(keys) || keys.length !== n) corrupt(`items: keys is not a list of ${n} entries`)
        for (let i = 0; i < n; i++) {
          if (typeof (keys as unknown[])[i] !== 'string') corrupt(`items: the string id of item ${i} is a ${typeof (keys as unknown[])[i]}`)
        }
      }
      const b = (
        keys === undefined ? { seqs, ids, lists, codes, vectors, metadata } : { seqs, ids, lists, codes, vectors, metadata, keys }
      ) as SnapshotItems
      if (version >= 2 && !sameBytes(r['check'], itemsCheck(itemRecords, b))) corrupt('items: the content does not match its check')
      visit.items(b, record)
      count += n
      itemRecords++
      record++
      return
    }
    if (r['kind'] === 'end') {
      keysOf(r, END_KEYS, 'end')
      const declared = r['count']
      if (version >= 2 && !sameBytes(r['check'], endCheck(declared as number, itemRecords)))
        corrupt('end: the content does not match its check')
      if (declared !== count) corrupt(`end: it declares ${String(declared)} items, the snapshot holds ${count}`)
      visit.end?.(count, record)
      state = 'done'
      record++
      return
    }
    corrupt(`unknown record kind ${JSON.stringify(String(r['kind']))}`)
  }
  try {
    let carry: Buffer = Buffer.alloc(0)
    let read = 0
    for (;;) {
      // A record longer than a chunk: read as much again as is carried (linear, not quadratic).
      const want = Math.min(Math.max(READ_CHUNK, carry.length), Math.max(0, fileBytes - read))
      if (want === 0) break
      const chunk = Buffer.alloc(want)
      const got = readSync(fd, chunk, 0, want, null)
      if (got === 0) break
      read += got
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got)
      try {
        unpackMultiple(buf, onRecord)
        carry = Buffer.alloc(0)
      } catch (e) {
        const inc = e as { incomplete?: boolean; lastPosition?: number }
        if (e instanceof VqError) throw e
        if (!inc.incomplete || inc.lastPosition === undefined) {
          if (state === 'header') notSnapshot(`undecodable data (${(e as Error).message})`)
          corrupt(`undecodable data (${(e as Error).message})`)
        }
        carry = Buffer.from(buf.subarray(inc.lastPosition))
      }
    }
    if (state === 'header') {
      if (read === 0) notSnapshot('the file is empty')
      notSnapshot('the file ends before a snapshot header')
    }
    if (carry.length > 0 || (state as string) !== 'done') {
      throw new VqFormatError(
        'TRUNCATED_FILE',
        `${path}: the snapshot ends before its end record (truncated after ${record} records, ${count} items)`,
      )
    }
    return count
  } catch (e) {
    if (e instanceof VqError) throw e
    // A read error of the file system, or an allocation the file's size allowed but memory did not.
    const code = (e as NodeJS.ErrnoException).code
    if (code !== undefined) throw new VqStorageError('IO_ERROR', `${path}: reading the snapshot: I/O error (${code})`, { cause: e })
    throw new VqFormatError('CORRUPT_FILE', `${path}: record ${record} of the snapshot is damaged (${(e as Error).message})`, {
      cause: e,
    })
  } finally {
    closeSync(fd)
  }
}
