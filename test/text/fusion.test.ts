import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { VqOptionError } from '../../src/errors.js'
import { fuseRankings, RRF_K, type Scored } from '../../src/text/fusion.js'

const list = fc
  .uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 20 })
  .chain((ids) =>
    fc.tuple(fc.constant(ids), fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: ids.length, maxLength: ids.length })),
  )
  .map(([ids, s]) => {
    const sorted = [...s].sort((a, b) => b - a)
    return ids.map((id, i) => ({ id, score: sorted[i]! }))
  })

/** The fusion written out plainly, per id, for comparison. */
function reference(vector: Scored[], keyword: Scored[], method: 'score' | 'rrf', w: number): Map<number, number> {
  const out = new Map<number, number>()
  const part = (l: Scored[], weight: number) => {
    const hi = Math.max(...l.map((h) => h.score))
    const lo = Math.min(...l.map((h) => h.score))
    l.forEach((h, r) => {
      const v = method === 'rrf' ? (2 * weight) / (RRF_K + r + 1) : weight * (hi > lo ? (h.score - lo) / (hi - lo) : 1)
      out.set(h.id, (out.get(h.id) ?? 0) + v)
    })
  }
  if (keyword.length) part(keyword, w)
  if (vector.length) part(vector, 1 - w)
  return out
}

describe('fusion of the vector and keyword rankings', () => {
  it('matches the plain formula, sorted best first (property)', () => {
    fc.assert(
      fc.property(
        list,
        list,
        fc.constantFrom('score' as const, 'rrf' as const),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (v, k, method, w) => {
          const fused = fuseRankings(v, k, { method, keywordWeight: w })
          const ref = reference(v, k, method, w)
          expect(fused.map((h) => h.id).sort((a, b) => a - b)).toEqual([...ref.keys()].sort((a, b) => a - b))
          for (const h of fused) expect(h.score).toBeCloseTo(ref.get(h.id)!, 12)
          for (let i = 1; i < fused.length; i++) expect(fused[i - 1]!.score).toBeGreaterThanOrEqual(fused[i]!.score)
        },
      ),
    )
  })

  it('weight 1 keeps the keyword order first, weight 0 the vector order; rrf at 0.5 is plain RRF', () => {
    const v = [
      { id: 1, score: 0.9 },
      { id: 2, score: 0.5 },
      { id: 3, score: 0.1 },
    ]
    const k = [
      { id: 3, score: -1 },
      { id: 2, score: -2 },
      { id: 4, score: -9 },
    ]
    expect(
      fuseRankings(v, k, { keywordWeight: 1 })
        .map((h) => h.id)
        .slice(0, 2),
    ).toEqual([3, 2])
    expect(
      fuseRankings(v, k, { keywordWeight: 0 })
        .map((h) => h.id)
        .slice(0, 2),
    ).toEqual([1, 2])
    const rrf = fuseRankings(v, k, { method: 'rrf', keywordWeight: 0.5 })
    expect(rrf[0]!.id).toBe(3)
    expect(rrf[0]!.score).toBeCloseTo(1 / (RRF_K + 1) + 1 / (RRF_K + 3), 15)
    expect(rrf[1]!.score).toBeCloseTo(2 / (RRF_K + 2), 15)
    expect(fuseRankings([], k).map((h) => h.id)).toEqual([3, 2, 4])
  })

  it('refuses bad options with a typed error naming them', () => {
    expect(() => fuseRankings([], [], { keywordWeight: 1.5 })).toThrow(/keywordWeight must be a number from 0 to 1, got 1.5/)
    expect(() => fuseRankings([], [], { keywordWeight: Number.NaN })).toThrow(VqOptionError)
    expect(() => fuseRankings([], [], { method: 'max' as never })).toThrow(/fusion method must be "score" or "rrf", got "max"/)
  })
})
