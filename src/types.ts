/**
 * Public types of vqlite, and the glossary used across the code:
 * - d (`dim`): vector dimension; n: number of vectors; k: results per query;
 * - m: PQ sub-quantizers; nbits: bits per PQ sub-code; ksub = 2^nbits; dsub = d/m;
 * - code: the compressed form of one vector, `codeSize` bytes.
 *
 * Vector sets are row-major Float32Arrays: vector i is elements [i*d, (i+1)*d).
 *
 * Distances: smaller is always closer. Per metric, `distances` in results hold
 * - 'l2': the squared Euclidean distance;
 * - 'ip': the negated inner product, -<q, x>;
 * - 'cosine': the cosine distance, 1 - cos(q, x).
 * With compressed codecs they are the asymmetric estimates computed from the codes.
 */
import type { KMeansOptions, KMeansProgress } from './clustering/kmeans.js'
import type { TrainingRecord } from './manifest.js'

/** Similarity metric of an index. */
export type Metric = 'l2' | 'ip' | 'cosine'

/** Codec (how each vector is compressed), the typed equivalent of a description string. */
export type CodecSpec =
  /** Full float32 vectors: exact search. Description "Flat". */
  | { kind: 'flat' }
  /** Product quantizer: m sub-quantizers of 2^nbits centroids (nbits 1..8, default 8). Description "PQ{m}" or "PQ{m}x{nbits}". */
  | { kind: 'pq'; m: number; nbits?: number }
  /**
   * Scalar quantizer, 8 or 4 bits per dimension, with per-dimension ranges learned at
   * training. `clip` (0 <= clip < 0.5, default 0) trims that fraction of the training
   * values at each end of every dimension's range (quantile clipping). Descriptions "SQ8", "SQ4".
   */
  | { kind: 'sq8' | 'sq4'; clip?: number }
  /** IEEE half floats, 2 bytes per dimension, no training. Description "SQfp16". */
  | { kind: 'fp16' }
  /**
   * RaBitQ (Gao and Long, 2024): each vector, relative to a centroid (the list's under IVF)
   * and randomly rotated, kept as nbits bits per dimension (1, default; 2..9: extended
   * RaBitQ) plus a few floats of correction factors; distances come with an error bound.
   * Training draws the rotation (no codebooks). Descriptions "RaBitQ", "RaBitQ{nbits}"
   * ("RaBitQfs", FAISS's fast-scan name, is accepted as the same codec).
   */
  | { kind: 'rabitq'; nbits?: number }

/**
 * Re-ranking stage: exact distances on the stored full vectors ('flat', "RFlat"), or
 * distances from a second, finer codec kept in memory ("Refine(SQ8)").
 *
 * RFlat may be narrowed ("RFlat(PQ25)", { kind: 'flat', narrow: { kind: 'pq', m: 25 } }): a
 * codec kept in memory encodes each vector's first-stage error (the vector minus what the
 * first codec reconstructs); the k * refineFactor candidates are rescored with both codes
 * and only the best k * exactFactor (search option) are read from disk and ranked exactly.
 * The narrowing codec is PQ, SQ8, SQ4 or SQfp16; the first codec must be PQ or a scalar codec.
 */
export type RefineSpec = { kind: 'flat'; narrow?: CodecSpec } | { kind: 'codec'; codec: CodecSpec }

/** A learned rotation in front of the product quantizer (OPQ, Ge et al. 2014): m must equal the PQ's m; dOut (default d) may reduce the dimension. */
export type TransformSpec =
  | {
      /** OPQ rotation learned for a PQ of m sub-quantizers, to dOut (default: the input) dimensions. */
      kind: 'opq'
      m: number
      dOut?: number
    }
  | {
      /** Zero dimensions appended up to dOut (>= the input dimension): a PQ's m must divide dOut. */
      kind: 'pad'
      dOut: number
    }

/** Inverted-file partitioning: nlist lists from a k-means coarse quantizer. */
export interface IvfSpec {
  nlist: number
  /** Encode vectors relative to their list centroid (FAISS by_residual). Default: true for PQ, false for scalar codecs. */
  byResidual?: boolean
}

/** The whole index composition, the typed equivalent of a description string. */
export interface IndexSpec {
  transform?: TransformSpec
  ivf?: IvfSpec
  codec: CodecSpec
  refine?: RefineSpec
}

/**
 * Full-precision vectors kept on disk beside the codes (for re-ranking, get() and
 * retrain()): not at all, as float32 (4*d bytes) or as IEEE half floats (2*d bytes).
 */
export type VectorStorage = 'none' | 'float32' | 'float16'

/** How each commit reaches the disk: 'full' (SQLite synchronous=FULL, survives power loss) or 'normal' (synchronous=NORMAL in WAL mode: never corrupts, but the last commits may be lost on power loss). */
export type Durability = 'full' | 'normal'

/** Connection options of create / open / import. */
export interface ConnectionOptions {
  /** Default 'full'. */
  durability?: Durability
  /** How long a write waits for another connection's lock before failing with LOCKED. Default 5000 ms. */
  busyTimeoutMs?: number
  /**
   * Kernel backend: 'wasm' (WebAssembly SIMD, the default where the engine supports it;
   * adds 4-bit PQ fast-scan), 'ts' (plain TypeScript, the fallback) or 'reference' (slow;
   * for checks). Default: the VQLITE_KERNELS environment variable, else the fastest available.
   */
  kernels?: 'wasm' | 'ts' | 'reference'
  /** Worker threads of searchBatch (0: search on the calling thread). Default: the available parallelism. */
  threads?: number
}

/** Options of VqIndex.open. */
export interface OpenOptions extends ConnectionOptions {
  /** Open for reading only: writes throw READ_ONLY; refresh() picks up other processes' commits. Default false. */
  readonly?: boolean
  /**
   * The kind of ids the caller expects (it types the handle): 'integer' (default) or
   * 'string' must match the file (ID_KIND otherwise); 'any' opens either (ids typed number | string).
   */
  ids?: IdKind | 'any'
}

/** Options of VqIndex.import. */
export interface ImportOptions extends ConnectionOptions {
  /** The kind of ids the caller expects, as for open(): 'integer' (default), 'string' or 'any' (ID_KIND when the snapshot's differ). */
  ids?: IdKind | 'any'
}

/** Options of VqIndex.fromFaiss: the connection options (and ids, which can only be 'integer' or 'any': FAISS labels are integers). */
export type FaissImportOptions = ConnectionOptions & { ids?: 'integer' | 'any' }

/** Options of VqIndex.create. */
export interface CreateOptions extends ConnectionOptions {
  /** Vector dimension d (integer >= 1). */
  dim: number
  /** Metric. Default 'l2'. With 'cosine' vectors are L2-normalised on the way in and zero vectors are rejected. */
  metric?: Metric
  /**
   * FAISS-style description of the index: "Flat", "PQ16", "IVF1024,PQ16", "OPQ16,IVF1024,PQ16",
   * "IVF4096,PQ32x4", "IVF1024,SQ8,RFlat", "IVF4096,PQ16,Refine(SQ8)". Default "Flat".
   */
  description?: string
  /** The codec as a typed object (with transform, ivf and refine, the equivalent of description; if both are given they must agree). */
  codec?: CodecSpec
  /** OPQ rotation in front of the PQ codec. */
  transform?: TransformSpec
  /** Inverted-file partitioning. */
  ivf?: IvfSpec
  /** Re-ranking stage; 'flat' needs storeVectors. */
  refine?: RefineSpec
  /** Keep full-precision vectors on disk. Default 'none'. Needed by get(id).vector and retrain(). */
  storeVectors?: VectorStorage
  /**
   * How items are keyed: 'integer' (default: non-negative safe integers) or 'string' (any
   * non-empty string of at most MAX_KEY_LENGTH UTF-16 code units, e.g. UUIDs; kept in the
   * file, not in memory: search results look up their k keys).
   */
  ids?: IdKind
}

/** Metadata of one item: any JSON-serialisable value (stored as JSON text), or null for none. */
export type Metadata = unknown

/** How an index keys its items, chosen at create time: 'integer' or 'string'. */
export type IdKind = 'integer' | 'string'

/** An item id: a non-negative safe integer, or (ids: 'string') a non-empty string. */
export type Id = number | string

/** The id type of an id kind. */
export type IdOf<T extends IdKind | 'any'> = T extends 'string' ? string : T extends 'integer' ? number : Id

/** Ids as results hold them: a Float64Array for integer ids (-1 in padded slots), an array of strings for string ids ('' in padded slots). */
export type ResultIds<K extends Id> = K extends string ? string[] : Float64Array

/** Ids as add / upsert / delete take them. */
export type IdsInput<K extends Id> = K extends string ? readonly string[] : ArrayLike<number>

/** What get(id) and items() return. */
export interface StoredItem<M = Metadata, K extends Id = number> {
  readonly id: K
  /** The vector as added (not normalised), when the index stores vectors (and, for items(), includeVectors); else null. */
  readonly vector: Float32Array | null
  /** The metadata as added, or null. */
  readonly metadata: M | null
}

/** Options of items(). */
export interface ItemsOptions<M = Metadata> {
  /** Only the items whose metadata match. */
  filter?: Filter<M>
  /** Rows read from the file per step (1..10000, default 256): memory held at a time. */
  batchSize?: number
  /** Read each item's stored vector too (default false: vector is null). */
  includeVectors?: boolean
}

/** Options of add() and upsert(). */
export interface AddOptions {
  /**
   * When the index is not trained yet: train every stage on this batch first (true, or the
   * training options), and commit the trained model and the items in one transaction, so
   * a refused or failed call leaves the index untrained and empty. Ignored once trained.
   */
  train?: boolean | TrainOptions
  /** Cancels the call (VqAbortError ABORTED) until its commit; an aborted call changes nothing. See README, "Cancellation and progress". */
  signal?: AbortSignal
  /** Progress of the call (see AddProgress). A callback that throws fails the call with its error, nothing changed. */
  onProgress?: (p: AddProgress) => void
}

/**
 * Progress event of add() / upsert(): 'training' once before training on the batch (with
 * { train }), 'encoding' as vectors are encoded (done rising to total), 'committing' once
 * just before the commit (done = total). Events never go back; the last is 'committing'.
 */
export interface AddProgress {
  readonly phase: 'training' | 'encoding' | 'committing'
  /** Vectors encoded so far. */
  readonly done: number
  /** Vectors in the batch. */
  readonly total: number
}

/** Options of delete(). */
export interface DeleteOptions {
  /** Throw UNKNOWN_ID (and delete nothing) when an id is not in the index. Default false: unknown ids are skipped. */
  strict?: boolean
}

/** RAM held by an index's in-memory part, in bytes. */
export interface MemoryUsage {
  /** Codes (capacity of the code buffer). */
  readonly codes: number
  /** Ids (8 bytes each, capacity). */
  readonly ids: number
  /** Trained arrays (codebooks, ranges). */
  readonly trained: number
  /**
   * The fast-scan copies of 4-bit PQ codes in the WebAssembly backend's memory (packed in
   * blocks of 32; filled as lists are first searched; 0 without fast-scan). Each worker
   * thread of searchBatch holds its own copy, not counted here.
   */
  readonly fastScan: number
  /**
   * The other codes' copies in the WebAssembly backend's memory (8-bit PQ and SQ8 lists,
   * copied when a list is first scanned and again only when it changes; 0 on the plain
   * TypeScript kernels). Not counted for worker threads either.
   */
  readonly residentCodes: number
  /**
   * The WebAssembly backend's linear memory on this thread, as resident memory: the
   * fast-scan and resident copies above plus the pinned trained arrays, scratch and the
   * allocator's room to grow (it grows by doubling and never shrinks). Shared by every
   * index open on the thread. When the backend does not report its size, fastScan +
   * residentCodes; 0 on the plain TypeScript kernels.
   */
  readonly wasmMemory: number
  /**
   * Resident memory a process pays once, not per index nor per vector, and not in total:
   * the compiled WebAssembly module and the first SQLite connection (see FIXED_OVERHEAD
   * in src/engine/memory.ts). Node's own baseline, and its young generation (V8 grows it
   * up to 2 x 16 MB under any allocation-heavy work), are not counted at all.
   */
  readonly fixedOverhead: number
  /**
   * codes + ids + trained + fastScan + residentCodes: this index's own resident memory.
   * With one index open on the thread, opening and searching it adds about total +
   * fixedOverhead to the process's RssAnon + RssShmem (the WebAssembly memory's room to grow
   * is not resident until used; README, Memory).
   */
  readonly total: number
}

/**
 * Options of VqIndex.train. All optional; the k-means ones (seed, iterations, tolerance,
 * init, maxPointsPerCentroid, onWarning) are documented on KMeansOptions and apply to
 * every k-means the codec runs (for PQ, one per sub-quantizer).
 */
export type TrainOptions = Pick<KMeansOptions, 'seed' | 'iterations' | 'tolerance' | 'init' | 'maxPointsPerCentroid' | 'onWarning'> & {
  /** k-means iterations of the IVF coarse quantizer. Default 10. */
  ivfIterations?: number
  /** Train the IVF coarse quantizer on at most nlist * this many points. Default 64. */
  ivfMaxPointsPerCentroid?: number
  /** OPQ alternations (PQ training / rotation update). Default 20. */
  opqIterations?: number
  /**
   * Progress of training: which stage ('opq', 'ivf', 'codec'), which part (e.g. PQ
   * sub-quantizer j of m) and its k-means progress; retrain() then reports stage
   * 'encoding' as it re-encodes the items (done / total). A callback that throws fails the
   * call with its error, nothing changed.
   */
  onProgress?: (p: TrainProgress) => void
  /** Cancels the call (VqAbortError ABORTED) until its commit; an aborted call changes nothing. */
  signal?: AbortSignal
}

/** Progress event of training. */
export interface TrainProgress extends KMeansProgress {
  /** What is being trained, e.g. "pq" for product sub-quantizers. */
  readonly stage: string
  /** Index of the part being trained (sub-quantizer j) and how many parts there are. */
  readonly part: number
  readonly parts: number
  /**
   * Stage 'encoding' (retrain's re-encoding; phase 'iterate', iteration = done, iterations =
   * total, objective NaN): items encoded so far, rising to total. Absent for training stages.
   */
  readonly done?: number
  readonly total?: number
}

/**
 * Result of a single-query search: k entries in ascending distance, padded with id -1 ('' for
 * string ids) and distance Infinity.
 */
export interface SearchResult<K extends Id = number, M = Metadata> {
  /** Ids, length k; -1 ('' for string ids) where fewer than k vectors exist. */
  readonly ids: ResultIds<K>
  /** Distances (see the metric conventions above), length k; Infinity in padded slots. */
  readonly distances: Float32Array
  /** With includeMetadata: each result's metadata, length k (null for none and in padded slots). */
  readonly metadata?: (M | null)[]
}

/** Result of a batch search: nq rows of k, row-major, padded like SearchResult. */
export interface BatchSearchResult<K extends Id = number, M = Metadata> {
  readonly nq: number
  readonly k: number
  /** Ids, length nq*k; row i is [i*k, (i+1)*k). */
  readonly ids: ResultIds<K>
  /** Distances, length nq*k. */
  readonly distances: Float32Array
  /** With includeMetadata: metadata of every result, length nq*k. */
  readonly metadata?: (M | null)[]
  /** Query i's row (typed-array views, no copy; string ids and metadata are sliced). */
  row(i: number): SearchResult<K, M>
  /** The rows in query order: `for (const row of result)`. */
  [Symbol.iterator](): Iterator<SearchResult<K, M>>
}

/** A scalar a filter compares metadata fields with. */
export type FilterValue = string | number | boolean | null

/** Conditions on one field; several in one object must all hold. V: the values the field may be compared with. */
export interface FieldOperators<V extends FilterValue = FilterValue> {
  $eq?: V | null
  $ne?: V | null
  $in?: readonly (V | null)[]
  $nin?: readonly (V | null)[]
  $gt?: Extract<V, number | string>
  $gte?: Extract<V, number | string>
  $lt?: Extract<V, number | string>
  $lte?: Extract<V, number | string>
  /** true: the field is present and not null; false: absent or null. */
  $exists?: boolean
  /** A string field starting with this string. */
  $prefix?: string
}

/**
 * A structured predicate over item metadata (compiled to a parameterised SQL query over
 * the stored JSON; values are bound, never spliced into SQL). Keys are field paths
 * ("genre", "author.name") or "$id" for the item id; a bare value means equality. Several
 * keys must all hold. Example: { genre: 'jazz', year: { $gte: 1960 }, $or: [{ label: 'Blue Note' }, { label: 'Impulse!' }] }.
 * This is the untyped form; Filter<M> checks field paths and value types against M.
 */
export interface UntypedFilter {
  [field: string]: FilterValue | FieldOperators | readonly UntypedFilter[] | UntypedFilter | undefined
  $and?: readonly UntypedFilter[]
  $or?: readonly UntypedFilter[]
  $not?: UntypedFilter
}

/** The scalar values a field of type V compares with (every scalar when V is unknown). */
export type FilterValueOf<V> = unknown extends V
  ? FilterValue
  : V extends string | number | boolean
    ? V extends string
      ? string
      : V extends number
        ? number
        : boolean
    : V extends null | undefined
      ? null
      : never

/** A condition on one field of type V: a bare value (equality) or operators. */
export type FieldCondition<V> = FilterValueOf<V> | FieldOperators<FilterValueOf<V>>

type Depth = [never, 0, 1, 2, 3, 4]

/** The dotted field paths of a metadata type (objects nested up to 5 levels; arrays are one value). */
export type FieldPaths<M, D extends number = 5> = [D] extends [never]
  ? never
  : M extends readonly unknown[]
    ? never
    : M extends object
      ? {
          [P in keyof M & string]:
            | P
            | (NonNullable<M[P]> extends readonly unknown[]
                ? never
                : NonNullable<M[P]> extends object
                  ? `${P}.${FieldPaths<NonNullable<M[P]>, Depth[D]>}`
                  : never)
        }[keyof M & string]
      : never

/** The type of the field at a dotted path of M. */
export type FieldAt<M, P extends string> = P extends `${infer H}.${infer R}`
  ? H extends keyof M
    ? FieldAt<NonNullable<M[H]>, R>
    : unknown
  : P extends keyof M
    ? M[P]
    : unknown

/** A filter whose field paths and value types are checked against the metadata type M. */
export type TypedFilter<M> = { [P in FieldPaths<M>]?: FieldCondition<FieldAt<M, P>> } & {
  $id?: FieldCondition<number | string>
  $and?: readonly TypedFilter<M>[]
  $or?: readonly TypedFilter<M>[]
  $not?: TypedFilter<M>
}

/**
 * A filter over metadata of type M: with M unknown (the default) any field path
 * (UntypedFilter); with a declared metadata type, its field paths and their value types
 * (TypedFilter). Semantics: README, "Filters".
 */
export type Filter<M = unknown> = unknown extends M ? UntypedFilter : TypedFilter<M>

/** Options of search() and searchBatch(). */
export interface SearchOptions<M = Metadata> {
  /** IVF lists to probe. Default 20 (capped at nlist); ignored without IVF. */
  nprobe?: number
  /** With a refine stage, re-rank k*refineFactor candidates. Default 1 (re-rank the k found). */
  refineFactor?: number
  /**
   * RaBitQ codecs: bits per component of the quantized query (FAISS's qb), 0..8. Default 4,
   * as FAISS. 1-bit codes are scanned with byte lookup tables, exact up to 7 bits: 0 (FAISS's
   * float query) and 8 are served at 7. Ignored by other codecs.
   */
  qb?: number
  /**
   * RaBitQ codecs with RFlat: read only the candidates whose error bound lets them still
   * be among the k nearest (default true); false reads every candidate, as plain RFlat.
   */
  errorBounds?: boolean
  /**
   * Narrowed RFlat ("RFlat(PQ25)"): the candidates read from disk and ranked exactly,
   * k * exactFactor of the k * refineFactor rescored in memory. Default 2, 1..MAX_REFINE_FACTOR.
   * Ignored by other refine stages.
   */
  exactFactor?: number
  /** Only items whose metadata match (pre-filtering: k results whenever k items match). */
  filter?: Filter<M>
  /** Return each result's metadata too (`metadata`, read for the k results in one statement). Default false. */
  includeMetadata?: boolean
}

/** Options of searchBatch(). */
export interface BatchSearchOptions<M = Metadata> extends SearchOptions<M> {
  /** Worker threads for this call: 0 searches on the calling thread. Default: the pool size (available parallelism). */
  threads?: number
  /** Cancels the batch (VqAbortError ABORTED): the workers stop after their current chunk; the pool stays up. */
  signal?: AbortSignal
  /** Progress of the batch (queries done, rising to total). A callback that throws fails the call with its error. */
  onProgress?: (p: BatchProgress) => void
}

/** Progress event of searchBatch(): queries searched so far of total. */
export interface BatchProgress {
  readonly done: number
  readonly total: number
}

/** Options of export(). */
export interface ExportOptions {
  /** Cancels the export (VqAbortError ABORTED) until the snapshot file is in place; the half-written file is removed. */
  signal?: AbortSignal
}

/** What the last search() did, from lastSearchStats(). */
export interface SearchStats {
  /** IVF lists probed (1 without IVF). */
  readonly listsProbed: number
  /** Codes scored (with a filter: the allowed ones only, when only those are scored). */
  readonly codesScanned: number
  /** Candidates re-ranked: stored vectors read from the file (RFlat) or refine codes rescored. */
  readonly rowsRead: number
}

/** List balance of an IVF index, from stats(). */
export interface IndexStats {
  readonly count: number
  readonly nlist: number
  /** Items per list, length nlist. */
  readonly listSizes: Int32Array
  readonly minList: number
  readonly maxList: number
  readonly emptyLists: number
  /**
   * FAISS's imbalance factor, nlist * sum(size^2) / count^2: 1 for perfectly even lists;
   * search cost grows with it. Well above ~2, retrain() on the current data.
   */
  readonly imbalance: number
}

/** What storageInfo() reports about the index file. */
export interface StorageInfo {
  /** SQLite journal mode ('wal' for index files). */
  readonly journalMode: string
  /** SQLite synchronous level: 'full' or 'normal' as durability asks. */
  readonly synchronous: 'off' | 'normal' | 'full' | 'extra'
  /** Index format version of the file. */
  readonly formatVersion: number
  /** File size in bytes (pages * page size). */
  readonly fileBytes: number
}

/**
 * A trained model as plain data (VqIndex.exportModel / createFromModel): everything an empty
 * index needs to encode exactly as the index it came from. Arrays are named as the index
 * stores them ("ivf.centroids", "codec.centroids", "opq.R", ...).
 */
export interface TrainedModel {
  readonly dim: number
  readonly metric: Metric
  readonly description: string
  readonly storeVectors: VectorStorage
  readonly ids: IdKind
  /** How it was trained (null when unknown). */
  readonly training: TrainingRecord | null
  readonly arrays: Readonly<Record<string, { readonly shape: readonly number[]; readonly data: Float32Array }>>
}
