/**
 * The repeatability check of `vqlite bench --repeat N` (issue 15): the same set measured
 * twice in a row must rank the points the same way, with QPS within 10% point by point.
 * compareRepeats pairs the rows of two runs by series and parameters and reports, per
 * point, both QPS and their relative difference, plus whether the QPS ranking of the points
 * is the same (and how many pairs of points swapped).
 */
import { seriesOf } from './report.js'
import type { BenchRow } from './run.js'

export interface RepeatPoint {
  readonly key: string
  readonly qpsA: number
  readonly qpsB: number
  /** |qpsB - qpsA| / qpsA. */
  readonly relativeDiff: number
}

export interface RepeatComparison {
  readonly points: readonly RepeatPoint[]
  /** The largest relativeDiff (0 when no point is in both runs). */
  readonly maxRelativeDiff: number
  /** Pairs of common points ordered one way by QPS in run A and the other way in run B. */
  readonly swappedPairs: number
  readonly pairs: number
  /** True when no pair swapped (ties count as agreeing with anything). */
  readonly sameRanking: boolean
  /** Keys present in only one of the runs. */
  readonly unmatched: readonly string[]
}

/** The identity of a point across runs: its series and its search parameters. */
export function pointKey(r: BenchRow): string {
  const params = Object.entries(r.params)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
  return `${seriesOf(r)} [${params}]`
}

/** Compares two runs' rows (see the module comment). */
export function compareRepeats(a: readonly BenchRow[], b: readonly BenchRow[]): RepeatComparison {
  const mb = new Map(b.map((r) => [pointKey(r), r]))
  const ka = new Set(a.map(pointKey))
  const points: RepeatPoint[] = []
  for (const r of a) {
    const other = mb.get(pointKey(r))
    if (!other) continue
    points.push({ key: pointKey(r), qpsA: r.qps, qpsB: other.qps, relativeDiff: Math.abs(other.qps - r.qps) / r.qps })
  }
  let swappedPairs = 0
  let pairs = 0
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      pairs++
      const p = points[i]!
      const q = points[j]!
      if (Math.sign(p.qpsA - q.qpsA) * Math.sign(p.qpsB - q.qpsB) < 0) swappedPairs++
    }
  }
  const unmatched = [...a.map(pointKey).filter((k) => !mb.has(k)), ...b.map(pointKey).filter((k) => !ka.has(k))]
  return {
    points,
    maxRelativeDiff: points.reduce((m, p) => Math.max(m, p.relativeDiff), 0),
    swappedPairs,
    pairs,
    sameRanking: swappedPairs === 0,
    unmatched,
  }
}

/** A Markdown section: every point's QPS in both runs and the verdict against the 10%. */
export function repeatMarkdown(c: RepeatComparison, runA: number, runB: number, tolerance = 0.1): string {
  const out = [
    `## Repeatability: run ${runA} vs run ${runB}`,
    '',
    `Same ranking of points: ${c.sameRanking ? 'yes' : 'no'} (${c.swappedPairs} of ${c.pairs} pairs swapped); ` +
      `max per-point QPS difference ${(100 * c.maxRelativeDiff).toFixed(1)}% ` +
      `(${c.maxRelativeDiff <= tolerance && c.sameRanking ? 'within' : 'NOT within'} the ${(100 * tolerance).toFixed(0)}% / same-ranking target)`,
    '',
    `| point | QPS run ${runA} | QPS run ${runB} | difference |`,
    '|---|---|---|---|',
    ...c.points.map((p) => `| ${p.key} | ${Math.round(p.qpsA)} | ${Math.round(p.qpsB)} | ${(100 * p.relativeDiff).toFixed(1)}% |`),
  ]
  if (c.unmatched.length > 0) out.push('', `Points in only one run: ${c.unmatched.join('; ')}`)
  out.push('')
  return out.join('\n')
}
