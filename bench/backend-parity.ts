/**
 * The WebAssembly backend forced on and forced off give the same results on glove100:
 * one index file (built once), opened twice (kernels 'wasm' and 'ts'), the 1,000 queries
 * searched at several settings. Reports the fraction of result rows with identical ids,
 * the worst relative distance difference, and the recall of each.
 *
 *   npm run build && node dist/bench/backend-parity.js [--index IVF1024,PQ50x4,RFlat]
 *
 * Writes bench/results/backend-parity.json.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { VqIndex } from 'vqlite'
import { loadGlove100 } from '../datasets/index.js'
import { machineInfo, recallAtK, saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    index: { type: 'string', default: 'IVF1024,PQ50x4,RFlat' },
    out: { type: 'string', default: 'bench/results/backend-parity.json' },
  },
})
const g = await loadGlove100()
const k = 10
const dir = mkdtempSync(join(tmpdir(), 'vqlite-parity-'))
try {
  const path = join(dir, 'glove.vqlite')
  const built = VqIndex.create(path, { dim: g.d, metric: 'cosine', description: values.index, storeVectors: 'float32', kernels: 'wasm' })
  await built.train(g.base, { seed: 1 })
  await built.add(
    Float64Array.from({ length: g.nb }, (_, i) => i),
    g.base,
  )
  await built.close()
  const on = VqIndex.open(path, { readonly: true, kernels: 'wasm', threads: 0 })
  const off = VqIndex.open(path, { readonly: true, kernels: 'ts', threads: 0 })
  const rows: Record<string, number>[] = []
  for (const [nprobe, refineFactor] of [
    [16, 1],
    [64, 1],
    [64, 10],
    [128, 20],
  ] as const) {
    const a = await on.searchBatch(g.queries, k, { nprobe, refineFactor, threads: 0 })
    const b = await off.searchBatch(g.queries, k, { nprobe, refineFactor, threads: 0 })
    let same = 0
    let worst = 0
    for (let i = 0; i < g.nq; i++) {
      const ra = a.row(i)
      const rb = b.row(i)
      if (ra.ids.every((id, j) => id === rb.ids[j])) same++
      for (let j = 0; j < k; j++) {
        if (ra.ids[j] !== rb.ids[j]) continue
        worst = Math.max(worst, Math.abs(ra.distances[j]! - rb.distances[j]!) / Math.max(1e-30, Math.abs(rb.distances[j]!)))
      }
    }
    const row = {
      nprobe,
      refineFactor,
      rowsIdentical: same / g.nq,
      worstRelDistanceDiff: worst,
      recallWasm: recallAtK(a.ids, k, g.groundTruth, g.gtK, g.nq, k),
      recallTs: recallAtK(b.ids, k, g.groundTruth, g.gtK, g.nq, k),
    }
    rows.push(row)
    console.log(
      `nprobe ${nprobe} refine ${refineFactor}: ${(100 * row.rowsIdentical).toFixed(1)}% of rows identical ids, worst relative distance difference ${worst.toExponential(2)}, recall@10 wasm ${row.recallWasm.toFixed(4)} ts ${row.recallTs.toFixed(4)}`,
    )
  }
  await on.close()
  await off.close()
  saveJson(values.out, { bench: 'backend-parity', index: values.index, machine: machineInfo(), rows })
  console.log(`saved ${values.out}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
