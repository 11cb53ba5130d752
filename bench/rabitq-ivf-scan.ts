/**
 * IVF extended RaBitQ (RaBitQ2/4, no re-ranking) query speed and recall@10 of several source
 * trees of vqlite on ONE saved index, one thread, one query at a time: built (train + add)
 * with the first tree's code and saved, then opened by every tree, so all trees scan the
 * same codes. Rounds are interleaved (each round times every tree at every point), and a
 * point's QPS is the median of its rounds. For comparing a scan change against main:
 *
 *   npx tsx bench/rabitq-ivf-scan.ts --roots .,/tmp/vq-main [--set glove|synth] [--desc IVF1024,RaBitQ4;IVF1024,RaBitQ2]
 *     [--nprobe 16,32,64] [--nq 300] [--rounds 3] [--out bench/results/rabitq-ivf-scan.json]
 *
 * A root is a directory holding src/index.ts (and native-free-kernels/ with kernels.wasm),
 * e.g. a `git archive <commit> src native-free-kernels` copy with node_modules linked.
 * Sets: glove = glove100 (loadGlove100: 340,479 x 100, cosine, its ground truth); synth =
 * 50,000 seeded clustered vectors (d = 96, 200 clusters, L2, exact ground truth here).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { loadGlove100 } from '../datasets/index.js'
import { machineInfo, saveJson } from './lib/report.js'

type Lib = typeof import('../src/index.js')

const { values } = parseArgs({
  options: {
    roots: { type: 'string', default: '.' },
    set: { type: 'string', default: 'glove' },
    desc: { type: 'string', default: 'IVF1024,RaBitQ4;IVF1024,RaBitQ2' },
    nprobe: { type: 'string', default: '16,32,64' },
    nq: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
})

const K = 10
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`)
const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Seeded clustered vectors (a small LCG, Box-Muller): nc centres N(0, 1), points centre + 0.5 N(0, 1). */
function clustered(n: number, d: number, nc: number, seed: number, centres?: Float32Array): { x: Float32Array; c: Float32Array } {
  let s = seed >>> 0
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return (s + 0.5) / 2 ** 32
  }
  const g = (): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())
  const c = centres ?? Float32Array.from({ length: nc * d }, g)
  const x = new Float32Array(n * d)
  for (let i = 0; i < n; i++) {
    const j = Math.floor(u() * nc)
    for (let t = 0; t < d; t++) x[i * d + t] = c[j * d + t]! + 0.5 * g()
  }
  return { x, c }
}

async function main(): Promise<void> {
  const roots = values.roots.split(',').map((r) => resolve(r))
  const libs: Lib[] = []
  for (const r of roots) libs.push((await import(pathToFileURL(join(r, 'src/index.ts')).href)) as Lib)
  const nprobes = values.nprobe.split(',').map(Number)
  const rounds = Number(values.rounds)
  let d: number
  let base: Float32Array
  let nb: number
  let queries: Float32Array
  let nq = Number(values.nq)
  let gt: Int32Array
  let gtK: number
  let metric: 'cosine' | 'l2'
  if (values.set === 'glove') {
    const g = await loadGlove100()
    d = g.d
    base = g.base
    nb = g.nb
    nq = Math.min(nq, g.nq)
    queries = g.queries.subarray(0, nq * d)
    gt = g.groundTruth
    gtK = g.gtK
    metric = 'cosine'
  } else {
    d = 96
    nb = 50_000
    const b = clustered(nb, d, 200, 1)
    base = b.x
    queries = clustered(nq, d, 200, 2, b.c).x
    const knn = libs[0]!.exactKnn(base, nb, queries, nq, d, K, 'l2')
    gt = knn.labels
    gtK = K
    metric = 'l2'
  }
  log(`set ${values.set}: ${nb} x ${d}, ${nq} queries, ${metric}; roots ${roots.join(' ')}`)
  const dir = mkdtempSync(join(tmpdir(), 'vqlite-rabitq-ivf-scan-'))
  const results: Record<string, unknown>[] = []
  try {
    for (const description of values.desc.split(';')) {
      const path = join(dir, `${description.replace(/[^A-Za-z0-9]/g, '_')}.vq`)
      const t0 = performance.now()
      const built = libs[0]!.VqIndex.create(path, { dim: d, metric, description, storeVectors: 'none' })
      await built.train(base, { seed: 1 })
      await built.add(
        Array.from({ length: nb }, (_, i) => i),
        base,
      )
      await built.close()
      log(`${description}: built in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      const opened = libs.map((lib) => lib.VqIndex.open(path, { threads: 0 }))
      const qps = opened.map(() => nprobes.map(() => [] as number[]))
      const recall = opened.map(() => nprobes.map(() => 0))
      const qs = Array.from({ length: nq }, (_, qi) => queries.slice(qi * d, (qi + 1) * d))
      const run = (ri: number, pi: number): number => {
        const index = opened[ri]!
        const opts = { nprobe: nprobes[pi]! }
        let hits = 0
        for (let qi = 0; qi < nq; qi++) {
          const ids = index.search(qs[qi]!, K, opts).ids
          const want = new Set(Array.from(gt.subarray(qi * gtK, qi * gtK + K)))
          for (const id of ids) if (want.has(Number(id))) hits++
        }
        return hits / (nq * K)
      }
      /** Seconds of nq searches (nothing else timed). */
      const time = (ri: number, pi: number): number => {
        const index = opened[ri]!
        const opts = { nprobe: nprobes[pi]! }
        let sink = 0
        const t = performance.now()
        for (let qi = 0; qi < nq; qi++) sink += index.search(qs[qi]!, K, opts).ids.length
        const s = (performance.now() - t) / 1000
        if (sink < 0) console.log(sink)
        return s
      }
      // Warm-up pass (gives recall), then timed rounds, trees alternating within each round.
      for (let ri = 0; ri < opened.length; ri++) for (let pi = 0; pi < nprobes.length; pi++) recall[ri]![pi] = run(ri, pi)
      for (let r = 0; r < rounds; r++) {
        for (let pi = 0; pi < nprobes.length; pi++) {
          for (let ri = 0; ri < opened.length; ri++) qps[ri]![pi]!.push(nq / time(ri, pi))
        }
      }
      for (let pi = 0; pi < nprobes.length; pi++) {
        for (let ri = 0; ri < opened.length; ri++) {
          const q = qps[ri]![pi]!
          const m = median(q)
          console.log(
            `  ${description.padEnd(18)} nprobe ${String(nprobes[pi]).padStart(4)}  ${roots[ri]!.padEnd(28)} R@10 ${recall[ri]![pi]!.toFixed(4)}  QPS ${m.toFixed(0).padStart(6)}  (rounds ${q.map((v) => v.toFixed(0)).join(' ')})`,
          )
          results.push({ description, nprobe: nprobes[pi], root: roots[ri], recallAt10: recall[ri]![pi], qps: m, rounds: q })
        }
      }
      await Promise.all(opened.map((o) => o.close()))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  if (values.out)
    saveJson(values.out, {
      bench: 'rabitq-ivf-scan',
      set: values.set,
      nb,
      nq,
      d,
      metric,
      k: K,
      threads: 1,
      machine: machineInfo(),
      results,
    })
}

await main()
