/**
 * Build phases of an index (train: IVF k-means, the step between IVF and the codec, codec
 * training; add: encoding on the workers, then the main thread's share), timed by wall clock
 * and by CPU time per thread (/proc/self/task/<tid>/stat, 10 ms ticks): the main thread's CPU
 * is the serial part, the other threads' the workers'. On a shared machine the CPU figures
 * are the ones to compare; wall time is only meaningful on a quiet one.
 *
 *   node --import tsx bench/throughput-build.ts [--base /work/data/synth1m-base.f32] [--n 1000000]
 *        [--description IVF4096,PQ32x4,RFlat] [--threads 2] [--out bench/results/throughput-build.json]
 *
 * The base file is raw float32 (d = --dim, default 128), as /work/data/build.mjs writes it;
 * without it, --n vectors of the seeded synthetic mixture are generated.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { VqIndex } from 'vqlite'
import { syntheticMixture } from '../datasets/index.js'
import { saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: '/work/data/synth1m-base.f32' },
    dim: { type: 'string', default: '128' },
    n: { type: 'string', default: '1000000' },
    description: { type: 'string', default: 'IVF4096,PQ32x4,RFlat' },
    metric: { type: 'string', default: 'l2' },
    threads: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench/results/throughput-build.json' },
  },
})
const d = Number(values.dim)
const n = Number(values.n)

/** CPU seconds of the main thread and of all the other threads of this process. */
function cpu(): { main: number; others: number } {
  let main = 0
  let others = 0
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const s = (Number(f[11]) + Number(f[12])) / 100
      if (Number(tid) === process.pid) main += s
      else others += s
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return { main, others }
}

let base: Float32Array
if (existsSync(values.base)) {
  const buf = readFileSync(values.base)
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
  base = all.subarray(0, n * d)
} else {
  base = syntheticMixture({ n, d, nq: 1, seed: 1 }).base
}

interface Mark {
  at: string
  wall: number
  main: number
  others: number
}
const marks: Mark[] = []
const t0 = performance.now()
const c0 = cpu()
function mark(at: string): void {
  const c = cpu()
  const m = { at, wall: (performance.now() - t0) / 1000, main: c.main - c0.main, others: c.others - c0.others }
  const p = marks.at(-1) ?? m
  marks.push(m)
  console.log(
    `${at.padEnd(40)} +${(m.wall - p.wall).toFixed(2)} s wall, main CPU +${(m.main - p.main).toFixed(2)} s, other threads +${(m.others - p.others).toFixed(2)} s`,
  )
}

const dir = mkdtempSync(join(tmpdir(), 'vq-throughput-build-'))
const path = join(dir, 'build.vqlite')
const ix = VqIndex.create(path, {
  dim: d,
  metric: values.metric as 'l2',
  description: values.description,
  storeVectors: 'float32',
  threads: Number(values.threads),
})
mark('start')
let stage = ''
await ix.train(base, {
  seed: Number(values.seed),
  onProgress: (p) => {
    if (p.stage !== stage) {
      mark(`${p.stage} begins (end of ${stage || 'start'})`)
      stage = p.stage
    }
  },
})
mark('trained')
await ix.add(
  Float64Array.from({ length: n }, (_, i) => i),
  base,
)
mark('added')
ix.close()
rmSync(dir, { recursive: true, force: true })

saveJson(values.out, { n, d, description: values.description, load: readFileSync('/proc/loadavg', 'utf8').trim(), marks })
