/**
 * Product quantizer (Jegou, Douze, Schmid 2011). A vector of dimension d is cut into m
 * sub-vectors of dsub = d/m dimensions; sub-vector j is replaced by the index of its
 * nearest centroid among ksub = 2^nbits learned by k-means on sub-space j. A code is the
 * m sub-codes packed LSB first: ceil(m*nbits/8) bytes (see native-free-kernels/codes.ts).
 *
 * Query time uses asymmetric distance computation (ADC): a table of m*ksub distances
 * between the query's sub-vectors and every centroid, then one table lookup per
 * sub-code: ||q - x^||^2 = sum_j ||q_j - c_j[code_j]||^2 exactly, and likewise for <q, x^>.
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import { packCodes, pqCodeSize, unpackCodes } from '../../native-free-kernels/index.js'
import { assignPausing, type KMeansOptions, trainKMeans, trainKMeansWith } from '../clustering/kmeans.js'
import { VqInputError, VqOptionError } from '../errors.js'
import { Rng } from '../util/random.js'
import { codeListPlan, type ListScanPlan, type ListScanSetup } from './list-scanner.js'
import { fastScanSupported, Pq4FastScanScanner } from './pq4-fastscan-scanner.js'
import {
  assertTrained,
  type CodeScanner,
  expectArray,
  type InnerMetric,
  PARALLEL_MIN_WORK,
  type ParallelTraining,
  type Quantizer,
  type QuantizerState,
  type QuantizerTrainOptions,
} from './quantizer.js'

/** Vectors encoded per block, bounding the scratch memory of encode(). */
const ENCODE_BLOCK = 4096

/** A product quantizer over vectors of dimension dim (see the module comment). */
export class ProductQuantizer implements Quantizer {
  /** Dimension d. */
  readonly dim: number
  /** Number of sub-quantizers. */
  readonly m: number
  /** Bits per sub-code (1..8). */
  readonly nbits: number
  /** Centroids per sub-space, 2^nbits. */
  readonly ksub: number
  /** Dimensions per sub-space, dim/m. */
  readonly dsub: number
  /** Bytes per code: ceil(m*nbits/8). */
  readonly codeSize: number
  /**
   * 8-bit codes with m not a multiple of 4 are scanned padded to mScan = ceil(m/4)*4 bytes
   * (zero sub-codes against zero table rows), so the ADC kernel can read four sub-codes per
   * 32-bit load: e.g. m = 25 scans 28 bytes, about 1.6x faster than the byte-wise path.
   */
  readonly scanCodeSize: number
  /** Centroids, layout (m, ksub, dsub): length m*ksub*dsub. Empty until trained. */
  centroids: Float32Array
  readonly #kernels: Kernels
  #trained = false
  /** decode()'s sub-code scratch. */
  #decodeSub = new Int32Array(0)

  /** Throws VqOptionError when m does not divide dim or nbits is not in 1..8. */
  constructor(dim: number, m: number, nbits: number, kernels: Kernels) {
    if (!Number.isInteger(m) || m < 1) throw new VqOptionError('BAD_OPTION', `PQ m must be a positive integer, got ${m}`)
    if (dim % m !== 0) {
      const padded = Math.ceil(dim / m) * m
      throw new VqOptionError(
        'BAD_OPTION',
        `PQ m = ${m} must divide the dimension ${dim} (d/m is the sub-vector length); pad the vectors with zeros to ${padded} dimensions (a "Pad${padded}" first stage of the description) or pick an m that divides ${dim}`,
      )
    }
    if (!Number.isInteger(nbits) || nbits < 1 || nbits > 8) {
      throw new VqOptionError('BAD_OPTION', `PQ nbits must be an integer from 1 to 8, got ${nbits}`)
    }
    this.dim = dim
    this.m = m
    this.nbits = nbits
    this.ksub = 1 << nbits
    this.dsub = dim / m
    this.codeSize = pqCodeSize(m, nbits)
    this.scanCodeSize = nbits === 8 ? Math.ceil(m / 4) * 4 : this.codeSize
    this.centroids = new Float32Array(0)
    this.#kernels = kernels
  }

  /** True once train() has succeeded. */
  get isTrained(): boolean {
    return this.#trained
  }

  /**
   * Trains the m sub-quantizers with k-means (ksub centroids each) on the same training
   * subset: at most ksub*maxPointsPerCentroid of the n vectors, sampled with the seed.
   */
  train(x: Float32Array, n: number, options: QuantizerTrainOptions = {}): void {
    const rows = this.trainingRows(n, options)
    const centroids = new Float32Array(this.m * this.ksub * this.dsub)
    this.trainSubspaces(x, rows, 0, this.m, options, centroids)
    this.setCentroids(centroids)
  }

  /**
   * The training subset for n vectors: null for all of them, else the sorted rows of a
   * seeded sample of ksub*maxPointsPerCentroid. Throws TOO_FEW_TRAINING_POINTS when n < ksub.
   */
  trainingRows(n: number, options: QuantizerTrainOptions = {}): { n: number; rows: Int32Array | null } {
    const { ksub } = this
    if (n < ksub) {
      throw new VqInputError(
        'TOO_FEW_TRAINING_POINTS',
        `PQ with nbits = ${this.nbits} has ${ksub} centroids per sub-space and needs at least ${ksub} training vectors, got ${n}`,
      )
    }
    const cap = ksub * (options.maxPointsPerCentroid ?? 256)
    if (n <= cap) return { n, rows: null }
    return { n, rows: new Rng((options.seed ?? 1234) ^ 0x5eed).sample(n, Math.floor(cap)).sort() }
  }

  /**
   * Trains sub-quantizers j0..j1-1 on the training subset of x (n*dim, subset from
   * trainingRows) and writes their centroids into out (layout (m, ksub, dsub)). Sub-space j
   * always uses seed + j, so any split of the sub-spaces (over worker threads, say) gives
   * the same codebook.
   */
  trainSubspaces(
    x: Float32Array,
    subset: { n: number; rows: Int32Array | null },
    j0: number,
    j1: number,
    options: QuantizerTrainOptions,
    out: Float32Array,
  ): void {
    const { dsub, ksub } = this
    for (const job of this.#subspaces(x, subset, j0, j1, options)) {
      out.set(trainKMeans(job.sub, job.nt, dsub, ksub, job.options).centroids, job.j * ksub * dsub)
    }
  }

  /**
   * train() that awaits `pause` between k-means assignment blocks (a cancellable caller's
   * checkpoint, which may throw to stop): the same codebook as train().
   */
  async trainPausing(x: Float32Array, n: number, options: QuantizerTrainOptions, pause: () => Promise<void> | undefined): Promise<void> {
    const { dsub, ksub } = this
    const rows = this.trainingRows(n, options)
    const centroids = new Float32Array(this.m * ksub * dsub)
    const kernels = this.#kernels
    for (const job of this.#subspaces(x, rows, 0, this.m, options)) {
      const res = await trainKMeansWith(job.sub, job.nt, dsub, ksub, job.options, (r) => assignPausing(kernels, r, pause))
      centroids.set(res.centroids, job.j * ksub * dsub)
    }
    this.setCentroids(centroids)
  }

  /** Sub-space j's training data (gathered into one buffer, reused from one j to the next) and k-means options, for j0..j1-1. */
  *#subspaces(
    x: Float32Array,
    subset: { n: number; rows: Int32Array | null },
    j0: number,
    j1: number,
    options: QuantizerTrainOptions,
  ): Generator<{ j: number; sub: Float32Array; nt: number; options: KMeansOptions }> {
    const { m, dsub, ksub, dim } = this
    const { rows } = subset
    const nt = rows ? rows.length : subset.n
    const seed = options.seed ?? 1234
    const sub = new Float32Array(nt * dsub)
    const { onProgress, initialCentroids, ...kmOptions } = options
    for (let j = j0; j < j1; j++) {
      for (let i = 0; i < nt; i++) {
        const src = (rows ? rows[i]! : i) * dim + j * dsub
        for (let t = 0; t < dsub; t++) sub[i * dsub + t] = x[src + t]!
      }
      yield {
        j,
        sub,
        nt,
        options: {
          ...kmOptions,
          // A warm start gives the whole (m, ksub, dsub) codebook; sub-space j uses its slice.
          ...(initialCentroids ? { initialCentroids: initialCentroids.subarray(j * ksub * dsub, (j + 1) * ksub * dsub) } : {}),
          seed: seed + j,
          maxPointsPerCentroid: Infinity,
          kernels: this.#kernels,
          ...(onProgress ? { onProgress: (p) => onProgress(j, m, p) } : {}),
          // Warn once for the whole PQ, not m times.
          ...(j > 0 ? { onWarning: undefined } : {}),
        },
      }
    }
  }

  /**
   * train() with the sub-quantizers trained on worker threads (the same codebook); false
   * (nothing done) when the work is too small to be worth the hand-off.
   */
  async trainWith(x: Float32Array, n: number, options: QuantizerTrainOptions, parallel: ParallelTraining): Promise<boolean> {
    if (parallel.threads <= 1 || Math.min(n, this.ksub * (options.maxPointsPerCentroid ?? 256)) * this.ksub * this.dim < PARALLEL_MIN_WORK)
      return false
    this.setCentroids(await parallel.trainPq(this, x, n, options))
    return true
  }

  /** Installs a trained codebook (layout (m, ksub, dsub)). */
  setCentroids(centroids: Float32Array): void {
    this.centroids = centroids
    this.#trained = true
  }

  /** Sub-codes of n vectors: out[i*m + j] = nearest centroid of sub-vector j of vector i. */
  computeSubCodes(x: Float32Array, n: number, out: Int32Array): void {
    assertTrained(this, 'ProductQuantizer', 'encoding')
    const { m, dsub, ksub, dim } = this
    const k = this.#kernels
    const block = Math.min(n, ENCODE_BLOCK)
    const sub = new Float32Array(block * dsub)
    const idx = new Int32Array(block)
    const dist = new Float32Array(block)
    const norms = new Float64Array(ksub)
    for (let j = 0; j < m; j++) {
      const cj = this.centroids.subarray(j * ksub * dsub, (j + 1) * ksub * dsub)
      k.normsL2sqr(cj, ksub, dsub, norms)
      for (let i0 = 0; i0 < n; i0 += block) {
        const b = Math.min(block, n - i0)
        for (let i = 0; i < b; i++) {
          const src = (i0 + i) * dim + j * dsub
          for (let t = 0; t < dsub; t++) sub[i * dsub + t] = x[src + t]!
        }
        k.nearestL2(sub, b, cj, ksub, dsub, norms, idx, dist)
        for (let i = 0; i < b; i++) out[(i0 + i) * m + j] = idx[i]!
      }
    }
  }

  /** Encodes n vectors x (n*dim floats) into out (n*codeSize bytes): nearest centroid per sub-space, packed. */
  encode(x: Float32Array, n: number, out: Uint8Array): void {
    const subCodes = new Int32Array(n * this.m)
    this.computeSubCodes(x, n, subCodes)
    packCodes(subCodes, n, this.m, this.nbits, out)
  }

  /** Decodes n codes (n*codeSize bytes) into out (n*dim floats): the concatenated centroids. */
  decode(codes: Uint8Array, n: number, out: Float32Array): void {
    assertTrained(this, 'ProductQuantizer', 'decoding')
    const { m, dsub, ksub, dim } = this
    // Scratch kept between calls: the searcher decodes a few hundred codes per query.
    if (this.#decodeSub.length < n * m) this.#decodeSub = new Int32Array(n * m)
    const sub = this.#decodeSub
    unpackCodes(codes, n, m, this.nbits, sub)
    const cen = this.centroids
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const c = (j * ksub + sub[i * m + j]!) * dsub
        const o = i * dim + j * dsub
        for (let t = 0; t < dsub; t++) out[o + t] = cen[c + t]!
      }
    }
  }

  /**
   * Distance table for one query: table[j*ksub + c] = ||q_j - c_j[c]||^2 ('l2') or
   * -<q_j, c_j[c]> ('ip'), so that the ADC sum is the internal distance. out: m*ksub.
   */
  computeTable(metric: InnerMetric, q: Float32Array, qOff: number, out: Float32Array): void {
    assertTrained(this, 'ProductQuantizer', 'scanning')
    const { m, ksub, dsub } = this
    if (metric === 'l2') {
      this.#kernels.pqTableL2(q, qOff, this.centroids, m, ksub, dsub, out)
    } else {
      this.#kernels.pqTableIP(q, qOff, this.centroids, m, ksub, dsub, out)
      for (let i = 0; i < m * ksub; i++) out[i] = -out[i]!
    }
  }

  /** ADC scanner over codes of scanCodeSize bytes: setQuery builds the m*ksub table, scan sums one entry per sub-code. */
  scanner(metric: InnerMetric): CodeScanner {
    const { m, nbits, ksub } = this
    const mScan = nbits === 8 ? this.scanCodeSize : m
    // Rows m..mScan-1 stay zero: the pad sub-codes add nothing.
    const table = new Float32Array(mScan * ksub)
    const k = this.#kernels
    // A new version per query (of this table array): the backend may keep its copy of the
    // table between lists (see Kernels.pqScan).
    let version = 0
    return {
      setQuery: (q, off) => {
        this.computeTable(metric, q, off, table)
        version++
      },
      scan: (codes, n, out, resident) => k.pqScan(codes, n, mScan, nbits, table, out, version, resident),
    }
  }

  /**
   * Lists are scanned with ADC (CodeListScanner: one table per query, residual L2 by item
   * terms), except 4-bit codes: their plain scan builds 16-entry tables per probed list
   * against q - c instead of keeping terms, and on a SIMD backend unfiltered searches use
   * fast-scan (Pq4FastScanScanner), which keeps the terms of the lists it packs itself.
   */
  listScanPlan(setup: ListScanSetup): ListScanPlan {
    const perListTables = this.nbits === 4
    const plain = codeListPlan(this, setup, perListTables)
    if (!perListTables) return plain
    return {
      terms: plain.terms,
      create: () => (fastScanSupported(this, setup) ? new Pq4FastScanScanner(this, setup, plain.create()) : plain.create()),
    }
  }

  /** dim, m, nbits and the centroids (m*ksub*dsub floats). */
  exportState(): QuantizerState {
    return {
      kind: 'pq',
      params: { dim: this.dim, m: this.m, nbits: this.nbits },
      arrays: { centroids: { shape: [this.m, this.ksub, this.dsub], data: this.centroids } },
    }
  }

  /** Restores the centroids (shape [m, ksub, dsub]). */
  loadState(state: QuantizerState): void {
    this.centroids = expectArray(state, 'centroids', [this.m, this.ksub, this.dsub]).slice()
    this.#trained = true
  }
}
