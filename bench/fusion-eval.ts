/**
 * Chooses and checks the hybrid search's fusion (src/text/fusion.ts) on two evaluation
 * sets, with the built-in SIF-GloVe embedder and the default SQ8 text index:
 *   fiori   the 778 SAP Fiori documentation records (npm @sap-ux/fiori-docs-embeddings), one
 *           JSONL line each, chunked; each record's title is the query, the record is the answer;
 *   readmes the README of every package installed in node_modules (one file per package),
 *           with the questions of bench/data/readme-questions.json (written before any search
 *           over that corpus was run), the package is the answer.
 * For each query the vector and keyword rankings (top 50, as hybrid search takes for k = 10)
 * are read once, then fused by every method and weight of the grid; reported: the share of
 * queries whose answer is first, in the top 5 and in the top 10, for vector, keyword and each
 * fusion. The default (DEFAULT_KEYWORD_WEIGHT, method 'score') is chosen on fiori and
 * confirmed on readmes; the script checks hybrid >= max(vector, keyword) at 1 and 5 on both.
 *
 *   npm run build && node cli/dist/bench/fusion-eval.js
 *
 * Writes bench/results/fusion-eval.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSifGloveEmbedder, DEFAULT_KEYWORD_WEIGHT, type FusionOptions, fuseRankings, type Scored, TextIndex } from 'vqlite/text'
import { loadFioriDocs } from '../datasets/index.js'
import { copyPackageReadmes } from './lib/readmes.js'
import { machineInfo, saveJson } from './lib/report.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..') // cli/dist/bench -> repository root
const DEPTH = 50

interface Query {
  readonly text: string
  /** Is this hit (its metadata) the answer? */
  readonly isAnswer: (hit: { source: string; line?: number }) => boolean
}
interface Lists {
  readonly vector: Scored[]
  readonly keyword: Scored[]
}

const embedder = await createSifGloveEmbedder({ onProgress: (m) => console.log(m) })
const dir = mkdtempSync(join(tmpdir(), 'vqlite-fusion-'))
const grid: { name: string; fusion: FusionOptions }[] = []
for (const w of [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]) grid.push({ name: `score w=${w}`, fusion: { method: 'score', keywordWeight: w } })
for (const w of [0.5, 0.7, 0.8, 0.9]) grid.push({ name: `rrf w=${w}`, fusion: { method: 'rrf', keywordWeight: w } })

async function evaluate(
  name: string,
  ix: TextIndex,
  queries: Query[],
): Promise<Record<string, { at1: number; at5: number; at10: number }>> {
  const meta = new Map<number, { source: string; line?: number }>()
  const lists: Lists[] = []
  for (const q of queries) {
    const v = await ix.search(q.text, { k: DEPTH, mode: 'vector' })
    const k = await ix.search(q.text, { k: DEPTH, mode: 'keyword' })
    for (const h of [...v, ...k]) meta.set(h.id, { source: h.source, ...(h.line !== undefined ? { line: h.line } : {}) })
    lists.push({ vector: v.map((h) => ({ id: h.id, score: h.score })), keyword: k.map((h) => ({ id: h.id, score: h.score })) })
  }
  const measure = (rank: (l: Lists) => Scored[]) => {
    const at = [0, 0, 0]
    queries.forEach((q, i) => {
      const ranked = rank(lists[i]!)
      const first = ranked.findIndex((h) => q.isAnswer(meta.get(h.id)!))
      ;[1, 5, 10].forEach((cut, j) => {
        if (first >= 0 && first < cut) at[j]!++
      })
    })
    return { at1: at[0]! / queries.length, at5: at[1]! / queries.length, at10: at[2]! / queries.length }
  }
  const out: Record<string, { at1: number; at5: number; at10: number }> = {
    vector: measure((l) => l.vector),
    keyword: measure((l) => l.keyword),
  }
  for (const g of grid) out[g.name] = measure((l) => fuseRankings(l.vector, l.keyword, g.fusion))
  out['hybrid (default)'] = measure((l) => fuseRankings(l.vector, l.keyword))
  console.log(
    `\n${name}: ${queries.length} queries, ${ix.index.size} chunks; share of queries whose answer is at 1 / in the top 5 / in the top 10`,
  )
  for (const [m, r] of Object.entries(out))
    console.log(
      `  ${m.padEnd(18)} ${(100 * r.at1).toFixed(1).padStart(5)} %  ${(100 * r.at5).toFixed(1).padStart(5)} %  ${(100 * r.at10).toFixed(1).padStart(5)} %`,
    )
  return out
}

try {
  // fiori
  const docs = await loadFioriDocs()
  const fioriFile = join(dir, 'fiori.jsonl')
  writeFileSync(fioriFile, docs.records.map((r) => JSON.stringify({ text: r.content })).join('\n'))
  const fiori = await TextIndex.create(join(dir, 'fiori.vqlite'), embedder)
  await fiori.indexFiles([fioriFile])
  const fioriQueries: Query[] = docs.records.map((r, i) => ({
    text: String(r['title'] ?? r.content.split('\n')[0]),
    isAnswer: (h) => h.line === i + 1,
  }))
  // readmes: one folder per installed package, holding its README
  const questions = (
    JSON.parse(readFileSync(join(root, 'bench', 'data', 'readme-questions.json'), 'utf8')) as {
      questions: { q: string; package: string }[]
    }
  ).questions
  const files = copyPackageReadmes(join(root, 'node_modules'), join(dir, 'readmes'))
  const readmes = await TextIndex.create(join(dir, 'readmes.vqlite'), embedder)
  await readmes.indexFiles(files)
  const readmeQueries: Query[] = questions.map((q) => ({
    text: q.q,
    isAnswer: (h) => h.source.includes(`${q.package.replace('/', '__')}/README.md`),
  }))
  const result = {
    bench: 'fusion-eval',
    machine: machineInfo(),
    embedder: embedder.name,
    defaultKeywordWeight: DEFAULT_KEYWORD_WEIGHT,
    readmePackages: files.length,
    fiori: await evaluate('fiori titles', fiori, fioriQueries),
    readmes: await evaluate(`package READMEs (${files.length} packages)`, readmes, readmeQueries),
  }
  let ok = true
  for (const set of ['fiori', 'readmes'] as const) {
    const r = result[set]
    for (const at of ['at1', 'at5'] as const) {
      const best = Math.max(r['vector']![at], r['keyword']![at])
      const h = r['hybrid (default)']![at]
      const pass = h >= best
      ok &&= pass
      console.log(
        `${set} ${at}: hybrid ${(100 * h).toFixed(1)} % vs max(vector, keyword) ${(100 * best).toFixed(1)} %: ${pass ? 'ok' : 'BELOW'}`,
      )
    }
  }
  saveJson(join(root, 'bench', 'results', 'fusion-eval.json'), { ...result, hybridAtLeastBest: ok })
  await fiori.close()
  await readmes.close()
  if (!ok) process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
