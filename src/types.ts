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

/** Options of VqIndex.create. */
export interface CreateOptions {
  /** Vector dimension d (integer >= 1). */
  dim: number
  /** Metric. Default 'l2'. With 'cosine' vectors are L2-normalised on the way in and zero vectors are rejected. */
  metric?: Metric
  /** FAISS-style description of the codec: "Flat", "PQ16", "PQ32x4", "SQ8", "SQ4", "SQfp16". Default "Flat". */
  description?: string
  /** The same choice as a typed object; if both are given they must agree. */
  codec?: CodecSpec
  /** Kernel backend: 'ts' (default) or 'reference' (slow; for checks). */
  kernels?: 'ts' | 'reference'
}

/**
 * Options of VqIndex.train. All optional; the k-means ones (seed, iterations, tolerance,
 * init, maxPointsPerCentroid, onWarning) are documented on KMeansOptions and apply to
 * every k-means the codec runs (for PQ, one per sub-quantizer).
 */
export type TrainOptions = Pick<KMeansOptions, 'seed' | 'iterations' | 'tolerance' | 'init' | 'maxPointsPerCentroid' | 'onWarning'> & {
  /** Progress of training: which part (e.g. PQ sub-quantizer j of m) and its k-means progress. */
  onProgress?: (p: TrainProgress) => void
}

/** Progress event of training. */
export interface TrainProgress extends KMeansProgress {
  /** What is being trained, e.g. "pq" for product sub-quantizers. */
  readonly stage: string
  /** Index of the part being trained (sub-quantizer j) and how many parts there are. */
  readonly part: number
  readonly parts: number
}

/** Result of a single-query search: k entries in ascending distance, padded with id -1 / distance Infinity. */
export interface SearchResult {
  /** Ids, length k; -1 where fewer than k vectors exist. */
  readonly ids: Float64Array
  /** Distances (see the metric conventions above), length k; Infinity in padded slots. */
  readonly distances: Float32Array
}

/** Result of a batch search: nq rows of k, row-major, padded like SearchResult. */
export interface BatchSearchResult {
  readonly nq: number
  readonly k: number
  /** Ids, length nq*k; row i is [i*k, (i+1)*k). */
  readonly ids: Float64Array
  /** Distances, length nq*k. */
  readonly distances: Float32Array
  /** Views (no copy) of query i's row. */
  row(i: number): SearchResult
}
