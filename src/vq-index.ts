/**
 * VqIndex: the public index. It composes a codec (Quantizer), the in-memory item table
 * (codes and ids), the exhaustive scan, and the SQLite file that holds everything else
 * (manifest, trained arrays, codes, optional full vectors and metadata).
 *
 * Metric mapping:
 * - 'l2': codecs work on squared L2;
 * - 'ip': codecs work on the negated inner product;
 * - 'cosine': vectors are L2-normalised on the way in (zero vectors rejected), codecs work
 *   on squared L2 of unit vectors, and distances are reported as 1 - cos = L2^2 / 2.
 *
 * Every public method validates first, writes one SQLite transaction, and changes the
 * in-memory state only after the commit: a rejected or failed call changes nothing.
 */
import { existsSync, rmSync } from 'node:fs'
import type { Kernels } from '../native-free-kernels/index.js'
import { floatToHalf, getKernels, HALF_TO_FLOAT } from '../native-free-kernels/index.js'
import { VqFormatError, VqInputError, VqOptionError, VqStateError, VqStorageError } from './errors.js'
import { buildQuantizer } from './factory/build.js'
import { formatDescription, normalizeCodec, parseDescription } from './factory/parse.js'
import { checkManifest, type Manifest, newManifest, type TrainingRecord } from './manifest.js'
import type { CodeScanner, InnerMetric, Quantizer, QuantizerState } from './quantizers/quantizer.js'
import { ScanScratch, scanAll } from './search/exhaustive.js'
import { ItemArrays } from './storage/item-arrays.js'
import { readSnapshot, writeSnapshot } from './storage/snapshot.js'
import { type ItemRows, SqliteStore, type StoredArray, type StoreOptions } from './storage/sqlite-store.js'
import type {
  BatchSearchResult, CodecSpec, ConnectionOptions, CreateOptions, DeleteOptions, MemoryUsage, Metadata, Metric,
  OpenOptions, SearchResult, StoredItem, TrainOptions, VectorStorage,
} from './types.js'
import { checkIds, checkK, checkKnownKeys, checkQuery, checkVectors } from './validate.js'

const CONNECTION_KEYS = ['durability', 'busyTimeoutMs', 'kernels'] as const
const CREATE_KEYS = ['dim', 'metric', 'description', 'codec', 'storeVectors', ...CONNECTION_KEYS] as const
const OPEN_KEYS = ['readonly', ...CONNECTION_KEYS] as const
const TRAIN_KEYS = ['seed', 'iterations', 'tolerance', 'init', 'maxPointsPerCentroid', 'onProgress', 'onWarning'] as const
const METRICS: readonly Metric[] = ['l2', 'ip', 'cosine']
const VECTOR_STORAGE: readonly VectorStorage[] = ['none', 'float32', 'float16']

/**
 * The public index: create / open / import, train, add / upsert / delete / get, search /
 * searchBatch, retrain, refresh, export, close. Vector sets are row-major Float32Arrays
 * (n*dim); results are typed arrays of k per query.
 */
export class VqIndex {
  /** Vector dimension. */
  readonly dim: number
  /** Metric (see the distance conventions in the README and types.ts). */
  readonly metric: Metric
  /** Canonical description string of the codec, e.g. "PQ16". */
  readonly description: string
  /** The codec as a typed spec, with defaults filled in. */
  readonly codec: CodecSpec
  /** Full-precision vectors kept on disk. */
  readonly storeVectors: VectorStorage
  /** Where the index lives: a file path or ':memory:'. */
  readonly path: string
  /** True when opened read-only. */
  readonly readonly: boolean
  readonly #kernels: Kernels
  readonly #inner: InnerMetric
  readonly #store: SqliteStore
  #manifest: Manifest
  #quantizer: Quantizer
  #items: ItemArrays
  /** Highest seq reflected in memory. */
  #loadedSeq = 0
  #closed = false
  readonly #scratch = new ScanScratch()
  /** Scanner of the current codec, made on first search (search is synchronous, so one suffices). */
  #scanner: CodeScanner | undefined

  /** Use VqIndex.create, VqIndex.open or VqIndex.import. */
  private constructor(store: SqliteStore, manifest: Manifest, kernels: Kernels) {
    this.#store = store
    this.#manifest = manifest
    this.path = store.path
    this.readonly = store.readonly
    this.dim = manifest.dim
    this.metric = manifest.metric
    this.codec = normalizeCodec(manifest.codec)
    this.description = manifest.description
    this.storeVectors = manifest.storeVectors
    this.#kernels = kernels
    this.#inner = manifest.metric === 'ip' ? 'ip' : 'l2'
    this.#quantizer = buildQuantizer(this.codec, this.dim, kernels)
    this.#items = new ItemArrays(this.#quantizer.codeSize)
  }

  /**
   * Creates a new, empty index: a new SQLite file at `path` (which must not exist:
   * FILE_EXISTS), or an in-memory database for ':memory:'. Throws VqOptionError for unknown
   * or invalid options (dimension, metric, description, PQ m not dividing dim, nbits out
   * of range, storeVectors), before anything is written.
   */
  static create(path: string, options: CreateOptions): VqIndex {
    checkPath(path)
    const { dim, metric, codec, storeVectors } = resolveCreateOptions(options)
    const kernels = getKernels(options.kernels)
    const manifest = newManifest(dim, metric, codec, formatDescription(codec), storeVectors)
    const store = SqliteStore.create(path, manifest, storeOptions(options))
    return new VqIndex(store, manifest, kernels)
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
        index = new VqIndex(store, manifest, kernels)
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
    try {
      readSnapshot(snapshotPath, {
        header: (m) => {
          const manifest = checkManifest(m, snapshotPath)
          cs = buildQuantizer(normalizeCodec(manifest.codec), manifest.dim, kernels).codeSize
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
            code: b.codes.subarray(i * cs, (i + 1) * cs),
            vector: b.vectors ? b.vectors.subarray(i * vb, (i + 1) * vb) : null,
            json: b.metadata[i] ?? null,
          }))), 'importing items')
        },
      })
      if (!store) throw new VqFormatError('BAD_FILE', `${snapshotPath}: empty snapshot`)
      const manifest = checkManifest(store.readManifest(), path)
      const index = new VqIndex(store, manifest, kernels)
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
    return this.#items.count
  }

  /** Same as size. */
  get count(): number {
    return this.#items.count
  }

  /** True when the codec is trained (always for Flat and SQfp16). */
  get isTrained(): boolean {
    return this.#quantizer.isTrained
  }

  /** Bytes per stored code. */
  get codeSize(): number {
    return this.#quantizer.codeSize
  }

  /** The codec (read-only use: decode, distance tables, exported state). */
  get quantizer(): Quantizer {
    return this.#quantizer
  }

  /** The manifest as last committed (a copy). */
  get manifest(): Manifest {
    return { ...this.#manifest }
  }

  /**
   * Trains the codec on x (row-major n*dim, n >= 1) and stores the trained arrays. Allowed
   * only while the index is empty (NOT_EMPTY otherwise: use retrain(), which re-encodes the
   * stored vectors). Training a codec that needs none (Flat, SQfp16) only validates x.
   */
  async train(x: Float32Array, options: TrainOptions = {}): Promise<void> {
    this.#writable()
    checkKnownKeys(options, TRAIN_KEYS, 'train')
    const { x: v, n } = checkVectors(x, this.dim, 'training vectors')
    if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'training needs at least one vector, got 0')
    if (this.#items.count > 0) {
      throw new VqStateError('NOT_EMPTY',
        `train() on an index holding ${this.#items.count} vectors would invalidate their codes; use retrain(), or train before adding`)
    }
    const q = this.#trainQuantizer(this.#prepare(v, n, 'training vectors'), n, options)
    this.#commit('saving the trained codec', (m) => {
      this.#store.writeArrays(storedArrays(q.exportState()))
      return { ...m, trained: true, training: trainingRecord(n, options), codesGeneration: m.codesGeneration + 1 }
    })
    this.#setQuantizer(q)
  }

  /**
   * Adds n vectors x (n*dim) under ids (length n; non-negative safe integers, unique in the
   * batch and not yet in the index: ID_EXISTS otherwise), with optional metadata (length n;
   * any JSON-serialisable values, null for none). All or nothing, in one transaction.
   */
  async add(ids: ArrayLike<number>, x: Float32Array, metadata?: readonly Metadata[]): Promise<void> {
    const rows = this.#checkedRows(ids, x, metadata)
    if (rows.ids.length === 0) return
    this.#commit('adding vectors', (m) => {
      this.#store.insertItems(rows, m.nextSeq)
      return { ...m, nextSeq: m.nextSeq + rows.ids.length, count: m.count + rows.ids.length }
    })
    this.#items.append(rows.ids, rows.codes)
  }

  /**
   * Adds or replaces: ids already in the index get the new vector and metadata (and move
   * to the end of the insertion order), the others are added. All or nothing.
   */
  async upsert(ids: ArrayLike<number>, x: Float32Array, metadata?: readonly Metadata[]): Promise<void> {
    const rows = this.#checkedRows(ids, x, metadata)
    if (rows.ids.length === 0) return
    let gone: number[] = []
    this.#commit('upserting vectors', (m) => {
      gone = this.#store.deleteItems(rows.ids, m.nextSeq)
      const first = m.nextSeq + gone.length
      this.#store.insertItems(rows, first)
      return { ...m, nextSeq: first + rows.ids.length, count: m.count - gone.length + rows.ids.length }
    })
    this.#items.remove(new Set(gone))
    this.#items.append(rows.ids, rows.codes)
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
    this.#items.remove(new Set(gone))
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
   * Re-trains the codec on the stored full-precision vectors and re-encodes every item, in
   * one transaction (NO_VECTORS when the index stores none). Searches keep the old codec
   * until the commit.
   */
  async retrain(options: TrainOptions = {}): Promise<void> {
    this.#writable()
    checkKnownKeys(options, TRAIN_KEYS, 'retrain')
    if (this.storeVectors === 'none') {
      throw new VqStateError('NO_VECTORS', 'retrain() needs the full vectors, but this index was created with storeVectors: "none"')
    }
    const n = this.#items.count
    if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'retrain() on an empty index: there is nothing to train on')
    const x = new Float32Array(n * this.dim)
    const seqs = new Float64Array(n)
    let i = 0
    this.#store.forEachVector((id, seq, bytes) => {
      if (i >= n || this.#items.idAt(i) !== id) throw new VqFormatError('CORRUPT_FILE', `${this.path}: stored vectors and loaded codes disagree at id ${id}`)
      x.set(decodeVector(bytes, this.storeVectors, this.dim), i * this.dim)
      seqs[i++] = seq
    })
    if (i !== n) throw new VqStateError('NO_VECTORS', `only ${i} of ${n} items have a stored vector`)
    const prepared = this.#prepare(x, n, 'stored vectors')
    const q = this.#trainQuantizer(prepared, n, options)
    const codes = new Uint8Array(n * q.codeSize)
    q.encode(prepared, n, codes)
    this.#commit('retraining', (m) => {
      this.#store.writeArrays(storedArrays(q.exportState()))
      this.#store.updateCodes(seqs, codes, q.codeSize)
      return { ...m, trained: true, training: trainingRecord(n, options), codesGeneration: m.codesGeneration + 1 }
    })
    this.#setQuantizer(q)
    this.#items.replaceCodes(codes)
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
      this.#items.remove(new Set(this.#store.tombstonesAfter(this.#loadedSeq)))
      this.#store.loadCodes(this.#loadedSeq, this.#items.codeSize, (ids, _seqs, codes) => this.#items.append(ids, codes))
      this.#manifest = m
      this.#loadedSeq = m.nextSeq - 1
    }, 'refreshing', 'read')
    return changed
  }

  /** Writes a portable snapshot of the whole index to a new file (FILE_EXISTS if it exists); returns the item count. */
  async export(path: string): Promise<number> {
    this.#open()
    return writeSnapshot(this.#store, path, this.#quantizer.codeSize)
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

  /** The decoded (approximate, for lossy codecs) vector stored under id; for cosine, the normalised vector. */
  reconstruct(id: number): Float32Array {
    this.#open()
    const pos = this.#items.positionOf(id)
    if (pos < 0) throw new VqInputError('UNKNOWN_ID', `id ${id} is not in the index`)
    const cs = this.#quantizer.codeSize
    const out = new Float32Array(this.dim)
    this.#quantizer.decode(this.#items.codes.subarray(pos * cs, (pos + 1) * cs), 1, out)
    return out
  }

  /** RAM held in memory by this index: codes, ids and trained arrays (vectors and metadata stay on disk). */
  memoryUsage(): MemoryUsage {
    const codes = this.#items.bytes - this.#items.ids.buffer.byteLength
    const ids = this.#items.ids.buffer.byteLength
    let trained = 0
    for (const a of Object.values(this.#quantizer.exportState().arrays)) trained += a.data.byteLength
    return { codes, ids, trained, total: codes + ids + trained }
  }

  /**
   * The k nearest stored vectors to q (one vector, length dim), nearest first. Results
   * are padded with id -1 and distance Infinity when the index holds fewer than k.
   */
  search(q: Float32Array, k: number): SearchResult {
    this.#open()
    const query = checkQuery(q, this.dim)
    checkK(k)
    this.#requireTrained('search')
    const ids = new Float64Array(k)
    const distances = new Float32Array(k)
    this.#searchOne(this.#prepare(query, 1, 'query'), 0, k, ids, distances, new Int32Array(k))
    return { ids, distances }
  }

  /**
   * Searches nq queries (row-major nq*dim) at once. Row i of the result equals search()
   * of query i.
   */
  async searchBatch(queries: Float32Array, k: number): Promise<BatchSearchResult> {
    this.#open()
    const { x, n: nq } = checkVectors(queries, this.dim, 'queries')
    checkK(k)
    this.#requireTrained('search')
    const prepared = this.#prepare(x, nq, 'queries')
    const ids = new Float64Array(nq * k)
    const distances = new Float32Array(nq * k)
    const pos = new Int32Array(k)
    for (let i = 0; i < nq; i++) {
      this.#searchOne(prepared, i * this.dim, k, ids.subarray(i * k, (i + 1) * k), distances.subarray(i * k, (i + 1) * k), pos)
    }
    return batchResult(nq, k, ids, distances)
  }

  /** Closes the file; every later call throws VqStateError('CLOSED'). Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#store.close()
    this.#items = new ItemArrays(this.#quantizer.codeSize, 0)
  }

  /** Loads trained arrays and every code (inside the caller's read transaction). */
  #loadAll(): void {
    const m = this.#manifest
    const q = buildQuantizer(this.codec, this.dim, this.#kernels)
    if (m.trained) {
      const arrays = this.#store.readArrays()
      q.loadState({ kind: this.codec.kind, params: {}, arrays })
    }
    const items = new ItemArrays(q.codeSize, Math.max(1024, m.count))
    this.#store.loadCodes(0, q.codeSize, (ids, _seqs, codes) => items.append(ids, codes))
    this.#setQuantizer(q)
    this.#items = items
    this.#loadedSeq = m.nextSeq - 1
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
  }

  /** Validates and encodes a batch for add/upsert. */
  #checkedRows(ids: ArrayLike<number>, x: Float32Array, metadata: readonly Metadata[] | undefined): ItemRows {
    this.#writable()
    const { x: v, n } = checkVectors(x, this.dim, 'vectors')
    const idv = checkIds(ids, n)
    const meta = checkMetadata(metadata, n)
    if (!this.#quantizer.isTrained) throw new VqStateError('NOT_TRAINED', `the ${this.description} codec must be trained before adding vectors`)
    const prepared = this.#prepare(v, n, 'vectors')
    const codes = new Uint8Array(n * this.#quantizer.codeSize)
    if (n > 0) this.#quantizer.encode(prepared, n, codes)
    const vb = vectorBytes(this.storeVectors, this.dim)
    return {
      ids: idv, codes, codeSize: this.#quantizer.codeSize,
      vectors: vb > 0 ? encodeVectors(v, n * this.dim, this.storeVectors) : undefined,
      vectorBytes: vb, metadata: meta,
    }
  }

  #trainQuantizer(x: Float32Array, n: number, options: TrainOptions): Quantizer {
    const q = buildQuantizer(this.codec, this.dim, this.#kernels)
    const { onProgress, ...rest } = options
    q.train(x, n, {
      ...rest,
      ...(onProgress ? { onProgress: (part, parts, p) => onProgress({ ...p, stage: this.codec.kind, part, parts }) } : {}),
    })
    return q
  }

  #setQuantizer(q: Quantizer): void {
    this.#quantizer = q
    this.#scanner = undefined
  }

  #searchOne(q: Float32Array, qOff: number, k: number, ids: Float64Array, dist: Float32Array, pos: Int32Array): void {
    const scanner = (this.#scanner ??= this.#quantizer.scanner(this.#inner))
    scanner.setQuery(q, qOff)
    const items = this.#items
    scanAll(scanner, items.codes, items.count, items.codeSize, k, dist, pos, this.#scratch)
    const cosine = this.metric === 'cosine'
    for (let j = 0; j < k; j++) {
      const p = pos[j]!
      ids[j] = p < 0 ? -1 : items.idAt(p)
      if (cosine && p >= 0) dist[j] = dist[j]! / 2
    }
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
    if (!this.#quantizer.isTrained) throw new VqStateError('NOT_TRAINED', `the ${this.description} codec must be trained before ${what}()`)
  }

  #open(): void {
    if (this.#closed) throw new VqStateError('CLOSED', 'the index is closed')
  }

  #writable(): void {
    this.#open()
    if (this.readonly) throw new VqStateError('READ_ONLY', `${this.path} is open read-only`)
  }
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
  return {
    ...(o.durability !== undefined ? { durability: o.durability } : {}),
    ...(o.busyTimeoutMs !== undefined ? { busyTimeoutMs: o.busyTimeoutMs } : {}),
  }
}

/** Removes the files of an index this process just created and failed to finish. */
function removeCreated(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) rmSync(f, { force: true })
}

function storedArrays(state: QuantizerState): Record<string, StoredArray> {
  const out: Record<string, StoredArray> = {}
  for (const [name, a] of Object.entries(state.arrays)) out[name] = { dtype: 'float32', shape: a.shape, data: a.data }
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
function vectorBytes(s: VectorStorage, dim: number): number {
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

/** Decodes one stored vector. */
function decodeVector(b: Uint8Array, s: VectorStorage, dim: number): Float32Array {
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

function resolveCreateOptions(options: CreateOptions): { dim: number; metric: Metric; codec: CodecSpec; storeVectors: VectorStorage } {
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
  let codec: CodecSpec
  if (options.description !== undefined) {
    if (typeof options.description !== 'string') throw new VqOptionError('BAD_DESCRIPTION', 'description must be a string such as "PQ16"')
    codec = normalizeCodec(parseDescription(options.description))
    if (options.codec !== undefined && JSON.stringify(normalizeCodec(options.codec)) !== JSON.stringify(codec)) {
      throw new VqOptionError('BAD_OPTION',
        `description "${options.description}" and codec ${JSON.stringify(options.codec)} disagree; give one of them`)
    }
  } else if (options.codec !== undefined) {
    codec = normalizeCodec(options.codec)
    if (!['flat', 'pq', 'sq8', 'sq4', 'fp16'].includes(codec.kind)) {
      throw new VqOptionError('BAD_OPTION', `codec.kind must be one of flat, pq, sq8, sq4, fp16; got "${String(codec.kind)}"`)
    }
  } else {
    codec = { kind: 'flat' }
  }
  // Build once to validate the codec's own constraints (m divides dim, nbits range, clip).
  buildQuantizer(codec, dim, getKernels(options.kernels))
  storeOptions(options)
  return { dim, metric, codec, storeVectors }
}
