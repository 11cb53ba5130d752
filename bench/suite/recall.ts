/**
 * recall@k as ann-benchmarks defines it: the fraction of the k returned items whose true
 * distance to the query is at most the k-th true neighbour's distance plus 1e-3, in
 * ann-benchmarks' distance units (Euclidean distance, not squared; 1 - cos for angular;
 * -<q, x> for dot). Ties at the k-th distance therefore count as hits, and so does any
 * item as close as a true neighbour. Returned ids are base row numbers (-1: none).
 */
import type { EvalDataset } from '../../datasets/glove100.js'
import { trueDistances } from '../../datasets/load.js'

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
  const ids = new Float64Array(ds.nq * k)
  for (let i = 0; i < ds.nq; i++) for (let j = 0; j < k; j++) ids[i * k + j] = found[i * kFound + j]!
  const dist = trueDistances(ds.base, ds.queries, ds.nq, ds.d, ids, k, ds.metric)
  let sum = 0
  for (let i = 0; i < ds.nq; i++) {
    const threshold = annUnits(ds.metric, ds.groundTruthDistances[i * ds.gtK + k - 1]!) + ANN_EPSILON
    let hits = 0
    for (let j = 0; j < k; j++) if (annUnits(ds.metric, dist[i * k + j]!) <= threshold) hits++
    sum += hits / k
  }
  return sum / ds.nq
}
