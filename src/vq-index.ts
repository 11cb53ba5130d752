/**
 * VqIndex: the public index. It composes the trained model (OPQ, IVF coarse quantizer,
 * codec, refine codec: search/model.ts), the in-memory inverted lists (codes, ids, seqs:
 * ivf/inverted-lists.ts), the search procedure (search/searcher.ts), the worker pool
 * (parallel/pool.ts) and the SQLite file that holds everything else (manifest, trained
 * arrays, codes, optional full vectors and metadata: storage/).
 *
 * Metric mapping:
 * - 'l2': codecs work on squared L2;
 * - 'ip': codecs work on the negated inner product;
 * - 'cosine': vectors are L2-normalised on the way in (zero vectors rejected), codecs work
 *   on squared L2 of unit vectors, and distances are reported as 1 - cos = L2^2 / 2.
 *
 * Every public method validates first, writes one SQLite transaction, and changes the
 * in-memory state only after the commit: a rejected or failed call changes nothing.
 * Writes wait for batch searches in flight, so workers never see lists change under them.
 */
import { existsSync, rmSync } from 'node:fs'
import type { Kernels } from '../native-free-kernels/index.js'
import { floatToHalf, getKernels, HALF_TO_FLOAT } from '../native-free-kernels/index.js'
import { VqFormatError, VqInputError, VqOptionError, VqStateError, VqStorageError } from './errors.js'
import { formatIndexDescription, normalizeIndexSpec, parseIndexDescription } from './factory/parse.js'
import { InvertedLists } from './ivf/inverted-lists.js'
import { checkManifest, type Manifest, newManifest, type TrainingRecord } from './manifest.js'
import { WorkerPool } from './parallel/pool.js'
import type { Quantizer, TrainedArray } from './quantizers/quantizer.js'
import { IndexModel, type Parallel } from './search/model.js'
import { type FetchVectors, type FilterBits, type SearchParams, Searcher } from './search/searcher.js'
import { compileFilter, FIELD } from './storage/filter-sql.js'
import { readSnapshot, writeSnapshot } from './storage/snapshot.js'
import { SqliteStore, type StoredArray, type StoreOptions, type VectorRows } from './storage/sqlite-store.js'
import type {
  BatchSearchOptions, BatchSearchResult, ConnectionOptions, CreateOptions, DeleteOptions, Filter, IndexSpec, IndexStats,
  MemoryUsage, Metadata, Metric, OpenOptions, SearchOptions, SearchResult, StoredItem, TrainOptions, VectorStorage,
} from './types.js'
import { checkIds, checkK, checkKnownKeys, checkQuery, checkVectors } from './validate.js'

const CONNECTION_KEYS = ['durability', 'busyTimeoutMs', 'kernels', 'threads'] as const
const CREATE_KEYS = ['dim', 'metric', 'description', 'codec', 'transform', 'ivf', 'refine', 'storeVectors', ...CONNECTION_KEYS] as const
const OPEN_KEYS = ['readonly', ...CONNECTION_KEYS] as const
const TRAIN_KEYS = ['seed', 'iterations', 'tolerance', 'init', 'maxPointsPerCentroid', 'onProgress', 'onWarning', 'ivfIterations', 'ivfMaxPointsPerCentroid', 'opqIterations'] as const
const SEARCH_KEYS = ['nprobe', 'refineFactor', 'filter'] as const
const BATCH_KEYS = [...SEARCH_KEYS, 'threads'] as const
const METRICS: readonly Metric[] = ['l2', 'ip', 'cosine']
const VECTOR_STORAGE: readonly VectorStorage[] = ['none', 'float32', 'float16']
/** Default nprobe (capped at nlist), as LanceDB's default of 20 probes. */
export const DEFAULT_NPROBE = 20
const FILTER_CACHE_SIZE = 16

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
  readonly #kernels: Kernels
  readonly #store: SqliteStore
  readonly #threads: number | undefined
  #manifest: Manifest
  #model: IndexModel
  #lists: InvertedLists
  #searcher: Searcher
  #pool: WorkerPool | undefined
  /** Highest seq reflected in memory. */
  #loadedSeq = 0
  #closed = false
  readonly #filterCache = new Map<string, FilterBits>()
  /** Batch searches in flight; writes wait for them. */
  #inFlight = 0
  #idle: Promise<void> = Promise.resolve()
  /** Tail of the queue of writes. */
  #writes: Promise<void> = Promise.resolve()
  #release: (() => void) | undefined

  /** Use VqIndex.create, VqIndex.open or VqIndex.import. */
  private constructor(store: SqliteStore, manifest: Manifest, kernels: Kernels, threads: number | undefined) {
    this.#store = store
    this.#manifest = manifest
    this.path = store.path
    this.readonly = store.readonly
    this.dim = manifest.dim
    this.metric = manifest.metric
    this.spec = normalizeIndexSpec(manifest.spec, manifest.dim)
    this.description = manifest.description
    this.storeVectors = manifest.storeVectors
    this.#kernels = kernels
    this.#threads = threads
    this.#model = new IndexModel(this.spec, this.dim, this.metric, kernels)
    this.#lists = new InvertedLists(this.#model.coarse.nlist, this.#model.scanCodeSize, this.#model.refineSize, this.#model.usesTerms)
    this.#searcher = this.#newSearcher()
  }

  /**
   * Creates a new, empty index: a new SQLite file at `path` (which must not exist:
   * FILE_EXISTS), or an in-memory database for ':memory:'. Throws VqOptionError for unknown
   * or invalid options before anything is written.
   */
  static create(path: string, options: CreateOptions): VqIndex {
    checkPath(path)
    const { dim, metric, spec, storeVectors } = resolveCreateOptions(options)
    const kernels = getKernels(options.kernels)
    const manifest = newManifest(dim, metric, spec, storeVectors)
    const store = SqliteStore.create(path, manifest, storeOptions(options))
    return new VqIndex(store, manifest, kernels, options.threads)
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
    const kernels = getKernels(options.kernels)
    const store = SqliteStore.open(path, { ...storeOptions(options), readonly: options.readonly ?? false })
    try {
      let index: VqIndex | undefined
      store.transaction(() => {
        const manifest = checkManifest(store.readManifest(), path)
        index = new VqIndex(store, manifest, kernels, options.threads)
        index.#loadAll()
      }, 'loading the index', 'read')
      return index!
    } catch (e) {
      store.close()
      throw e
    }
  }

  /**
   * Creates a new index at `path` (or ':memory:') from a snapshot written by export().
   * The copy is identical: manifest, trained arrays, codes, vectors, metadata, and the
   * order of items. On any error the half-written target is removed.
   */
  static import(snapshotPath: string, path: string, options: ConnectionOptions = {}): VqIndex {
    checkPath(path)
    checkKnownKeys(options, CONNECTION_KEYS, 'import')
    if (path !== ':memory:' && existsSync(path)) {
      throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
    }
    const kernels = getKernels(options.kernels)
    let store: SqliteStore | undefined
    let created = false
    let cs = 0
    let vb = 0
    let extra: { properties: Record<string, unknown>; textField: string | null } = { properties: {}, textField: null }
    try {
      readSnapshot(snapshotPath, {
        header: (m, more) => {
          extra = more
          const manifest = checkManifest(m, snapshotPath)
          const model = new IndexModel(normalizeIndexSpec(manifest.spec, manifest.dim), manifest.dim, manifest.metric, kernels)
          cs = model.codeSize + model.refineSize
          vb = vectorBytes(manifest.storeVectors, manifest.dim)
          store = SqliteStore.create(path, manifest, storeOptions(options))
          created = true
        },
        arrays: (arrays) => store!.transaction(() => store!.writeArrays(arrays), 'importing trained arrays'),
        items: (b) => {
          if (b.codes.length !== b.ids.length * cs || (b.vectors !== null && b.vectors.length !== b.ids.length * vb)) {
            throw new VqFormatError('BAD_FILE', `${snapshotPath}: an items record does not match the index's code or vector size`)
          }
          store!.transaction(() => store!.insertRaw(Array.from(b.ids, (id, i) => ({
            seq: b.seqs[i]!,
            id,
            list: b.lists[i]!,
            code: b.codes.subarray(i * cs, (i + 1) * cs),
            vector: b.vectors ? b.vectors.subarray(i * vb, (i + 1) * vb) : null,
            json: b.metadata[i] ?? null,
          }))), 'importing items')
        },
      })
      if (!store) throw new VqFormatError('BAD_FILE', `${snapshotPath}: empty snapshot`)
      const s = store as SqliteStore
      s.transaction(() => {
        for (const [name, value] of Object.entries(extra.properties)) s.setProperty(name, value)
        if (extra.textField !== null) s.createTextIndex(extra.textField)
      }, 'importing properties and the text index')
      const manifest = checkManifest(store.readManifest(), path)
      const index = new VqIndex(store, manifest, kernels, options.threads)
      index.#loadAll()
      return index
    } catch (e) {
      store?.close()
      if (created && path !== ':memory:') removeCreated(path)
      throw e
    }
  }

  /** Number of vectors in the index. */
  get size(): number {
    return this.#lists.count
  }

  /** Same as size. */
  get count(): number {
    return this.#lists.count
  }

  /** True when every trained part is trained (always for Flat and SQfp16 without IVF). */
  get isTrained(): boolean {
    return this.#model.isTrained
  }

  /** Bytes per stored code (the main codec; a refine codec adds refineCodeSize). */
  get codeSize(): number {
    return this.#model.codeSize
  }

  /** Bytes per refine code (0 without a Refine(codec) stage). */
  get refineCodeSize(): number {
    return this.#model.refineSize
  }

  /** The main codec (read-only use: decode, distance tables, exported state). */
  get quantizer(): Quantizer {
    return this.#model.codec
  }

  /** The trained model (read-only use). */
  get model(): IndexModel {
    return this.#model
  }

  /** The manifest as last committed (a copy). */
  get manifest(): Manifest {
    return { ...this.#manifest }
  }

  /**
   * Trains every stage (OPQ, IVF, codec, refine codec) on x (row-major n*dim, n >= 1) and
   * stores the trained arrays. Allowed only while the index is empty (NOT_EMPTY otherwise:
   * use retrain(), which re-encodes the stored vectors).
   */
  async train(x: Float32Array, options: TrainOptions = {}): Promise<void> {
    this.#writable()
    checkKnownKeys(options, TRAIN_KEYS, 'train')
    const { x: v, n } = checkVectors(x, this.dim, 'training vectors')
    if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'training needs at least one vector, got 0')
    if (this.#lists.count > 0) {
      throw new VqStateError('NOT_EMPTY',
        `train() on an index holding ${this.#lists.count} vectors would invalidate their codes; use retrain(), or train before adding`)
    }
    const prepared = this.#prepare(v, n, 'training vectors')
    await this.#exclusive(async () => {
      if (this.#lists.count > 0) throw new VqStateError('NOT_EMPTY', 'vectors were added while train() waited; use retrain()')
      const model = await this.#trainModel(prepared, n, options)
      this.#commit('saving the trained model', (m) => {
        this.#store.writeArrays(storedArrays(model.exportArrays()))
        return { ...m, trained: true, training: trainingRecord(n, options), codesGeneration: m.codesGeneration + 1 }
      })
      this.#setModel(model, new InvertedLists(model.coarse.nlist, model.scanCodeSize, model.refineSize, model.usesTerms))
    })
  }

  /**
   * Adds n vectors x (n*dim) under ids (length n; non-negative safe integers, unique in the
   * batch and not yet in the index: ID_EXISTS otherwise), with optional metadata (length n;
   * any JSON-serialisable values, null for none). Vectors go to their nearest IVF list;
   * nothing is retrained. All or nothing, in one transaction.
   */
  async add(ids: ArrayLike<number>, x: Float32Array, metadata?: readonly Metadata[]): Promise<void> {
    const input = this.#checkedInput(ids, x, metadata)
    await this.#exclusive(async () => {
      const batch = await this.#encodeBatch(input)
      if (batch.ids.length === 0) return
      let first = 0
      this.#commit('adding vectors', (m) => {
        first = m.nextSeq
        this.#store.insertItems(batch.rows, first)
        return { ...m, nextSeq: first + batch.ids.length, count: m.count + batch.ids.length }
      })
      this.#appendBatch(batch, first)
    })
  }

  /**
   * Adds or replaces: ids already in the index get the new vector and metadata (and move
   * to the end of the insertion order), the others are added. All or nothing.
   */
  async upsert(ids: ArrayLike<number>, x: Float32Array, metadata?: readonly Metadata[]): Promise<void> {
    const input = this.#checkedInput(ids, x, metadata)
    await this.#exclusive(async () => {
      const batch = await this.#encodeBatch(input)
      if (batch.ids.length === 0) return
      let gone: number[] = []
      let first = 0
      this.#commit('upserting vectors', (m) => {
        gone = this.#store.deleteItems(batch.ids, m.nextSeq)
        first = m.nextSeq + gone.length
        this.#store.insertItems(batch.rows, first)
        return { ...m, nextSeq: first + batch.ids.length, count: m.count - gone.length + batch.ids.length }
      })
      this.#lists.remove(new Set(gone))
      this.#appendBatch(batch, first)
    })
  }

  /**
   * Deletes the items with these ids; returns how many existed. Unknown ids are skipped,
   * or with { strict: true } rejected (UNKNOWN_ID) before anything is deleted.
   */
  async delete(ids: ArrayLike<number>, options: DeleteOptions = {}): Promise<number> {
    this.#writable()
    checkKnownKeys(options, ['strict'], 'delete')
    const idv = checkIds(ids, ids?.length ?? -1)
    if (idv.length === 0) return 0
    return this.#exclusive(async () => this.#deleteNow(idv, options))
  }

  #deleteNow(idv: Float64Array, options: DeleteOptions): number {
    let gone: number[] = []
    this.#commit('deleting vectors', (m) => {
      if (options.strict) {
        const present = new Set(this.#store.existing(idv))
        const missing = Array.from(idv).filter((id) => !present.has(id))
        if (missing.length > 0) {
          throw new VqInputError('UNKNOWN_ID', `${missing.length} id(s) not in the index (first: ${missing[0]}); nothing was deleted`)
        }
      }
      gone = this.#store.deleteItems(idv, m.nextSeq)
      return { ...m, nextSeq: m.nextSeq + gone.length, count: m.count - gone.length }
    })
    this.#lists.remove(new Set(gone))
    return gone.length
  }

  /** The stored vector (as added; null when the index stores none) and metadata of id, or undefined for an unknown id. */
  get(id: number): StoredItem | undefined {
    this.#open()
    checkIds([id], 1)
    const row = this.#store.getItem(id)
    if (!row) return undefined
    return {
      id,
      vector: row.vector ? decodeVector(row.vector, this.storeVectors, this.dim) : null,
      metadata: row.metadata === null ? null : JSON.parse(row.metadata),
    }
  }

  /** True when id is in the index. */
  has(id: number): boolean {
    this.#open()
    return this.#store.existing(new Float64Array([id])).length === 1
  }

  /**
   * Re-trains every stage on the stored full-precision vectors and re-encodes every item
   * (new lists too), in one transaction (NO_VECTORS when the index stores none). Searches
   * keep the old model until the commit.
   */
  async retrain(options: TrainOptions = {}): Promise<void> {
    this.#writable()
    checkKnownKeys(options, TRAIN_KEYS, 'retrain')
    if (this.storeVectors === 'none') {
      throw new VqStateError('NO_VECTORS', 'retrain() needs the full vectors, but this index was created with storeVectors: "none"')
    }
    return this.#exclusive(() => this.#retrainNow(options))
  }

  async #retrainNow(options: TrainOptions): Promise<void> {
    const n = this.#lists.count
    if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'retrain() on an empty index: there is nothing to train on')
    const x = new Float32Array(n * this.dim)
    const seqs = new Uint32Array(n)
    const ids = new Float64Array(n)
    let i = 0
    this.#store.forEachVector((id, seq, bytes) => {
      if (i >= n) throw new VqFormatError('CORRUPT_FILE', `${this.path}: more stored vectors than items`)
      x.set(decodeVector(bytes, this.storeVectors, this.dim), i * this.dim)
      seqs[i] = seq
      ids[i++] = id
    })
    if (i !== n) throw new VqStateError('NO_VECTORS', `only ${i} of ${n} items have a stored vector`)
    const prepared = this.#prepare(x, n, 'stored vectors')
    const model = await this.#trainModel(prepared, n, options)
    const enc = await model.encodeWith(prepared, n, this.#parallel())
    const codes = joinCodes(enc.codes, enc.refine, n, model.codeSize, model.refineSize)
    this.#commit('retraining', (m) => {
      this.#store.writeArrays(storedArrays(model.exportArrays()))
      this.#store.updateCodes(seqs, enc.lists, codes, model.codeSize + model.refineSize)
      return { ...m, trained: true, training: trainingRecord(n, options), codesGeneration: m.codesGeneration + 1 }
    })
    this.#setModel(model, InvertedLists.build(model.coarse.nlist, model.scanCodeSize, model.refineSize, enc.lists, ids, seqs, model.padCodes(enc.codes, n), enc.refine, enc.terms))
  }

  /**
   * Catches up with commits made by other connections to the same file (for read-only
   * openers; a writer is always current). Returns true when something changed.
   */
  refresh(): boolean {
    this.#open()
    let changed = false
    this.#store.transaction(() => {
      const m = checkManifest(this.#store.readManifest(), this.path)
      if (m.generation === this.#manifest.generation) return
      changed = true
      if (m.codesGeneration !== this.#manifest.codesGeneration || m.trained !== this.#manifest.trained) {
        this.#manifest = m
        this.#loadAll()
        return
      }
      this.#lists.remove(new Set(this.#store.tombstonesAfter(this.#loadedSeq)))
      const cs = this.#model.codeSize
      const rs = this.#model.refineSize
      const fresh = this.#store.loadCodes(this.#loadedSeq, cs + rs, m.count)
      const { codes, refine } = splitCodes(fresh.codes, fresh.ids.length, cs, rs)
      const nf = fresh.ids.length
      const terms = this.#model.usesTerms ? this.#model.residualTerms(fresh.lists, codes, nf) : null
      this.#lists.append(fresh.lists, fresh.ids, fresh.seqs, this.#model.padCodes(codes, nf), refine, terms)
      this.#manifest = m
      this.#loadedSeq = m.nextSeq - 1
      this.#filterCache.clear()
    }, 'refreshing', 'read')
    return changed
  }

  /** Writes a portable snapshot of the whole index to a new file (FILE_EXISTS if it exists); returns the item count. */
  async export(path: string): Promise<number> {
    this.#open()
    return writeSnapshot(this.#store, path, this.#model.codeSize + this.#model.refineSize)
  }

  /** The file's journal mode ('wal'), synchronous level ('full' / 'normal'), format version and size in bytes (pages). */
  storageInfo(): ReturnType<SqliteStore['info']> {
    this.#open()
    return this.#store.info()
  }

  /** PRAGMA integrity_check of the file: 'ok' or the problems SQLite found. */
  integrityCheck(): string {
    return this.#store.integrityCheck()
  }

  /** List sizes and balance (for IVF indexes; one list otherwise), to know when to retrain(). */
  stats(): IndexStats {
    this.#open()
    const nlist = this.#lists.nlist
    const listSizes = new Int32Array(nlist)
    let sq = 0
    let min = Infinity
    let max = 0
    let empty = 0
    for (let l = 0; l < nlist; l++) {
      const s = this.#lists.size(l)
      listSizes[l] = s
      sq += s * s
      if (s < min) min = s
      if (s > max) max = s
      if (s === 0) empty++
    }
    const n = this.#lists.count
    return { count: n, nlist, listSizes, minList: min, maxList: max, emptyLists: empty, imbalance: n === 0 ? 1 : (nlist * sq) / (n * n) }
  }

  /** The decoded (approximate, for lossy codecs) vector stored under id; for cosine, of the normalised vector. */
  reconstruct(id: number): Float32Array {
    this.#open()
    const slot = this.#lists.slotOf(id)
    if (slot < 0) throw new VqInputError('UNKNOWN_ID', `id ${id} is not in the index`)
    let list = 0
    const view = this.#lists.view()
    for (let l = 0; l < view.nlist; l++) if (slot >= view.start[l]! && slot < view.start[l]! + view.size[l]!) list = l
    const model = this.#model
    const y = new Float32Array(model.dCoded)
    model.codec.decode(this.#lists.codeAt(slot).subarray(0, model.codeSize), 1, y)
    if (model.byResidual) for (let t = 0; t < model.dCoded; t++) y[t] = y[t]! + model.coarse.centroids[list * model.dCoded + t]!
    if (!model.transform) return y
    const out = new Float32Array(this.dim)
    model.transform.reverse(y, 1, out)
    return out
  }

  /** RAM held in memory by this index: codes, ids, seqs, trained arrays (vectors and metadata stay on disk). */
  memoryUsage(): MemoryUsage {
    const b = this.#lists.bytes
    const codes = b.codes + b.refine + b.terms
    const ids = b.ids + b.seqs + b.lists
    const trained = this.#model.trainedBytes
    const fastScan = this.#searcher.fastScanBytes
    const residentCodes = this.#searcher.residentBytes
    return { codes, ids, trained, fastScan, residentCodes, total: codes + ids + trained + fastScan + residentCodes }
  }

  /** Name of the kernel backend this index computes with ('wasm', 'ts' or 'reference'). */
  get kernelBackend(): string {
    return this.#kernels.name
  }

  /**
   * The k nearest stored vectors to q (one vector, length dim), nearest first. Results
   * are padded with id -1 and distance Infinity when fewer than k items qualify.
   */
  search(q: Float32Array, k: number, options: SearchOptions = {}): SearchResult {
    this.#open()
    const query = checkQuery(q, this.dim)
    checkK(k)
    checkKnownKeys(options, SEARCH_KEYS, 'search')
    this.#requireTrained('search')
    const params = this.#params(k, options)
    const ids = new Float64Array(k)
    const distances = new Float32Array(k)
    this.#searcher.search(this.#lists.view(), this.#prepare(query, 1, 'query'), 0, params, ids, distances)
    return { ids, distances }
  }

  /**
   * Searches nq queries (row-major nq*dim). Row i of the result equals search() of query i.
   * With threads > 0 (default: the pool size), the queries are split over worker threads
   * that read the same lists through shared memory.
   */
  async searchBatch(queries: Float32Array, k: number, options: BatchSearchOptions = {}): Promise<BatchSearchResult> {
    this.#open()
    const { x, n: nq } = checkVectors(queries, this.dim, 'queries')
    checkK(k)
    checkKnownKeys(options, BATCH_KEYS, 'searchBatch')
    this.#requireTrained('search')
    const { threads, ...searchOptions } = options
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0)) {
      throw new VqOptionError('BAD_OPTION', `threads must be an integer >= 0, got ${String(threads)}`)
    }
    const params = this.#params(k, searchOptions)
    const prepared = this.#prepare(x, nq, 'queries')
    const ids = new Float64Array(nq * k)
    const distances = new Float32Array(nq * k)
    const poolThreads = threads ?? this.#threads ?? WorkerPool.defaultThreads()
    // RFlat reads stored vectors; workers open the file read-only, which ':memory:' cannot offer.
    const shareable = !(this.spec.refine?.kind === 'flat' && this.path === ':memory:')
    if (poolThreads > 0 && nq >= 2 * poolThreads && shareable) {
      this.#enter()
      try {
        const pool = this.#ensurePool(poolThreads)
        await pool.search({ model: this.#model, lists: this.#lists.view(), path: this.path, storeVectors: this.storeVectors },
          prepared, nq, params, ids, distances)
      } finally {
        this.#leave()
      }
    } else {
      const view = this.#lists.view()
      for (let i = 0; i < nq; i++) {
        this.#searcher.search(view, prepared, i * this.dim, params, ids.subarray(i * k, (i + 1) * k), distances.subarray(i * k, (i + 1) * k))
      }
    }
    return batchResult(nq, k, ids, distances)
  }

  /** Closes the file and the worker pool; every later call throws VqStateError('CLOSED'). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const pool = this.#pool
    this.#pool = undefined
    this.#store.close()
    this.#lists = new InvertedLists(this.#lists.nlist, this.#model.scanCodeSize, this.#model.refineSize, false, 0)
    await pool?.close()
  }

  // ---- internals ----

  /** Resolves search options into per-query parameters (including the filter bitset). */
  #params(k: number, o: SearchOptions): SearchParams {
    const nprobe = o.nprobe ?? DEFAULT_NPROBE
    if (!(Number.isInteger(nprobe) && nprobe >= 1)) throw new VqOptionError('BAD_OPTION', `nprobe must be a positive integer, got ${String(o.nprobe)}`)
    const refineFactor = o.refineFactor ?? 1
    if (!(Number.isInteger(refineFactor) && refineFactor >= 1)) throw new VqOptionError('BAD_OPTION', `refineFactor must be a positive integer, got ${String(o.refineFactor)}`)
    return { k, nprobe, refineFactor, filter: o.filter === undefined ? null : this.#filterBits(o.filter) }
  }

  /** A property stored in the index file by setProperty (undefined when absent). */
  getProperty(name: string): unknown {
    this.#open()
    return this.#store.getProperty(name)
  }

  /** Stores a named, msgpack-serialisable property in the index file (one transaction). */
  async setProperty(name: string, value: unknown): Promise<void> {
    this.#writable()
    await this.#exclusive(async () => {
      this.#commit(`setting property ${name}`, (m) => {
        this.#store.setProperty(name, value)
        return m
      })
    })
  }

  /** The items whose metadata match a filter (ids ascending, at most `limit`), with their metadata. */
  find(filter: Filter, limit = 1000): { id: number; metadata: Metadata }[] {
    this.#open()
    const { sql, params } = compileFilter(filter)
    return this.#store.itemsWhere(sql, params, limit).map((r) => ({ id: r.id, metadata: r.json === null ? null : (JSON.parse(r.json) as Metadata) }))
  }

  /** The largest id stored, or -1 when the index is empty. */
  maxId(): number {
    this.#open()
    return this.#store.maxId()
  }

  /** The metadata field with a keyword index (createTextIndex), or null. */
  get textField(): string | null {
    this.#open()
    return this.#store.textField
  }

  /**
   * Creates a keyword index (SQLite FTS5, BM25 ranking, Porter stemming) over the string
   * metadata field `field` (a dotted path, default "text") of every item, stored and kept
   * current by later add / upsert / delete. One text field per index; creating it again
   * with the same field does nothing.
   */
  async createTextIndex(field = 'text'): Promise<void> {
    this.#writable()
    if (!FIELD.test(field)) {
      throw new VqOptionError('BAD_OPTION', `text field must be a dotted path of names, got ${JSON.stringify(field)}`)
    }
    const have = this.#store.textField
    if (have === field) return
    if (have !== null) throw new VqStateError('UNSUPPORTED', `this index already has a text index on "${have}"`)
    await this.#exclusive(async () => {
      this.#commit('creating the text index', (m) => {
        this.#store.createTextIndex(field)
        return m
      })
    })
  }

  /**
   * Keyword search over the text index: the words of `query` (letters and digits; any of
   * them may match, BM25 ranks) against the indexed field, optionally restricted by a
   * metadata filter. Returns up to k ids, best first, with BM25 scores (lower is better).
   */
  keywordSearch(query: string, k: number, options: { filter?: Filter } = {}): { ids: Float64Array; scores: Float32Array } {
    this.#open()
    checkK(k)
    const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
    if (words.length === 0) return { ids: new Float64Array(0), scores: new Float32Array(0) }
    const match = [...new Set(words)].map((w) => `"${w}"`).join(' OR ')
    const cond = options.filter === undefined ? { sql: '1', params: [] as unknown[] } : compileFilter(options.filter)
    const r = this.#store.keywordSearch(match, k, cond.sql, cond.params)
    return { ids: Float64Array.from(r.ids), scores: Float32Array.from(r.scores) }
  }

  /** The items a filter allows, as a bitset over seq (cached per filter until the next write). */
  #filterBits(filter: Filter): FilterBits {
    const key = `${this.#manifest.generation}:${JSON.stringify(filter)}`
    const hit = this.#filterCache.get(key)
    if (hit) return hit
    const { sql, params } = compileFilter(filter)
    const seqs = this.#store.seqsWhere(sql, params)
    const bits = new Uint8Array(new SharedArrayBuffer((this.#manifest.nextSeq >>> 3) + 1))
    for (const s of seqs) bits[s >>> 3]! |= 1 << (s & 7)
    const out = { bits, count: seqs.length }
    if (this.#filterCache.size >= FILTER_CACHE_SIZE) this.#filterCache.delete(this.#filterCache.keys().next().value!)
    this.#filterCache.set(key, out)
    return out
  }

  #newSearcher(): Searcher {
    const fetch: FetchVectors | null = this.spec.refine?.kind === 'flat' ? (ids, n, out) => this.#fetchVectors(ids, n, out) : null
    return new Searcher(this.#model, fetch)
  }

  /** Reads the stored vectors of n ids (one statement) into out; a flag per id. */
  #fetchVectors(ids: Float64Array, n: number, out: Float32Array): Uint8Array {
    return fillVectors(this.#store.readVectors(ids, n), ids, n, this.storeVectors, this.dim, out)
  }

  #ensurePool(threads: number): WorkerPool {
    if (!this.#pool || this.#pool.threads !== threads) {
      void this.#pool?.close()
      this.#pool = new WorkerPool(threads)
    }
    return this.#pool
  }

  /**
   * Training and encoding work for the pool when the index has more than one thread; the
   * pool itself starts only when some work is large enough to use it.
   */
  #parallel(): Parallel | undefined {
    const threads = this.#threads ?? WorkerPool.defaultThreads()
    if (threads <= 1) return undefined
    const pool = (): WorkerPool => this.#ensurePool(threads)
    return {
      threads,
      assign: (r) => pool().assign(r, this.#kernels.name),
      trainPq: (pq, x, n, o) => pool().trainPq(pq, x, n, o, this.#kernels.name),
      encode: (model, x, n) => pool().encode(model, x, n),
    }
  }

  /**
   * Runs a write exclusively: after the writes queued before it and after the batch
   * searches in flight, so no write sees or leaves a half-updated index.
   */
  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prior = this.#writes
    let done!: () => void
    this.#writes = new Promise((r) => { done = r })
    try {
      await prior
      await this.#idle
      return await fn()
    } finally {
      done()
    }
  }

  #enter(): void {
    if (this.#inFlight++ === 0) this.#idle = new Promise((r) => { this.#release = r })
  }

  #leave(): void {
    if (--this.#inFlight === 0) this.#release?.()
  }

  /** Loads trained arrays and every code (inside the caller's read transaction). */
  #loadAll(): void {
    const m = this.#manifest
    const model = new IndexModel(this.spec, this.dim, this.metric, this.#kernels)
    if (m.trained) model.loadArrays(this.#store.readArrays())
    const cs = model.codeSize
    const rs = model.refineSize
    const all = this.#store.loadCodes(0, cs + rs, m.count)
    const { codes, refine } = splitCodes(all.codes, all.ids.length, cs, rs)
    for (const l of all.lists) {
      if (!(l >= 0 && l < model.coarse.nlist)) throw new VqFormatError('CORRUPT_FILE', `${this.path}: an item is in list ${l}, outside 0..${model.coarse.nlist - 1}`)
    }
    const n = all.ids.length
    const terms = model.usesTerms ? model.residualTerms(all.lists, codes, n) : null
    this.#setModel(model, InvertedLists.build(model.coarse.nlist, model.scanCodeSize, rs, all.lists, all.ids, all.seqs, model.padCodes(codes, n), refine, terms))
    this.#loadedSeq = m.nextSeq - 1
  }

  #setModel(model: IndexModel, lists: InvertedLists): void {
    this.#model = model
    this.#lists = lists
    this.#searcher = this.#newSearcher()
    this.#filterCache.clear()
  }

  /**
   * Runs one write transaction: checks that no other connection wrote since this one last
   * saw the file, applies `write`, which returns the new manifest, bumps the generation and
   * stores the manifest. The in-memory manifest changes only after the commit.
   */
  #commit(doing: string, write: (m: Manifest) => Manifest): void {
    this.#writable()
    let next: Manifest | undefined
    this.#store.transaction(() => {
      const onDisk = this.#store.readManifest<Manifest>()
      if (onDisk.generation !== this.#manifest.generation) {
        throw new VqStateError('READ_ONLY', `${this.path} was changed by another connection; only one writer per file is supported: reopen it`)
      }
      next = { ...write(this.#manifest), generation: this.#manifest.generation + 1 }
      this.#store.writeManifest(next)
    }, doing)
    this.#manifest = next!
    this.#loadedSeq = next!.nextSeq - 1
    this.#filterCache.clear()
  }

  /** Validates an add/upsert batch (before anything waits or changes). */
  #checkedInput(ids: ArrayLike<number>, x: Float32Array, metadata: readonly Metadata[] | undefined): CheckedInput {
    this.#writable()
    const { x: v, n } = checkVectors(x, this.dim, 'vectors')
    const idv = checkIds(ids, n)
    const meta = checkMetadata(metadata, n)
    if (!this.#model.isTrained) throw new VqStateError('NOT_TRAINED', `the ${this.description} index must be trained before adding vectors`)
    return { v, n, ids: idv, meta, prepared: this.#prepare(v, n, 'vectors') }
  }

  /** Encodes a validated batch (on the pool when it is large) into rows for the store. */
  async #encodeBatch(input: CheckedInput): Promise<EncodedBatch> {
    const { v, n, ids: idv, meta, prepared } = input
    const enc = await this.#model.encodeWith(prepared, n, this.#parallel())
    const cs = this.#model.codeSize
    const rs = this.#model.refineSize
    const vb = vectorBytes(this.storeVectors, this.dim)
    return {
      ids: idv,
      enc,
      rows: {
        ids: idv, lists: enc.lists, codes: joinCodes(enc.codes, enc.refine, n, cs, rs), codeSize: cs + rs,
        vectors: vb > 0 ? encodeVectors(v, n * this.dim, this.storeVectors) : undefined, vectorBytes: vb, metadata: meta,
      },
    }
  }

  /** Appends a committed batch to the lists, with seqs from `first`. */
  #appendBatch(batch: EncodedBatch, first: number): void {
    const n = batch.ids.length
    const seqs = new Uint32Array(n)
    for (let i = 0; i < n; i++) seqs[i] = first + i
    this.#lists.append(batch.enc.lists, batch.ids, seqs, this.#model.padCodes(batch.enc.codes, n), batch.enc.refine, batch.enc.terms)
  }

  async #trainModel(x: Float32Array, n: number, options: TrainOptions): Promise<IndexModel> {
    const model = new IndexModel(this.spec, this.dim, this.metric, this.#kernels)
    const { onProgress, ...rest } = options
    await model.train(x, n, {
      ...rest,
      ...(onProgress ? { onProgress: (stage, part, parts, p) => onProgress({ ...p, stage, part, parts }) } : {}),
    }, this.#parallel())
    return model
  }

  /** Applies the metric's input transform: a normalised copy for cosine, else x itself. */
  #prepare(x: Float32Array, n: number, what: string): Float32Array {
    if (this.metric !== 'cosine') return x
    const d = this.dim
    const out = new Float32Array(n * d)
    for (let i = 0; i < n; i++) {
      const norm = Math.sqrt(this.#kernels.innerProduct(x, i * d, x, i * d, d))
      if (norm === 0) throw new VqInputError('ZERO_VECTOR', `${what}: vector ${i} is all zeros, which has no cosine direction`)
      const inv = 1 / norm
      for (let t = 0; t < d; t++) out[i * d + t] = x[i * d + t]! * inv
    }
    return out
  }

  #requireTrained(what: string): void {
    if (!this.#model.isTrained) throw new VqStateError('NOT_TRAINED', `the ${this.description} index must be trained before ${what}()`)
  }

  #open(): void {
    if (this.#closed) throw new VqStateError('CLOSED', 'the index is closed')
  }

  #writable(): void {
    this.#open()
    if (this.readonly) throw new VqStateError('READ_ONLY', `${this.path} is open read-only`)
  }
}

/** A validated add/upsert batch. */
interface CheckedInput {
  readonly v: Float32Array
  readonly n: number
  readonly ids: Float64Array
  readonly meta: (string | null)[] | undefined
  /** The vectors after the metric's input transform. */
  readonly prepared: Float32Array
}

/** A validated, encoded add/upsert batch. */
interface EncodedBatch {
  readonly ids: Float64Array
  readonly enc: ReturnType<IndexModel['encode']>
  readonly rows: Parameters<SqliteStore['insertItems']>[0]
}

function batchResult(nq: number, k: number, ids: Float64Array, distances: Float32Array): BatchSearchResult {
  return {
    nq,
    k,
    ids,
    distances,
    row: (i: number) => ({ ids: ids.subarray(i * k, (i + 1) * k), distances: distances.subarray(i * k, (i + 1) * k) }),
  }
}

/** Code bytes as stored: each item's code followed by its refine code. */
function joinCodes(codes: Uint8Array, refine: Uint8Array | null, n: number, cs: number, rs: number): Uint8Array {
  if (!refine || rs === 0) return codes
  const out = new Uint8Array(n * (cs + rs))
  for (let i = 0; i < n; i++) {
    out.set(codes.subarray(i * cs, (i + 1) * cs), i * (cs + rs))
    out.set(refine.subarray(i * rs, (i + 1) * rs), i * (cs + rs) + cs)
  }
  return out
}

/** Inverse of joinCodes. */
function splitCodes(joined: Uint8Array, n: number, cs: number, rs: number): { codes: Uint8Array; refine: Uint8Array | null } {
  if (rs === 0) return { codes: joined, refine: null }
  const codes = new Uint8Array(n * cs)
  const refine = new Uint8Array(n * rs)
  for (let i = 0; i < n; i++) {
    codes.set(joined.subarray(i * (cs + rs), i * (cs + rs) + cs), i * cs)
    refine.set(joined.subarray(i * (cs + rs) + cs, (i + 1) * (cs + rs)), i * rs)
  }
  return { codes, refine }
}

function checkPath(path: unknown): void {
  if (typeof path !== 'string' || path === '') throw new VqOptionError('BAD_OPTION', `path must be a file path or ':memory:', got ${String(path)}`)
}

function storeOptions(o: ConnectionOptions): StoreOptions {
  if (o.durability !== undefined && o.durability !== 'full' && o.durability !== 'normal') {
    throw new VqOptionError('BAD_OPTION', `durability must be "full" or "normal", got "${String(o.durability)}"`)
  }
  if (o.busyTimeoutMs !== undefined && !(Number.isFinite(o.busyTimeoutMs) && o.busyTimeoutMs >= 0)) {
    throw new VqOptionError('BAD_OPTION', `busyTimeoutMs must be a number >= 0, got ${String(o.busyTimeoutMs)}`)
  }
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 0)) {
    throw new VqOptionError('BAD_OPTION', `threads must be an integer >= 0, got ${String(o.threads)}`)
  }
  return {
    ...(o.durability !== undefined ? { durability: o.durability } : {}),
    ...(o.busyTimeoutMs !== undefined ? { busyTimeoutMs: o.busyTimeoutMs } : {}),
  }
}

/** Removes the files of an index this process just created and failed to finish. */
function removeCreated(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) rmSync(f, { force: true })
}

function storedArrays(arrays: Record<string, TrainedArray>): Record<string, StoredArray> {
  const out: Record<string, StoredArray> = {}
  for (const [name, a] of Object.entries(arrays)) out[name] = { dtype: 'float32', shape: a.shape, data: a.data }
  return out
}

function trainingRecord(n: number, o: TrainOptions): TrainingRecord {
  return {
    at: new Date().toISOString(),
    vectors: n,
    seed: o.seed ?? null,
    iterations: o.iterations ?? null,
    tolerance: o.tolerance ?? null,
    init: o.init ?? null,
    maxPointsPerCentroid: o.maxPointsPerCentroid ?? null,
  }
}

/** Bytes per stored full vector. */
export function vectorBytes(s: VectorStorage, dim: number): number {
  return s === 'float32' ? 4 * dim : s === 'float16' ? 2 * dim : 0
}

/** Encodes len floats as stored vector bytes (float32 or float16, little-endian). */
function encodeVectors(x: Float32Array, len: number, s: VectorStorage): Uint8Array {
  if (s === 'float32') return new Uint8Array(x.buffer, x.byteOffset, len * 4).slice()
  const out = new Uint8Array(len * 2)
  for (let i = 0; i < len; i++) {
    const h = floatToHalf(x[i]!)
    out[2 * i] = h & 255
    out[2 * i + 1] = h >>> 8
  }
  return out
}

/**
 * Decodes the stored vectors of n ids (as readVectors returns them) into out (n*dim
 * floats); returns a flag per id (1 found, 0 missing).
 */
export function fillVectors(rows: VectorRows, ids: Float64Array, n: number, s: VectorStorage, dim: number, out: Float32Array): Uint8Array {
  const found = new Uint8Array(n)
  const have = rows.ids
  const bytes = new Uint8Array(out.buffer, out.byteOffset, n * dim * 4)
  for (let i = 0; i < n; i++) {
    // binary search of ids[i] in the ascending ids found
    const id = ids[i]!
    let lo = 0
    let hi = have.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (have[mid]! < id) lo = mid + 1
      else hi = mid
    }
    if (lo === have.length || have[lo] !== id) continue
    const at = lo * rows.size
    if (s === 'float32') bytes.set(rows.blob.subarray(at, at + dim * 4), i * dim * 4)
    else {
      const b = rows.blob
      for (let t = 0; t < dim; t++) out[i * dim + t] = HALF_TO_FLOAT[b[at + 2 * t]! | (b[at + 2 * t + 1]! << 8)]!
    }
    found[i] = 1
  }
  return found
}

/** Decodes one stored vector (float32 or float16 bytes) into a new Float32Array of dim. */
export function decodeVector(b: Uint8Array, s: VectorStorage, dim: number): Float32Array {
  const out = new Float32Array(dim)
  if (s === 'float32') new Uint8Array(out.buffer).set(b.subarray(0, dim * 4))
  else for (let t = 0; t < dim; t++) out[t] = HALF_TO_FLOAT[b[2 * t]! | (b[2 * t + 1]! << 8)]!
  return out
}

/** Checks metadata (absent, or n JSON-serialisable values) and returns the JSON strings. */
function checkMetadata(metadata: readonly Metadata[] | undefined, n: number): (string | null)[] | undefined {
  if (metadata === undefined) return undefined
  if (!Array.isArray(metadata)) throw new VqInputError('BAD_METADATA', 'metadata must be an array with one entry per vector')
  if (metadata.length !== n) throw new VqInputError('BAD_METADATA', `got ${metadata.length} metadata entries for ${n} vectors`)
  return metadata.map((m, i) => {
    if (m === null || m === undefined) return null
    let s: string | undefined
    try {
      s = JSON.stringify(m)
    } catch (cause) {
      throw new VqInputError('BAD_METADATA', `metadata at position ${i} cannot be stored as JSON: ${(cause as Error).message}`, { cause })
    }
    if (s === undefined) throw new VqInputError('BAD_METADATA', `metadata at position ${i} (${typeof m}) cannot be stored as JSON`)
    return s
  })
}

function resolveCreateOptions(options: CreateOptions): { dim: number; metric: Metric; spec: IndexSpec; storeVectors: VectorStorage } {
  if (options === null || typeof options !== 'object') throw new VqOptionError('BAD_OPTION', 'create() needs an options object with at least { dim }')
  checkKnownKeys(options, CREATE_KEYS, 'create')
  const { dim } = options
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1 || dim > 65536) {
    throw new VqOptionError('BAD_OPTION', `dim must be an integer from 1 to 65536, got ${String(dim)}`)
  }
  const metric = options.metric ?? 'l2'
  if (!METRICS.includes(metric)) throw new VqOptionError('BAD_OPTION', `metric must be one of ${METRICS.join(', ')}; got "${String(metric)}"`)
  const storeVectors = options.storeVectors ?? 'none'
  if (!VECTOR_STORAGE.includes(storeVectors)) {
    throw new VqOptionError('BAD_OPTION', `storeVectors must be one of ${VECTOR_STORAGE.join(', ')}; got "${String(storeVectors)}"`)
  }
  const typed: IndexSpec | undefined = options.codec !== undefined || options.ivf !== undefined || options.transform !== undefined || options.refine !== undefined
    ? {
      codec: options.codec ?? { kind: 'flat' },
      ...(options.transform ? { transform: options.transform } : {}),
      ...(options.ivf ? { ivf: options.ivf } : {}),
      ...(options.refine ? { refine: options.refine } : {}),
    }
    : undefined
  if (typed && !['flat', 'pq', 'sq8', 'sq4', 'fp16'].includes((typed.codec as { kind: string }).kind)) {
    throw new VqOptionError('BAD_OPTION', `codec.kind must be one of flat, pq, sq8, sq4, fp16; got "${String((typed.codec as { kind: string }).kind)}"`)
  }
  let spec: IndexSpec
  if (options.description !== undefined) {
    if (typeof options.description !== 'string') throw new VqOptionError('BAD_DESCRIPTION', 'description must be a string such as "IVF1024,PQ16"')
    spec = normalizeIndexSpec(parseIndexDescription(options.description), dim)
    if (typed && JSON.stringify(normalizeIndexSpec(typed, dim)) !== JSON.stringify(spec)) {
      throw new VqOptionError('BAD_OPTION',
        `description "${options.description}" and the typed options (${formatIndexDescription(normalizeIndexSpec(typed, dim), dim)}) disagree; give one of them`)
    }
  } else {
    spec = normalizeIndexSpec(typed ?? { codec: { kind: 'flat' } }, dim)
  }
  if (spec.refine?.kind === 'flat' && storeVectors === 'none') {
    throw new VqOptionError('BAD_OPTION', 'RFlat re-ranks on the stored full vectors: create the index with storeVectors "float32" or "float16"')
  }
  // Build once to validate every stage's own constraints (m divides d, nbits, nlist, OPQ dims).
  new IndexModel(spec, dim, metric, getKernels(options.kernels))
  storeOptions(options)
  return { dim, metric, spec, storeVectors }
}
