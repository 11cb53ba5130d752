/** Order statistics of timings: nearest-rank quantiles (p50 of 20 values is the 10th smallest, p95 the 19th). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** p50, p95, min and max of timings in ms, rounded to 0.1 ms. */
export function summary(ms: readonly number[]): { n: number; p50: number; p95: number; min: number; max: number } {
  const r = (v: number): number => Math.round(v * 10) / 10
  return { n: ms.length, p50: r(quantile(ms, 0.5)), p95: r(quantile(ms, 0.95)), min: r(Math.min(...ms)), max: r(Math.max(...ms)) }
}
