/**
 * k-means clustering (Lloyd's algorithm) with k-means++ or random initialisation.
 *
 * Memory stays O(n + k*d): the assignment step runs the blocked nearestL2 kernel over
 * chunks of points and keeps one centroid index and one distance per point, never an
 * n*k matrix. Large training sets are subsampled to k*maxPointsPerCentroid points first
 * (FAISS's default of 256). Everything random comes from one seeded generator, so the
 * same input and seed give the same centroids.
 */

import type { Kernels } from '../../native-free-kernels/index.js'
import { VqInputError, type VqWarning } from '../errors.js'
import { kernelsFor } from '../util/kernels.js'
import { Rng } from '../util/random.js'
import { initPlusPlus, initRandom } from './seeding.js'

/** How to pick the starting centroids. */
export type KMeansInit = 'kmeans++' | 'random'

/** Progress of a k-means run, passed to `onProgress`. */
export interface KMeansProgress {
  /** 'init': seeding centroids (centroid = how many are chosen); 'iterate': one Lloyd step done. */
  readonly phase: 'init' | 'iterate'
  /** Lloyd iterations finished so far (0 during init). */
  readonly iteration: number
  /** The iteration budget. */
  readonly iterations: number
  /** Sum of squared distances of the training points to their nearest centroid at the last assignment (NaN during init). */
  readonly objective: number
}

/** Options of trainKMeans. All optional. */
export interface KMeansOptions {
  /** Maximum Lloyd iterations. Default 25. */
  iterations?: number
  /**
   * Stop early when an iteration lowers the objective by less than this fraction of it.
   * Default 1e-4; 0 runs all iterations.
   */
  tolerance?: number
  /** Initialisation. Default 'kmeans++' (D^2 sampling), or 'random' (k distinct training points, as FAISS). */
  init?: KMeansInit
  /** Seed of every random choice. Default 1234. */
  seed?: number
  /** Subsample to at most k * this many points. Default 256 (FAISS). Infinity keeps all. */
  maxPointsPerCentroid?: number
  /** Warn (through onWarning) below this many points per centroid. Default 39 (FAISS). */
  minPointsPerCentroid?: number
  /** Called after initialisation progress and after every iteration. */
  onProgress?: (p: KMeansProgress) => void
  /** Called for non-fatal problems, e.g. too few training points per centroid. */
  onWarning?: (w: VqWarning) => void
  /** Kernel backend. Default: kernelsFor(). */
  kernels?: Kernels
  /** Start from these centroids (k*d floats) instead of seeding: a warm start, as OPQ's inner PQ uses. */
  initialCentroids?: Float32Array
}

/** Result of trainKMeans. */
export interface KMeansResult {
  /** The centroids, row-major, k*d floats. */
  readonly centroids: Float32Array
  /**
   * Sum of squared distances of the (possibly subsampled) training points to their
   * nearest centroid, at the last assignment step (the FAISS convention).
   */
  readonly objective: number
  /** Objective at each iteration's assignment step, length = iterations run. */
  readonly objectives: Float64Array
  /** Lloyd iterations run. */
  readonly iterations: number
  /** Training points actually used after subsampling. */
  readonly pointsUsed: number
  /** Empty clusters repaired over the run. */
  readonly emptyClustersRepaired: number
}

const DEFAULTS = {
  iterations: 25,
  tolerance: 1e-4,
  init: 'kmeans++' as KMeansInit,
  seed: 1234,
  maxPointsPerCentroid: 256,
  minPointsPerCentroid: 39,
}

/** Points per call of the assignment kernel. */
const ASSIGN_CHUNK = 16384

/**
 * Assigns each of the n rows of x (n*d) to its nearest centroid (k*d, squared norms in
 * cNorms), writing assign[i] and dist[i]. Works in chunks so the kernel's blocks stay hot.
 * (Plain Lloyd assignment, without bounds: for one-off assignments such as scoring.)
 */
export function assignNearest(
  kernels: Kernels,
  x: Float32Array,
  n: number,
  d: number,
  centroids: Float32Array,
  k: number,
  cNorms: Float64Array,
  assign: Int32Array,
  dist: Float32Array,
): void {
  for (let i0 = 0; i0 < n; i0 += ASSIGN_CHUNK) {
    const c = Math.min(ASSIGN_CHUNK, n - i0)
    kernels.nearestL2(x.subarray(i0 * d, (i0 + c) * d), c, centroids, k, d, cNorms, assign.subarray(i0, i0 + c), dist.subarray(i0, i0 + c))
  }
}

/**
 * One assignment step requested by the Lloyd loop: for each of `count` points (the rows
 * listed in `rows`, or points 0..count-1 when rows is null) of data (n*d), find the nearest
 * and second-nearest of the k centroids (k*d, squared norms in norms), writing assign[i],
 * dist[i] (squared distance to the nearest) and second[i] (squared distance to the second
 * nearest) at the point's index i. Whoever drives the loop performs it, on this thread or
 * on workers (all arrays are shared memory).
 */
export interface AssignRequest {
  readonly data: Float32Array
  readonly n: number
  readonly d: number
  readonly centroids: Float32Array
  readonly k: number
  readonly norms: Float64Array
  readonly rows: Int32Array | null
  readonly count: number
  readonly assign: Int32Array
  readonly dist: Float32Array
  readonly second: Float32Array
}

/** Rows per gathered block in assignRows. */
const GATHER_BLOCK = 4096

/** Performs rows [from, to) of an assignment request (all of them by default). */
export function assignRows(kernels: Kernels, r: AssignRequest, from = 0, to = r.count): void {
  const { d } = r
  if (!r.rows) {
    for (let i0 = from; i0 < to; i0 += ASSIGN_CHUNK) {
      const c = Math.min(ASSIGN_CHUNK, to - i0)
      kernels.nearestL2(
        r.data.subarray(i0 * d, (i0 + c) * d),
        c,
        r.centroids,
        r.k,
        d,
        r.norms,
        r.assign.subarray(i0, i0 + c),
        r.dist.subarray(i0, i0 + c),
        r.second.subarray(i0, i0 + c),
      )
    }
    return
  }
  const buf = new Float32Array(Math.min(GATHER_BLOCK, to - from) * d)
  const idx = new Int32Array(GATHER_BLOCK)
  const dist = new Float32Array(GATHER_BLOCK)
  const second = new Float32Array(GATHER_BLOCK)
  for (let i0 = from; i0 < to; i0 += GATHER_BLOCK) {
    const c = Math.min(GATHER_BLOCK, to - i0)
    for (let i = 0; i < c; i++) buf.set(r.data.subarray(r.rows[i0 + i]! * d, (r.rows[i0 + i]! + 1) * d), i * d)
    kernels.nearestL2(buf, c, r.centroids, r.k, d, r.norms, idx, dist, second)
    for (let i = 0; i < c; i++) {
      const p = r.rows[i0 + i]!
      r.assign[p] = idx[i]!
      r.dist[p] = dist[i]!
      r.second[p] = second[i]!
    }
  }
}

/**
 * Performs an assignment request (as assignRows) in blocks of ASSIGN_CHUNK rows, awaiting
 * `pause` after each block when it returns a promise: a cancellable caller's checkpoint,
 * which may throw to stop the training. The same assignment as assignRows.
 */
export async function assignPausing(kernels: Kernels, r: AssignRequest, pause: () => Promise<void> | undefined): Promise<void> {
  for (let i0 = 0; i0 < r.count; i0 += ASSIGN_CHUNK) {
    assignRows(kernels, r, i0, Math.min(r.count, i0 + ASSIGN_CHUNK))
    const p = pause()
    if (p) await p
  }
}

/**
 * The Lloyd loop as a generator: it yields its assignment requests (per iteration, the
 * points', and from the second iteration on first the centroids' against themselves) and
 * resumes once each is fulfilled, so the same loop runs with every assignment done in place
 * (trainKMeans) or on worker threads (trainKMeansWith).
 *
 * It skips provably useless distance computations with Hamerly's bounds (Hamerly 2010,
 * "Making k-means even faster"): each point keeps a lower bound l on its distance to the
 * second-nearest centroid, lowered by the largest centroid move after each update; each
 * centroid j has s_j, half the distance to its nearest other centroid. A point whose exact
 * distance to its centroid is at most max(s_j, l) cannot have a nearer centroid, so only the
 * other points are searched against all k centroids. The assignments are those of plain
 * Lloyd iterations (up to exact distance ties), at a fraction of the cost once the
 * centroids settle.
 */
function* lloyd(x: Float32Array, n: number, d: number, k: number, options: KMeansOptions): Generator<AssignRequest, KMeansResult, void> {
  const o = { ...DEFAULTS, ...stripUndefined(options) }
  const kernels = options.kernels ?? kernelsFor()
  if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'k-means needs at least one training point, got 0')
  if (n < k) {
    throw new VqInputError('TOO_FEW_TRAINING_POINTS', `k-means with k = ${k} needs at least ${k} training points, got ${n}`)
  }
  if (n < k * o.minPointsPerCentroid) {
    options.onWarning?.({
      code: 'FEW_TRAINING_POINTS',
      message:
        `clustering ${n} points into ${k} centroids: ${(n / k).toFixed(1)} points per centroid, ` +
        `below the ${o.minPointsPerCentroid} recommended; centroids may be poor`,
    })
  }
  const rng = new Rng(o.seed)

  // Subsample large training sets (into shared memory, so workers can read them).
  let data = x
  let nt = n
  const cap = k * o.maxPointsPerCentroid
  if (n > cap) {
    nt = Math.floor(cap)
    const pick = rng.sample(n, nt)
    pick.sort()
    data = new Float32Array(new SharedArrayBuffer(nt * d * 4))
    for (let i = 0; i < nt; i++) data.set(x.subarray(pick[i]! * d, (pick[i]! + 1) * d), i * d)
  }

  const sharedF32 = (len: number): Float32Array => new Float32Array(new SharedArrayBuffer(len * 4))
  const centroids = sharedF32(k * d)
  centroids.set(
    options.initialCentroids
      ? options.initialCentroids.subarray(0, k * d)
      : o.init === 'random'
        ? initRandom(data, nt, d, k, rng)
        : initPlusPlus(
            kernels,
            data,
            nt,
            d,
            k,
            rng,
            options.onProgress && (() => options.onProgress?.({ phase: 'init', iteration: 0, iterations: o.iterations, objective: NaN })),
          ),
  )

  const assign = new Int32Array(new SharedArrayBuffer(nt * 4))
  const dist = sharedF32(nt)
  const second = sharedF32(nt)
  const cNorms = new Float64Array(new SharedArrayBuffer(k * 8))
  const lower = new Float64Array(nt) // lower bound on the distance to the second-nearest centroid
  const half = new Float64Array(k) // s_j: half the distance from centroid j to its nearest other
  const prev = new Float32Array(k * d)
  const move = new Float64Array(k)
  // The centroids' own nearest-other search is an assignment request too (of the centroids
  // against themselves), so it runs wherever the points' assignment runs.
  const cIdx = new Int32Array(new SharedArrayBuffer(k * 4))
  const cDist = sharedF32(k)
  const cSecond = sharedF32(k)
  const rows = new Int32Array(new SharedArrayBuffer(nt * 4))
  const sums = new Float64Array(k * d)
  const counts = new Float64Array(k)
  const objectives = new Float64Array(o.iterations)
  let repaired = 0
  let it = 0
  let prevObj = Infinity
  while (it < o.iterations) {
    kernels.normsL2sqr(centroids, k, d, cNorms)
    if (it === 0) {
      yield { data, n: nt, d, centroids, k, norms: cNorms, rows: null, count: nt, assign, dist, second }
      for (let i = 0; i < nt; i++) lower[i] = Math.sqrt(second[i]!)
    } else {
      // s_j from each centroid's nearest other centroid (its nearest is itself).
      yield { data: centroids, n: k, d, centroids, k, norms: cNorms, rows: null, count: k, assign: cIdx, dist: cDist, second: cSecond }
      for (let j = 0; j < k; j++) half[j] = Math.sqrt(cSecond[j]!) / 2
      // Exact distance to the current centroid; points that fail the bound are searched.
      let count = 0
      for (let i = 0; i < nt; i++) {
        const a = assign[i]!
        const e = kernels.l2sqr(data, i * d, centroids, a * d, d)
        dist[i] = e
        if (Math.sqrt(e) > Math.max(half[a]!, lower[i]!)) rows[count++] = i
      }
      if (count > 0) {
        yield { data, n: nt, d, centroids, k, norms: cNorms, rows, count, assign, dist, second }
        for (let r = 0; r < count; r++) lower[rows[r]!] = Math.sqrt(second[rows[r]!]!)
      }
    }
    let obj = 0
    for (let i = 0; i < nt; i++) obj += dist[i]!
    objectives[it++] = obj

    // Update: centroid = mean of its points.
    prev.set(centroids)
    sums.fill(0)
    counts.fill(0)
    for (let i = 0; i < nt; i++) {
      const c = assign[i]!
      counts[c]! += 1
      const so = c * d
      const xo = i * d
      for (let t = 0; t < d; t++) sums[so + t]! += data[xo + t]!
    }
    for (let c = 0; c < k; c++) {
      const cnt = counts[c]!
      if (cnt === 0) continue
      const inv = 1 / cnt
      for (let t = 0; t < d; t++) centroids[c * d + t] = sums[c * d + t]! * inv
    }
    const fixed = repairEmpty(data, nt, d, k, centroids, counts, assign, dist, rng)
    repaired += fixed

    // Lower the bounds by how far the centroids moved (all the way, after a repair).
    let max1 = 0
    let max2 = 0
    let arg1 = -1
    for (let c = 0; c < k; c++) {
      const mv = Math.sqrt(kernels.l2sqr(centroids, c * d, prev, c * d, d))
      move[c] = mv
      if (mv > max1) {
        max2 = max1
        max1 = mv
        arg1 = c
      } else if (mv > max2) max2 = mv
    }
    for (let i = 0; i < nt; i++) lower[i] = fixed > 0 ? 0 : lower[i]! - (assign[i] === arg1 ? max2 : max1)

    options.onProgress?.({ phase: 'iterate', iteration: it, iterations: o.iterations, objective: obj })
    if (prevObj - obj < o.tolerance * obj && it > 1) break
    prevObj = obj
  }
  return {
    centroids: centroids.slice(),
    objective: objectives[it - 1] ?? NaN,
    objectives: objectives.slice(0, it),
    iterations: it,
    pointsUsed: nt,
    emptyClustersRepaired: repaired,
  }
}

/**
 * Clusters n points of dimension d (x: row-major, length >= n*d) into k clusters.
 * Throws VqInputError when n is 0 (EMPTY_TRAINING_SET) or n < k (TOO_FEW_TRAINING_POINTS).
 */
export function trainKMeans(x: Float32Array, n: number, d: number, k: number, options: KMeansOptions = {}): KMeansResult {
  const kernels = options.kernels ?? kernelsFor()
  const loop = lloyd(x, n, d, k, options)
  for (let step = loop.next(); ; step = loop.next()) {
    if (step.done) return step.value
    assignRows(kernels, step.value)
  }
}

/**
 * trainKMeans with the assignment step done by `assign` (for example split over worker
 * threads: the request's arrays live in shared memory). Same results as trainKMeans when
 * `assign` computes what assignNearest computes.
 */
export async function trainKMeansWith(
  x: Float32Array,
  n: number,
  d: number,
  k: number,
  options: KMeansOptions,
  assign: (r: AssignRequest) => Promise<void>,
): Promise<KMeansResult> {
  const loop = lloyd(x, n, d, k, options)
  for (let step = loop.next(); ; step = loop.next()) {
    if (step.done) return step.value
    await assign(step.value)
  }
}

/**
 * Splits a cluster for every empty one: the cluster to split is drawn with probability
 * proportional to its share of the objective (its sum of squared distances, so large and
 * spread-out clusters are split first; clusters whose points all sit on the centroid
 * never are), and the empty centroid moves to that cluster's point farthest from its
 * centroid. The next assignment then divides the cluster between the two. `dist` and
 * `assign` are updated for the moved point. Returns how many clusters were repaired.
 */
function repairEmpty(
  x: Float32Array,
  n: number,
  d: number,
  k: number,
  centroids: Float32Array,
  counts: Float64Array,
  assign: Int32Array,
  dist: Float32Array,
  rng: Rng,
): number {
  let empty = 0
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty++
  if (empty === 0) return 0
  const sse = new Float64Array(k)
  for (let i = 0; i < n; i++) sse[assign[i]!]! += dist[i]!
  let repaired = 0
  for (let ci = 0; ci < k; ci++) {
    if (counts[ci]! !== 0) continue
    let total = 0
    for (let c = 0; c < k; c++) total += sse[c]!
    if (!(total > 0)) break // every point sits on its centroid: nothing to split
    let r = rng.float() * total
    let cj = 0
    for (; cj < k - 1; cj++) {
      r -= sse[cj]!
      if (r < 0 && sse[cj]! > 0) break
    }
    let p = -1
    let far = -1
    for (let i = 0; i < n; i++) {
      if (assign[i] === cj && dist[i]! > far) {
        far = dist[i]!
        p = i
      }
    }
    if (p < 0 || !(far > 0)) {
      sse[cj] = 0
      ci-- // retry this empty cluster with another one to split
      continue
    }
    centroids.set(x.subarray(p * d, (p + 1) * d), ci * d)
    sse[cj] = Math.max(0, sse[cj]! - far)
    assign[p] = ci
    dist[p] = 0
    counts[ci] = 1
    counts[cj] = counts[cj]! - 1
    repaired++
  }
  return repaired
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [key, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[key] = v
  return out
}
