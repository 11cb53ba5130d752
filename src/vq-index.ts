/**
 * VqIndex: the public index. It validates every call at the door and delegates to the
 * collaborators in engine/: option resolution (options.ts), the in-memory state and the
 * commit protocol (state.ts), the write queue and search fence (write-coordinator.ts),
 * the write operations (writes.ts), loading, refresh and import (loader.ts), searches
 * (search.ts), the stored-vector codec (vector-codec.ts), the filter cache, keyword
 * queries (keywords.ts), stats and reconstruction (inspect.ts) and the worker pool
 * (pools.ts). The trained model is search/model.ts, the lists ivf/inverted-lists.ts, the
 * file storage/.
 *
 * Metric mapping:
 * - 'l2': codecs work on squared L2;
 * - 'ip': codecs work on the negated inner product;
 * - 'cosine': vectors are L2-normalised on the way in (zero vectors rejected), codecs work
 *   on squared L2 of unit vectors, and distances are reported as 1 - cos = L2^2 / 2.
 *
 * Every public method validates first, writes one SQLite transaction, and changes the
 * in-memory state only after the commit: a rejected or failed call changes nothing.
 * Writes are serialised, and no search observes the lists while a write changes them.
 */

import { getItem, listStats, memoryUsage, reconstruct } from './engine/inspect.js'
import { findItems, keywordSearch } from './engine/keywords.js'
import { importIndex, loadState, refresh } from './engine/loader.js'
import {
  BATCH_KEYS,
  CONNECTION_KEYS,
  checkPath,
  checkThreads,
  OPEN_KEYS,
  resolveCreateOptions,
  resolveSearch,
  SEARCH_KEYS,
  storeOptions,
  TRAIN_KEYS,
} from './engine/options.js'
import { searchMany, searchOne, searchParams } from './engine/search.js'
import { IndexState } from './engine/state.js'
import { addItems, checkInput, commitStoreChange, createTextIndex, deleteItems, retrain, trainEmpty } from './engine/writes.js'
import { VqOptionError, VqStateError } from './errors.js'
import { type Manifest, newManifest } from './manifest.js'
import type { Quantizer } from './quantizers/quantizer.js'
import type { IndexModel } from './search/model.js'
import { writeSnapshot } from './storage/snapshot.js'
import { SqliteStore } from './storage/sqlite-store.js'
import type {
  AddOptions,
  BatchSearchOptions,
  BatchSearchResult,
  ConnectionOptions,
  CreateOptions,
  DeleteOptions,
  Filter,
  IndexSpec,
  IndexStats,
  MemoryUsage,
  Metadata,
  Metric,
  OpenOptions,
  SearchOptions,
  SearchResult,
  StorageInfo,
  StoredItem,
  TrainOptions,
  VectorStorage,
} from './types.js'
import { kernelsFor } from './util/kernels.js'
import { checkIds, checkK, checkKnownKeys, checkQuery, checkVectors } from './validate.js'

export { DEFAULT_NPROBE } from './engine/options.js'

/** The training options of add/upsert's { train } (undefined: do not train). */
function addTrainOptions(options: AddOptions, what: string): TrainOptions | undefined {
  checkKnownKeys(options, ['train'], what)
  const t = options.train
  if (t === undefined || t === false) return undefined
  if (t === true) return {}
  checkKnownKeys(t, TRAIN_KEYS, `${what} train`)
  return t
}

/**
 * The public index: create / open / import, train, add / upsert / delete / get, search /
 * searchBatch, retrain, refresh, stats, export, close. Vector sets are row-major
 * Float32Arrays (n*dim); results are typed arrays of k per query.
 */
export class VqIndex {
  /** Vector dimension. */
  readonly dim: number
  /** Metric (see the distance conventions in the README and types.ts). */
  readonly metric: Metric
  /** Canonical description string, e.g. "IVF1024,PQ16,RFlat". */
  readonly description: string
  /** The composition as a typed spec, every default filled. */
  readonly spec: IndexSpec
  /** Full-precision vectors kept on disk. */
  readonly storeVectors: VectorStorage
  /** Where the index lives: a file path or ':memory:'. */
  readonly path: string
  /** True when opened read-only. */
  readonly readonly: boolean
  readonly #s: IndexState

  /** Use VqIndex.create, VqIndex.open or VqIndex.import. */
  private constructor(state: IndexState) {
    this.#s = state
    this.path = state.path
    this.readonly = state.store.readonly
    this.dim = state.dim
    this.metric = state.metric
    this.spec = state.spec
    this.description = state.manifest.description
    this.storeVectors = state.storeVectors
  }

  /**
   * Creates a new, empty index: a new SQLite file at `path` (which must not exist:
   * FILE_EXISTS), or an in-memory database for ':memory:'. Throws VqOptionError for unknown
   * or invalid options before anything is written.
   */
  static create(path: string, options: CreateOptions): VqIndex {
    checkPath(path)
    const { dim, metric, spec, storeVectors } = resolveCreateOptions(options)
    const kernels = kernelsFor(options.kernels)
    const manifest = newManifest(dim, metric, spec, storeVectors)
    const store = SqliteStore.create(path, manifest, storeOptions(options))
    return new VqIndex(new IndexState(store, manifest, kernels, options.threads))
  }

  /**
   * Opens an existing index file. Errors: NOT_FOUND, NOT_SQLITE, FOREIGN_FILE (a SQLite
   * file that is not a vqlite index; left untouched), NEWER_FORMAT, CORRUPT_FILE, READ_ONLY
   * (VqStorageError when the file cannot be written; open with { readonly: true }).
   * Loads the trained arrays and all codes and ids into memory; vectors and metadata stay
   * on disk.
   */
  static open(path: string, options: OpenOptions = {}): VqIndex {
    checkPath(path)
    if (path === ':memory:') throw new VqOptionError('BAD_OPTION', "':memory:' indexes cannot be reopened; use VqIndex.create")
    checkKnownKeys(options, OPEN_KEYS, 'open')
    const kernels = kernelsFor(options.kernels)
    const store = SqliteStore.open(path, { ...storeOptions(options), readonly: options.readonly ?? false })
    return new VqIndex(loadState(store, path, kernels, options.threads))
  }

  /**
   * Creates a new index at `path` (or ':memory:') from a snapshot written by export().
   * The copy is identical: manifest, trained arrays, codes, vectors, metadata, and the
   * order of items. On any error the half-written target is removed.
   */
  static import(snapshotPath: string, path: string, options: ConnectionOptions = {}): VqIndex {
    checkPath(path)
    checkKnownKeys(options, CONNECTION_KEYS, 'import')
    return new VqIndex(importIndex(snapshotPath, path, options))
  }

  /** Number of vectors in the index. */
  get size(): number {
    return this.#s.lists.count
  }

  /** Same as size. */
  get count(): number {
    return this.#s.lists.count
  }

  /** True when every trained part is trained (always for Flat and SQfp16 without IVF). */
  get isTrained(): boolean {
    return this.#s.model.isTrained
  }

  /** Bytes per stored code (the main codec; a refine codec adds refineCodeSize). */
  get codeSize(): number {
    return this.#s.model.codeSize
  }

  /** Bytes per refine code (0 without a Refine(codec) stage). */
  get refineCodeSize(): number {
    return this.#s.model.refineSize
  }

  /** The main codec (read-only use: decode, distance tables, exported state). */
  get quantizer(): Quantizer {
    return this.#s.model.codec
  }

  /** The trained model (read-only use). */
  get model(): IndexModel {
    return this.#s.model
  }

  /** The manifest as last committed (a copy). */
  get manifest(): Manifest {
    return { ...this.#s.manifest }
  }

  /**
   * Trains every stage (OPQ, IVF, codec, refine codec) on x (row-major n*dim, n >= 1) and
   * stores the trained arrays. Allowed only while the index is empty (NOT_EMPTY otherwise:
   * use retrain(), which re-encodes the stored vectors).
   */
  async train(x: Float32Array, options: TrainOptions = {}): Promise<void> {
    this.#s.writable()
    checkKnownKeys(options, TRAIN_KEYS, 'train')
    const { x: v, n } = checkVectors(x, this.dim, 'training vectors')
    await trainEmpty(this.#s, v, n, options)
  }

  /**
   * Adds n vectors x (n*dim) under ids (length n; non-negative safe integers, unique in the
   * batch and not yet in the index: ID_EXISTS otherwise), with optional metadata (length n;
   * any JSON-serialisable values, null for none). Vectors go to their nearest IVF list;
   * nothing is retrained. All or nothing, in one transaction. On an untrained index,
   * `{ train: true }` (or training options) trains on this batch first, in the same
   * transaction.
   */
  async add(ids: ArrayLike<number>, x: Float32Array, metadata?: readonly Metadata[], options: AddOptions = {}): Promise<void> {
    const train = addTrainOptions(options, 'add')
    await addItems(this.#s, checkInput(this.#s, ids, x, metadata, train !== undefined), false, train)
  }

  /**
   * Adds or replaces: ids already in the index get the new vector and metadata (and move
   * to the end of the insertion order), the others are added. All or nothing.
   */
  async upsert(ids: ArrayLike<number>, x: Float32Array, metadata?: readonly Metadata[], options: AddOptions = {}): Promise<void> {
    const train = addTrainOptions(options, 'upsert')
    await addItems(this.#s, checkInput(this.#s, ids, x, metadata, train !== undefined), true, train)
  }

  /**
   * Deletes the items with these ids; returns how many existed. Unknown ids are skipped,
   * or with { strict: true } rejected (UNKNOWN_ID) before anything is deleted.
   */
  async delete(ids: ArrayLike<number>, options: DeleteOptions = {}): Promise<number> {
    this.#s.writable()
    checkKnownKeys(options, ['strict'], 'delete')
    const idv = checkIds(ids, ids?.length ?? -1)
    if (idv.length === 0) return 0
    return deleteItems(this.#s, idv, Boolean(options.strict))
  }

  /** The stored vector (as added; null when the index stores none) and metadata of id, or undefined for an unknown id. */
  get(id: number): StoredItem | undefined {
    this.#s.open()
    checkIds([id], 1)
    return getItem(this.#s, id)
  }

  /** True when id is in the index. */
  has(id: number): boolean {
    this.#s.open()
    return this.#s.store.existing(new Float64Array([id])).length === 1
  }

  /**
   * Re-trains every stage on the stored full-precision vectors and re-encodes every item
   * (new lists too), in one transaction (NO_VECTORS when the index stores none). Searches
   * keep the old model until the commit.
   */
  async retrain(options: TrainOptions = {}): Promise<void> {
    this.#s.writable()
    checkKnownKeys(options, TRAIN_KEYS, 'retrain')
    if (this.storeVectors === 'none') {
      throw new VqStateError('NO_VECTORS', 'retrain() needs the full vectors, but this index was created with storeVectors: "none"')
    }
    return retrain(this.#s, options)
  }

  /**
   * Catches up with commits made by other connections to the same file (for read-only
   * openers; a writer is always current). Returns true when something changed.
   */
  refresh(): boolean {
    this.#s.open()
    return refresh(this.#s)
  }

  /** Writes a portable snapshot of the whole index to a new file (FILE_EXISTS if it exists); returns the item count. */
  async export(path: string): Promise<number> {
    this.#s.open()
    return writeSnapshot(this.#s.store, path, this.#s.model.codeSize + this.#s.model.refineSize)
  }

  /** The file's journal mode ('wal'), synchronous level ('full' / 'normal'), format version and size in bytes (pages). */
  storageInfo(): StorageInfo {
    this.#s.open()
    return this.#s.store.info()
  }

  /** PRAGMA integrity_check of the file: 'ok' or the problems SQLite found. */
  integrityCheck(): string {
    return this.#s.store.integrityCheck()
  }

  /** List sizes and balance (for IVF indexes; one list otherwise), to know when to retrain(). */
  stats(): IndexStats {
    this.#s.open()
    return listStats(this.#s)
  }

  /** The decoded (approximate, for lossy codecs) vector stored under id; for cosine, of the normalised vector. */
  reconstruct(id: number): Float32Array {
    this.#s.open()
    return reconstruct(this.#s, id)
  }

  /** RAM held in memory by this index: codes, ids, seqs, trained arrays (vectors and metadata stay on disk). */
  memoryUsage(): MemoryUsage {
    return memoryUsage(this.#s)
  }

  /** Name of the kernel backend this index computes with ('wasm', 'ts' or 'reference'). */
  get kernelBackend(): string {
    return this.#s.kernels.name
  }

  /**
   * The k nearest stored vectors to q (one vector, length dim), nearest first. Results
   * are padded with id -1 and distance Infinity when fewer than k items qualify.
   */
  search(q: Float32Array, k: number, options: SearchOptions = {}): SearchResult {
    const s = this.#s
    s.open()
    const query = checkQuery(q, this.dim)
    checkK(k)
    checkKnownKeys(options, SEARCH_KEYS, 'search')
    s.requireTrained('search()')
    const params = searchParams(s, resolveSearch(k, options))
    return searchOne(s, s.prepare(query, 1, 'query'), params)
  }

  /**
   * Searches nq queries (row-major nq*dim). Row i of the result equals search() of query i.
   * With threads > 0 (default: the pool size), the queries are split over worker threads
   * that read the same lists through shared memory. A batch sees the index as it was when
   * the batch started: a write that commits meanwhile waits for it.
   */
  async searchBatch(queries: Float32Array, k: number, options: BatchSearchOptions = {}): Promise<BatchSearchResult> {
    const s = this.#s
    s.open()
    const { x, n: nq } = checkVectors(queries, this.dim, 'queries')
    checkK(k)
    checkKnownKeys(options, BATCH_KEYS, 'searchBatch')
    s.requireTrained('search()')
    const { threads, ...searchOptions } = options
    checkThreads(threads)
    const resolved = resolveSearch(k, searchOptions)
    const params = searchParams(s, resolved)
    return searchMany(s, s.prepare(x, nq, 'queries'), nq, resolved, params, s.pools.threadsFor(threads))
  }

  /** Closes the file and the worker pool; every later call throws VqStateError('CLOSED'). Idempotent. */
  async close(): Promise<void> {
    await this.#s.close()
  }

  /** A property stored in the index file by setProperty (undefined when absent). */
  getProperty(name: string): unknown {
    this.#s.open()
    return this.#s.store.getProperty(name)
  }

  /** Stores a named, msgpack-serialisable property in the index file (one transaction). */
  async setProperty(name: string, value: unknown): Promise<void> {
    this.#s.writable()
    await commitStoreChange(this.#s, `setting property ${name}`, () => this.#s.store.setProperty(name, value))
  }

  /** The items whose metadata match a filter (ids ascending, at most `limit`), with their metadata. */
  find(filter: Filter, limit = 1000): { id: number; metadata: Metadata }[] {
    this.#s.open()
    return findItems(this.#s.store, filter, limit)
  }

  /** The largest id stored, or -1 when the index is empty. */
  maxId(): number {
    this.#s.open()
    return this.#s.store.maxId()
  }

  /** The metadata field with a keyword index (createTextIndex), or null. */
  get textField(): string | null {
    this.#s.open()
    return this.#s.store.textField
  }

  /**
   * Creates a keyword index (SQLite FTS5, BM25 ranking, Porter stemming) over the string
   * metadata field `field` (a dotted path, default "text") of every item, stored and kept
   * current by later add / upsert / delete. One text field per index; creating it again
   * with the same field does nothing.
   */
  async createTextIndex(field = 'text'): Promise<void> {
    this.#s.writable()
    await createTextIndex(this.#s, field)
  }

  /**
   * Keyword search over the text index: the words of `query` (letters and digits; any of
   * them may match, BM25 ranks) against the indexed field, optionally restricted by a
   * metadata filter. Returns up to k ids, best first, with BM25 scores (lower is better).
   */
  keywordSearch(query: string, k: number, options: { filter?: Filter } = {}): { ids: Float64Array; scores: Float32Array } {
    this.#s.open()
    checkK(k)
    return keywordSearch(this.#s.store, query, k, options.filter)
  }
}
