/**
 * The coarse quantizer of an inverted file: nlist centroids learned by k-means; every
 * vector belongs to the list of its nearest centroid, and a query probes the nprobe
 * nearest lists. Distances follow the internal convention (smaller is closer): squared
 * L2 for 'l2', -<q, c> for 'ip' (lists are probed by largest inner product, as FAISS's
 * IndexFlatIP quantizer). nlist = 1 is the degenerate case of an exhaustive index: one
 * list, no centroid to subtract, probe distance 0.
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import { type AssignRequest, type KMeansOptions, trainKMeans, trainKMeansWith } from '../clustering/kmeans.js'
import { VqOptionError } from '../errors.js'
import { expectArray, type InnerMetric, type QuantizerState } from '../quantizers/quantizer.js'

/**
 * Default k-means settings of the coarse quantizer: 10 iterations from random seeding, as
 * FAISS trains IVF quantizers, on at most 64 points per list (above the 39 FAISS asks for;
 * a coarse quantizer needs far fewer points than a codebook to place its centroids).
 */
export const COARSE_DEFAULTS = { iterations: 10, maxPointsPerCentroid: 64, init: 'random' as const }

export class CoarseQuantizer {
  /** Number of lists. */
  readonly nlist: number
  /** Dimension of the vectors it partitions. */
  readonly d: number
  readonly metric: InnerMetric
  /** Centroids, row-major nlist*d (empty for nlist = 1). */
  centroids: Float32Array
  /** Squared norms of the centroids, length nlist. */
  norms: Float64Array
  readonly #kernels: Kernels
  #trained: boolean
  /** Scratch for probe(): distances to every centroid. */
  #dist: Float32Array

  /** Throws VqOptionError for nlist outside 1..2^20. */
  constructor(nlist: number, d: number, metric: InnerMetric, kernels: Kernels) {
    if (!Number.isInteger(nlist) || nlist < 1 || nlist > 1 << 20) {
      throw new VqOptionError('BAD_OPTION', `IVF nlist must be an integer from 1 to ${1 << 20}, got ${nlist}`)
    }
    this.nlist = nlist
    this.d = d
    this.metric = metric
    this.centroids = new Float32Array(0)
    this.norms = new Float64Array(nlist)
    this.#kernels = kernels
    this.#trained = nlist === 1
    this.#dist = new Float32Array(nlist)
  }

  /** True once trained (always for nlist = 1). */
  get isTrained(): boolean {
    return this.#trained
  }

  /** Learns the centroids with k-means on n vectors x (n*d). */
  train(x: Float32Array, n: number, options: Omit<KMeansOptions, 'kernels'> = {}): void {
    if (this.nlist === 1) return
    const res = trainKMeans(x, n, this.d, this.nlist, { ...COARSE_DEFAULTS, ...options, kernels: this.#kernels })
    this.#set(res.centroids)
  }

  /** train() with the k-means assignment steps done by `assign` (e.g. on worker threads); the same centroids. */
  async trainWith(
    x: Float32Array,
    n: number,
    options: Omit<KMeansOptions, 'kernels'>,
    assign: (r: AssignRequest) => Promise<void>,
  ): Promise<void> {
    if (this.nlist === 1) return
    const res = await trainKMeansWith(x, n, this.d, this.nlist, { ...COARSE_DEFAULTS, ...options, kernels: this.#kernels }, assign)
    this.#set(res.centroids)
  }

  #set(c: Float32Array): void {
    this.centroids = c
    // Never changed from here on: backends that copy operands keep one copy (probe, assign).
    this.#kernels.pin?.(c)
    this.norms = new Float64Array(this.nlist)
    this.#kernels.normsL2sqr(c, this.nlist, this.d, this.norms)
    this.#trained = true
  }

  /** List of each of n vectors x (n*d): outList[i] (and its coarse distance in outDist[i]). */
  assign(x: Float32Array, n: number, outList: Int32Array, outDist: Float32Array): void {
    if (this.nlist === 1) {
      outList.fill(0, 0, n)
      outDist.fill(0, 0, n)
      return
    }
    if (this.metric === 'l2') {
      const block = 16384
      for (let i0 = 0; i0 < n; i0 += block) {
        const b = Math.min(block, n - i0)
        this.#kernels.nearestL2(
          x.subarray(i0 * this.d, (i0 + b) * this.d),
          b,
          this.centroids,
          this.nlist,
          this.d,
          this.norms,
          outList.subarray(i0, i0 + b),
          outDist.subarray(i0, i0 + b),
        )
      }
      return
    }
    for (let i = 0; i < n; i++) {
      this.#kernels.innerProductMany(x, i * this.d, this.centroids, this.nlist, this.d, this.#dist)
      let best = -Infinity
      let arg = 0
      for (let j = 0; j < this.nlist; j++) {
        if (this.#dist[j]! > best) {
          best = this.#dist[j]!
          arg = j
        }
      }
      outList[i] = arg
      outDist[i] = -best
    }
  }

  /**
   * The nprobe nearest lists of query q[qOff..qOff+d), nearest first: outList (length >=
   * nprobe, as list numbers) and outDist (coarse distances). nprobe is capped at nlist.
   */
  probe(q: Float32Array, qOff: number, nprobe: number, outList: Float64Array, outDist: Float32Array): number {
    const p = Math.min(nprobe, this.nlist)
    if (this.nlist === 1) {
      outList[0] = 0
      outDist[0] = 0
      return 1
    }
    this.#kernels.nearestRows(q, qOff, this.centroids, this.nlist, this.d, this.metric, p, outDist, outList)
    return p
  }

  /** The centroids, shape [nlist, d] (nothing for nlist = 1). */
  exportState(): QuantizerState {
    return {
      kind: 'ivf',
      params: { nlist: this.nlist, d: this.d },
      arrays: this.nlist === 1 ? {} : { centroids: { shape: [this.nlist, this.d], data: this.centroids } },
    }
  }

  /** Restores the centroids. */
  loadState(state: QuantizerState): void {
    if (this.nlist === 1) return
    this.#set(expectArray(state, 'centroids', [this.nlist, this.d]).slice())
  }
}
