/**
 * searchBatch on 1 worker against 2 workers, measured by what a shared machine cannot blur:
 * the CPU time of every thread of the process (/proc/self/task/<tid>/stat, 10 ms ticks),
 * split into the main thread (the serial part: preparing the batch, splitting it, copying
 * results, waiting) and the worker threads, next to wall time. If the work parallelises
 * without overhead, the 2-worker call uses the same total CPU as the 1-worker call; the
 * difference is the cost of running on two threads. The two pools belong to two read-only
 * handles on the same file, so neither is replaced between calls; calls alternate by rounds.
 * Ids must be identical between the two.
 *
 *   node --import tsx bench/throughput-batch.ts [--index /work/data/glove-ivf1024-pq50x4.vqlite]
 *        [--nq 10000] [--nprobe 96] [--refine 8,1] [--rounds 3] [--out bench/results/throughput-batch.json]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { VqIndex } from 'vqlite'
import { loadGlove100 } from '../datasets/index.js'
import { saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    index: { type: 'string', default: '/work/data/glove-ivf1024-pq50x4.vqlite' },
    nq: { type: 'string', default: '10000' },
    k: { type: 'string', default: '10' },
    nprobe: { type: 'string', default: '96' },
    refine: { type: 'string', default: '8,1' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/throughput-batch.json' },
  },
})
const nq = Number(values.nq)
const k = Number(values.k)
const nprobe = Number(values.nprobe)
const rounds = Number(values.rounds)

/** CPU seconds (user + system) of every thread of this process, by thread id. */
function threadCpu(): Map<number, number> {
  const out = new Map<number, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // Fields 14 and 15 of stat (utime, stime), counted from field 3 after the name.
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100)
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return out
}

interface CallFigures {
  wall: number
  mainCpu: number
  workerCpu: number
  /** CPU of the busiest and least busy other threads (the workers of the pool used). */
  busiest: number[]
}

async function measure(
  ix: VqIndex,
  q: Float32Array,
  refineFactor: number,
  threads: number,
): Promise<{ f: CallFigures; ids: Float64Array }> {
  const before = threadCpu()
  const t0 = performance.now()
  const r = await ix.searchBatch(q, k, { nprobe, refineFactor, threads })
  const wall = (performance.now() - t0) / 1000
  const after = threadCpu()
  let mainCpu = 0
  let workerCpu = 0
  const deltas: number[] = []
  for (const [tid, c] of after) {
    const d = c - (before.get(tid) ?? 0)
    if (tid === process.pid) mainCpu = d
    else {
      workerCpu += d
      if (d > 0) deltas.push(d)
    }
  }
  deltas.sort((a, b) => b - a)
  return { f: { wall, mainCpu, workerCpu, busiest: deltas.slice(0, 4) }, ids: r.ids }
}

const g = await loadGlove100()
const queries = new Float32Array(nq * g.d)
for (let i = 0; i < nq; i++) queries.set(g.queries.subarray((i % g.nq) * g.d, ((i % g.nq) + 1) * g.d), i * g.d)
const one = VqIndex.open(values.index, { readonly: true, threads: 1 })
const two = VqIndex.open(values.index, { readonly: true, threads: 2 })
const results: Record<string, unknown>[] = []
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!
for (const refine of values.refine.split(',').map(Number)) {
  // Warm: both pools started, models rebuilt, lists packed, file pages cached.
  await one.searchBatch(queries.subarray(0, 2000 * g.d), k, { nprobe, refineFactor: refine, threads: 1 })
  await two.searchBatch(queries.subarray(0, 2000 * g.d), k, { nprobe, refineFactor: refine, threads: 2 })
  const runs: { one: CallFigures; two: CallFigures }[] = []
  for (let r = 0; r < rounds; r++) {
    const a = await measure(one, queries, refine, 1)
    const b = await measure(two, queries, refine, 2)
    for (let i = 0; i < a.ids.length; i++) if (a.ids[i] !== b.ids[i]) throw new Error(`ids differ at ${i} (query ${Math.floor(i / k)})`)
    runs.push({ one: a.f, two: b.f })
    console.log(
      `refine ${refine} round ${r}: 1 worker wall ${a.f.wall.toFixed(2)} s main ${a.f.mainCpu.toFixed(2)} others ${a.f.workerCpu.toFixed(2)} [${a.f.busiest.join(' ')}]` +
        ` | 2 workers wall ${b.f.wall.toFixed(2)} s main ${b.f.mainCpu.toFixed(2)} others ${b.f.workerCpu.toFixed(2)} [${b.f.busiest.join(' ')}]`,
    )
  }
  const summary = {
    refine,
    nprobe,
    nq,
    wallOne: median(runs.map((x) => x.one.wall)),
    wallTwo: median(runs.map((x) => x.two.wall)),
    cpuOne: median(runs.map((x) => x.one.mainCpu + x.one.workerCpu)),
    cpuTwo: median(runs.map((x) => x.two.mainCpu + x.two.workerCpu)),
    mainOne: median(runs.map((x) => x.one.mainCpu)),
    mainTwo: median(runs.map((x) => x.two.mainCpu)),
    runs,
  }
  console.log(
    `refine ${refine}: wall speedup ${(summary.wallOne / summary.wallTwo).toFixed(3)}, CPU 2w/1w ${(summary.cpuTwo / summary.cpuOne).toFixed(3)}, main-thread CPU ${summary.mainOne.toFixed(2)} / ${summary.mainTwo.toFixed(2)} s`,
  )
  results.push(summary)
}
one.close()
two.close()
saveJson(values.out, { load: readFileSync('/proc/loadavg', 'utf8').trim(), results })
