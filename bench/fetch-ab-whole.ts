/**
 * Whole-query A/B of two versions of the library in one process: this tree's VqIndex
 * ('vqlite') against another revision's sources, loaded by path, both opening the same
 * index file read-only. Results (ids and distances) are checked identical for every query
 * first; then rounds alternate which version goes first, timing CPU (user + system) per
 * query, median of rounds. Used for the re-ranking fetch change (bench/fetch-vectors.ts).
 *
 *   git archive <rev> src native-free-kernels | tar -x -C /tmp/old   # plus kernels.wasm and a node_modules link:
 *   cp native-free-kernels/wasm/kernels.wasm /tmp/old/native-free-kernels/wasm/ && ln -s "$PWD/node_modules" /tmp/old/
 *   npx tsx bench/fetch-ab-whole.ts --old /tmp/old [--queries 200] [--rounds 11]
 *
 * Writes bench/results/fetch-vectors-whole-query.json.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { VqIndex } from 'vqlite'
import { loadGlove100 } from '../datasets/glove100.js'
import { machineInfo, saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    index: { type: 'string', default: '/work/data/glove-ivf1024-pq50x4.vqlite' },
    queries: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '11' },
    refine: { type: 'string', default: '1,8,16' },
    out: { type: 'string', default: 'bench/results/fetch-vectors-whole-query.json' },
  },
})
if (!values.old) throw new Error('--old <folder with the other revision’s src/> is required')

interface Searchable {
  search(q: Float32Array, k: number, o: { nprobe: number; refineFactor: number }): { ids: Float64Array; distances: Float32Array }
  readonly kernelBackend: string
  close(): unknown
}

const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!

async function main(): Promise<void> {
  const other = (await import(pathToFileURL(join(values.old!, 'src', 'index.ts')).href)) as {
    VqIndex: { open(p: string, o: object): Searchable }
  }
  const g = await loadGlove100()
  const nq = Number(values.queries)
  const rounds = Number(values.rounds)
  const mine = VqIndex.open(values.index!, { readonly: true, threads: 0 }) as unknown as Searchable
  const theirs = other.VqIndex.open(values.index!, { readonly: true, threads: 0 })
  if (mine.kernelBackend !== theirs.kernelBackend)
    throw new Error(`kernel backends differ: ${mine.kernelBackend} / ${theirs.kernelBackend}`)
  const qs = Array.from({ length: nq }, (_, i) => g.queries.subarray(i * g.d, (i + 1) * g.d))
  const results: Record<string, unknown>[] = []
  for (const refine of values.refine!.split(',').map(Number)) {
    const opts = { nprobe: 96, refineFactor: refine }
    for (const q of qs) {
      const a = theirs.search(q, 10, opts)
      const b = mine.search(q, 10, opts)
      if (a.ids.join() !== b.ids.join() || a.distances.join() !== b.distances.join()) throw new Error('results differ')
    }
    const t = { old: [] as number[], new: [] as number[] }
    for (let r = 0; r < rounds; r++) {
      for (const w of r % 2 ? (['old', 'new'] as const) : (['new', 'old'] as const)) {
        const ix = w === 'old' ? theirs : mine
        const c0 = process.cpuUsage()
        for (const q of qs) ix.search(q, 10, opts)
        const c = process.cpuUsage(c0)
        t[w].push((c.user + c.system) / nq)
      }
    }
    const row = { nprobe: 96, refine, usPerQueryOld: +median(t.old).toFixed(1), usPerQueryNew: +median(t.new).toFixed(1) }
    results.push(row)
    process.stdout.write(`${JSON.stringify(row)}\n`)
  }
  const backend = mine.kernelBackend
  mine.close()
  theirs.close()
  saveJson(values.out!, {
    machine: machineInfo(),
    index: values.index,
    queries: nq,
    rounds,
    backend,
    method:
      'one process loading both source trees, both indexes open read-only with threads 0; ids and distances checked identical for every query; rounds alternate which version goes first; CPU time (user + system) per query, median of rounds',
    results,
  })
}

await main()
