/**
 * The SQLite file of an index (better-sqlite3). It stores bytes and rows and knows nothing
 * of quantizer math or kernels: the manifest is an opaque msgpack object, trained arrays
 * are typed arrays with a dtype and shape, codes and vectors are byte strings.
 *
 * SqliteStore is the one class the index uses; it checks the store's state (closed,
 * read-only) and delegates to statement groups over its connection, one concern each:
 *   connection.ts      create/open a file, connection settings (StoreOptions)
 *   identity.ts        application id, format version, foreign/too-new checks, migrations
 *   schema.ts          the DDL (the tables are described there)
 *   error-mapping.ts   SQLite codes to typed vqlite errors
 *   msgpack.ts         the storage layer's one msgpack codec
 *   meta.ts            manifest and trained arrays
 *   items.ts           codes, vectors, metadata, tombstones
 *   vector-reader.ts   re-ranking reads of stored vectors (this store's and the workers')
 *   keyword-index.ts   the FTS5 keyword index
 *   properties.ts      named properties
 *
 * Every write is one transaction that also rewrites the manifest (counters, generation),
 * so a crash leaves either all of a call or none of it.
 *
 * No SQLite error leaves a method: each is mapped to a typed error (error-mapping.ts); a
 * read that finds the file damaged (a missing table or column, a malformed page or JSON
 * text) is CORRUPT_FILE.
 */
import Database from 'better-sqlite3'
import { VqError, VqFormatError } from '../errors.js'
import { createDatabase, enableWal, openDatabase, type StoreOptions } from './connection.js'
import { closedError, readOnlyError, storageError } from './error-mapping.js'
import { type ItemPageRow, type ItemRows, ItemTables, type LoadedCodes, type RawItem } from './items.js'
import { KeyTable } from './keys.js'
import { KeywordIndex } from './keyword-index.js'
import { MetaTables, type StoredArray } from './meta.js'
import { PropertyTable } from './properties.js'
import { VectorReads, type VectorRows } from './vector-reader.js'

export { storageError } from './error-mapping.js'
export { APPLICATION_ID, FORMAT_VERSION } from './identity.js'
export { packValue, unpackValue } from './msgpack.js'
export { openVectorReader, prepareReadVectors, readVectorBlobs, type VectorRows } from './vector-reader.js'
export type { ItemRows, LoadedCodes, RawItem, StoredArray, StoreOptions }

/** One index file. All methods are synchronous (better-sqlite3). */
export class SqliteStore {
  /** The file path, or ':memory:'. */
  readonly path: string
  /** True when opened read-only. */
  readonly readonly: boolean
  readonly #db: Database.Database
  #closed = false
  /** True once this connection switched the file to WAL mode (close() switches it back). */
  #wal: boolean
  /** Bytes of each stored vector, once known (expectVectorBytes): reads check every vector's length. */
  #vectorBytes: number | undefined
  readonly #meta: MetaTables
  readonly #items: ItemTables
  readonly #vectors: VectorReads
  readonly #keywords: KeywordIndex
  readonly #properties: PropertyTable
  readonly #keys: KeyTable

  /** Use SqliteStore.create or SqliteStore.open. */
  private constructor(path: string, db: Database.Database, readonly: boolean, wal: boolean) {
    this.path = path
    this.#db = db
    this.readonly = readonly
    this.#wal = wal
    this.#meta = new MetaTables(db, path)
    this.#keywords = new KeywordIndex(db)
    this.#items = new ItemTables(db, path, this.#keywords)
    this.#vectors = new VectorReads(db)
    this.#properties = new PropertyTable(db, path)
    this.#keys = new KeyTable(db, path)
  }

  /**
   * Creates a new index file (or an in-memory database for ':memory:') holding the given
   * manifest. Refuses to touch an existing path (FILE_EXISTS). The file appears at `path`
   * only complete; if creation fails, the temporary file it made is removed.
   */
  static create(path: string, manifest: object, options: StoreOptions = {}): SqliteStore {
    return new SqliteStore(path, createDatabase(path, manifest, options), false, true)
  }

  /**
   * Opens an existing index file, writing nothing. Checks: that the path is a regular file
   * it may read (NOT_FOUND, CANNOT_OPEN), that it is SQLite (NOT_SQLITE), that it is a
   * vqlite index (FOREIGN_FILE), that its format is one this version reads (NEWER_FORMAT,
   * CORRUPT_FILE) and that every table is there (CORRUPT_FILE); a file a crashed writer
   * left mid-commit is recovered first. Older formats are migrated in one transaction. A
   * writer's file is switched to WAL mode by enableWal (after loading) or by its first write.
   */
  static open(path: string, options: StoreOptions = {}): SqliteStore {
    return new SqliteStore(path, openDatabase(path, options), options.readonly ?? false, false)
  }

  /**
   * Switches a writer's file to WAL mode (a no-op for readers, in-memory stores and when
   * already done). Call it once the file is verified: a refused file is never switched.
   */
  enableWal(): void {
    this.#open()
    if (this.readonly || this.#wal) return
    this.#guard('switching to WAL mode', () => enableWal(this.#db))
    this.#wal = true
  }

  /**
   * Runs fn in one transaction: 'write' takes the write lock up front (BEGIN IMMEDIATE),
   * 'read' is a consistent snapshot that takes no write lock (BEGIN DEFERRED).
   */
  transaction<T>(fn: () => T, doing: string, mode: 'read' | 'write' = 'write'): T {
    this.#open()
    if (mode === 'write' && !this.readonly) this.enableWal()
    this.#vectors.endSnapshot()
    try {
      const tx = this.#db.transaction(fn)
      return this.readonly || mode === 'read' ? tx.deferred() : tx.immediate()
    } catch (e) {
      throw storageError(e, this.path, doing)
    }
  }

  /**
   * Runs fn, which may await, inside one read transaction begun here (a consistent snapshot
   * of the file, as transaction(fn, doing, 'read') gives synchronous code). The caller
   * guarantees that nothing writes on this connection until fn settles (an index's export
   * is a reader of its write coordinator); reads on this connection meanwhile run inside the
   * snapshot (better-sqlite3 nests their transactions as savepoints).
   */
  async readSession<T>(fn: () => Promise<T>, doing: string): Promise<T> {
    this.#open()
    this.#vectors.endSnapshot()
    try {
      this.#db.exec('BEGIN DEFERRED')
    } catch (e) {
      throw storageError(e, this.path, doing)
    }
    try {
      return await fn()
    } finally {
      if (this.#db.open && this.#db.inTransaction) {
        try {
          this.#db.exec('COMMIT')
        } catch {
          // A read transaction holds no change to lose: end it by rolling back.
          if (this.#db.inTransaction) this.#db.exec('ROLLBACK')
        }
      }
    }
  }

  /**
   * The items (code, vector, metadata, withKeys the string id) of seq > afterSeq in seq
   * order, at most limit (inside the caller's read transaction).
   */
  itemsAfter(afterSeq: number, limit: number, withKeys = false): RawItem[] {
    this.#open()
    return this.#guard('reading items', () => this.#items.itemsAfter(afterSeq, limit, withKeys), true)
  }

  /**
   * Sets the length every stored vector must have (from the checked manifest): getItem and
   * forEachVector then refuse a vector of another length with CORRUPT_FILE naming its id.
   */
  expectVectorBytes(bytes: number): void {
    this.#vectorBytes = bytes
  }

  /** The manifest as stored. */
  readManifest<M>(): M {
    this.#open()
    return this.#guard('reading the manifest', () => this.#meta.readManifest() as M)
  }

  /** Replaces the manifest (inside the caller's transaction). */
  writeManifest(manifest: object): void {
    this.#writable()
    this.#guard('writing the manifest', () => this.#meta.writeManifest(manifest))
  }

  /** Replaces all trained arrays (inside the caller's transaction). */
  writeArrays(arrays: Readonly<Record<string, StoredArray>>): void {
    this.#writable()
    this.#guard('writing the trained arrays', () => this.#meta.writeArrays(arrays))
  }

  /** All trained arrays. */
  readArrays(): Record<string, StoredArray> {
    this.#open()
    return this.#guard('reading the trained arrays', () => this.#meta.readArrays())
  }

  /**
   * Inserts items with consecutive sequence numbers from firstSeq (inside the caller's
   * transaction). An id that is already stored fails with ID_EXISTS.
   */
  insertItems(rows: ItemRows, firstSeq: number): void {
    this.#writable()
    this.#guard('inserting items', () => this.#items.insert(rows, firstSeq))
  }

  /**
   * Deletes the items with these ids that exist (inside the caller's transaction), writing
   * a tombstone for each with consecutive sequence numbers from firstSeq. Returns the ids
   * that existed, in the order given.
   */
  deleteItems(ids: Float64Array, firstSeq: number): number[] {
    this.#writable()
    return this.#guard('deleting items', () => this.#items.delete(ids, firstSeq))
  }

  /** String ids: the integer id of each key, -1 where the key is not stored. */
  idsOfKeys(keys: readonly string[]): Float64Array {
    this.#open()
    return this.#guard('looking up ids', () => this.#keys.idsOf(keys))
  }

  /** String ids: stores keys[i] for each i in `at` (keys not stored yet; inside the caller's transaction), setting out[i] to its new integer id. */
  insertKeys(keys: readonly string[], out: Float64Array, at: readonly number[]): void {
    this.#writable()
    this.#guard('storing ids', () => this.#keys.insert(keys, out, at))
  }

  /** String ids: removes the keys of these integer ids (inside the caller's transaction). */
  deleteKeys(ids: readonly number[]): void {
    this.#writable()
    this.#guard('deleting ids', () => this.#keys.delete(ids))
  }

  /** String ids: the key of each of the first n integer ids ('' for -1 or an id without a key). */
  keysOf(ids: ArrayLike<number>, n = ids.length): string[] {
    this.#open()
    return this.#guard('looking up ids', () => this.#keys.keysOf(ids, n))
  }

  /** String ids: copies key rows as they are (import; inside the caller's transaction). */
  insertRawKeys(ids: ArrayLike<number>, keys: readonly string[]): void {
    this.#writable()
    this.#guard('storing ids', () => this.#keys.insertRaw(ids, keys))
  }

  /** The ids among `ids` that are stored. */
  existing(ids: Float64Array): number[] {
    this.#open()
    return this.#guard('looking up ids', () => this.#items.existing(ids))
  }

  /**
   * Stored vector bytes and metadata of one id, or undefined when the id is unknown; a
   * vector of the wrong length (expectVectorBytes) or metadata that is not JSON text is
   * CORRUPT_FILE naming the id.
   */
  getItem(id: number): { vector: Buffer | null; metadata: string | null } | undefined {
    this.#open()
    return this.#guard('reading an item', () => this.#items.get(id, this.#vectorBytes))
  }

  /**
   * Reads every item with seq > afterSeq, in seq order: ids, seqs, lists (n each) and
   * n*codeSize code bytes. `expected` (an upper bound of the count, e.g. the manifest's)
   * sizes the arrays up front.
   */
  loadCodes(afterSeq: number, codeSize: number, expected: number): LoadedCodes {
    this.#open()
    return this.#guard('loading the codes', () => this.#items.loadCodes(afterSeq, codeSize, expected))
  }

  /**
   * The stored vectors of n ids, as raw bytes by id (one statement for the batch); ids
   * without a stored vector are absent. Consecutive calls share one read transaction (see
   * VectorReads).
   */
  readVectors(ids: Float64Array, n: number): VectorRows {
    this.#open()
    return this.#guard('reading stored vectors', () => this.#vectors.read(ids, n))
  }

  /** The metadata field with a keyword index (createTextIndex), or null. */
  get textField(): string | null {
    this.#open()
    return this.#guard('reading the text index', () => this.#keywords.field)
  }

  /**
   * Creates the FTS5 keyword index over the string metadata field `field` (a dotted path),
   * filling it from the items stored; later inserts and deletes keep it current. Inside the
   * caller's transaction.
   */
  createTextIndex(field: string): void {
    this.#writable()
    this.#guard('creating the text index', () => this.#keywords.create(field))
  }

  /**
   * Keyword search (BM25) of an FTS5 MATCH expression over the text index, restricted to
   * stored items matching `where` over vq_codes c LEFT JOIN vq_metadata m: up to k ids, best
   * first, with their BM25 scores (lower is better, as SQLite's bm25()).
   */
  keywordSearch(match: string, k: number, where = '1', params: readonly unknown[] = []): { ids: number[]; scores: number[] } {
    this.#open()
    return this.#guard('searching the text index', () => this.#keywords.search(match, k, where, params))
  }

  /** A named property (msgpack value) stored beside the manifest, or undefined. */
  getProperty(name: string): unknown {
    this.#open()
    return this.#guard('reading a property', () => this.#properties.get(name))
  }

  /** Every named property. */
  readProperties(): Record<string, unknown> {
    this.#open()
    return this.#guard('reading the properties', () => this.#properties.readAll())
  }

  /** Sets a named property (inside the caller's transaction). */
  setProperty(name: string, value: unknown): void {
    this.#writable()
    this.#guard('writing a property', () => this.#properties.set(name, value))
  }

  /** Ids and metadata JSON of the items matching a WHERE clause over vq_codes c LEFT JOIN vq_metadata m, by id. */
  itemsWhere(where: string, params: readonly unknown[], limit: number): { id: number; json: string | null }[] {
    this.#open()
    return this.#guard('reading items', () => this.#items.where(where, params, limit))
  }

  /** The metadata JSON (checked) of each of the first n ids, null for none or for -1 (one statement). */
  metadataOf(ids: ArrayLike<number>, n = ids.length): (string | null)[] {
    this.#open()
    return this.#guard('reading metadata', () => this.#items.metadataOf(ids, n))
  }

  /**
   * Up to `limit` items in seq order after afterSeq that match a WHERE clause over vq_codes c
   * LEFT JOIN vq_metadata m: seq, id, metadata JSON, and (when asked) vector bytes and string id.
   */
  itemsPage(
    afterSeq: number,
    where: string,
    params: readonly unknown[],
    limit: number,
    withVectors: boolean,
    withKeys: boolean,
  ): ItemPageRow[] {
    this.#open()
    return this.#guard('reading items', () => this.#items.page(afterSeq, where, params, limit, withVectors, withKeys, this.#vectorBytes))
  }

  /** How many items match a WHERE clause over vq_codes c LEFT JOIN vq_metadata m. */
  countWhere(where: string, params: readonly unknown[]): number {
    this.#open()
    return this.#guard('counting items', () => this.#items.countWhere(where, params))
  }

  /** The largest stored id, or -1. */
  maxId(): number {
    this.#open()
    return this.#guard('reading the largest id', () => this.#items.maxId())
  }

  /** Seqs of the items matching a WHERE clause over vq_codes c LEFT JOIN vq_metadata m (parameters bound, never spliced). */
  seqsWhere(where: string, params: readonly unknown[]): number[] {
    this.#open()
    return this.#guard('reading items', () => this.#items.seqsWhere(where, params))
  }

  /** Ids deleted with seq > afterSeq. */
  tombstonesAfter(afterSeq: number): number[] {
    this.#open()
    return this.#guard('reading deletions', () => this.#items.tombstonesAfter(afterSeq))
  }

  /**
   * Streams stored vectors in seq order (items without a stored vector are skipped): visit
   * receives the id, its seq and the vector bytes.
   */
  forEachVector(visit: (id: number, seq: number, vector: Buffer) => void): void {
    this.#open()
    this.#guard('reading stored vectors', () => this.#items.forEachVector(visit, this.#vectorBytes), true)
  }

  /** Inserts rows with given seqs, lists, codes, vectors and metadata (import; inside the caller's transaction). */
  insertRaw(rows: readonly RawItem[]): void {
    this.#writable()
    this.#guard('inserting items', () => this.#items.insertRaw(rows))
  }

  /** Replaces the list and code of each seq (retraining; inside the caller's transaction). codes: seqs.length*codeSize bytes. */
  updateCodes(seqs: ArrayLike<number>, lists: Int32Array, codes: Uint8Array, codeSize: number): void {
    this.#writable()
    this.#guard('writing codes', () => this.#items.updateCodes(seqs, lists, codes, codeSize))
  }

  /** Journal mode, synchronous level, format version and file size of this connection's database. */
  info(): { journalMode: string; synchronous: 'off' | 'normal' | 'full' | 'extra'; formatVersion: number; fileBytes: number } {
    this.#open()
    return this.#guard('reading the storage settings', () => this.#info())
  }

  #info(): { journalMode: string; synchronous: 'off' | 'normal' | 'full' | 'extra'; formatVersion: number; fileBytes: number } {
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
    return this.#guard('checking integrity', () =>
      (this.#db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; '),
    )
  }

  /**
   * Closes the connection (idempotent). A writer that switched the file to WAL mode first
   * switches it back to rollback journal mode, which checkpoints the WAL and removes the
   * -wal and -shm files: at rest an index is one file, readable even from a read-only
   * folder or medium (a WAL-mode file needs its -shm file, or a folder where it can be
   * made, even to be read). (When other connections are still open the switch is skipped
   * and the file stays in WAL mode; nothing is lost.) The switch is one small commit: a
   * crash inside it leaves a hot -journal, which the next open rolls back (identify).
   * A store whose file was refused never switched, so closing it writes nothing.
   */
  close(): void {
    if (this.#closed) return
    this.#vectors.close()
    this.#closed = true
    if (!this.readonly && this.#wal && this.path !== ':memory:') {
      try {
        this.#db.pragma('busy_timeout = 0')
        this.#db.pragma('journal_mode = DELETE')
      } catch {
        // another connection is using the file (or it is damaged): leave it in WAL mode
      }
    }
    try {
      this.#db.close()
    } catch (e) {
      throw storageError(e, this.path, 'closing the index')
    }
  }

  #open(): void {
    if (this.#closed) throw closedError()
  }

  /**
   * Runs fn, mapping any SQLite error to a typed one (a damaged file to CORRUPT_FILE). Any
   * other untyped error met reading the file (a msgpack decoder's, an allocation sized from
   * a damaged value) is the file's damage too: CORRUPT_FILE, unless `visitor` says fn runs
   * the caller's callbacks, whose errors pass through.
   */
  #guard<T>(doing: string, fn: () => T, visitor = false): T {
    try {
      return fn()
    } catch (e) {
      if (e instanceof VqError || e instanceof Database.SqliteError || visitor) throw storageError(e, this.path, doing)
      const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
      throw new VqFormatError('CORRUPT_FILE', `${this.path}: ${doing}: the file is damaged (${what})`, { cause: e })
    }
  }

  /** Checks that the store is open for writing. */
  #writable(): void {
    this.#open()
    if (this.readonly) throw readOnlyError(this.path)
  }
}
