/**
 * Exact k-nearest-neighbour search of many queries against a base set, blocked so that
 * the many-to-many inner-product kernel does the work (used for ground truth). Distances
 * follow the public conventions: squared L2, -<q,x> for 'ip', 1 - cos for 'cosine'.
 */

import type { Kernels } from '../../native-free-kernels/index.js'
import { heapInit, heapPushMany, heapSort } from '../../native-free-kernels/index.js'
import type { Metric } from '../types.js'
import { kernelsFor } from '../util/kernels.js'

/** Result of exactKnn: row-major nq*k labels (base row numbers, -1 padded) and distances. */
export interface KnnResult {
  readonly labels: Int32Array
  readonly distances: Float32Array
}

const Q_BLOCK = 64
const B_BLOCK = 4096

/** Row-normalised copy of x (n*d); zero rows stay zero. */
export function normalizedCopy(x: Float32Array, n: number, d: number, kernels: Kernels = kernelsFor()): Float32Array {
  const out = new Float32Array(n * d)
  for (let i = 0; i < n; i++) {
    const norm = Math.sqrt(kernels.innerProduct(x, i * d, x, i * d, d))
    const inv = norm > 0 ? 1 / norm : 0
    for (let t = 0; t < d; t++) out[i * d + t] = x[i * d + t]! * inv
  }
  return out
}

/**
 * The k nearest rows of base (nb*d) for each of nq queries (nq*d), nearest first, ties
 * broken by the smaller row number. onProgress(queriesDone, nq) after each query block.
 */
export function exactKnn(
  base: Float32Array,
  nb: number,
  queries: Float32Array,
  nq: number,
  d: number,
  k: number,
  metric: Metric,
  options: { kernels?: Kernels; onProgress?: (done: number, total: number) => void } = {},
): KnnResult {
  const kernels = options.kernels ?? kernelsFor()
  const b = metric === 'cosine' ? normalizedCopy(base, nb, d, kernels) : base
  const q = metric === 'cosine' ? normalizedCopy(queries, nq, d, kernels) : queries
  const bNorms = new Float64Array(nb)
  if (metric === 'l2') kernels.normsL2sqr(b, nb, d, bNorms)
  const heapLabels = new Float64Array(nq * k)
  const distances = new Float32Array(nq * k)
  const tile = new Float32Array(Q_BLOCK * B_BLOCK)
  for (let q0 = 0; q0 < nq; q0 += Q_BLOCK) {
    const bq = Math.min(Q_BLOCK, nq - q0)
    const qb = q.subarray(q0 * d, (q0 + bq) * d)
    const qNorms = new Float64Array(bq)
    if (metric === 'l2') kernels.normsL2sqr(qb, bq, d, qNorms)
    for (let i = 0; i < bq; i++) heapInit(k, distances.subarray((q0 + i) * k), heapLabels.subarray((q0 + i) * k))
    for (let j0 = 0; j0 < nb; j0 += B_BLOCK) {
      const bb = Math.min(B_BLOCK, nb - j0)
      kernels.innerProductMatrix(qb, bq, b.subarray(j0 * d, (j0 + bb) * d), bb, d, tile)
      for (let i = 0; i < bq; i++) {
        const row = tile.subarray(i * bb, (i + 1) * bb)
        if (metric === 'l2') {
          const qn = qNorms[i]!
          for (let j = 0; j < bb; j++) {
            const s = qn + bNorms[j0 + j]! - 2 * row[j]!
            row[j] = s > 0 ? s : 0
          }
        } else {
          for (let j = 0; j < bb; j++) row[j] = -row[j]!
        }
        heapPushMany(
          k,
          distances.subarray((q0 + i) * k, (q0 + i + 1) * k),
          heapLabels.subarray((q0 + i) * k, (q0 + i + 1) * k),
          row,
          bb,
          j0,
        )
      }
    }
    for (let i = 0; i < bq; i++) {
      const dv = distances.subarray((q0 + i) * k, (q0 + i + 1) * k)
      heapSort(k, dv, heapLabels.subarray((q0 + i) * k, (q0 + i + 1) * k))
      if (metric === 'cosine') for (let j = 0; j < k; j++) dv[j] = 1 + dv[j]!
    }
    options.onProgress?.(q0 + bq, nq)
  }
  return { labels: Int32Array.from(heapLabels), distances }
}
