/**
 * The demo behind `npm start`, offline:
 * 1. Document search: indexes the SAP Fiori documentation shipped in the npm package
 *    @sap-ux/fiori-docs-embeddings (its text, records.jsonl field "content") with the built-in
 *    SIF-GloVe embedder into <cache>/demo/fiori-docs.vqlite (SQ8 codes + FTS5 keywords), then
 *    answers three questions with hybrid search, printing the top results with their sources,
 *    the time taken, and the index's size against the raw float32 vectors.
 * 2. Word neighbours: PQ25 codes of the 100,000 most frequent GloVe-6B words; the nearest
 *    words of a few words next to exact search, and recall@10 over 500 sampled words.
 * Later runs reuse the index file (unchanged input is not re-embedded); `--fresh` rebuilds.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { defaultCacheDir, exactKnn, Rng, VqFormatError, VqIndex } from 'vqlite'
import { createSifGloveEmbedder, loadGlove, TextIndex } from 'vqlite/text'
import { FIORI_PACKAGE } from '../datasets/index.js'
import { findPackage } from '../datasets/npm-package.js'

const QUESTIONS = [
  'How do I deploy an SAP Fiori application to Cloud Foundry?',
  'How can I add a custom column to the table of a list report?',
  'Which command previews my app with mock data?',
]
const WORDS = ['think', 'job', 'agriculture', 'businessman', 'hybrid']
const K = 10

const t0 = performance.now()
const secs = (t: number): string => `${((performance.now() - t) / 1000).toFixed(1)} s`
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`
const dir = join(defaultCacheDir(), 'demo')
mkdirSync(dir, { recursive: true })
const fresh = process.argv.includes('--fresh')

console.log('vqlite demo, offline: semantic search over the SAP Fiori docs, then GloVe word neighbours\n')
let t = performance.now()
const embedder = await createSifGloveEmbedder({ onProgress: (m) => console.log(`  ${m}`) })
console.log(`embedder ${embedder.name} (${embedder.dim}-d) ready in ${secs(t)}`)

// ---- 1. Document search ----
const records = join(findPackage(FIORI_PACKAGE, 'the demo').dir, 'data', 'embeddings', 'records.jsonl')
const file = join(dir, 'fiori-docs.vqlite')
if (fresh) rmSync(file, { force: true })
t = performance.now()
let docs: TextIndex
try {
  docs = statSync(file, { throwIfNoEntry: false }) ? await TextIndex.open(file, embedder) : await TextIndex.create(file, embedder)
} catch (e) {
  if (!(e instanceof VqFormatError)) throw e
  console.log(`cannot reuse ${file} (${e.message}); rebuilding it`)
  rmSync(file, { force: true })
  docs = await TextIndex.create(file, embedder)
}
const report = await docs.indexFiles([records], { field: 'content' })
const n = docs.index.size
console.log(
  report.filesUnchanged
    ? `reopened ${file}: ${n.toLocaleString()} chunks (docs unchanged, nothing re-embedded) in ${secs(t)}`
    : `indexed ${report.chunksAdded.toLocaleString()} chunks of the Fiori docs in ${secs(t)} into ${file}`,
)
const mem = docs.index.memoryUsage()
console.log(
  `vectors in memory: ${mib(mem.total)} of SQ8 codes and ids (${(mem.total / n).toFixed(0)} bytes/chunk) against ${mib(n * embedder.dim * 4)} of raw float32; ` +
    `the file (text, float32 vectors for re-training, keyword index) is ${mib(statSync(file).size)}`,
)
for (const q of QUESTIONS) {
  t = performance.now()
  const hits = await docs.search(q, { k: 3 })
  console.log(`\nQ: ${q}   (hybrid search, ${(performance.now() - t).toFixed(1)} ms)`)
  for (const [i, h] of hits.entries()) {
    const title = /\*\*TITLE\*\*: (.*)/.exec(h.text)?.[1] ?? h.text.replace(/\s+/g, ' ').slice(0, 80)
    console.log(`  ${i + 1}. ${title.slice(0, 90)}  [records.jsonl:${h.line} chars ${h.start}..${h.end}, score ${h.score.toFixed(4)}]`)
  }
}
await docs.close()

// ---- 2. Word neighbours ----
console.log('')
t = performance.now()
const glove = await loadGlove()
const nw = Math.min(100_000, glove.n)
const base = glove.vectors.subarray(0, nw * glove.d)
const words = join(dir, `glove-top${nw}-PQ25.vqlite`)
if (fresh) rmSync(words, { force: true })
let wi: VqIndex
if (statSync(words, { throwIfNoEntry: false })) {
  wi = VqIndex.open(words)
} else {
  wi = VqIndex.create(words, { dim: glove.d, metric: 'cosine', description: 'PQ25' })
  await wi.train(base, { iterations: 10, seed: 1 })
  await wi.add(
    Float64Array.from({ length: nw }, (_, i) => i),
    base,
  )
}
console.log(`PQ25 codes of the ${nw.toLocaleString()} most frequent GloVe words (25 bytes instead of 400 each) ready in ${secs(t)}`)
const sample = [...WORDS.map((w) => glove.words.indexOf(w)).filter((i) => i >= 0 && i < nw), ...new Rng(5).sample(nw, 500)]
const q = new Float32Array(sample.length * glove.d)
sample.forEach((row, i) => {
  q.set(base.subarray(row * glove.d, (row + 1) * glove.d), i * glove.d)
})
const approx = await wi.searchBatch(q, K + 1, { threads: 0 })
const exact = exactKnn(base, nw, q, sample.length, glove.d, K + 1, 'cosine')
let hits = 0
for (let i = 0; i < sample.length; i++) {
  // the word itself comes first in both; compare the 10 after it
  const truth = new Set(Array.from(exact.labels.subarray(i * (K + 1) + 1, (i + 1) * (K + 1))))
  for (const id of approx.row(i).ids.subarray(1)) if (truth.has(id)) hits++
}
for (let i = 0; i < WORDS.length && i < sample.length; i++) {
  const a = Array.from(approx.row(i).ids.subarray(1, 7), (id) => glove.words[id]!)
  const e = Array.from(exact.labels.subarray(i * (K + 1) + 1, i * (K + 1) + 7), (id) => glove.words[id]!)
  console.log(`${glove.words[sample[i]!]}\n  PQ25:  ${a.join(', ')}\n  exact: ${e.join(', ')}`)
}
console.log(`recall@${K} of PQ25 against exact search for ${sample.length} words: ${(hits / (sample.length * K)).toFixed(3)}`)
await wi.close()
console.log(`\ntotal ${secs(t0)}`)
