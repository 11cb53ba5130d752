/**
 * VqIndex: the public index. It composes a codec (Quantizer) with an item table and the
 * exhaustive scan, and owns the metric mapping:
 * - 'l2': codecs work on squared L2;
 * - 'ip': codecs work on the negated inner product;
 * - 'cosine': vectors are L2-normalised on the way in (zero vectors rejected), codecs work
 *   on squared L2 of unit vectors, and distances are reported as 1 - cos = L2^2 / 2.
 *
 * Every public method validates first and mutates last: a rejected call changes nothing.
 */
import type { Kernels } from '../native-free-kernels/index.js'
import { getKernels } from '../native-free-kernels/index.js'
import { VqInputError, VqOptionError, VqStateError } from './errors.js'
import { buildQuantizer } from './factory/build.js'
import { formatDescription, normalizeCodec, parseDescription } from './factory/parse.js'
import type { CodeScanner, InnerMetric, Quantizer } from './quantizers/quantizer.js'
import { ScanScratch, scanAll } from './search/exhaustive.js'
import { ItemArrays } from './storage/item-arrays.js'
import type {
  BatchSearchResult, CodecSpec, CreateOptions, Metric, SearchResult, TrainOptions,
} from './types.js'
import { checkIds, checkK, checkKnownKeys, checkQuery, checkVectors } from './validate.js'

const CREATE_KEYS = ['dim', 'metric', 'description', 'codec', 'kernels'] as const
const TRAIN_KEYS = ['seed', 'iterations', 'tolerance', 'init', 'maxPointsPerCentroid', 'onProgress', 'onWarning'] as const
const METRICS: readonly Metric[] = ['l2', 'ip', 'cosine']

/** Resolved, validated creation options. */
interface IndexConfig {
  readonly dim: number
  readonly metric: Metric
  readonly codec: CodecSpec
  readonly kernels: Kernels
}

/**
 * The public index: create, train, add, search, searchBatch, close. Vector sets are
 * row-major Float32Arrays (n*dim); results are typed arrays of k per query.
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
  readonly #kernels: Kernels
  readonly #inner: InnerMetric
  #quantizer: Quantizer
  #items: ItemArrays
  #closed = false
  readonly #scratch = new ScanScratch()
  /** Scanner of the current codec, made on first search (search is synchronous, so one suffices). */
  #scanner: CodeScanner | undefined

  /** Use VqIndex.create. */
  private constructor(config: IndexConfig) {
    this.dim = config.dim
    this.metric = config.metric
    this.codec = config.codec
    this.description = formatDescription(config.codec)
    this.#kernels = config.kernels
    this.#inner = config.metric === 'ip' ? 'ip' : 'l2'
    this.#quantizer = buildQuantizer(config.codec, config.dim, config.kernels)
    this.#items = new ItemArrays(this.#quantizer.codeSize)
  }

  /**
   * Creates an empty index. `path` is where the index lives; today only ':memory:' is
   * supported (file storage comes with the SQLite layer).
   * Throws VqOptionError for unknown or invalid options (dimension, metric, description,
   * PQ m not dividing dim, nbits out of range).
   */
  static create(path: string, options: CreateOptions): VqIndex {
    if (path !== ':memory:') {
      throw new VqOptionError('UNSUPPORTED', `only ':memory:' indexes exist in this version; got path "${path}"`)
    }
    return new VqIndex(resolveOptions(options))
  }

  /** Number of vectors in the index. */
  get size(): number {
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

  /**
   * Trains the codec on x (row-major n*dim, n >= 1). Allowed only while the index is
   * empty (codes of stored vectors would no longer match). Training a codec that needs
   * none (Flat, SQfp16) only validates x.
   */
  async train(x: Float32Array, options: TrainOptions = {}): Promise<void> {
    this.#open()
    checkKnownKeys(options, TRAIN_KEYS, 'train')
    const { x: v, n } = checkVectors(x, this.dim, 'training vectors')
    if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'training needs at least one vector, got 0')
    if (this.#items.count > 0) {
      throw new VqStateError('NOT_EMPTY',
        `train() on an index holding ${this.#items.count} vectors would invalidate their codes; train before adding`)
    }
    const prepared = this.#prepare(v, n, 'training vectors')
    // Train a fresh codec and swap it in only on success.
    const q = buildQuantizer(this.codec, this.dim, this.#kernels)
    const { onProgress, ...rest } = options
    q.train(prepared, n, {
      ...rest,
      ...(onProgress ? { onProgress: (part, parts, p) => onProgress({ ...p, stage: this.codec.kind, part, parts }) } : {}),
    })
    this.#quantizer = q
    this.#scanner = undefined
    this.#items = new ItemArrays(q.codeSize)
  }

  /**
   * Adds n vectors x (n*dim) under the given ids (length n; non-negative safe integers,
   * unique, not already in the index). All or nothing.
   */
  async add(ids: ArrayLike<number>, x: Float32Array): Promise<void> {
    this.#open()
    const { x: v, n } = checkVectors(x, this.dim, 'vectors')
    const idv = checkIds(ids, n)
    for (let i = 0; i < n; i++) {
      if (this.#items.positionOf(idv[i]!) >= 0) {
        throw new VqInputError('ID_EXISTS', `id ${idv[i]} is already in the index (position ${i} of the batch)`)
      }
    }
    if (!this.#quantizer.isTrained) throw new VqStateError('NOT_TRAINED', `the ${this.description} codec must be trained before add()`)
    if (n === 0) return
    const prepared = this.#prepare(v, n, 'vectors')
    const codes = new Uint8Array(n * this.#quantizer.codeSize)
    this.#quantizer.encode(prepared, n, codes)
    this.#items.append(idv, codes)
  }

  /** True when id is in the index. */
  has(id: number): boolean {
    return this.#items.positionOf(id) >= 0
  }

  /** The decoded (approximate, for lossy codecs) vector stored under id; for cosine, the normalised vector. */
  reconstruct(id: number): Float32Array {
    this.#open()
    const pos = this.#items.positionOf(id)
    if (pos < 0) throw new VqInputError('BAD_IDS', `id ${id} is not in the index`)
    const cs = this.#quantizer.codeSize
    const out = new Float32Array(this.dim)
    this.#quantizer.decode(this.#items.codes.subarray(pos * cs, (pos + 1) * cs), 1, out)
    return out
  }

  /**
   * The k nearest stored vectors to q (one vector, length dim), nearest first. Results
   * are padded with id -1 and distance Infinity when the index holds fewer than k.
   */
  search(q: Float32Array, k: number): SearchResult {
    this.#open()
    const query = checkQuery(q, this.dim)
    checkK(k)
    this.#requireTrained()
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
    this.#requireTrained()
    const prepared = this.#prepare(x, nq, 'queries')
    const ids = new Float64Array(nq * k)
    const distances = new Float32Array(nq * k)
    const pos = new Int32Array(k)
    for (let i = 0; i < nq; i++) {
      this.#searchOne(prepared, i * this.dim, k, ids.subarray(i * k, (i + 1) * k), distances.subarray(i * k, (i + 1) * k), pos)
    }
    return batchResult(nq, k, ids, distances)
  }

  /** Releases the index; every later call throws VqStateError('CLOSED'). */
  close(): void {
    this.#closed = true
    this.#items = new ItemArrays(this.#quantizer.codeSize, 0)
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

  #requireTrained(): void {
    if (!this.#quantizer.isTrained) throw new VqStateError('NOT_TRAINED', `the ${this.description} codec must be trained before search()`)
  }

  #open(): void {
    if (this.#closed) throw new VqStateError('CLOSED', 'the index is closed')
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

function resolveOptions(options: CreateOptions): IndexConfig {
  if (options === null || typeof options !== 'object') throw new VqOptionError('BAD_OPTION', 'create() needs an options object with at least { dim }')
  checkKnownKeys(options, CREATE_KEYS, 'create')
  const { dim } = options
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1 || dim > 65536) {
    throw new VqOptionError('BAD_OPTION', `dim must be an integer from 1 to 65536, got ${String(dim)}`)
  }
  const metric = options.metric ?? 'l2'
  if (!METRICS.includes(metric)) throw new VqOptionError('BAD_OPTION', `metric must be one of ${METRICS.join(', ')}; got "${String(metric)}"`)
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
  const kernels = getKernels(options.kernels)
  // Build once to validate the codec's own constraints (m divides dim, nbits range, clip).
  buildQuantizer(codec, dim, kernels)
  return { dim, metric, codec, kernels }
}
