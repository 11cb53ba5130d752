/**
 * Issue 16, the high-dimensional line: on sets of >= 384 dimensions, which codecs reach
 * recall@10 >= 0.95 with exact re-ranking (RFlat), and with how many bytes per vector in
 * RAM. Sets:
 * - minilm384: the 778 all-MiniLM-L6-v2 embeddings of @sap-ux/fiori-docs-embeddings
 *   (cosine); a seeded 100 of them are the queries, the other 678 the base;
 * - synth768: syntheticMixture(n = 100,000, d = 768, one component, decay 6: a spectrum
 *   falling over e^6 as embedding spectra do; 100 queries), L2.
 * Both are exhaustive (one Gaussian has no clusters for an IVF to follow: at IVF256 nprobe 32
 * every codec stops at R@10 0.64, the lists' coverage), the codes relative to the training
 * mean (RaBitQ) or trained on the whole set (PQ, SQ). Each is searched at refineFactor
 * 1, 2, 4, ... 64 until R@10 >= 0.95. Bytes per vector in RAM: memoryUsage()'s codes + ids +
 * seqs + trained arrays (the rotation, codebooks, coarse centroids) over the count, beside
 * the code size. Rows read per query (lastSearchStats) show what bound-driven re-ranking saves.
 *
 *   npm run build && node cli/dist/bench/rabitq-highdim.js [--set minilm384,synth768] [--n 100000] [--out bench/results/rabitq-highdim.json]
 */
import { parseArgs } from 'node:util'
import { exactKnn, Rng, VqIndex } from 'vqlite'
import { loadFioriDocs } from '../datasets/fiori.js'
import { syntheticMixture } from '../datasets/synthetic.js'
import { machineInfo, recallAtK, saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    set: { type: 'string', default: 'minilm384,synth768' },
    n: { type: 'string', default: '100000' },
    nq: { type: 'string', default: '200' },
    configs: { type: 'string' },
    out: { type: 'string', default: 'bench/results/rabitq-highdim.json' },
  },
})

const K = 10
const TARGET = 0.95
const REFINE = [1, 2, 4, 8, 16, 32, 64]

interface HighDimSet {
  readonly name: string
  readonly metric: 'cosine' | 'l2'
  readonly d: number
  readonly base: Float32Array
  readonly nb: number
  readonly queries: Float32Array
  readonly nq: number
  readonly gt: Int32Array
  /** IVF stage in front of every configuration ('' for exhaustive) and its nprobe. */
  readonly ivf: string
  readonly nprobe: number
}

async function minilm(): Promise<HighDimSet> {
  const f = await loadFioriDocs()
  const rng = new Rng(16)
  const qRows = new Set(rng.sample(f.n, 100))
  const d = f.d
  const nb = f.n - qRows.size
  const base = new Float32Array(nb * d)
  const queries = new Float32Array(qRows.size * d)
  let b = 0
  let q = 0
  for (let i = 0; i < f.n; i++) {
    const row = f.vectors.subarray(i * d, (i + 1) * d)
    if (qRows.has(i)) queries.set(row, d * q++)
    else base.set(row, d * b++)
  }
  const gt = Int32Array.from(exactKnn(base, nb, queries, q, d, K, 'cosine').labels)
  return { name: 'minilm384', metric: 'cosine', d, base, nb, queries, nq: q, gt, ivf: '', nprobe: 1 }
}

function synth(n: number, nq: number): HighDimSet {
  const d = 768
  const s = syntheticMixture({ n, d, nq, seed: 16, decay: 6, clusters: 1 })
  const gt = Int32Array.from(exactKnn(s.base, n, s.queries, nq, d, K, 'l2').labels)
  return { name: 'synth768', metric: 'l2', d, base: s.base, nb: n, queries: s.queries, nq, gt, ivf: '', nprobe: 1 }
}

/** The configurations compared on a set of dimension d (exhaustive, RFlat). */
function configsFor(d: number, nb: number): string[] {
  if (values.configs) return values.configs.split(';')
  const out = ['RaBitQ,RFlat', 'RaBitQ2,RFlat', 'RaBitQ4,RFlat', 'SQ4,RFlat', 'SQ8,RFlat']
  for (const m of [d / 32, d / 16, d / 8, d / 4]) {
    if (!Number.isInteger(m)) continue
    out.push(`PQ${m}x4,RFlat`)
    if (nb >= 256 * 39) out.push(`PQ${m},RFlat`)
  }
  return out
}

interface Row {
  set: string
  description: string
  codeSize: number
  ramBytesPerVector: number
  trainS: number
  points: { refineFactor: number; recall: number; rowsReadPerQuery: number; usPerQuery: number }[]
  reached: { refineFactor: number; recall: number; rowsReadPerQuery: number } | null
}

async function run(set: HighDimSet, description: string): Promise<Row> {
  const ix = VqIndex.create(':memory:', { dim: set.d, metric: set.metric, description: set.ivf + description, storeVectors: 'float32' })
  try {
    const ids = Array.from({ length: set.nb }, (_, i) => i)
    const t0 = performance.now()
    await ix.train(set.base, { seed: 1 })
    const trainS = (performance.now() - t0) / 1000
    await ix.add(ids, set.base)
    const usage = ix.memoryUsage()
    const ramBytesPerVector = (usage.codes + usage.ids + usage.trained) / set.nb
    const points: Row['points'] = []
    let reached: Row['reached'] = null
    for (const refineFactor of REFINE) {
      const found = new Float64Array(set.nq * K)
      let rows = 0
      const t = performance.now()
      for (let i = 0; i < set.nq; i++) {
        const r = ix.search(set.queries.subarray(i * set.d, (i + 1) * set.d), K, { refineFactor, nprobe: set.nprobe })
        found.set(r.ids, i * K)
        rows += ix.lastSearchStats().rowsRead
      }
      const usPerQuery = ((performance.now() - t) * 1000) / set.nq
      const recall = recallAtK(found, K, set.gt, K, set.nq, K)
      points.push({ refineFactor, recall, rowsReadPerQuery: rows / set.nq, usPerQuery })
      if (recall >= TARGET) {
        reached = { refineFactor, recall, rowsReadPerQuery: rows / set.nq }
        break
      }
      if (refineFactor * K >= set.nb) break
    }
    return { set: set.name, description, codeSize: ix.codeSize, ramBytesPerVector, trainS, points, reached }
  } finally {
    await ix.close()
  }
}

const results: Row[] = []
for (const name of values.set.split(',')) {
  const set = name === 'minilm384' ? await minilm() : synth(Number(values.n), Number(values.nq))
  console.log(
    `\n${set.name}: ${set.nb} x ${set.d} (${set.metric}), ${set.nq} queries, ${set.ivf ? `${set.ivf.slice(0, -1)} nprobe ${set.nprobe}` : 'exhaustive'} + RFlat, target R@10 >= ${TARGET}`,
  )
  console.log('description        code B  RAM B/vec  train s  reached at      R@10    rows read/query')
  for (const description of configsFor(set.d, set.nb)) {
    let row: Row
    try {
      row = await run(set, description)
    } catch (e) {
      console.log(`${description.padEnd(18)} skipped: ${(e as Error).message}`)
      continue
    }
    results.push(row)
    const r = row.reached
    console.log(
      `${description.padEnd(18)} ${String(row.codeSize).padStart(6)}  ${row.ramBytesPerVector.toFixed(1).padStart(9)}  ${row.trainS.toFixed(2).padStart(7)}  ${
        r ? `refine ${String(r.refineFactor).padEnd(6)}` : 'not reached  '
      }  ${(r?.recall ?? row.points.at(-1)!.recall).toFixed(4)}  ${(r?.rowsReadPerQuery ?? row.points.at(-1)!.rowsReadPerQuery).toFixed(1)}`,
    )
  }
  const reached = results.filter((r) => r.set === set.name && r.reached)
  const best = reached.sort((a, b) => a.ramBytesPerVector - b.ramBytesPerVector)[0]
  console.log(
    `fewest RAM bytes per vector at R@10 >= ${TARGET}: ${best ? `${best.description} (${best.ramBytesPerVector.toFixed(1)} B)` : 'none'}`,
  )
}
saveJson(values.out, { machine: machineInfo(), k: K, target: TARGET, results })
console.log(`\nwrote ${values.out}`)
