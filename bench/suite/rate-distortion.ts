/**
 * The rate-distortion report: the quantizers alone (no IVF, no re-ranking) on a dataset,
 * as bits per dimension against the mean squared reconstruction error and the recall@10
 * of exhaustive lookup-table search. Families: SQ (4, 8 and 16-bit float), PQ with 4-bit
 * and with 8-bit sub-quantizers at m = d/8, d/4, d/2 (the nearest divisor of d when d/8
 * etc. is not one), OPQ + PQ (8-bit), and RaBitQ at 1, 2, 4 and 8 bits per dimension (its
 * reconstruction is FAISS's, the vector whose inner products are the estimator's: not the
 * nearest point to x, so its MSE is above what the bits could give). The error is measured in the space the codec
 * encodes: unit vectors for cosine, rotated by OPQ when there is one (a rotation keeps
 * distances, so the error is that of the original vectors).
 */

import { normalizedCopy, VqIndex } from 'vqlite'
import type { EvalDataset } from '../../datasets/glove100.js'
import { annRecall } from './recall.js'
import { renderSvg } from './report.js'

export interface RateDistortionRow {
  readonly dataset: string
  readonly family: string
  readonly description: string
  readonly bitsPerDimension: number
  readonly codeBytes: number
  readonly mse: number
  readonly recall10: number
  readonly trainS: number
}

/** The divisor of d nearest to x (ties: the smaller). */
export function nearestDivisor(d: number, x: number): number {
  let best = 1
  for (let m = 1; m <= d; m++) if (d % m === 0 && Math.abs(m - x) < Math.abs(best - x)) best = m
  return best
}

/** The quantizer configurations of the report for dimension d, by family. */
export function rateDistortionConfigs(d: number): { family: string; description: string; bits: number }[] {
  const ms = [...new Set([d / 8, d / 4, d / 2].map((x) => nearestDivisor(d, x)))]
  const out: { family: string; description: string; bits: number }[] = [
    { family: 'SQ', description: 'SQ4', bits: 4 * d },
    { family: 'SQ', description: 'SQ8', bits: 8 * d },
    { family: 'SQ', description: 'SQfp16', bits: 16 * d },
  ]
  for (const m of ms) out.push({ family: 'PQ 4-bit', description: `PQ${m}x4`, bits: 4 * m })
  for (const m of ms) out.push({ family: 'PQ 8-bit', description: `PQ${m}`, bits: 8 * m })
  for (const m of ms.slice(0, 2)) out.push({ family: 'OPQ + PQ 8-bit', description: `OPQ${m},PQ${m}`, bits: 8 * m })
  // RaBitQ: nbits per dimension (the code adds a few floats of factors: see code bytes).
  for (const b of [1, 2, 4, 8]) out.push({ family: 'RaBitQ', description: b === 1 ? 'RaBitQ' : `RaBitQ${b}`, bits: b * d })
  return out
}

export interface RateDistortionOptions {
  readonly seed?: number
  readonly signal?: AbortSignal
  readonly onRow?: (row: RateDistortionRow) => void
  readonly onProgress?: (label: string, done: number, total: number) => void
}

/** Measures every configuration of rateDistortionConfigs(ds.d). */
export async function rateDistortion(ds: EvalDataset, options: RateDistortionOptions = {}): Promise<RateDistortionRow[]> {
  const rows: RateDistortionRow[] = []
  const ids = Float64Array.from({ length: ds.nb }, (_, i) => i)
  const x = ds.metric === 'cosine' ? normalizedCopy(ds.base, ds.nb, ds.d) : ds.base
  const configs = rateDistortionConfigs(ds.d)
  for (const [i, c] of configs.entries()) {
    if (options.signal?.aborted) break
    options.onProgress?.(`rate-distortion: ${c.description}`, i, configs.length)
    const ix = VqIndex.create(':memory:', { dim: ds.d, metric: ds.metric, description: c.description })
    try {
      const t0 = performance.now()
      await ix.train(ds.base, { seed: options.seed ?? 1 })
      const trainS = (performance.now() - t0) / 1000
      await ix.add(ids, ds.base)
      const res = await ix.searchBatch(ds.queries, 10, { threads: 0 })
      const row: RateDistortionRow = {
        dataset: ds.name,
        family: c.family,
        description: c.description,
        bitsPerDimension: c.bits / ds.d,
        codeBytes: ix.quantizer.codeSize,
        mse: reconstructionMse(ix, x, ds.nb, ds.d),
        recall10: annRecall(ds, res.ids, 10, 10),
        trainS,
      }
      rows.push(row)
      options.onRow?.(row)
    } finally {
      await ix.close()
    }
  }
  options.onProgress?.('rate-distortion', configs.length, configs.length)
  return rows
}

/** Mean over the rows of ||x - decode(encode(x))||^2 in the codec's space (after the index's transform). */
export function reconstructionMse(index: VqIndex, x: Float32Array, n: number, d: number): number {
  const q = index.quantizer
  const transform = index.model.transform
  const block = 8192
  const codes = new Uint8Array(block * q.codeSize)
  const rec = new Float32Array(block * d)
  const rot = transform ? new Float32Array(block * d) : null
  let sum = 0
  for (let i0 = 0; i0 < n; i0 += block) {
    const b = Math.min(block, n - i0)
    let xs = x.subarray(i0 * d, (i0 + b) * d)
    if (transform && rot) {
      transform.apply(xs, b, rot)
      xs = rot.subarray(0, b * d)
    }
    q.encode(xs, b, codes)
    q.decode(codes, b, rec)
    for (let i = 0; i < b * d; i++) {
      const e = xs[i]! - rec[i]!
      sum += e * e
    }
  }
  return sum / n
}

/** Families whose MSE does not fall as bits grow (empty when every family is monotone). */
export function nonMonotoneFamilies(rows: readonly RateDistortionRow[]): string[] {
  const bad: string[] = []
  for (const family of new Set(rows.map((r) => r.family))) {
    const list = rows.filter((r) => r.family === family).sort((a, b) => a.bitsPerDimension - b.bitsPerDimension)
    for (let i = 1; i < list.length; i++) if (!(list[i]!.mse < list[i - 1]!.mse)) bad.push(family)
  }
  return [...new Set(bad)]
}

export function rateDistortionMarkdown(rows: readonly RateDistortionRow[]): string {
  const out = [
    `## Rate-distortion: the quantizers alone (${rows[0]?.dataset ?? ''})`,
    '',
    'Exhaustive lookup-table search, no IVF, no re-ranking. MSE: mean squared reconstruction error per vector in the space the codec encodes.',
    '',
    '| family | quantizer | bits / dimension | code bytes | MSE | recall@10 | train s |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const r of [...rows].sort((a, b) => a.family.localeCompare(b.family) || a.bitsPerDimension - b.bitsPerDimension)) {
    out.push(
      `| ${r.family} | ${r.description} | ${r.bitsPerDimension.toFixed(2)} | ${r.codeBytes} | ${r.mse.toExponential(3)} | ${r.recall10.toFixed(4)} | ${r.trainS.toFixed(1)} |`,
    )
  }
  const bad = nonMonotoneFamilies(rows)
  out.push(
    '',
    bad.length === 0
      ? 'MSE falls monotonically with bits in every family.'
      : `MSE does not fall monotonically with bits in: ${bad.join(', ')}.`,
    '',
  )
  return out.join('\n')
}

/** Two panels: MSE (log) and recall@10 against bits per dimension (log), one line per family. */
export async function rateDistortionSvg(rows: readonly RateDistortionRow[]): Promise<string> {
  const values = rows.map((r) => ({ ...r }))
  const x = {
    field: 'bitsPerDimension',
    type: 'quantitative',
    title: 'bits per dimension (log scale)',
    scale: { type: 'log', base: 2 },
  } as const
  const color = { field: 'family', type: 'nominal', title: 'quantizer family' } as const
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${rows[0]?.dataset ?? ''}: rate-distortion of the quantizers alone`,
    data: { values },
    hconcat: [
      {
        width: 360,
        height: 300,
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'mse', type: 'quantitative', title: 'reconstruction MSE (log scale)', scale: { type: 'log' } },
          color,
          order: { field: 'bitsPerDimension' },
        },
      },
      {
        width: 360,
        height: 300,
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'recall10', type: 'quantitative', title: 'recall@10 (exhaustive search)', scale: { domain: [0, 1] } },
          color,
          order: { field: 'bitsPerDimension' },
        },
      },
    ],
  } as never)
}
