/**
 * The SQLite file of an index (better-sqlite3). It stores bytes and rows and knows nothing
 * of quantizer math or kernels: the manifest is an opaque msgpack object, trained arrays
 * are typed arrays with a dtype and shape, codes and vectors are byte strings.
 *
 * File format (PRAGMA application_id = 0x56514C54 "VQLT", PRAGMA user_version = 1):
 *
 *   vq_manifest (key TEXT PRIMARY KEY, value BLOB)        'manifest' -> msgpack Manifest
 *   vq_arrays   (name TEXT PRIMARY KEY, dtype TEXT, shape TEXT, data BLOB)  trained arrays, little-endian
 *   vq_codes    (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, list INTEGER NOT NULL, code BLOB NOT NULL)
 *   vq_vectors  (id INTEGER PRIMARY KEY, vector BLOB NOT NULL)   full-precision vectors (optional)
 *   vq_metadata (id INTEGER PRIMARY KEY, json TEXT NOT NULL)     user metadata (optional)
 *   vq_tombstones (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL) deletions, for readers' refresh()
 *   vq_fts      FTS5 (text), rowid = id                         optional keyword index of one metadata
 *                                                               field (createTextIndex); vq_manifest key
 *                                                               'text_field' names the field
 *
 * `seq` numbers every insertion (and deletion) from one counter in the manifest: codes are
 * loaded in seq order, so positions in memory follow insertion order in every process,
 * and a reader that has loaded up to seq S catches up by applying tombstones and codes
 * with seq > S. Every write is one transaction that also rewrites the manifest (counters,
 * generation), so a crash leaves either all of a call or none of it.
 */
import { accessSync, closeSync, constants, existsSync, linkSync, openSync, readSync, rmSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { Packr } from 'msgpackr'
import { VqFormatError, VqInputError, VqStateError, VqStorageError } from '../errors.js'
import type { Durability } from '../types.js'

/** "VQLT": marks a SQLite file as a vqlite index. */
export const APPLICATION_ID = 0x56514c54
/** Current file format version (PRAGMA user_version). */
export const FORMAT_VERSION = 1


/** Longest time a read snapshot is held across re-ranking reads (see SqliteStore.readVectors). */
const SNAPSHOT_MS = 50

/** Connection options of a store. */
export interface StoreOptions {
  readonly?: boolean
  durability?: Durability
  /** How long a write waits for another writer's lock before failing with LOCKED. Default 5000 ms. */
  busyTimeoutMs?: number
}

/** A trained array as stored: dtype, shape and the values. */
export interface StoredArray {
  readonly dtype: 'float32'
  readonly shape: readonly number[]
  readonly data: Float32Array
}

/** Rows to insert: n items with their list, n*codeSize code bytes, optional n*vectorBytes vector bytes and n metadata strings. */
export interface ItemRows {
  readonly ids: Float64Array
  /** IVF list of each item (0 without IVF). */
  readonly lists: Int32Array
  readonly codes: Uint8Array
  readonly codeSize: number
  readonly vectors?: Uint8Array | undefined
  readonly vectorBytes?: number | undefined
  readonly metadata?: readonly (string | null)[] | undefined
}

/** Ordered migrations: MIGRATIONS[v] upgrades a file from format v to v + 1. */
const MIGRATIONS: Record<number, (db: Database.Database) => void> = {}

const SCHEMA = `
CREATE TABLE vq_manifest (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE vq_arrays (name TEXT PRIMARY KEY, dtype TEXT NOT NULL, shape TEXT NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE vq_codes (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, list INTEGER NOT NULL, code BLOB NOT NULL);
CREATE TABLE vq_vectors (id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE vq_metadata (id INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE vq_tombstones (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL);
`

const SQLITE_MAGIC = 'SQLite format 3\u0000'
const packr = new Packr({ moreTypes: true, useRecords: false })

/** Encodes a value as msgpack (typed arrays kept as typed arrays). */
export function packValue(v: unknown): Buffer {
  return packr.pack(v)
}

/** Decodes one msgpack value. */
export function unpackValue(b: Uint8Array): unknown {
  return packr.unpack(b)
}

/** A copy of a BLOB as a Float32Array (BLOB buffers need not be 4-byte aligned). */
function floatsOf(b: Buffer): Float32Array {
  const out = new Float32Array(b.length >>> 2)
  new Uint8Array(out.buffer).set(b)
  return out
}

function bytesOf(a: Float32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
}

/** Maps a better-sqlite3 error to a typed vqlite error. */
export function storageError(e: unknown, path: string, doing: string): Error {
  if (!(e instanceof Database.SqliteError)) return e instanceof Error ? e : new Error(String(e))
  const code = e.code
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new VqStorageError('LOCKED', `${path}: ${doing}: the database is locked by another connection (waited for the busy timeout)`, { cause: e })
  }
  if (code === 'SQLITE_NOTADB') return new VqFormatError('NOT_SQLITE', `${path}: not a SQLite database`, { cause: e })
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_IOERR_SHORT_READ') {
    return new VqFormatError('CORRUPT_FILE', `${path}: the file is corrupted or truncated (${code})`, { cause: e })
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new VqStorageError('READ_ONLY', `${path}: ${doing}: the file or its folder is read-only (${code}); an index left in WAL mode by a writer that did not close needs a writable folder even to read`, { cause: e })
  }
  if (code.startsWith('SQLITE_CANTOPEN')) return new VqStorageError('CANNOT_OPEN', `${path}: ${doing}: cannot open the file (${code})`, { cause: e })
  if (code === 'SQLITE_FULL') return new VqStorageError('IO_ERROR', `${path}: ${doing}: disk full`, { cause: e })
  if (code.startsWith('SQLITE_IOERR')) return new VqStorageError('IO_ERROR', `${path}: ${doing}: I/O error (${code})`, { cause: e })
  return new VqStorageError('IO_ERROR', `${path}: ${doing}: ${e.message} (${code})`, { cause: e })
}

/** True when this process may write to path (file or folder). */
function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** Reads the first 16 bytes of a file ('' when shorter or unreadable). */
function fileMagic(path: string): string {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const b = Buffer.alloc(16)
    const n = readSync(fd, b, 0, 16, 0)
    return b.subarray(0, n).toString('latin1')
  } catch {
    return ''
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** One stored item, as export/import move it. */
export interface RawItem {
  readonly seq: number
  readonly id: number
  readonly list: number
  readonly code: Uint8Array
  readonly vector: Uint8Array | null
  readonly json: string | null
}

/** Prepared statements of a writable store. */
interface WriteStatements {
  insertCode: Database.Statement
  insertVector: Database.Statement
  insertMeta: Database.Statement
  insertTombstone: Database.Statement
  deleteCode: Database.Statement
  deleteVector: Database.Statement
  deleteMeta: Database.Statement
  insertText?: Database.Statement
  deleteText?: Database.Statement
  putManifest: Database.Statement
}

/** One index file. All methods are synchronous (better-sqlite3). */
export class SqliteStore {
  /** The file path, or ':memory:'. */
  readonly path: string
  /** True when opened read-only. */
  readonly readonly: boolean
  readonly #db: Database.Database
  #closed = false
  #stmt: WriteStatements | undefined
  #readVectors: Database.Statement | undefined
  /** When the read snapshot of readVectors began (performance.now()), or -1 when none is held. */
  #snapshotSince = -1
  #snapshotRelease = false
  #begin: Database.Statement | undefined
  #commit: Database.Statement | undefined
  /** The keyword-indexed metadata field and its JSON path (undefined: not read yet). */
  #textField: string | null | undefined
  #textPath: string | null = null

  /** Use SqliteStore.create or SqliteStore.open. */
  private constructor(path: string, db: Database.Database, readonly: boolean) {
    this.path = path
    this.#db = db
    this.readonly = readonly
  }

  /**
   * Creates a new index file (or an in-memory database for ':memory:') holding the given
   * manifest. Refuses to touch an existing path (FILE_EXISTS). The file appears at `path`
   * only complete; if creation fails, the temporary file it made is removed.
   */
  static create(path: string, manifest: object, options: StoreOptions = {}): SqliteStore {
    const memory = path === ':memory:'
    if (!memory) {
      if (existsSync(path)) {
        throw new VqStorageError('FILE_EXISTS', `${path} already exists; open it with VqIndex.open, or choose a new path (vqlite never overwrites a file)`)
      }
      const dir = dirname(resolve(path))
      if (!existsSync(dir)) throw new VqStorageError('NOT_FOUND', `cannot create ${path}: folder ${dir} does not exist`)
      if (!writable(dir)) throw new VqStorageError('READ_ONLY', `cannot create ${path}: folder ${dir} is not writable`)
    }
    if (memory) {
      const db = new Database(path)
      try {
        initSchema(db, manifest)
        return new SqliteStore(path, configure(db, options, false), false)
      } catch (e) {
        db.close()
        throw storageError(e, path, 'creating the index')
      }
    }
    // Build the file beside the target and link it into place only when complete, so a
    // crash during creation never leaves a half-made index at `path` (link, unlike rename,
    // refuses to replace a file that appeared meanwhile).
    const tmp = `${path}.creating-${process.pid}-${Date.now()}`
    let db: Database.Database | undefined
    try {
      db = new Database(tmp)
      initSchema(db, manifest)
      db.close()
      db = undefined
      try {
        linkSync(tmp, path)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
        }
        throw new VqStorageError('IO_ERROR', `cannot create ${path}: ${(e as Error).message}`, { cause: e })
      } finally {
        rmSync(tmp, { force: true })
      }
      db = new Database(path, { fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 })
      return new SqliteStore(path, configure(db, options, false), false)
    } catch (e) {
      db?.close()
      for (const f of [tmp, `${tmp}-journal`]) rmSync(f, { force: true })
      throw storageError(e, path, 'creating the index')
    }
  }

  /**
   * Opens an existing index file. Checks, before writing anything: that it is SQLite
   * (NOT_SQLITE), that it is a vqlite index (FOREIGN_FILE), that its format is not newer
   * than this version (NEWER_FORMAT); older formats are migrated in one transaction.
   */
  static open(path: string, options: StoreOptions = {}): SqliteStore {
    if (!existsSync(path)) throw new VqStorageError('NOT_FOUND', `${path}: no such file`)
    const magic = fileMagic(path)
    if (magic !== SQLITE_MAGIC) {
      throw new VqFormatError(magic.length < 16 && magic.length > 0 ? 'CORRUPT_FILE' : 'NOT_SQLITE',
        `${path}: not a SQLite database (header ${JSON.stringify(magic.slice(0, 16))}); vqlite indexes are SQLite files`)
    }
    const readonly = options.readonly ?? false
    if (!readonly && (!writable(path) || !writable(dirname(resolve(path))))) {
      throw new VqStorageError('READ_ONLY',
        `${path}: the file or its folder is not writable; open it with { readonly: true } to read it`)
    }
    let db: Database.Database | undefined
    try {
      // Identify the file on a read-only connection first, so a foreign file is never written.
      const probe = new Database(path, { readonly: true, fileMustExist: true })
      let appId: number
      let version: number
      try {
        appId = probe.pragma('application_id', { simple: true }) as number
        version = probe.pragma('user_version', { simple: true }) as number
      } finally {
        probe.close()
      }
      if (appId !== APPLICATION_ID) {
        throw new VqFormatError('FOREIGN_FILE',
          `${path}: a SQLite database that is not a vqlite index (application_id ${appId >>> 0}, expected ${APPLICATION_ID}); it was not modified`)
      }
      if (version > FORMAT_VERSION) {
        throw new VqFormatError('NEWER_FORMAT', `${path}: index format ${version} is newer than this vqlite (format ${FORMAT_VERSION}); upgrade vqlite to open it`)
      }
      db = new Database(path, { readonly, fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 })
      configure(db, options, readonly)
      if (version < FORMAT_VERSION) {
        if (readonly) throw new VqFormatError('NEWER_FORMAT', `${path}: index format ${version} needs a migration; open it once for writing`)
        migrate(db, version)
      }
      return new SqliteStore(path, db, readonly)
    } catch (e) {
      db?.close()
      throw storageError(e, path, 'opening the index')
    }
  }

  /**
   * Runs fn in one transaction: 'write' takes the write lock up front (BEGIN IMMEDIATE),
   * 'read' is a consistent snapshot that takes no write lock (BEGIN DEFERRED).
   */
  transaction<T>(fn: () => T, doing: string, mode: 'read' | 'write' = 'write'): T {
    this.#open()
    this.#endSnapshot()
    try {
      const tx = this.#db.transaction(fn)
      return this.readonly || mode === 'read' ? tx.deferred() : tx.immediate()
    } catch (e) {
      throw storageError(e, this.path, doing)
    }
  }

  /** The manifest as stored. */
  readManifest<M>(): M {
    this.#open()
    const v = this.#db.prepare("SELECT value FROM vq_manifest WHERE key = 'manifest'").pluck().get() as Buffer | undefined
    if (!v) throw new VqFormatError('CORRUPT_FILE', `${this.path}: the manifest is missing`)
    return unpackValue(v) as M
  }

  /** Replaces the manifest (inside the caller's transaction). */
  writeManifest(manifest: object): void {
    this.#writer().putManifest.run(packValue(manifest))
  }

  /** Replaces all trained arrays (inside the caller's transaction). */
  writeArrays(arrays: Readonly<Record<string, StoredArray>>): void {
    this.#writer()
    this.#db.prepare('DELETE FROM vq_arrays').run()
    const ins = this.#db.prepare('INSERT INTO vq_arrays (name, dtype, shape, data) VALUES (?, ?, ?, ?)')
    for (const [name, a] of Object.entries(arrays)) ins.run(name, a.dtype, JSON.stringify(a.shape), bytesOf(a.data))
  }

  /** All trained arrays. */
  readArrays(): Record<string, StoredArray> {
    this.#open()
    const out: Record<string, StoredArray> = {}
    const rows = this.#db.prepare('SELECT name, dtype, shape, data FROM vq_arrays').all() as { name: string; dtype: string; shape: string; data: Buffer }[]
    for (const r of rows) {
      if (r.dtype !== 'float32') throw new VqFormatError('CORRUPT_FILE', `${this.path}: array ${r.name} has unknown dtype ${r.dtype}`)
      const shape = JSON.parse(r.shape) as number[]
      const data = floatsOf(r.data)
      if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new VqFormatError('CORRUPT_FILE', `${this.path}: array ${r.name} does not match its shape`)
      out[r.name] = { dtype: 'float32', shape, data }
    }
    return out
  }

  /**
   * Inserts items with consecutive sequence numbers from firstSeq (inside the caller's
   * transaction). An id that is already stored fails with ID_EXISTS.
   */
  insertItems(rows: ItemRows, firstSeq: number): void {
    const s = this.#writer()
    const { ids, lists, codes, codeSize, vectors, vectorBytes = 0, metadata } = rows
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      try {
        s.insertCode.run(firstSeq + i, id, lists[i]!, codes.subarray(i * codeSize, (i + 1) * codeSize))
      } catch (e) {
        if (e instanceof Database.SqliteError && e.code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new VqInputError('ID_EXISTS', `id ${id} is already in the index (position ${i} of the batch); use upsert() to replace it`)
        }
        throw e
      }
      if (vectors) s.insertVector.run(id, vectors.subarray(i * vectorBytes, (i + 1) * vectorBytes))
      const m = metadata?.[i]
      if (m !== undefined && m !== null) {
        s.insertMeta.run(id, m)
        if (s.insertText) s.insertText.run(id, m, this.#textPath, m, this.#textPath)
      }
    }
  }

  /**
   * Deletes the items with these ids that exist (inside the caller's transaction), writing
   * a tombstone for each with consecutive sequence numbers from firstSeq. Returns the ids
   * that existed, in the order given.
   */
  deleteItems(ids: Float64Array, firstSeq: number): number[] {
    const s = this.#writer()
    const gone: number[] = []
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      if (s.deleteCode.run(id).changes === 0) continue
      s.deleteVector.run(id)
      s.deleteMeta.run(id)
      s.deleteText?.run(id)
      s.insertTombstone.run(firstSeq + gone.length, id)
      gone.push(id)
    }
    return gone
  }

  /** The ids among `ids` that are stored. */
  existing(ids: Float64Array): number[] {
    this.#open()
    const q = this.#db.prepare('SELECT 1 FROM vq_codes WHERE id = ?').pluck()
    const out: number[] = []
    for (const id of ids) if (q.get(id) !== undefined) out.push(id)
    return out
  }

  /** Stored vector bytes and metadata of one id, or undefined when the id is unknown. */
  getItem(id: number): { vector: Buffer | null; metadata: string | null } | undefined {
    this.#open()
    const row = this.#db.prepare(
      'SELECT c.id, v.vector AS vector, m.json AS json FROM vq_codes c LEFT JOIN vq_vectors v ON v.id = c.id LEFT JOIN vq_metadata m ON m.id = c.id WHERE c.id = ?',
    ).get(id) as { vector: Buffer | null; json: string | null } | undefined
    return row ? { vector: row.vector, metadata: row.json } : undefined
  }

  /**
   * Reads every item with seq > afterSeq, in seq order: ids, seqs, lists (n each) and
   * n*codeSize code bytes. `expected` (an upper bound of the count, e.g. the manifest's)
   * sizes the arrays up front.
   */
  loadCodes(afterSeq: number, codeSize: number, expected: number): { ids: Float64Array; seqs: Uint32Array; lists: Int32Array; codes: Uint8Array } {
    this.#open()
    let cap = Math.max(16, expected)
    let ids = new Float64Array(cap)
    let seqs = new Uint32Array(cap)
    let lists = new Int32Array(cap)
    let codes = new Uint8Array(cap * codeSize)
    let n = 0
    const it = this.#db.prepare('SELECT seq, id, list, code FROM vq_codes WHERE seq > ? ORDER BY seq').raw().iterate(afterSeq) as IterableIterator<[number, number, number, Buffer]>
    for (const [seq, id, list, code] of it) {
      if (code.length !== codeSize) throw new VqFormatError('CORRUPT_FILE', `${this.path}: code of id ${id} has ${code.length} bytes, expected ${codeSize}`)
      if (n === cap) {
        cap *= 2
        const grow = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(a: T, size: number): T => {
          const b = new (a.constructor as new (len: number) => T)(size)
          b.set(a)
          return b
        }
        ids = grow(ids, cap)
        seqs = grow(seqs, cap)
        lists = grow(lists, cap)
        codes = grow(codes, cap * codeSize)
      }
      ids[n] = id
      seqs[n] = seq
      lists[n] = list
      codes.set(code, n * codeSize)
      n++
    }
    return { ids: ids.subarray(0, n), seqs: seqs.subarray(0, n), lists: lists.subarray(0, n), codes: codes.subarray(0, n * codeSize) }
  }

  /**
   * The stored vectors of n ids, as raw bytes by id (one statement for the batch); ids
   * without a stored vector are absent from the map.
   */
  readVectors(ids: Float64Array, n: number): VectorRows {
    this.#open()
    this.#holdSnapshot()
    this.#readVectors ??= prepareReadVectors(this.#db)
    return readVectorBlobs(this.#readVectors, ids, n)
  }

  /**
   * Re-ranking runs one statement per query. Outside a transaction, every statement begins
   * and ends a read transaction of its own, and the file locking and checks of that cost
   * system calls that take longer than the read itself. So consecutive readVectors calls
   * share one read transaction (a consistent snapshot, as any read), held until the event
   * loop next turns or for at most SNAPSHOT_MS, and always ended before any other
   * transaction or close(). Nothing is held inside a caller's transaction.
   */
  #holdSnapshot(): void {
    const now = performance.now()
    if (this.#snapshotSince >= 0) {
      if (now - this.#snapshotSince < SNAPSHOT_MS) return
      this.#endSnapshot()
    }
    if (this.#db.inTransaction) return
    this.#begin ??= this.#db.prepare('BEGIN DEFERRED')
    this.#commit ??= this.#db.prepare('COMMIT')
    this.#begin.run()
    this.#snapshotSince = now
    if (!this.#snapshotRelease) {
      this.#snapshotRelease = true
      setImmediate(() => {
        this.#snapshotRelease = false
        if (!this.#closed) this.#endSnapshot()
      }).unref()
    }
  }

  /** Ends the read transaction held by #holdSnapshot, if any. */
  #endSnapshot(): void {
    if (this.#snapshotSince < 0) return
    this.#snapshotSince = -1
    if (this.#db.inTransaction) this.#commit!.run()
  }

  /** The metadata field with a keyword index (createTextIndex), or null. */
  get textField(): string | null {
    this.#open()
    return this.#loadTextField()
  }

  #loadTextField(): string | null {
    if (this.#textField === undefined) {
      const v = this.#db.prepare("SELECT value FROM vq_manifest WHERE key = 'text_field'").pluck().get() as Buffer | undefined
      this.#textField = v ? String(unpackValue(v)) : null
      this.#textPath = this.#textField === null ? null : `$.${this.#textField}`
    }
    return this.#textField
  }

  /**
   * Creates the FTS5 keyword index over the string metadata field `field` (a dotted path),
   * filling it from the items stored; later inserts and deletes keep it current. Inside the
   * caller's transaction.
   */
  createTextIndex(field: string): void {
    this.#open()
    if (this.readonly) throw new VqStateError('READ_ONLY', `${this.path} is open read-only`)
    const db = this.#db
    const path = `$.${field}`
    db.exec("CREATE VIRTUAL TABLE vq_fts USING fts5(text, content='', contentless_delete=1, tokenize='porter unicode61')")
    db.prepare("INSERT INTO vq_fts (rowid, text) SELECT id, json_extract(json, ?) FROM vq_metadata WHERE json_type(json, ?) = 'text'").run(path, path)
    db.prepare("INSERT OR REPLACE INTO vq_manifest (key, value) VALUES ('text_field', ?)").run(packValue(field))
    this.#textField = field
    this.#textPath = path
    this.#stmt = undefined
  }

  /**
   * Keyword search (BM25) of an FTS5 MATCH expression over the text index, restricted to
   * stored items matching `where` over vq_codes c LEFT JOIN vq_metadata m: up to k ids, best
   * first, with their BM25 scores (lower is better, as SQLite's bm25()).
   */
  keywordSearch(match: string, k: number, where = '1', params: readonly unknown[] = []): { ids: number[]; scores: number[] } {
    this.#open()
    if (this.#loadTextField() === null) throw new VqStateError('UNSUPPORTED', 'this index has no text index (createTextIndex)')
    const rows = this.#db.prepare(
      `SELECT f.rowid AS id, bm25(vq_fts) AS score FROM vq_fts f JOIN vq_codes c ON c.id = f.rowid LEFT JOIN vq_metadata m ON m.id = c.id
       WHERE vq_fts MATCH ? AND (${where}) ORDER BY score, f.rowid LIMIT ?`,
    ).raw().all(match, ...params, k) as [number, number][]
    return { ids: rows.map((r) => r[0]), scores: rows.map((r) => r[1]) }
  }

  /** A named property (msgpack value) stored beside the manifest, or undefined. */
  getProperty(name: string): unknown {
    this.#open()
    const v = this.#db.prepare('SELECT value FROM vq_manifest WHERE key = ?').pluck().get(`prop:${name}`) as Buffer | undefined
    return v === undefined ? undefined : unpackValue(v)
  }

  /** Every named property. */
  readProperties(): Record<string, unknown> {
    this.#open()
    const rows = this.#db.prepare("SELECT key, value FROM vq_manifest WHERE key LIKE 'prop:%'").raw().all() as [string, Buffer][]
    return Object.fromEntries(rows.map(([k, v]) => [k.slice(5), unpackValue(v)]))
  }

  /** Sets a named property (inside the caller's transaction). */
  setProperty(name: string, value: unknown): void {
    this.#open()
    if (this.readonly) throw new VqStateError('READ_ONLY', `${this.path} is open read-only`)
    this.#db.prepare('INSERT OR REPLACE INTO vq_manifest (key, value) VALUES (?, ?)').run(`prop:${name}`, packValue(value))
  }

  /** Ids and metadata JSON of the items matching a WHERE clause over vq_codes c LEFT JOIN vq_metadata m, by id. */
  itemsWhere(where: string, params: readonly unknown[], limit: number): { id: number; json: string | null }[] {
    this.#open()
    return this.#db.prepare(`SELECT c.id AS id, m.json AS json FROM vq_codes c LEFT JOIN vq_metadata m ON m.id = c.id WHERE ${where} ORDER BY c.id LIMIT ?`)
      .all(...params, limit) as { id: number; json: string | null }[]
  }

  /** The largest stored id, or -1. */
  maxId(): number {
    this.#open()
    return (this.#db.prepare('SELECT max(id) FROM vq_codes').pluck().get() as number | null) ?? -1
  }

  /** Seqs of the items matching a WHERE clause over vq_codes c LEFT JOIN vq_metadata m (parameters bound, never spliced). */
  seqsWhere(where: string, params: readonly unknown[]): number[] {
    this.#open()
    return this.#db.prepare(`SELECT c.seq FROM vq_codes c LEFT JOIN vq_metadata m ON m.id = c.id WHERE ${where}`).pluck().all(...params) as number[]
  }

  /** Ids deleted with seq > afterSeq. */
  tombstonesAfter(afterSeq: number): number[] {
    this.#open()
    return this.#db.prepare('SELECT id FROM vq_tombstones WHERE seq > ? ORDER BY seq').pluck().all(afterSeq) as number[]
  }

  /**
   * Streams stored vectors in seq order (items without a stored vector are skipped): visit
   * receives the id, its seq and the vector bytes.
   */
  forEachVector(visit: (id: number, seq: number, vector: Buffer) => void): void {
    this.#open()
    const it = this.#db.prepare('SELECT c.seq, c.id, v.vector FROM vq_codes c JOIN vq_vectors v ON v.id = c.id ORDER BY c.seq').raw().iterate() as IterableIterator<[number, number, Buffer]>
    for (const [seq, id, v] of it) visit(id, seq, v)
  }

  /** Streams every item (seq order) with its code, vector and metadata, in blocks of up to `block` rows. */
  forEachItem(visit: (rows: RawItem[]) => void, block = 4096): void {
    this.#open()
    const it = this.#db.prepare(
      'SELECT c.seq, c.id, c.list, c.code, v.vector, m.json FROM vq_codes c LEFT JOIN vq_vectors v ON v.id = c.id LEFT JOIN vq_metadata m ON m.id = c.id ORDER BY c.seq',
    ).raw().iterate() as IterableIterator<[number, number, number, Buffer, Buffer | null, string | null]>
    let rows: RawItem[] = []
    for (const [seq, id, list, code, vector, json] of it) {
      rows.push({ seq, id, list, code, vector, json })
      if (rows.length === block) {
        visit(rows)
        rows = []
      }
    }
    if (rows.length > 0) visit(rows)
  }

  /** Inserts rows with given seqs, lists, codes, vectors and metadata (import; inside the caller's transaction). */
  insertRaw(rows: readonly RawItem[]): void {
    const s = this.#writer()
    for (const r of rows) {
      s.insertCode.run(r.seq, r.id, r.list, r.code)
      if (r.vector) s.insertVector.run(r.id, r.vector)
      if (r.json !== null) s.insertMeta.run(r.id, r.json)
    }
  }

  /** Replaces the list and code of each seq (retraining; inside the caller's transaction). codes: seqs.length*codeSize bytes. */
  updateCodes(seqs: ArrayLike<number>, lists: Int32Array, codes: Uint8Array, codeSize: number): void {
    this.#writer()
    const up = this.#db.prepare('UPDATE vq_codes SET list = ?, code = ? WHERE seq = ?')
    for (let i = 0; i < seqs.length; i++) up.run(lists[i]!, codes.subarray(i * codeSize, (i + 1) * codeSize), seqs[i]!)
  }

  /** Journal mode, synchronous level, format version and file size of this connection's database. */
  info(): { journalMode: string; synchronous: 'off' | 'normal' | 'full' | 'extra'; formatVersion: number; fileBytes: number } {
    this.#open()
    const sync = this.#db.pragma('synchronous', { simple: true }) as number
    const pages = this.#db.pragma('page_count', { simple: true }) as number
    const pageSize = this.#db.pragma('page_size', { simple: true }) as number
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: (['off', 'normal', 'full', 'extra'] as const)[sync] ?? 'full',
      formatVersion: this.#db.pragma('user_version', { simple: true }) as number,
      fileBytes: pages * pageSize,
    }
  }

  /** PRAGMA integrity_check: 'ok' or the problems found. */
  integrityCheck(): string {
    this.#open()
    return (this.#db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ')
  }

  /**
   * Closes the connection (idempotent). A writer first switches the file back to rollback
   * journal mode, which checkpoints the WAL and removes the -wal and -shm files: at rest an
   * index is one file, readable even from a read-only folder. (When other connections are
   * still open the switch is skipped and the file stays in WAL mode; nothing is lost.)
   */
  close(): void {
    if (this.#closed) return
    this.#endSnapshot()
    this.#closed = true
    if (!this.readonly && this.path !== ':memory:') {
      try {
        this.#db.pragma('busy_timeout = 0')
        this.#db.pragma('journal_mode = DELETE')
      } catch {
        // another connection is using the file: leave it in WAL mode
      }
    }
    this.#db.close()
  }

  #open(): void {
    if (this.#closed) throw new VqStateError('CLOSED', 'the index is closed')
  }

  /** The write statements, prepared on first use (after the schema exists). */
  #writer(): WriteStatements {
    this.#open()
    if (this.readonly) throw new VqStateError('READ_ONLY', `${this.path} is open read-only`)
    const db = this.#db
    this.#loadTextField()
    return (this.#stmt ??= {
      insertCode: db.prepare('INSERT INTO vq_codes (seq, id, list, code) VALUES (?, ?, ?, ?)'),
      insertVector: db.prepare('INSERT INTO vq_vectors (id, vector) VALUES (?, ?)'),
      insertMeta: db.prepare('INSERT INTO vq_metadata (id, json) VALUES (?, ?)'),
      insertTombstone: db.prepare('INSERT INTO vq_tombstones (seq, id) VALUES (?, ?)'),
      deleteCode: db.prepare('DELETE FROM vq_codes WHERE id = ?'),
      deleteVector: db.prepare('DELETE FROM vq_vectors WHERE id = ?'),
      deleteMeta: db.prepare('DELETE FROM vq_metadata WHERE id = ?'),
      ...(this.#textPath !== null ? {
        insertText: db.prepare("INSERT INTO vq_fts (rowid, text) SELECT ?, json_extract(?, ?) WHERE json_type(?, ?) = 'text'"),
        deleteText: db.prepare('DELETE FROM vq_fts WHERE rowid = ?'),
      } : {}),
      putManifest: db.prepare("INSERT OR REPLACE INTO vq_manifest (key, value) VALUES ('manifest', ?)"),
    })
  }
}

/** Creates the tables, marks the file as ours and stores the first manifest, in one transaction. */
function initSchema(db: Database.Database, manifest: object): void {
  db.transaction(() => {
    db.exec(SCHEMA)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma(`user_version = ${FORMAT_VERSION}`)
    db.prepare("INSERT INTO vq_manifest (key, value) VALUES ('manifest', ?)").run(packValue(manifest))
  })()
}

/**
 * Memory-mapped I/O window (PRAGMA mmap_size): reads of stored vectors for re-ranking go
 * through the OS page cache without a read() call and a copy per page (about 2x faster
 * for random reads). It reserves address space, not memory.
 */
const MMAP_BYTES = 2 ** 33

function configure(db: Database.Database, options: StoreOptions, readonly: boolean): Database.Database {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`)
  db.pragma(`mmap_size = ${MMAP_BYTES}`)
  if (!readonly) {
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${(options.durability ?? 'full') === 'full' ? 'FULL' : 'NORMAL'}`)
  }
  return db
}

function migrate(db: Database.Database, from: number): void {
  db.transaction(() => {
    for (let v = from; v < FORMAT_VERSION; v++) {
      const step = MIGRATIONS[v]
      if (!step) throw new VqFormatError('NEWER_FORMAT', `no migration from index format ${v}`)
      step(db)
      db.pragma(`user_version = ${v + 1}`)
    }
  }).immediate()
}

/**
 * A read-only connection of its own to an index file, for reading stored vectors (the
 * worker threads' re-ranking): memory-mapped like a store's, with the readVectors statement.
 */
export function openVectorReader(path: string): { conn: Database.Database; stmt: Database.Statement } {
  const conn = new Database(path, { readonly: true, fileMustExist: true })
  conn.pragma(`mmap_size = ${MMAP_BYTES}`)
  return { conn, stmt: prepareReadVectors(conn) }
}

/**
 * The statement behind readVectors. It returns one row, not one per vector: the ids as text
 * and the vectors concatenated into one blob in the same order, which halves the cost of a
 * re-ranking fetch against a Buffer per row. The ids come as a JSON array, looked up one
 * by one in its order (a join: 7 % faster than `id IN (...)`, which first copies them into
 * a temporary index). Also used by the worker threads' own read-only connections.
 */
export function prepareReadVectors(db: Database.Database): Database.Statement {
  return db.prepare(
    "SELECT count(*), group_concat(v.id), CAST(group_concat(v.vector, x'') AS BLOB) FROM json_each(?) c JOIN vq_vectors v ON v.id = c.value",
  ).raw()
}

/** Stored vectors read by readVectorBlobs: rows with ids ascending, their bytes back to back. */
export interface VectorRows {
  /** The ids found, ascending. */
  readonly ids: Float64Array
  /** ids.length vectors of `size` bytes each, in the order of ids. */
  readonly blob: Uint8Array
  readonly size: number
}

const NO_ROWS: VectorRows = { ids: new Float64Array(0), blob: new Uint8Array(0), size: 0 }

/** Runs a prepareReadVectors statement for n ids: the stored vectors found (missing ids absent). */
export function readVectorBlobs(stmt: Database.Statement, ids: Float64Array, n: number): VectorRows {
  // Ascending ids visit the table's B-tree in order (fewer page changes).
  const sorted = ids.slice(0, n).sort()
  const [count, idText, blob] = stmt.get(JSON.stringify(Array.from(sorted))) as [number, string | null, Buffer | null]
  if (count === 0 || idText === null || blob === null) return NO_ROWS
  const text = idText.split(',')
  const found = new Float64Array(count)
  let ascending = true
  for (let i = 0; i < count; i++) {
    found[i] = Number(text[i])
    if (i > 0 && found[i]! <= found[i - 1]!) ascending = false
  }
  // Every stored vector of an index has the same size.
  const size = blob.length / count
  if (ascending) return { ids: found, blob, size }
  // SQLite returns them in index order; should a plan ever differ, sort them here.
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => found[a]! - found[b]!)
  const outIds = new Float64Array(count)
  const outBlob = new Uint8Array(blob.length)
  order.forEach((from, i) => {
    outIds[i] = found[from]!
    outBlob.set(blob.subarray(from * size, (from + 1) * size), i * size)
  })
  return { ids: outIds, blob: outBlob, size }
}
