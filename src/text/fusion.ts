/**
 * Fusion of a vector ranking and a keyword ranking into the hybrid ranking. Two methods:
 *   'score' (default): each list's scores min-max normalised to [0, 1] over the list,
 *     fused = w * keyword + (1 - w) * vector, an item missing from a list counting 0
 *     there (convex combination fusion; Bruch, Gai and Ingber, "An analysis of fusion
 *     functions for hybrid retrieval", ACM TOIS 2023, find it ahead of RRF when tuned);
 *   'rrf': weighted reciprocal rank, 2 * (w / (60 + rank_k) + (1 - w) / (60 + rank_v))
 *     (Cormack et al. 2009; w = 0.5 is plain RRF).
 * w = keywordWeight. The default weight, 0.9, was chosen on one evaluation set (the Fiori
 * titles: best share of answers at rank 1 plus in the top 5) and confirmed on another
 * (questions over package READMEs), with the built-in SIF-GloVe embedder, whose vector
 * ranking alone is far weaker than BM25 on both (bench/fusion-eval.ts); with it the vector
 * ranking mostly breaks ties between close keyword scores and answers queries whose words
 * the keyword index lacks. A stronger embedder deserves a lower weight: measure it.
 */
import { VqOptionError } from '../errors.js'

export type FusionMethod = 'score' | 'rrf'

export interface FusionOptions {
  /** Default 'score'. */
  readonly method?: FusionMethod
  /** Weight of the keyword ranking, 0 (vector only) to 1 (keyword only). Default DEFAULT_KEYWORD_WEIGHT. */
  readonly keywordWeight?: number
}

/** One ranked item: higher score is better. */
export interface Scored {
  readonly id: number
  readonly score: number
}

/** Reciprocal-rank fusion constant (Cormack et al.). */
export const RRF_K = 60
/** The default keyword weight (see the module comment). */
export const DEFAULT_KEYWORD_WEIGHT = 0.9

/** Checks fusion options: VqOptionError BAD_OPTION naming the bad one. */
export function checkFusion(options: FusionOptions | undefined): { method: FusionMethod; weight: number } {
  const method = options?.method ?? 'score'
  const weight = options?.keywordWeight ?? DEFAULT_KEYWORD_WEIGHT
  if (method !== 'score' && method !== 'rrf')
    throw new VqOptionError('BAD_OPTION', `fusion method must be "score" or "rrf", got ${JSON.stringify(method)}`)
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1))
    throw new VqOptionError('BAD_OPTION', `fusion keywordWeight must be a number from 0 to 1, got ${String(weight)}`)
  return { method, weight }
}

/** The fused ranking of both lists (each best first), best first; ties by id. */
export function fuseRankings(vector: readonly Scored[], keyword: readonly Scored[], options?: FusionOptions): Scored[] {
  const { method, weight } = checkFusion(options)
  const fused = new Map<number, number>()
  const addList = (list: readonly Scored[], w: number): void => {
    if (list.length === 0) return
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    for (const h of list) {
      lo = Math.min(lo, h.score)
      hi = Math.max(hi, h.score)
    }
    list.forEach((h, r) => {
      const part = method === 'rrf' ? (2 * w) / (RRF_K + r + 1) : w * (hi > lo ? (h.score - lo) / (hi - lo) : 1)
      fused.set(h.id, (fused.get(h.id) ?? 0) + part)
    })
  }
  addList(keyword, weight)
  addList(vector, 1 - weight)
  return [...fused].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score || a.id - b.id)
}
