/**
 * Text search on the SAP Fiori documentation chunks (npm @sap-ux/fiori-docs-embeddings),
 * embedded with the built-in SIF-GloVe embedder: each chunk's title is the query, and a
 * query is a hit when the chunk itself is among the top 10. Reported for hybrid,
 * vector-only and keyword-only search. Also: how many of the quantized index's vector
 * top-10 results are those of exact search over the same embeddings.
 *
 *   npm run build && node cli/dist/bench/fiori-text.js [--description SQ8] [--chunk-size 800] [--overlap 100]
 *
 * Writes bench/results/fiori-text.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createSifGloveEmbedder, TextIndex, type TextSearchMode } from 'vqlite/text'
import { loadFioriDocs } from '../datasets/index.js'
import { machineInfo, saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    description: { type: 'string', default: 'SQ8' },
    'chunk-size': { type: 'string', default: '800' },
    overlap: { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench/results/fiori-text.json' },
  },
})
const t0 = performance.now()
const docs = await loadFioriDocs()
const embedder = await createSifGloveEmbedder({ onProgress: (m) => console.log(m) })
const dir = mkdtempSync(join(tmpdir(), 'vqlite-fiori-'))
try {
  // One JSONL line per documentation chunk, split by the pipeline's default chunking
  // (--chunk-size characters, --overlap); a title query hits when a piece of its line is in the top 10.
  const file = join(dir, 'fiori.jsonl')
  writeFileSync(file, docs.records.map((r) => JSON.stringify({ text: r.content })).join('\n'))
  const chunk = { size: Number(values['chunk-size']), overlap: Number(values.overlap) }
  const build = async (description: string): Promise<TextIndex> => {
    const ix = await TextIndex.create(join(dir, `${description}.vqlite`), embedder, { description })
    const report = await ix.indexFiles([file], { chunk })
    console.log(`${description}: ${report.chunksAdded} chunks from ${docs.n} documentation records`)
    return ix
  }
  const quantized = await build(values.description)
  const exact = await build('Flat')
  const titles = docs.records.map((r) => String(r['title'] ?? r.content.split('\n')[0]))
  const result: Record<string, unknown> = {
    bench: 'fiori-text',
    machine: machineInfo(),
    embedder: embedder.name,
    description: values.description,
    n: docs.n,
    chunk,
  }
  for (const mode of ['hybrid', 'vector', 'keyword'] as TextSearchMode[]) {
    let hits = 0
    const t = performance.now()
    for (const [i, title] of titles.entries()) {
      const res = await quantized.search(title, { k: 10, mode })
      if (res.some((h) => h.line === i + 1)) hits++
    }
    const ms = (performance.now() - t) / titles.length
    result[mode] = { hitAt10: hits / titles.length, msPerQuery: ms }
    console.log(
      `${mode.padEnd(8)} the chunk itself in the top 10 for ${hits} of ${titles.length} titles (${((100 * hits) / titles.length).toFixed(1)} %), ${ms.toFixed(2)} ms/query`,
    )
  }
  let same = 0
  let total = 0
  for (const title of titles) {
    const a = await quantized.search(title, { k: 10, mode: 'vector' })
    const b = new Set((await exact.search(title, { k: 10, mode: 'vector' })).map((h) => h.id))
    total += b.size
    same += a.filter((h) => b.has(h.id)).length
  }
  result['quantizedVsExactTop10'] = same / total
  console.log(
    `${values.description} vector top-10 vs exact (Flat) over the same embeddings: ${same} of ${total} results the same (${((100 * same) / total).toFixed(1)} %)`,
  )
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  saveJson(values.out, result)
  await quantized.close()
  await exact.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
