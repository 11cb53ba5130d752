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

import { exportIndex } from './engine/export.js'
import { checkIdsOf, internalId, publicIds, showKey } from './engine/ids.js'
import { getItem, listStats, memoryUsage, reconstruct } from './engine/inspect.js'
import { ENCODE_AHEAD, SHARD_STATE } from './engine/internal.js'
import { findItems, keywordSearch } from './engine/keywords.js'
import { importIndex, loadState, refresh, removeCreated } from './engine/loader.js'
import {
  checkPath,
  keepsHalfFloats,
  parseAddOptions,
  parseDeleteOptions,
  parseExportOptions,
  parseImportOptions,
  parseItemsOptions,
  parseKeywordOptions,
  parseOpenOptions,
  parseTrainOptions,
  resolveBatch,
  resolveCreateOptions,
  resolveReconfigure,
  resolveSearch,
  storeOptions,
} from './engine/options.js'
import { countItems, iterateItems, publicBatch, publicResult } from './engine/reads.js'
import { searchMany, searchOne, searchParams } from './engine/search.js'
import { IndexState } from './engine/state.js'
import { addFile, addStream, type StreamAddOptions, type StreamAddResult, type StreamTarget } from './engine/stream-add.js'
import {
  addItems,
  adoptModel,
  checkInput,
  commitStoreChange,
  createTextIndex,
  deleteItems,
  type EncodedAhead,
  encodeAhead,
  retrain,
  trainEmpty,
} from './engine/writes.js'
import { VqInputError, VqOptionError, VqStateError } from './errors.js'
import { exportFaiss, importFaiss } from './interop/faiss/index.js'
import type { VectorBlock } from './io/vector-stream.js'
import { MAX_METADATA_DEPTH, MAX_NAME_LENGTH } from './limits.js'
import { type Manifest, newManifest } from './manifest.js'
import type { Quantizer } from './quantizers/quantizer.js'
import type { IndexModel } from './search/model.js'
import { packValue } from './storage/msgpack.js'
import { SqliteStore } from './storage/sqlite-store.js'
import type {
  AddOptions,
  BatchSearchOptions,
  BatchSearchResult,
  ConnectionOptions,
  CreateOptions,
  DeleteOptions,
  ExportOptions,
  FaissImportOptions,
  Filter,
  Id,
  IdKind,
  IdsInput,
  ImportOptions,
  IndexSpec,
  IndexStats,
  ItemsOptions,
  MemoryUsage,
  Metadata,
  Metric,
  OpenOptions,
  ResultIds,
  SearchOptions,
  SearchResult,
  SearchStats,
  StorageInfo,
  StoredItem,
  TrainedModel,
  TrainOptions,
  VectorStorage,
} from './types.js'
import { kernelsFor } from './util/kernels.js'
import { checkBatchResults, checkFindLimit, checkK, checkQuery, checkTrainedModel, checkVectors, showValue } from './validate.js'

export { DEFAULT_NPROBE } from './engine/options.js'

/** Checks a property name: a non-empty string of at most MAX_NAME_LENGTH characters (BAD_ARGUMENT). */
function checkPropertyName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || name.length > MAX_NAME_LENGTH) {
    throw new VqInputError(
      'BAD_ARGUMENT',
      `property name must be a non-empty string of at most ${MAX_NAME_LENGTH} characters, got ${typeof name === 'string' ? `a string of ${name.length}` : showValue(name)}`,
    )
  }
  return name
}

/**
 * Checks that a property value is msgpack-serialisable as stored: no functions, symbols,
 * BigInts outside 64 bits or cycles (msgpackr would drop, mangle or overflow on them),
 * then encodes it with the store's codec (BAD_ARGUMENT for anything it refuses).
 */
function checkPropertyValue(name: string, value: unknown): void {
  const bad = (what: string): never => {
    throw new VqInputError(
      'BAD_ARGUMENT',
      `property ${JSON.stringify(name)}: ${what} cannot be stored (values must be msgpack-serialisable)`,
    )
  }
  const ancestors: object[] = []
  const visit = (x: unknown): void => {
    if (ancestors.length > MAX_METADATA_DEPTH) bad(`a value nested deeper than ${MAX_METADATA_DEPTH} levels`)
    if (typeof x === 'function') bad('a function')
    if (typeof x === 'symbol') bad('a symbol')
    if (typeof x === 'bigint' && (x < -(2n ** 63n) || x >= 2n ** 64n)) bad(`the BigInt ${x}n (beyond 64 bits)`)
    if (x === null || typeof x !== 'object' || ArrayBuffer.isView(x) || x instanceof ArrayBuffer || x instanceof Date) return
    if (ancestors.includes(x)) bad('a cyclic value')
    ancestors.push(x)
    if (x instanceof Map) {
      for (const [k, v] of x) {
        visit(k)
        visit(v)
      }
    } else if (x instanceof Set) for (const v of x) visit(v)
    else if (Array.isArray(x)) for (const v of x) visit(v)
    else for (const key of Object.keys(x)) visit((x as Record<string, unknown>)[key])
    ancestors.pop()
  }
  visit(value)
  try {
    packValue(value)
  } catch (e) {
    throw new VqInputError('BAD_ARGUMENT', `property ${JSON.stringify(name)} cannot be stored: ${(e as Error).message}`, { cause: e })
  }
}

/**
 * The public index: create / open / import, train, add / upsert / delete / get, search /
 * searchBatch, retrain, refresh, stats, export, close. Vector sets are row-major
 * Float32Arrays (n*dim); results are typed arrays of k per query.
 */
export class VqIndex<M = Metadata, K extends Id = number> {
  /** How items are keyed: 'integer' or 'string' (CreateOptions.ids). */
  readonly idKind: IdKind
  /** Vector dimension. */
  readonly dim: number
  /** Metric (see the distance conventions in the README and types.ts). */
  readonly metric: Metric
  /** Canonical description string, e.g. "IVF1024,PQ16,RFlat" (changed by reconfigure()). */
  get description(): string {
    return this.#s.manifest.description
  }
  /** The composition as a typed spec, every default filled (changed by reconfigure()). */
  get spec(): IndexSpec {
    return this.#s.spec
  }
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
    this.storeVectors = state.storeVectors
    this.idKind = state.idKind
  }

  /**
   * Creates a new, empty index: a new SQLite file at `path` (which must not exist:
   * FILE_EXISTS), or an in-memory database for ':memory:'. Throws VqOptionError for unknown
   * or invalid options before anything is written.
   */
  static create<M = Metadata>(path: string, options: CreateOptions & { ids: 'string' }): VqIndex<M, string>
  static create<M = Metadata>(path: string, options: CreateOptions & { ids?: 'integer' }): VqIndex<M, number>
  static create<M = Metadata>(path: string, options: CreateOptions): VqIndex<M, Id>
  static create<M = Metadata>(path: string, options: CreateOptions): VqIndex<M, Id> {
    checkPath(path)
    const { dim, metric, spec, storeVectors, ids, connection } = resolveCreateOptions(options)
    const kernels = kernelsFor(connection.kernels)
    const manifest = newManifest(dim, metric, spec, storeVectors, ids)
    const store = SqliteStore.create(path, manifest, storeOptions(connection))
    return new VqIndex(new IndexState(store, manifest, kernels, connection.threads))
  }

  /**
   * Creates a new, empty index at `path` (or ':memory:') from a trained model exported by
   * exportModel(): the same composition, metric, stored-vector format, id kind and trained
   * arrays, so it encodes every vector exactly as the source does (shards, replicas, see
   * VqShards and docs/scale-out.md). `options` are the new file's connection options. The
   * arrays are checked as open() checks stored ones (CORRUPT_FILE / BAD_FILE when they do
   * not fit the composition); on an error the new file is removed.
   */
  static async createFromModel<M = Metadata, K extends Id = number>(
    path: string,
    model: TrainedModel,
    options?: ConnectionOptions,
  ): Promise<VqIndex<M, K>> {
    checkPath(path)
    const m = checkTrainedModel(model)
    const index = VqIndex.create(path, {
      ...(options ?? {}),
      dim: m.dim,
      metric: m.metric,
      description: m.description,
      storeVectors: m.storeVectors,
      ids: m.ids,
    }) as unknown as VqIndex<M, K>
    try {
      await adoptModel(index.#s, m.arrays, m.training ?? undefined)
    } catch (e) {
      await index.close()
      if (path !== ':memory:') removeCreated(path)
      throw e
    }
    return index
  }

  /** createFromModel(path, source.exportModel(), options): an empty index encoding as `source` does. */
  static async createLike<M = Metadata, K extends Id = number>(
    path: string,
    // biome-ignore lint/suspicious/noExplicitAny: any metadata type: only the model is copied
    source: VqIndex<any, K>,
    options?: ConnectionOptions,
  ): Promise<VqIndex<M, K>> {
    return await VqIndex.createFromModel<M, K>(path, source.exportModel(), options)
  }

  /**
   * The trained model as plain data (composition, metric, stored-vector format, id kind and
   * every trained array, copied): what createFromModel() takes, for another file or process.
   * NOT_TRAINED on an untrained index.
   */
  exportModel(): TrainedModel {
    const s = this.#s
    s.open()
    s.requireTrained('exportModel()')
    const arrays: Record<string, { shape: number[]; data: Float32Array }> = {}
    for (const [name, a] of Object.entries(s.model.exportArrays())) arrays[name] = { shape: [...a.shape], data: a.data.slice() }
    return {
      dim: this.dim,
      metric: this.metric,
      description: this.description,
      storeVectors: this.storeVectors,
      ids: this.idKind,
      training: s.manifest.training,
      arrays,
    }
  }

  /**
   * @internal Streaming adds: encode(ids, x) checks and encodes a batch (on the pool, outside
   * the write queue), commit(encoded) adds it as add() would (encoding again only if the model
   * changed meanwhile), so that one block encodes while the one before commits.
   */
  [ENCODE_AHEAD](): {
    encode: (ids: Float64Array, x: Float32Array, signal: AbortSignal | undefined) => Promise<unknown>
    commit: (e: never, signal: AbortSignal | undefined) => Promise<void>
  } {
    const s = this.#s
    return {
      encode: (ids, x, signal) => {
        s.writable()
        return encodeAhead(s, checkInput(s, ids, x, undefined), signal)
      },
      commit: (e: EncodedAhead, signal) => {
        s.writable()
        return addItems(s, e.input, false, parseAddOptions(signal ? { signal } : undefined, 'add'), e)
      },
    }
  }

  /** @internal The state, for VqShards (src/shards.ts), which searches several indexes as one. */
  [SHARD_STATE](): object {
    return this.#s
  }

  /**
   * Opens an existing index file. Errors: NOT_FOUND, NOT_SQLITE, FOREIGN_FILE (a SQLite
   * file that is not a vqlite index; left untouched), NEWER_FORMAT, CORRUPT_FILE, READ_ONLY
   * (VqStorageError when the file cannot be written; open with { readonly: true }).
   * Loads the trained arrays and all codes and ids into memory; vectors and metadata stay
   * on disk. `ids` types the handle: a string-id file must be opened with { ids: 'string' }
   * (or 'any'), an integer-id file without it (ID_KIND otherwise).
   */
  static open<M = Metadata>(path: string, options: OpenOptions & { ids: 'string' }): VqIndex<M, string>
  static open<M = Metadata>(path: string, options: OpenOptions & { ids: 'any' }): VqIndex<M, Id>
  static open<M = Metadata>(path: string, options?: OpenOptions & { ids?: 'integer' }): VqIndex<M, number>
  static open<M = Metadata>(path: string, options?: OpenOptions): VqIndex<M, Id>
  static open<M = Metadata>(path: string, options?: OpenOptions): VqIndex<M, Id> {
    checkPath(path)
    if (path === ':memory:') throw new VqOptionError('BAD_OPTION', "':memory:' indexes cannot be reopened; use VqIndex.create")
    const o = parseOpenOptions(options)
    const kernels = kernelsFor(o.kernels)
    const store = SqliteStore.open(path, { ...storeOptions(o), readonly: o.readonly })
    const state = loadState(store, path, kernels, o.threads)
    if (o.ids !== 'any' && o.ids !== state.idKind) {
      store.close()
      throw new VqOptionError(
        'ID_KIND',
        `${path} has ${state.idKind} ids, but open() was asked for ${o.ids} ids: open it with { ids: '${state.idKind}' } (or 'any')`,
      )
    }
    return new VqIndex(state)
  }

  /**
   * Creates a new index at `path` (or ':memory:') from a snapshot written by export().
   * The copy is identical: manifest, trained arrays, codes, vectors, metadata, and the
   * order of items. On any error the half-written target is removed.
   */
  static import<M = Metadata>(snapshotPath: string, path: string, options: ImportOptions & { ids: 'string' }): VqIndex<M, string>
  static import<M = Metadata>(snapshotPath: string, path: string, options: ImportOptions & { ids: 'any' }): VqIndex<M, Id>
  static import<M = Metadata>(snapshotPath: string, path: string, options?: ImportOptions & { ids?: 'integer' }): VqIndex<M, number>
  static import<M = Metadata>(snapshotPath: string, path: string, options?: ImportOptions): VqIndex<M, Id>
  static import<M = Metadata>(snapshotPath: string, path: string, options?: ImportOptions): VqIndex<M, Id> {
    if (typeof snapshotPath !== 'string' || snapshotPath === '')
      throw new VqOptionError('BAD_OPTION', `snapshot path must be a non-empty string, got ${showValue(snapshotPath)}`)
    checkPath(path)
    const { connection, ids } = parseImportOptions(options)
    const state = importIndex(snapshotPath, path, connection, ids)
    return new VqIndex(state)
  }

  /** Number of vectors in the index. */
  get size(): number {
    this.#s.open()
    return this.#s.lists.count
  }

  /** How many items match the filter (all of them without one: size). */
  count(filter?: Filter<M>): number {
    this.#s.open()
    return countItems(this.#s, filter as Filter | undefined)
  }

  /**
   * The items in insertion order, optionally filtered, read from the file `batchSize` rows at
   * a time (each page as committed when it is read): `for await (const item of
   * index.items({ filter }))`. Vectors only with includeVectors.
   */
  async *items(options?: ItemsOptions<M>): AsyncGenerator<StoredItem<M, K>, void, undefined> {
    this.#s.open()
    const plan = parseItemsOptions(options)
    yield* iterateItems(this.#s, plan) as AsyncGenerator<StoredItem<M, K>, void, undefined>
  }

  /** True when every trained part is trained (always for Flat and SQfp16 without IVF). */
  get isTrained(): boolean {
    this.#s.open()
    return this.#s.model.isTrained
  }

  /** Bytes per stored code (the main codec; a refine codec adds refineCodeSize). */
  get codeSize(): number {
    this.#s.open()
    return this.#s.model.codeSize
  }

  /** Bytes per refine code (0 without a Refine(codec) stage). */
  get refineCodeSize(): number {
    this.#s.open()
    return this.#s.model.refineSize
  }

  /** The main codec (read-only use: decode, distance tables, exported state). */
  get quantizer(): Quantizer {
    this.#s.open()
    return this.#s.model.codec
  }

  /** The trained model (read-only use). */
  get model(): IndexModel {
    this.#s.open()
    return this.#s.model
  }

  /** The manifest as last committed (a copy). */
  get manifest(): Manifest {
    this.#s.open()
    return { ...this.#s.manifest }
  }

  /**
   * Trains every stage (OPQ, IVF, codec, refine codec) on x (row-major n*dim, n >= 1) and
   * stores the trained arrays. Allowed only while the index is empty (NOT_EMPTY otherwise:
   * use retrain(), which re-encodes the stored vectors).
   */
  async train(x: Float32Array, options?: TrainOptions): Promise<void> {
    this.#s.writable()
    const o = parseTrainOptions(options, 'train')
    const { x: v, n } = checkVectors(x, this.dim, 'training vectors', keepsHalfFloats(this.spec, this.storeVectors, this.metric))
    await trainEmpty(this.#s, v, n, o)
  }

  /**
   * Adds n vectors x (n*dim) under ids (length n; non-negative safe integers, or non-empty
   * strings for a string-id index; unique in the batch and not yet in the index: ID_EXISTS
   * otherwise), with optional metadata (length n;
   * any JSON-serialisable values, null for none). Vectors go to their nearest IVF list;
   * nothing is retrained. All or nothing, in one transaction. On an untrained index,
   * `{ train: true }` (or training options) trains on this batch first, in the same
   * transaction.
   */
  async add(ids: IdsInput<K>, x: Float32Array, metadata?: readonly (M | null)[], options?: AddOptions): Promise<void> {
    this.#s.writable()
    const o = parseAddOptions(options, 'add')
    await addItems(this.#s, checkInput(this.#s, ids, x, metadata, o.train !== undefined), false, o)
  }

  /**
   * Adds the vectors of a .fvecs, .bvecs or .npy file block by block (one transaction per
   * block, blockRows vectors each), with ids idBase + row. Memory stays bounded by a block
   * whatever the file's size. An untrained index is first trained on a seeded random sample
   * of the rows. Resumable: after a crash or an abort, the same call continues after the
   * rows already committed (see README, "Adding from files").
   */
  addFile(path: string, options?: StreamAddOptions): Promise<StreamAddResult> {
    this.#s.writable()
    return addFile(this as unknown as StreamTarget, path, options)
  }

  /**
   * addFile() for any source of consecutive row blocks ({ start, n, x }: an HDF5 dataset
   * read in slices, a generator): ids idBase + row, one transaction per block, resumable;
   * an untrained index is trained on the first block.
   */
  addStream(blocks: AsyncIterable<VectorBlock> | Iterable<VectorBlock>, options?: StreamAddOptions): Promise<StreamAddResult> {
    this.#s.writable()
    return addStream(this as unknown as StreamTarget, blocks, options)
  }

  /**
   * Adds or replaces: ids already in the index get the new vector and metadata (and move
   * to the end of the insertion order), the others are added. All or nothing.
   */
  async upsert(ids: IdsInput<K>, x: Float32Array, metadata?: readonly (M | null)[], options?: AddOptions): Promise<void> {
    this.#s.writable()
    const o = parseAddOptions(options, 'upsert')
    await addItems(this.#s, checkInput(this.#s, ids, x, metadata, o.train !== undefined), true, o)
  }

  /**
   * Deletes the items with these ids; returns how many existed. Unknown ids are skipped,
   * or with { strict: true } rejected (UNKNOWN_ID) before anything is deleted.
   */
  async delete(ids: IdsInput<K>, options?: DeleteOptions): Promise<number> {
    this.#s.writable()
    const { strict } = parseDeleteOptions(options)
    const n = ids !== null && typeof ids === 'object' && typeof ids.length === 'number' ? ids.length : -1
    const { ids: idv, keys } = checkIdsOf(this.idKind, ids, n)
    if (idv.length === 0) return 0
    return deleteItems(this.#s, idv, strict, keys)
  }

  /** The stored vector (as added; null when the index stores none) and metadata of id, or undefined for an unknown id. */
  get(id: K): StoredItem<M, K> | undefined {
    this.#s.open()
    const internal = internalId(this.#s, id)
    if (internal < 0) return undefined
    const item = getItem(this.#s, internal)
    if (item === undefined) return undefined
    return (this.idKind === 'string' ? { ...item, id } : item) as StoredItem<M, K>
  }

  /** True when id is in the index (id checked as get() checks it: BAD_IDS). */
  has(id: K): boolean {
    this.#s.open()
    const internal = internalId(this.#s, id)
    return internal >= 0 && this.#s.store.existing(new Float64Array([internal])).length === 1
  }

  /**
   * Re-trains every stage on the stored full-precision vectors and re-encodes every item
   * (new lists too), in one transaction (NO_VECTORS when the index stores none). Searches
   * keep the old model until the commit.
   */
  async retrain(options?: TrainOptions): Promise<void> {
    this.#s.writable()
    const o = parseTrainOptions(options, 'retrain')
    if (this.storeVectors === 'none') {
      throw new VqStateError('NO_VECTORS', 'retrain() needs the full vectors, but this index was created with storeVectors: "none"')
    }
    return retrain(this.#s, o)
  }

  /**
   * Switches the index to another description (e.g. "Flat" to "IVF64,PQ16,RFlat" once it
   * holds enough vectors; see minTrainingVectors): trains every stage of the new
   * composition on the stored full vectors and re-encodes every item, then commits the new
   * description, trained arrays and codes in one transaction. A bad description (or one the
   * index's dimension, metric or stored vectors cannot take) is a VqOptionError; too few
   * vectors is TOO_FEW_TRAINING_POINTS; NO_VECTORS without stored vectors. On any error or
   * abort (options.signal, up to the commit) nothing changes, in memory or on disk.
   */
  async reconfigure(description: string, options?: TrainOptions): Promise<void> {
    this.#s.writable()
    const o = parseTrainOptions(options, 'reconfigure')
    if (this.storeVectors === 'none') {
      throw new VqStateError('NO_VECTORS', 'reconfigure() needs the full vectors, but this index was created with storeVectors: "none"')
    }
    const spec = resolveReconfigure(description, this.dim, this.metric, this.storeVectors, this.#s.kernels)
    return retrain(this.#s, o, spec)
  }

  /**
   * Catches up with commits made by other connections to the same file (for read-only
   * openers; a writer is always current). Returns true when something changed.
   */
  refresh(): boolean {
    this.#s.open()
    return refresh(this.#s)
  }

  /**
   * Writes a portable snapshot of the whole index to a new file (FILE_EXISTS if it exists);
   * returns the item count. options.signal cancels it until the file is in place.
   */
  async export(path: string, options?: ExportOptions): Promise<number> {
    this.#s.open()
    if (typeof path !== 'string' || path === '' || path === ':memory:')
      throw new VqOptionError('BAD_OPTION', `export path must be a non-empty file path (not ':memory:'), got ${showValue(path)}`)
    return exportIndex(this.#s, path, parseExportOptions(options))
  }

  /** The file's journal mode ('wal'), synchronous level ('full' / 'normal'), format version and size in bytes (pages). */
  storageInfo(): StorageInfo {
    this.#s.open()
    return this.#s.store.info()
  }

  /** PRAGMA integrity_check of the file: 'ok' or the problems SQLite found. */
  integrityCheck(): string {
    this.#s.open()
    return this.#s.store.integrityCheck()
  }

  /** List sizes and balance (for IVF indexes; one list otherwise), to know when to retrain(). */
  stats(): IndexStats {
    this.#s.open()
    return listStats(this.#s)
  }

  /** The decoded (approximate, for lossy codecs) vector stored under id; for cosine, of the normalised vector. */
  reconstruct(id: K): Float32Array {
    this.#s.open()
    const internal = internalId(this.#s, id)
    if (internal < 0) throw new VqInputError('UNKNOWN_ID', `id ${showKey(id as string)} is not in the index`)
    return reconstruct(this.#s, internal)
  }

  /** RAM held in memory by this index: codes, ids, seqs, trained arrays (vectors and metadata stay on disk). */
  memoryUsage(): MemoryUsage {
    this.#s.open()
    return memoryUsage(this.#s)
  }

  /**
   * What the last search() on this handle did (as FAISS's indexIVF_stats): lists probed,
   * codes scanned, and candidates re-ranked: with RFlat, the stored vectors read from the
   * file (RaBitQ codecs read only the candidates their error bounds cannot rule out).
   * Zeros before any search. searchBatch's worker threads keep their own.
   */
  lastSearchStats(): SearchStats {
    this.#s.open()
    const st = this.#s.searcher.stats
    return { listsProbed: st.listsProbed, codesScanned: st.codesScanned, rowsRead: st.rowsRead }
  }

  /** Name of the kernel backend this index computes with ('wasm', 'ts' or 'reference'). */
  get kernelBackend(): string {
    this.#s.open()
    return this.#s.kernels.name
  }

  /**
   * The k nearest stored vectors to q (one vector, length dim), nearest first. Results
   * are padded with id -1 and distance Infinity when fewer than k items qualify.
   */
  search(q: Float32Array, k: number, options?: SearchOptions<M>): SearchResult<K, M> {
    const s = this.#s
    s.open()
    const query = checkQuery(q, this.dim)
    checkK(k)
    const resolved = resolveSearch(k, options as SearchOptions | undefined)
    s.requireTrained('search()')
    const params = searchParams(s, resolved)
    const r = searchOne(s, s.prepareQuery(query), params)
    if (this.idKind === 'integer' && !resolved.includeMetadata) return r as SearchResult<K, M>
    return publicResult(s, r.ids, r.distances, resolved.includeMetadata) as SearchResult<K, M>
  }

  /**
   * Searches nq queries (row-major nq*dim). Row i of the result equals search() of query i.
   * With threads > 0 (default: the pool size), the queries are split over worker threads
   * that read the same lists through shared memory. A batch sees the index as it was when
   * the batch started: a write that commits meanwhile waits for it.
   */
  async searchBatch(queries: Float32Array, k: number, options?: BatchSearchOptions<M>): Promise<BatchSearchResult<K, M>> {
    const s = this.#s
    s.open()
    const { x, n: nq } = checkVectors(queries, this.dim, 'queries')
    checkK(k)
    checkBatchResults(nq, k)
    const { search: resolved, threads, signal, onProgress } = resolveBatch(k, options)
    s.requireTrained('search()')
    const params = searchParams(s, resolved)
    const r = await searchMany(s, s.prepare(x, nq, 'queries'), nq, resolved, params, s.pools.threadsFor(threads), { signal, onProgress })
    return publicBatch(s, r, resolved.includeMetadata) as BatchSearchResult<K, M>
  }

  /** Closes the file and the worker pool; every later call throws VqStateError('CLOSED'). Idempotent. */
  async close(): Promise<void> {
    await this.#s.close()
  }

  /** A property stored in the index file by setProperty (undefined when absent). */
  getProperty(name: string): unknown {
    this.#s.open()
    return this.#s.store.getProperty(checkPropertyName(name))
  }

  /** Stores a named, msgpack-serialisable property in the index file (one transaction). */
  async setProperty(name: string, value: unknown): Promise<void> {
    this.#s.writable()
    checkPropertyValue(checkPropertyName(name), value)
    await commitStoreChange(this.#s, `setting property ${name}`, () => this.#s.store.setProperty(name, value))
  }

  /** The items whose metadata match a filter (ids ascending, at most `limit`; for string ids, in the order they were first added), with their metadata. */
  find(filter: Filter<M>, limit = 1000): { id: K; metadata: M | null }[] {
    this.#s.open()
    const found = findItems(this.#s.store, filter as Filter, checkFindLimit(limit), this.idKind)
    if (this.idKind === 'integer') return found as { id: K; metadata: M | null }[]
    const keys = this.#s.store.keysOf(found.map((f) => f.id))
    return found.map((f, i) => ({ id: keys[i] as K, metadata: f.metadata as M | null }))
  }

  /** The largest id stored, or -1 when the index is empty (integer ids; UNSUPPORTED for string ids). */
  maxId(): number {
    this.#s.open()
    if (this.idKind === 'string') throw new VqStateError('UNSUPPORTED', 'maxId() is for integer ids; this index has string ids')
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
    if (typeof field !== 'string')
      throw new VqOptionError('BAD_OPTION', `text field must be a dotted path of names, got ${showValue(field)}`)
    await createTextIndex(this.#s, field)
  }

  /**
   * Keyword search over the text index: the words of `query` (letters and digits; any of
   * them may match, BM25 ranks) against the indexed field, optionally restricted by a
   * metadata filter. Returns up to k ids, best first, with BM25 scores (lower is better).
   */
  keywordSearch(query: string, k: number, options?: { filter?: Filter<M> }): { ids: ResultIds<K>; scores: Float32Array } {
    this.#s.open()
    if (typeof query !== 'string') throw new VqInputError('BAD_ARGUMENT', `keywordSearch query must be a string, got ${showValue(query)}`)
    checkK(k)
    const { filter } = parseKeywordOptions(options)
    const r = keywordSearch(this.#s.store, query, k, filter, this.idKind)
    return { ids: publicIds(this.#s, r.ids) as ResultIds<K>, scores: r.scores }
  }

  /**
   * Creates a new index at `path` (or ':memory:') from a FAISS index file: IndexFlatL2/IP,
   * IndexPQ, IndexScalarQuantizer (8-bit, 4-bit, fp16), IndexIVFFlat, IndexIVFPQ,
   * IndexIVFScalarQuantizer, IndexIVFPQFastScan, an OPQ IndexPreTransform in front of a PQ
   * index, IndexRefineFlat (RFlat) and IndexIDMap/IDMap2 around any of them (README, FAISS
   * index files). Codes are taken as they are (distances agree with FAISS's); ids are the
   * IDMap's, the IVF lists' or the positions 0..n-1. Other types:
   * VqFormatError('UNSUPPORTED_FAISS_INDEX'); a damaged or truncated file: CORRUPT_FILE /
   * TRUNCATED_FILE. Only an IndexRefineFlat's vectors are stored; ids are integers.
   */
  static fromFaiss<M = Metadata>(file: string, path: string, options?: FaissImportOptions): VqIndex<M, number> {
    checkPath(path)
    return new VqIndex(importFaiss(file, path, options))
  }

  /**
   * Writes this index as a new FAISS index file (FILE_EXISTS if it exists); returns the
   * item count. Indexes FAISS cannot express (RaBitQ, refine stages other than RFlat, the
   * cosine metric, string ids)
   * are refused with VqStateError('UNSUPPORTED_FAISS_INDEX').
   */
  async toFaiss(file: string): Promise<number> {
    this.#s.open()
    return exportFaiss(this.#s, file)
  }
}
