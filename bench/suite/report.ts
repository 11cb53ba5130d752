/**
 * The suite's outputs from its rows: a Markdown summary (per recall target, the fastest
 * point of each system / configuration reaching it, then every row) and SVG plots drawn
 * with vega-lite (compiled to a vega view and rendered to SVG in Node, headless).
 */
import * as vega from 'vega'
import * as vl from 'vega-lite'
import type { BenchRow } from './run.js'

/** Recall targets of the summary tables. */
export const RECALL_TARGETS = [0.5, 0.8, 0.9, 0.95, 0.99] as const

/** The series a row belongs to (one curve of the plot). */
export function seriesOf(r: BenchRow): string {
  return r.system === 'vqlite'
    ? `vqlite ${r.config}`
    : r.system === 'hnswlib'
      ? `hnswlib ${r.config.replace(/^HNSW /, '')}`
      : 'exact (Flat)'
}

/** The recall the summaries rank by: recall@10 when measured, else recall@k of the timed run. */
function recallOf(r: BenchRow): number {
  return r.recall10 ?? r.recall1
}

function paramsText(r: BenchRow): string {
  return (
    Object.entries(r.params)
      .map(([k, v]) => `${k === 'refineFactor' ? 'refine' : k} ${v}`)
      .join(', ') || '-'
  )
}

const fmt = (v: number | null, digits: number): string => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits))
const int = (v: number | null): string => (v === null || !Number.isFinite(v) ? '-' : Math.round(v).toLocaleString('en-US'))

/** The fastest (single-thread QPS) row of each series whose recall@10 reaches `target`. */
export function fastestPerSeries(rows: readonly BenchRow[], target: number): BenchRow[] {
  const best = new Map<string, BenchRow>()
  for (const r of rows) {
    if (recallOf(r) < target) continue
    const s = seriesOf(r)
    const b = best.get(s)
    if (!b || r.qps > b.qps) best.set(s, r)
  }
  return [...best.values()].sort((a, b) => b.qps - a.qps)
}

/** The Markdown report. */
export function markdownReport(rows: readonly BenchRow[], interrupted = false): string {
  const out: string[] = []
  const first = rows[0]
  if (!first) return '# vqlite bench\n\nNo rows were measured.\n'
  out.push(`# vqlite bench: ${first.dataset}`)
  out.push('')
  out.push(
    `${first.nb.toLocaleString('en-US')} base vectors, ${first.nq.toLocaleString('en-US')} queries, d = ${first.d}, metric ${first.metric}, k = ${first.k}. ` +
      `Machine: ${String(first.machine['cpu'])}, ${String(first.machine['cores'])} cores, Node ${String(first.machine['node'])}, ${String(first.machine['date'])}.`,
  )
  out.push(
    'QPS: single thread, one query at a time; batch: searchBatch on the worker pool. Recall: ann-benchmarks definition (ties within 1e-3 count).',
  )
  if (interrupted) out.push('', '**Interrupted**: the rows below are those measured before Ctrl-C.')
  out.push('')
  out.push('## Fastest configuration per recall@10 target')
  out.push('')
  out.push('| recall@10 ≥ | system / configuration | parameters | recall@10 | QPS | QPS batch | p99 ms | RAM B/vector | build s |')
  out.push('|---|---|---|---|---|---|---|---|---|')
  for (const t of RECALL_TARGETS) {
    const best = fastestPerSeries(rows, t)
    if (best.length === 0) out.push(`| ${t} | (none reached it) | | | | | | | |`)
    for (const r of best) {
      out.push(
        `| ${t} | ${seriesOf(r)} | ${paramsText(r)} | ${fmt(recallOf(r), 4)} | ${int(r.qps)} | ${int(r.qpsBatch)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.ramBytesPerVector, 1)} | ${fmt(r.buildS, 1)} |`,
      )
    }
  }
  out.push('')
  out.push('## Every point')
  out.push('')
  out.push(
    '| system / configuration | parameters | recall@1 | recall@10 | recall@100 | QPS | QPS batch | p50 ms | p99 ms | RAM B/vector | file MB | train s | add s |',
  )
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    out.push(
      `| ${seriesOf(r)} | ${paramsText(r)} | ${fmt(r.recall1, 4)} | ${fmt(r.recall10, 4)} | ${fmt(r.recall100, 4)} | ${int(r.qps)} | ${int(r.qpsBatch)} | ` +
        `${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ${fmt(r.ramBytesPerVector, 1)} | ${fmt(r.fileBytes / 1e6, 1)} | ${fmt(r.trainS, 1)} | ${fmt(r.addS, 1)} |`,
    )
  }
  out.push('')
  return out.join('\n')
}

/** The points of each series on its Pareto frontier (no other point has both higher recall and higher QPS). */
export function paretoFrontier(rows: readonly BenchRow[]): BenchRow[] {
  const bySeries = new Map<string, BenchRow[]>()
  for (const r of rows) bySeries.set(seriesOf(r), [...(bySeries.get(seriesOf(r)) ?? []), r])
  const out: BenchRow[] = []
  for (const list of bySeries.values()) {
    const sorted = [...list].sort((a, b) => recallOf(b) - recallOf(a) || b.qps - a.qps)
    let bestQps = -Infinity
    for (const r of sorted) {
      if (r.qps > bestQps) {
        out.push(r)
        bestQps = r.qps
      }
    }
  }
  return out
}

/** Renders a vega-lite specification to an SVG string. */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** recall@10 against single-thread QPS (log scale), one line per series along its Pareto frontier. */
export async function recallQpsSvg(rows: readonly BenchRow[]): Promise<string> {
  const first = rows[0]
  const values = paretoFrontier(rows).map((r) => ({ series: seriesOf(r), recall: recallOf(r), qps: r.qps, params: paramsText(r) }))
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${first?.dataset ?? ''}: recall@10 vs queries per second (one thread)`,
      subtitle: 'Pareto frontier of each configuration; up and right is better',
    },
    width: 640,
    height: 420,
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 50 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'recall', type: 'quantitative', title: 'recall@10', scale: { zero: false } },
      y: { field: 'qps', type: 'quantitative', title: 'queries per second (log scale)', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 400 } },
      order: { field: 'recall', type: 'quantitative' },
      tooltip: [{ field: 'series' }, { field: 'params' }, { field: 'recall', format: '.4f' }, { field: 'qps', format: ',.0f' }],
    },
    config: { font: 'sans-serif' },
  } as vl.TopLevelSpec)
}
