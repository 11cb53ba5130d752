/**
 * recall@k as ann-benchmarks defines it: the fraction of the k returned items whose true
 * distance to the query is at most the k-th true neighbour's distance plus 1e-3, in
 * ann-benchmarks' distance units (Euclidean distance, not squared; 1 - cos for angular;
 * -<q, x> for dot). Ties at the k-th distance therefore count as hits, and so does any
 * item as close as a true neighbour. Returned ids are base row numbers (-1: none).
 */
import { getKernels } from '../../native-free-kernels/index.js'
import type { EvalDataset } from '../../datasets/glove100.js'

/** ann-benchmarks' tie tolerance. */
export const ANN_EPSILON = 1e-3

/** A distance in vqlite's convention (types.ts) in ann-benchmarks' units. */
function annUnits(metric: EvalDataset['metric'], v: number): number {
  return metric === 'l2' ? Math.sqrt(Math.max(0, v)) : v
}

/**
 * ann-benchmarks recall@k of `found` (nq rows of kFound ids, row-major) against the set's
 * ground truth (gtK >= k needed).
 */
export function annRecall(ds: EvalDataset, found: ArrayLike<number>, kFound: number, k: number): number {
  if (k > ds.gtK) throw new RangeError(`recall@${k} needs at least ${k} ground-truth neighbours, the set has ${ds.gtK}`)
  if (k > kFound) throw new RangeError(`recall@${k} needs ${k} results per query, got ${kFound}`)
  const K = getKernels()
  const { d, base, queries, metric } = ds
  const qn = new Float64Array(ds.nq)
  if (metric === 'cosine') K.normsL2sqr(queries, ds.nq, d, qn)
  let sum = 0
  for (let i = 0; i < ds.nq; i++) {
    const threshold = annUnits(metric, ds.groundTruthDistances[i * ds.gtK + k - 1]!) + ANN_EPSILON
    let hits = 0
    for (let j = 0; j < k; j++) {
      const id = found[i * kFound + j]!
      if (id < 0 || id >= ds.nb) continue
      let dist: number
      if (metric === 'l2') dist = K.l2sqr(queries, i * d, base, id * d, d)
      else if (metric === 'ip') dist = -K.innerProduct(queries, i * d, base, id * d, d)
      else {
        const xn = K.innerProduct(base, id * d, base, id * d, d)
        const den = Math.sqrt(qn[i]! * xn)
        dist = 1 - (den > 0 ? K.innerProduct(queries, i * d, base, id * d, d) / den : 0)
      }
      if (annUnits(metric, dist) <= threshold) hits++
    }
    sum += hits / k
  }
  return sum / ds.nq
}
