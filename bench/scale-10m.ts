/**
 * The benchmark of issue 19: vqlite at 10 million vectors on this machine, next to FAISS 1.15
 * (a local AVX-512 build, see ../shared/tools/build-faiss.sh) on the same data in one run.
 *
 * Data (bench/lib/scale-data.ts, cached): a seeded 10M x 96 synthetic mixture (datasets/
 * synthetic.ts, seed 1) written to .fvecs block by block, 10,000 queries, exact top-100 of
 * the first 1,000.
 * 1. vqlite build: a fresh process (bench/lib/scale-child.ts) streams the file into
 *    IVF4096,PQ48x4,RFlat with index.addFile (trained on its default sample, 262,144 rows),
 *    one transaction per block; the parent polls the child's /proc/<pid>/status every
 *    100 ms: build time, peak RSS, peak RssAnon + RssShmem.
 * 2. Crash test: the same build into a second file, SIGKILLed once --kill-at of the rows are
 *    committed, then run again (it resumes); the final index must equal the uninterrupted
 *    one: same count, same ids for every timed query.
 * 3. Shards: --shards files made with VqShards.create from the first index's model, shard i
 *    holding rows [i n/S, (i+1) n/S) (addFile start/end): the ids of VqShards.search must
 *    equal the single index's for every timed query; searchBatch QPS reported.
 * 4. FAISS IVF4096,PQ48x4fsr + IndexRefineFlat (bench/faiss/search_server.py; "fsr": residuals
 *    to the list centroid, as vqlite's IVF-PQ codes; plain "fs" codes the raw vectors and
 *    reaches R@10 0.15 on this mixture at nprobe 32, k_factor 4), built with as
 *    many OpenMP threads as vqlite's build uses; peak RSS of its build polled the same way.
 * 5. Single thread, one query at a time: every nprobe x refine (vqlite) and nprobe x k_factor
 *    (FAISS) point warmed once (recall@10), then rounds visiting every point of both in a
 *    seeded shuffled order; QPS = median of rounds, p99 latency = median of the rounds' p99.
 *    Best QPS at R@10 >= 0.9 and 0.95 for both, with p99.
 * 6. searchBatch on 2 workers over the 10,000 queries at those points, against FAISS's one
 *    search call of the 10,000 on 2 OpenMP threads.
 * 7. Memory: a fresh process per system opens the saved index and runs the timed queries
 *    (bench/lib/memory-child.ts, search_server.py memory): RSS after open per vector,
 *    RssAnon + RssShmem growth, open() time; file size per vector.
 *
 *   npm run build && node cli/dist/bench/scale-10m.js [--n 10000000] [--rounds 3]
 *     [--kill-at 0.4] [--shards 4] [--skip-faiss] [--skip-crash] [--skip-shards] [--keep]
 *     [--nprobe 8,16,24] [--refine 4,8] [--kfactor 4,8] [--block 65536] [--prepare-only]
 * Writes bench/results/scale-10m<suffix>.json. Needs about 4.5 GB of disk per index copy
 * (vqlite stores the float32 vectors for RFlat): with the crash copy, the shards and FAISS's
 * file about 18 GB under the cache folder, removed at the end unless --keep.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism, homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { defaultCacheDir, VqIndex, VqShards } from 'vqlite'
import { readFvecs, readIvecs } from '../datasets/texmex.js'
import { FAISS_PYTHON, FaissServer, machineInfo, recallAtK, saveJson, since } from './lib/report.js'
import { bestAtRecall, interleavedRounds, median, ownedBytes, parseProcStatus } from './lib/rounds.js'
import { prepareScaleSet } from './lib/scale-data.js'

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000000' },
    d: { type: 'string', default: '96' },
    description: { type: 'string', default: 'IVF4096,PQ48x4,RFlat' },
    'faiss-factory': { type: 'string', default: 'IVF4096,PQ48x4fsr' },
    rounds: { type: 'string', default: '3' },
    'kill-at': { type: 'string', default: '0.4' },
    shards: { type: 'string', default: '4' },
    block: { type: 'string', default: '65536' },
    nprobe: { type: 'string', default: '1,2,4,8,16,32' },
    refine: { type: 'string', default: '2,4,8,16' },
    kfactor: { type: 'string', default: '2,4,8,16' },
    'skip-faiss': { type: 'boolean', default: false },
    'skip-crash': { type: 'boolean', default: false },
    'skip-shards': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'prepare-only': { type: 'boolean', default: false },
    'faiss-path': { type: 'string', default: process.env['FAISS_PYTHONPATH'] ?? join(homedir(), '.cache', 'vqlite-faiss', 'py') },
    'omp-wait-policy': { type: 'string', default: 'PASSIVE' },
    'out-dir': { type: 'string', default: 'bench/results' },
    suffix: { type: 'string', default: '' },
  },
})

const K = 10
const n = Number(values.n)
const d = Number(values.d)
const nums = (s: string): number[] => s.split(',').map(Number)
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))
const CHILD = here('./lib/scale-child.js')
const MEMORY_CHILD = here('./lib/memory-child.js')
const SERVER = resolve(here('../../../bench/faiss/search_server.py'))
const threads = availableParallelism()
const log = (msg: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`)
const GB = 1024 ** 3

const set = await prepareScaleSet(
  join(defaultCacheDir(), 'scale', `synth${n}x${d}-seed1`),
  { n, d, nq: 10_000, gtQueries: 1000, gtK: 100, seed: 1 },
  log,
)
if (values['prepare-only']) process.exit(0)

const work = join(defaultCacheDir(), 'scale', `run-${process.pid}`)
mkdirSync(work, { recursive: true })
const cleanup = (): void => {
  if (!values.keep) rmSync(work, { recursive: true, force: true })
}
process.once('SIGINT', () => {
  cleanup()
  process.exit(130)
})

/** Polls /proc/<pid>/status every 100 ms: the peaks of VmRSS and of RssAnon + RssShmem. */
function pollPeaks(pid: number): { stop: () => { vmRss: number; owned: number } } {
  let vmRss = 0
  let owned = 0
  const timer = setInterval(() => {
    try {
      const s = parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'))
      vmRss = Math.max(vmRss, s.vmRss ?? 0)
      owned = Math.max(owned, ownedBytes(s) ?? 0)
    } catch {
      // the process ended
    }
  }, 100)
  return {
    stop: () => {
      clearInterval(timer)
      return { vmRss, owned }
    },
  }
}

interface ChildRun {
  readonly lines: Record<string, unknown>[]
  readonly peaks: { vmRss: number; owned: number }
  readonly killed: boolean
  readonly seconds: number
}

/** Runs a scale-child command; with killAt, SIGKILLs it once a progress line reports done >= killAt. */
function runChild(args: string[], killAt?: number): Promise<ChildRun> {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now()
    const child: ChildProcess = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    const poll = pollPeaks(child.pid!)
    const lines: Record<string, unknown>[] = []
    let killed = false
    let buf = ''
    let lastLog = 0
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString()
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>
        buf = buf.slice(nl + 1)
        lines.push(line)
        if (performance.now() - lastLog > 30_000 && line['done'] !== undefined) {
          lastLog = performance.now()
          log(`  ${args[0]}: ${JSON.stringify(line)}`)
        }
        if (killAt !== undefined && !killed && typeof line['done'] === 'number' && line['done'] >= killAt) {
          killed = true
          child.kill('SIGKILL')
        }
      }
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      const peaks = poll.stop()
      if (code !== 0 && !(killed && signal === 'SIGKILL')) reject(new Error(`scale-child ${args[0]} exited with ${code ?? signal}`))
      else resolveRun({ lines, peaks, killed, seconds: since(t0) })
    })
  })
}

const fileBytes = (p: string): number => {
  let b = 0
  for (const f of [p, `${p}-wal`]) {
    try {
      b += statSync(f).size
    } catch {
      // absent
    }
  }
  return b
}

const out: Record<string, unknown> = {
  bench: 'scale-10m',
  machine: machineInfo(),
  data: { n, d, nq: 1000, batchQueries: 10_000, gtK: 100, dir: set.dir, seed: 1 },
  config: { vqlite: values.description, faiss: `${values['faiss-factory']} + IndexRefineFlat`, blockRows: Number(values.block) },
}
const jsonPath = join(values['out-dir'], `scale-10m${values.suffix}.json`)
const save = (): void => saveJson(jsonPath, out)
let faiss: FaissServer | undefined
try {
  // ---- 1. vqlite build, uninterrupted ----
  const vqFile = join(work, 'single.vqlite')
  log(`vqlite build: ${values.description}, ${n.toLocaleString('en-US')} x ${d} streamed from ${set.base}`)
  const b = await runChild(['build', set.base, vqFile, values.description, values.block])
  const last = b.lines.at(-1)!
  const build = {
    seconds: b.seconds,
    childSeconds: last['totalS'],
    sampleAndTrainS: last['sampleS'],
    peakVmRss: b.peaks.vmRss,
    peakOwned: b.peaks.owned,
    vmHwm: last['vmHwm'],
    fileBytes: fileBytes(vqFile),
    fileBytesPerVector: fileBytes(vqFile) / n,
  }
  out['vqliteBuild'] = build
  log(
    `vqlite build ${b.seconds.toFixed(0)} s; peak RSS ${(b.peaks.vmRss / GB).toFixed(2)} GB (VmHWM ${((last['vmHwm'] as number) / GB).toFixed(2)} GB), peak RssAnon+RssShmem ${(b.peaks.owned / GB).toFixed(2)} GB; file ${(build.fileBytes / GB).toFixed(2)} GB (${build.fileBytesPerVector.toFixed(0)} B/vector)`,
  )
  save()

  // ---- 2. crash test ----
  const crashFile = join(work, 'crash.vqlite')
  if (!values['skip-crash']) {
    const killAt = Math.floor(Number(values['kill-at']) * n)
    const k1 = await runChild(['build', set.base, crashFile, values.description, values.block], killAt)
    const committed = k1.lines.filter((l) => l['phase'] === 'adding').at(-1)?.['done'] ?? 0
    log(
      `crash build: SIGKILLed=${k1.killed} after ${k1.seconds.toFixed(0)} s, last committed block reported at ${committed} rows; running again`,
    )
    const k2 = await runChild(['build', set.base, crashFile, values.description, values.block])
    const r2 = k2.lines.at(-1)!
    out['crash'] = { killAt, killed: k1.killed, killedAfterS: k1.seconds, lastReported: committed, rerun: r2, rerunS: k2.seconds }
    log(`crash build rerun: resumed at row ${r2['resumedAt']}, added ${r2['added']}, ${k2.seconds.toFixed(0)} s`)
    save()
  }

  // ---- 3. shards ----
  const S = Number(values.shards)
  const shardFiles = Array.from({ length: S }, (_, i) => join(work, `shard-${i}.vqlite`))
  if (!values['skip-shards']) {
    const sb = await runChild(['shards', vqFile, set.base, values.block, ...shardFiles])
    out['shardsBuild'] = {
      shards: S,
      seconds: sb.seconds,
      peakVmRss: sb.peaks.vmRss,
      fileBytes: shardFiles.reduce((a, f) => a + fileBytes(f), 0),
    }
    log(`${S} shards built from the single index's model in ${sb.seconds.toFixed(0)} s`)
    save()
  }

  // ---- 4. FAISS build ----
  const faissFile = join(work, 'faiss.index')
  const probe = values['skip-faiss']
    ? null
    : spawnSync(FAISS_PYTHON, [SERVER, 'info'], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: values['faiss-path'] } })
  const faissInfo = probe && probe.status === 0 ? (JSON.parse(probe.stdout.trim().split('\n').pop()!) as Record<string, unknown>) : null
  if (faissInfo && /AVX512|AVX2/.test(String(faissInfo['compile_options']))) {
    const t0 = performance.now()
    faiss = new FaissServer(SERVER, ['serve', set.dir, 'l2', values['faiss-factory'], String(threads), faissFile], {
      PYTHONPATH: values['faiss-path'],
      OMP_NUM_THREADS: String(threads),
      OPENBLAS_NUM_THREADS: String(threads),
      OMP_WAIT_POLICY: values['omp-wait-policy'],
    })
    const poll = pollPeaks(faiss.pid!)
    const fb = await faiss.next()
    const peaks = poll.stop()
    out['faissBuild'] = {
      ...fb,
      wallS: since(t0),
      peakVmRss: peaks.vmRss,
      peakOwned: peaks.owned,
      fileBytesPerVector: statSync(faissFile).size / n,
    }
    log(
      `FAISS ${fb['version']} ${fb['config']}: build ${(fb['build_s'] as number).toFixed(0)} s (train ${(fb['train_s'] as number).toFixed(0)}, add ${(fb['add_s'] as number).toFixed(0)}; reading the base file not counted); peak RSS ${(peaks.vmRss / GB).toFixed(2)} GB; ${fb['compile_options']}`,
    )
    out['buildRatio'] = build.seconds / (fb['build_s'] as number)
    save()
  } else {
    out['faissBuild'] = {
      skipped: true,
      reason: values['skip-faiss'] ? '--skip-faiss' : `no AVX2/AVX-512 FAISS importable by ${FAISS_PYTHON}`,
    }
    log('note: FAISS skipped')
  }

  // ---- 5. single-thread sweep, interleaved rounds ----
  const queries = (await readFvecs(set.query)).data
  const nq = 1000
  const timed = queries.subarray(0, nq * d)
  const gt = (await readIvecs(set.gt)).data
  const index = VqIndex.open(vqFile, { readonly: true, threads })
  interface Point {
    system: 'vqlite' | 'faiss'
    params: Record<string, number>
    recall10: number
    qps: number
    p99ms: number
    rounds: { qps: number; p99ms: number }[]
    run: (warm: boolean) => Promise<{ qps: number; p99ms: number }>
  }
  const points: Point[] = []
  const lat = new Float64Array(nq)
  for (const nprobe of nums(values.nprobe)) {
    for (const refineFactor of nums(values.refine)) {
      const p: Point = {
        system: 'vqlite',
        params: { nprobe, refineFactor },
        recall10: Number.NaN,
        qps: Number.NaN,
        p99ms: Number.NaN,
        rounds: [],
        run: async (warm) => {
          const found = new Float64Array(nq * K)
          const t0 = performance.now()
          for (let i = 0; i < nq; i++) {
            const t1 = performance.now()
            found.set(index.search(timed.subarray(i * d, (i + 1) * d), K, { nprobe, refineFactor }).ids, i * K)
            lat[i] = performance.now() - t1
          }
          const qps = nq / since(t0)
          if (warm) p.recall10 = recallAtK(found, K, gt, 100, nq, K)
          return { qps, p99ms: [...lat].sort((a, b) => a - b)[Math.ceil(0.99 * nq) - 1]! }
        },
      }
      points.push(p)
    }
    if (faiss) {
      const f = faiss
      for (const kFactor of nums(values.kfactor)) {
        const p: Point = {
          system: 'faiss',
          params: { nprobe, kFactor },
          recall10: Number.NaN,
          qps: Number.NaN,
          p99ms: Number.NaN,
          rounds: [],
          run: async (warm) => {
            const r = await f.ask(`search ${nprobe} ${kFactor}`)
            if (warm) p.recall10 = r['recall10'] as number
            return { qps: r['qps'] as number, p99ms: r['p99_ms'] as number }
          },
        }
        points.push(p)
      }
    }
  }
  const rounds = Number(values.rounds)
  log(`${points.length} points, warm-up then ${rounds} interleaved rounds`)
  await interleavedRounds(
    points.length,
    async (i) => {
      const r = await points[i]!.run(false)
      points[i]!.rounds.push(r)
      return r.qps
    },
    { rounds, seed: 1, warm: (i) => points[i]!.run(true) },
  )
  for (const p of points) {
    p.qps = median(p.rounds.map((r) => r.qps))
    p.p99ms = median(p.rounds.map((r) => r.p99ms))
    console.log(
      `  ${p.system.padEnd(6)} ${JSON.stringify(p.params).padEnd(34)} R@10 ${p.recall10.toFixed(4)}  QPS ${p.qps.toFixed(0).padStart(6)}  p99 ${p.p99ms.toFixed(2)} ms`,
    )
  }
  out['points'] = points.map(({ run: _r, ...p }) => p)
  const summary: Record<string, unknown> = {}
  const chosen: Record<string, Point | null> = {}
  console.log('\n| R@10 >= | vqlite (QPS, p99) | FAISS (QPS, p99) | QPS ratio |')
  console.log('|---|---|---|---|')
  for (const target of [0.9, 0.95]) {
    const v = bestAtRecall(
      points.filter((p) => p.system === 'vqlite'),
      target,
    )
    const f = bestAtRecall(
      points.filter((p) => p.system === 'faiss'),
      target,
    )
    chosen[String(target)] = v
    const cell = (p: Point | null): string =>
      p ? `${p.qps.toFixed(0)}, ${p.p99ms.toFixed(2)} ms (${JSON.stringify(p.params)}, R ${p.recall10.toFixed(3)})` : '-'
    summary[String(target)] = {
      vqlite: v && { ...v, run: undefined },
      faiss: f && { ...f, run: undefined },
      ratio: v && f ? v.qps / f.qps : null,
    }
    console.log(`| ${target} | ${cell(v)} | ${cell(f)} | ${v && f ? (v.qps / f.qps).toFixed(2) : '-'} |`)
  }
  out['summary'] = summary
  save()
  const at95 = chosen['0.95'] ?? chosen['0.9'] ?? points[points.length - 1]!

  // ---- 2 and 3, checked: the crash-resumed index and the shards against the single index ----
  const idsOf = (search: (q: Float32Array) => ArrayLike<number>): Float64Array => {
    const r = new Float64Array(nq * K)
    for (let i = 0; i < nq; i++) r.set(search(timed.subarray(i * d, (i + 1) * d)) as Float64Array, i * K)
    return r
  }
  const mismatches = (a: Float64Array, b: Float64Array): { ids: number; queries: number } => {
    let ids = 0
    let qs = 0
    for (let i = 0; i < nq; i++) {
      let m = 0
      for (let j = 0; j < K; j++) if (a[i * K + j] !== b[i * K + j]) m++
      ids += m
      if (m > 0) qs++
    }
    return { ids, queries: qs }
  }
  const reference = idsOf((q) => index.search(q, K, at95.params).ids)
  if (!values['skip-crash']) {
    const crash = VqIndex.open(crashFile, { readonly: true, threads: 0 })
    const m = mismatches(
      reference,
      idsOf((q) => crash.search(q, K, at95.params).ids),
    )
    ;(out['crash'] as Record<string, unknown>)['check'] = {
      count: crash.size,
      singleCount: index.size,
      params: at95.params,
      mismatchedIds: m.ids,
      queriesDiffering: m.queries,
    }
    log(
      `crash-resumed index: ${crash.size} items (single: ${index.size}); ids at ${JSON.stringify(at95.params)}: ${m.ids} of ${nq * K} differ (${m.queries} queries)`,
    )
    await crash.close()
  }
  if (!values['skip-shards']) {
    const shards = VqShards.open(shardFiles, { readonly: true, threads: 1 })
    const m = mismatches(
      reference,
      idsOf((q) => shards.search(q, K, at95.params).ids),
    )
    const t0 = performance.now()
    for (let i = 0; i < nq; i++) shards.search(timed.subarray(i * d, (i + 1) * d), K, at95.params)
    const qps1 = nq / since(t0)
    const batch = queries.subarray(0, 10_000 * d)
    await shards.searchBatch(batch.subarray(0, 500 * d), K, { ...at95.params, threads: 1 })
    const t1 = performance.now()
    await shards.searchBatch(batch, K, { ...at95.params, threads: 1 })
    const qpsBatch = 10_000 / since(t1)
    out['shards'] = {
      shards: S,
      size: shards.size,
      params: at95.params,
      mismatchedIds: m.ids,
      queriesDiffering: m.queries,
      qpsOneQueryAtATime: qps1,
      qpsBatchOneWorkerPerShard: qpsBatch,
    }
    log(
      `${S} shards: ${shards.size} items; ids at ${JSON.stringify(at95.params)}: ${m.ids} of ${nq * K} differ; one query at a time ${qps1.toFixed(0)} QPS; searchBatch (1 worker per shard) ${qpsBatch.toFixed(0)} QPS`,
    )
    await shards.close()
  }
  save()

  // ---- 6. batches on 2 threads ----
  const batchQ = queries.subarray(0, 10_000 * d)
  const batch: Record<string, unknown> = {}
  // Each system's batch warmed with a whole pass (the workers' first pass pages in their view
  // of the file and builds their scan copies), then rounds alternating the two, medians.
  for (const [target, p] of Object.entries(chosen)) {
    if (!p) continue
    const f = faiss
      ? bestAtRecall(
          points.filter((x) => x.system === 'faiss'),
          Number(target),
        )
      : null
    const systems: (() => Promise<number>)[] = [
      async () => {
        const tb = performance.now()
        await index.searchBatch(batchQ, K, { ...p.params, threads: 2 })
        return 10_000 / since(tb)
      },
    ]
    if (faiss && f) systems.push(async () => (await faiss!.ask(`batch ${f.params['nprobe']} ${f.params['kFactor']} 2`))['qps'] as number)
    const samples = await interleavedRounds(systems.length, (i) => systems[i]!(), { rounds: 3, seed: 3, warm: (i) => systems[i]!() })
    const vq = median(samples[0]!)
    const fq = samples[1] ? median(samples[1]) : null
    batch[target] = {
      vqlite: { params: p.params, qps: vq, rounds: samples[0] },
      faiss: f ? { params: f.params, qps: fq, rounds: samples[1] } : null,
      ratio: fq ? vq / fq : null,
    }
    log(
      `searchBatch 10,000 queries on 2 threads at R@10 >= ${target}: vqlite ${vq.toFixed(0)} QPS${fq ? `, FAISS ${fq.toFixed(0)} QPS: ${(vq / fq).toFixed(2)}x` : ''} (median of 3 rounds)`,
    )
  }
  out['batch'] = batch
  await index.close()
  faiss?.close()
  faiss = undefined
  save()

  // ---- 7. memory, fresh processes ----
  const qFile = join(work, 'queries.f32')
  writeFileSync(qFile, timed)
  const mem = (cmd: string, args: string[], env: Record<string, string> = {}): Record<string, unknown> => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 })
    if (r.status !== 0) throw new Error(`${cmd} exited with ${r.status}: ${r.stderr}`)
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>
  }
  const vm = mem(process.execPath, [
    '--expose-gc',
    MEMORY_CHILD,
    JSON.stringify({ system: 'vqlite', lib: 'vqlite', file: vqFile, queries: qFile, d, k: K, ...at95.params }),
  ])
  const st = (v: unknown) => v as { vmRss: number; rssAnon: number; rssShmem: number; rssFile: number }
  const owned = (v: unknown): number => st(v).rssAnon + st(v).rssShmem
  const memory: Record<string, unknown> = {
    vqlite: {
      params: at95.params,
      openS: vm['openS'],
      rssAfterOpenPerVector: st(vm['afterOpen']).vmRss / n,
      ownedGrowthOpenPerVector: (owned(vm['afterOpen']) - owned(vm['before'])) / n,
      ownedGrowthWorkloadPerVector: (owned(vm['after']) - owned(vm['before'])) / n,
      rssAfterWorkloadPerVector: st(vm['after']).vmRss / n,
      fileBackedAfterWorkloadPerVector: (st(vm['after']).rssFile - st(vm['before']).rssFile) / n,
      memoryUsagePerVector: (vm['memoryUsage'] as { total: number }).total / n,
      raw: vm,
    },
  }
  log(
    `vqlite open(): ${(vm['openS'] as number).toFixed(2)} s; RSS after open ${(st(vm['afterOpen']).vmRss / n).toFixed(1)} B/vector, RssAnon+RssShmem growth after the workload ${((owned(vm['after']) - owned(vm['before'])) / n).toFixed(1)} B/vector`,
  )
  const fp = chosen['0.95']
    ? bestAtRecall(
        points.filter((x) => x.system === 'faiss'),
        0.95,
      )
    : null
  if (faissInfo && fp) {
    const fm = mem(
      FAISS_PYTHON,
      [SERVER, 'memory', faissFile, qFile, String(d), 'l2', String(fp.params['nprobe']), String(fp.params['kFactor'])],
      {
        PYTHONPATH: values['faiss-path'],
        OMP_NUM_THREADS: '1',
      },
    )
    const fs = (v: unknown) => v as { VmRSS: number; RssAnon: number; RssShmem: number; RssFile: number }
    const fo = (v: unknown): number => fs(v).RssAnon + fs(v).RssShmem
    memory['faiss'] = {
      params: fp.params,
      openS: fm['open_s'],
      rssAfterOpenPerVector: fs(fm['after_open']).VmRSS / n,
      ownedGrowthOpenPerVector: (fo(fm['after_open']) - fo(fm['before'])) / n,
      ownedGrowthWorkloadPerVector: (fo(fm['after_workload']) - fo(fm['before'])) / n,
      rssAfterWorkloadPerVector: fs(fm['after_workload']).VmRSS / n,
      raw: fm,
    }
    const ratio = (owned(vm['after']) - owned(vm['before'])) / (fo(fm['after_workload']) - fo(fm['before']))
    memory['ownedRatio'] = ratio
    memory['rssRatio'] = st(vm['after']).vmRss / fs(fm['after_workload']).VmRSS
    log(
      `FAISS read_index: ${(fm['open_s'] as number).toFixed(2)} s; RSS after open ${(fs(fm['after_open']).VmRSS / n).toFixed(1)} B/vector; vqlite/FAISS owned growth ${ratio.toFixed(3)}, RSS ${(memory['rssRatio'] as number).toFixed(3)}`,
    )
  }
  out['memory'] = memory
  save()
  log(`saved ${jsonPath}`)
} finally {
  faiss?.close()
  cleanup()
}
