/**
 * The benchmark of issue 15: vqlite against FAISS 1.15 (a local AVX-512 / AVX2 build, see
 * ../shared/tools/build-faiss.sh) and hnswlib-node, in one process tree, one run:
 * - glove100 (341k x 100, cosine; FAISS: L2 on L2-normalised vectors): vqlite
 *   IVF1024,PQ50x4,RFlat vs FAISS IVF1024,PQ50x4fs in IndexRefineFlat, hnswlib M=16 efC=200;
 * - synth1m (syntheticMixture n = 1e6, d = 128, nq = 10,000, seed 1; L2; exact ground truth
 *   of the first 1,000 queries, cached): vqlite IVF4096,PQ32x4,RFlat vs FAISS
 *   IVF4096,PQ32x4fs in IndexRefineFlat.
 * Both indexes are built in the run (train + add; vqlite with its default threads, FAISS with
 * as many OpenMP threads), saved, and searched with ONE thread, one query at a time:
 * nprobe x refineFactor (vqlite), nprobe x k_factor (FAISS), efSearch (hnswlib). Every point
 * is warmed once (a full pass, which also gives its recall), then measured in rounds: each
 * round visits every point of every system once in a seeded shuffled order, and a point's
 * QPS is the median of its rounds (bench/lib/rounds.ts). FAISS is measured by a Python
 * server (bench/faiss/search_server.py) between our measurements, so the machine's drift
 * affects all systems alike.
 * Then: best QPS at R@10 >= 0.9 / 0.95 / 0.99 per system and the ratios; memory per vector
 * (RssAnon + RssShmem growth, RssFile beside) of each system in a FRESH child process that
 * opens the saved index and runs the query workload; searchBatch on 10,000 queries with 1
 * and 2 workers (interleaved rounds); identical ids with the 'wasm' and 'ts' kernels.
 *
 *   npm run build && node cli/dist/bench/search-vs-faiss.js --set glove|synth1m|both [--quick]
 *     [--lib /path/to/dist/src/index.js] [--rounds N] [--reuse-hnsw] [--skip-hnsw] [--skip-faiss]
 *     [--nprobe a,b] [--refine a,b] [--exact a,b] [--kfactor a,b] [--ef a,b] [--suffix=-baseline] [--note TEXT] [--wait-faiss SECONDS] [--omp-wait-policy PASSIVE|ACTIVE]
 *     [--vq-description IVF1024,RaBitQ,RFlat] [--faiss-factory IVF1024,RaBitQfs]   (another pair on the same set; vqlite points report rows read per query)
 *   node cli/dist/bench/search-vs-faiss.js --set both --prepare-only   # caches synth1m's data and
 *     ground truth and builds + caches hnswlib on glove100 (then run with --reuse-hnsw)
 *
 * FAISS is looked up as /usr/bin/python3 with PYTHONPATH = --faiss-path (default
 * $FAISS_PYTHONPATH or ~/.cache/vqlite-faiss/py); absent, it is skipped with a note; a
 * FAISS whose get_compile_options() names neither AVX512 nor AVX2 is not measured (its speed
 * would understate FAISS). Writes bench/results/search-vs-faiss-<set><suffix>.json.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { defaultCacheDir, exactKnn } from 'vqlite'
import { GLOVE100_SEED, loadGlove100 } from '../datasets/index.js'
import { syntheticMixture } from '../datasets/synthetic.js'
import { readFvecs, readIvecs, writeVecs } from '../datasets/texmex.js'
import { hnswIndex } from './lib/hnsw.js'
import { FAISS_PYTHON, FaissServer, machineInfo, recallAtK, saveJson, since } from './lib/report.js'
import { bestAtRecall, interleavedRounds, median, ownedBytes, type ProcStatus } from './lib/rounds.js'

type Lib = typeof import('vqlite')
type VqIndexT = import('vqlite').VqIndex

const { values } = parseArgs({
  options: {
    set: { type: 'string', default: 'both' },
    quick: { type: 'boolean', default: false },
    lib: { type: 'string', default: 'vqlite' },
    rounds: { type: 'string' },
    nprobe: { type: 'string' },
    refine: { type: 'string' },
    // Narrowed RFlat: exactFactor values to sweep (rows read exactly = k * exactFactor); default: the library's.
    exact: { type: 'string' },
    kfactor: { type: 'string' },
    ef: { type: 'string' },
    'reuse-hnsw': { type: 'boolean', default: false },
    'skip-hnsw': { type: 'boolean', default: false },
    'skip-faiss': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
    'skip-batch': { type: 'boolean', default: false },
    'vq-description': { type: 'string' },
    'faiss-factory': { type: 'string' },
    'faiss-path': { type: 'string', default: process.env['FAISS_PYTHONPATH'] ?? join(homedir(), '.cache', 'vqlite-faiss', 'py') },
    'out-dir': { type: 'string', default: 'bench/results' },
    suffix: { type: 'string', default: '' },
    note: { type: 'string', default: '' },
    'prepare-only': { type: 'boolean', default: false },
    'wait-faiss': { type: 'string', default: '0' },
    // GOMP's default (spinning) OpenMP threads crawl on a shared machine: 27 s instead of 0.3 s
    // to train a toy index here with the cores busy. Passive threads sleep like vqlite's workers.
    'omp-wait-policy': { type: 'string', default: 'PASSIVE' },
  },
})

const K = 10
const TARGETS = [0.9, 0.95, 0.99] as const
const quick = values.quick
const rounds = Number(values.rounds ?? (quick ? 2 : 5))
const nums = (s: string): number[] => s.split(',').map(Number)
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))
const SERVER = resolve(here('../../../bench/faiss/search_server.py'))
const MEMORY_CHILD = here('./lib/memory-child.js')
const libSpec = values.lib
const lib = (await import(libSpec === 'vqlite' ? 'vqlite' : pathToFileURL(resolve(libSpec)).href)) as Lib
const libResolved = libSpec === 'vqlite' ? fileURLToPath(import.meta.resolve('vqlite')) : resolve(libSpec)
const buildThreads = availableParallelism()
const log = (msg: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`)

interface SetSpec {
  readonly name: 'glove' | 'synth1m'
  readonly metric: 'cosine' | 'l2'
  readonly d: number
  readonly nb: number
  readonly base: Float32Array
  /** The timed queries (nq x d), with ground truth. */
  readonly queries: Float32Array
  readonly nq: number
  /** 10,000 queries for searchBatch. */
  readonly batchQueries: Float32Array
  readonly gt: Int32Array
  readonly gtK: number
  /** base.fvecs, query.fvecs, groundtruth.ivecs for the FAISS server. */
  readonly faissDir: string
  readonly vqDescription: string
  readonly faissFactory: string
  readonly nprobe: number[]
  readonly refine: number[]
  readonly kfactor: number[]
  readonly ef: number[]
  readonly hnsw: boolean
}

async function gloveSet(): Promise<SetSpec> {
  const g = await loadGlove100({ onProgress: log })
  const batch = new Float32Array(10 * g.nq * g.d)
  for (let r = 0; r < 10; r++) batch.set(g.queries, r * g.nq * g.d)
  return {
    name: 'glove',
    metric: 'cosine',
    d: g.d,
    nb: g.nb,
    base: g.base,
    queries: g.queries,
    nq: g.nq,
    batchQueries: batch,
    gt: g.groundTruth,
    gtK: g.gtK,
    faissDir: join(defaultCacheDir(), `glove100-seed${GLOVE100_SEED}`),
    vqDescription: 'IVF1024,PQ50x4,RFlat',
    faissFactory: 'IVF1024,PQ50x4fs',
    nprobe: quick ? [32, 64, 96, 128] : [16, 24, 32, 48, 64, 96, 128],
    refine: quick ? [1, 4, 8, 16] : [1, 2, 4, 8, 16],
    kfactor: quick ? [1, 4, 8, 16] : [1, 2, 4, 8, 16],
    ef: quick ? [40, 80, 150, 300] : [40, 60, 80, 100, 150, 200, 300, 400],
    hnsw: true,
  }
}

/** synth1m: generated (or read back from the cache folder, where the FAISS server reads it too) with exact ground truth of the first 1,000 queries. */
async function synthSet(): Promise<SetSpec> {
  const n = 1_000_000
  const d = 128
  const nqAll = 10_000
  const nqTimed = 1000
  const gtK = 100
  const dir = join(defaultCacheDir(), 'search-vs-faiss', 'synth1m-seed1')
  const files = { base: join(dir, 'base.fvecs'), query: join(dir, 'query.fvecs'), gt: join(dir, 'groundtruth.ivecs') }
  let base: Float32Array
  let queries: Float32Array
  let gt: Int32Array
  if (existsSync(files.base) && existsSync(files.query) && existsSync(files.gt)) {
    log(`synth1m: reading ${dir}`)
    const [b, q, t] = await Promise.all([readFvecs(files.base), readFvecs(files.query), readIvecs(files.gt)])
    if (b.n !== n || b.d !== d || q.n !== nqAll || t.n !== nqTimed || t.d !== gtK) throw new Error(`${dir}: unexpected shapes; delete it`)
    base = b.data
    queries = q.data
    gt = t.data
  } else {
    let t0 = performance.now()
    const s = syntheticMixture({ n, d, nq: nqAll, seed: 1 })
    log(`synth1m: generated in ${since(t0).toFixed(1)} s; exact top-${gtK} of ${nqTimed} queries (cached in ${dir})`)
    base = s.base
    queries = s.queries
    t0 = performance.now()
    let last = 0
    const r = exactKnn(base, n, queries.subarray(0, nqTimed * d), nqTimed, d, gtK, 'l2', {
      onProgress: (done, total) => {
        if (performance.now() - last > 15000) {
          last = performance.now()
          log(`  ground truth ${done}/${total}`)
        }
      },
    })
    gt = Int32Array.from(r.labels)
    log(`synth1m: ground truth in ${since(t0).toFixed(1)} s`)
    mkdirSync(dir, { recursive: true })
    await writeVecs(`${files.base}.tmp`, 'fvecs', base, n, d)
    await writeVecs(`${files.query}.tmp`, 'fvecs', queries, nqAll, d)
    await writeVecs(`${files.gt}.tmp`, 'ivecs', gt, nqTimed, gtK)
    const { renameSync } = await import('node:fs')
    for (const f of Object.values(files)) renameSync(`${f}.tmp`, f)
  }
  return {
    name: 'synth1m',
    metric: 'l2',
    d,
    nb: n,
    base,
    queries: queries.subarray(0, nqTimed * d),
    nq: nqTimed,
    batchQueries: queries,
    gt,
    gtK,
    faissDir: dir,
    vqDescription: 'IVF4096,PQ32x4,RFlat',
    faissFactory: 'IVF4096,PQ32x4fs',
    nprobe: quick ? [12, 24, 48] : [8, 12, 16, 24, 32, 48, 64],
    refine: quick ? [4, 8, 16] : [1, 2, 4, 8, 16],
    kfactor: quick ? [4, 8, 16] : [1, 2, 4, 8, 16],
    ef: [],
    hnsw: false,
  }
}

/** What the FAISS build reports: version and compile options, or why it is not measured. */
interface FaissProbe {
  readonly available: boolean
  readonly reason?: string
  readonly version?: string
  readonly compileOptions?: string
}

function probeFaiss(pythonPath: string): FaissProbe {
  const r = spawnSync(FAISS_PYTHON, [SERVER, 'info'], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: pythonPath } })
  if (r.status !== 0) return { available: false, reason: `FAISS not importable by ${FAISS_PYTHON} with PYTHONPATH=${pythonPath}` }
  const info = JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; compile_options: string }
  const simd = /AVX512|AVX2/.test(info.compile_options)
  return {
    available: simd,
    version: info.version,
    compileOptions: info.compile_options,
    ...(simd
      ? {}
      : { reason: `FAISS ${info.version} was compiled without AVX512/AVX2 (${info.compile_options}): its speed is not quoted` }),
  }
}

interface Point {
  readonly system: 'vqlite' | 'faiss' | 'hnswlib'
  readonly params: Record<string, number>
  recall10: number
  /** vqlite: stored vectors read per query on the warm pass (lastSearchStats().rowsRead). */
  rowsRead?: number
  qpsRounds: number[]
  qps: number
  /** One timed pass over the queries: returns the QPS (and sets recall10 on the warm pass). */
  readonly run: (warm: boolean) => Promise<number>
}

const knob = (p: Pick<Point, 'system' | 'params'>): string =>
  p.system === 'hnswlib'
    ? `ef ${p.params['ef']}`
    : `nprobe ${p.params['nprobe']} ${p.system === 'faiss' ? 'k_factor' : 'refine'} ${p.params[p.system === 'faiss' ? 'kFactor' : 'refineFactor']}${p.params['exactFactor'] === undefined ? '' : ` exact ${p.params['exactFactor']}`}`

/** Times a single-thread, one-query-at-a-time pass; returns QPS and the ids found (nq x K). */
function timedPass(s: SetSpec, search: (q: Float32Array) => ArrayLike<number>): { qps: number; found: Float64Array } {
  const found = new Float64Array(s.nq * K)
  const t0 = performance.now()
  for (let i = 0; i < s.nq; i++) {
    const r = search(s.queries.subarray(i * s.d, (i + 1) * s.d))
    for (let j = 0; j < K; j++) found[i * K + j] = r[j] ?? -1
  }
  return { qps: s.nq / since(t0), found }
}

interface MemoryFigures {
  readonly system: string
  readonly params: Record<string, number>
  readonly nb: number
  /** RssAnon + RssShmem growth per vector after open, and after open + the workload. */
  readonly ownedPerVectorOpen: number
  readonly ownedPerVectorWorkload: number
  /** RssFile growth per vector after the workload (file-backed pages, reclaimable cache). */
  readonly filePerVectorWorkload: number
  /** The peak of RssAnon + RssShmem during the open (polled every ms), as growth per vector. */
  readonly peakOwnedPerVectorOpen: number
  /** VmHWM (reset before the open) minus VmRSS before: the peak of all resident memory, per vector. */
  readonly hwmPerVectorOpen: number | null
  readonly memoryUsagePerVector?: number
  readonly raw: Record<string, unknown>
}

/** A /proc/self/status reading from either child: the Node one sends parsed fields, the Python one the kernel's names. */
function statusOf(v: unknown): ProcStatus {
  const o = v as Record<string, number | null>
  if (!('RssAnon' in o)) return o as unknown as ProcStatus
  return {
    vmRss: o['VmRSS'] ?? null,
    vmHwm: o['VmHWM'] ?? null,
    rssAnon: o['RssAnon'] ?? null,
    rssFile: o['RssFile'] ?? null,
    rssShmem: o['RssShmem'] ?? null,
  }
}

function memoryFigures(
  system: string,
  params: Record<string, number>,
  raw: Record<string, unknown>,
  readings: { before: unknown; afterOpen: unknown; after: unknown; peakOwnedOpen: unknown },
  nb: number,
): MemoryFigures {
  const before = statusOf(readings.before)
  const afterOpen = statusOf(readings.afterOpen)
  const after = statusOf(readings.after)
  const owned0 = ownedBytes(before)!
  const mu = raw['memoryUsage'] as { total: number } | undefined
  return {
    system,
    params,
    nb,
    ownedPerVectorOpen: (ownedBytes(afterOpen)! - owned0) / nb,
    ownedPerVectorWorkload: (ownedBytes(after)! - owned0) / nb,
    filePerVectorWorkload: (after.rssFile! - before.rssFile!) / nb,
    peakOwnedPerVectorOpen: ((readings.peakOwnedOpen as number) - owned0) / nb,
    hwmPerVectorOpen: afterOpen.vmHwm !== null && before.vmRss !== null ? (afterOpen.vmHwm - before.vmRss) / nb : null,
    ...(mu ? { memoryUsagePerVector: mu.total / nb } : {}),
    raw,
  }
}

function runChild(cmd: string, args: string[], env: Record<string, string> = {}): Record<string, unknown> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} exited with ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>
}

async function runSet(s: SetSpec): Promise<void> {
  const tSet = performance.now()
  const timings: Record<string, number> = {}
  const dir = mkdtempSync(join(tmpdir(), `vqlite-svf-${s.name}-`))
  // Ctrl-C or kill: remove the index files (hundreds of MB) before exiting; the FAISS server ends on its stdin's EOF.
  const onSignal = (sig: NodeJS.Signals): void => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(sig === 'SIGINT' ? 130 : 143)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const out: Record<string, unknown> = {
    bench: 'search-vs-faiss',
    set: s.name,
    machine: machineInfo(),
    note: values.note,
    lib: libSpec,
    libResolved,
    quick,
    rounds,
    method:
      'single thread, one query at a time, k = 10; every point warmed once (a full pass, which gives its recall@10), then rounds visiting every point of every system once in a seeded shuffled order; QPS = median of the rounds; recall@10 = |found top-10 ∩ true top-10| / 10',
    data: { nb: s.nb, nq: s.nq, d: s.d, metric: s.metric, gtK: s.gtK, batchQueries: s.batchQueries.length / s.d },
  }
  const jsonPath = join(values['out-dir'], `search-vs-faiss-${s.name}${values.suffix}.json`)
  const vqFile = join(dir, `${s.name}.vqlite`)
  const faissFile = join(dir, `${s.name}.faissindex`)
  let faiss: FaissServer | undefined
  const toClose: VqIndexT[] = []
  try {
    // ---- vqlite build ----
    let t0 = performance.now()
    const build = lib.VqIndex.create(vqFile, { dim: s.d, metric: s.metric, description: s.vqDescription, storeVectors: 'float32' })
    await build.train(s.base, { seed: 1 })
    const trainS = since(t0)
    t0 = performance.now()
    await build.add(
      Float64Array.from({ length: s.nb }, (_, i) => i),
      s.base,
    )
    const addS = since(t0)
    await build.close()
    const vqBuild = {
      config: s.vqDescription,
      trainS,
      addS,
      buildS: trainS + addS,
      threads: `library default (availableParallelism() = ${buildThreads})`,
    }
    out['vqlite'] = vqBuild
    timings['vqliteBuildS'] = trainS + addS
    log(
      `vqlite ${s.vqDescription}: build ${(trainS + addS).toFixed(1)} s (train ${trainS.toFixed(1)}, add ${addS.toFixed(1)}), ${buildThreads} threads`,
    )
    const index = lib.VqIndex.open(vqFile, { readonly: true, threads: 0 })
    toClose.push(index)
    ;(out['vqlite'] as Record<string, unknown>)['kernels'] = index.kernelBackend

    // ---- FAISS build (after ours: the builds do not share the cores) ----
    let probe: FaissProbe = values['skip-faiss'] ? { available: false, reason: '--skip-faiss' } : probeFaiss(values['faiss-path'])
    // --wait-faiss S: a FAISS build still running when the bench starts (polled every 20 s).
    for (
      const until = performance.now() + 1000 * Number(values['wait-faiss']);
      !probe.available && !values['skip-faiss'] && performance.now() < until;
    ) {
      log(`waiting for FAISS: ${probe.reason}`)
      await new Promise((r) => setTimeout(r, 20_000))
      probe = probeFaiss(values['faiss-path'])
    }
    if (probe.available) {
      t0 = performance.now()
      faiss = new FaissServer(SERVER, ['serve', s.faissDir, s.metric, s.faissFactory, String(buildThreads), faissFile], {
        PYTHONPATH: values['faiss-path'],
        OMP_NUM_THREADS: String(buildThreads),
        OPENBLAS_NUM_THREADS: String(buildThreads),
        OMP_WAIT_POLICY: values['omp-wait-policy'],
      })
      const b = await faiss.next()
      out['faiss'] = {
        ...b,
        buildThreadsNote: `OpenMP (and OpenBLAS) threads for train + add = ${buildThreads}; search 1`,
        ompWaitPolicy: values['omp-wait-policy'],
      }
      timings['faissBuildS'] = b['build_s'] as number
      out['buildRatioVqliteOverFaiss'] = (trainS + addS) / (b['build_s'] as number)
      log(
        `FAISS ${b['version']} ${b['config']}: build ${(b['build_s'] as number).toFixed(1)} s (train ${(b['train_s'] as number).toFixed(1)}, add ${(b['add_s'] as number).toFixed(1)}), ${buildThreads} threads; ${b['compile_options']}`,
      )
    } else {
      out['faiss'] = { skipped: true, ...probe }
      log(`note: FAISS skipped: ${probe.reason}`)
    }

    // ---- hnswlib ----
    const h =
      s.hnsw && !values['skip-hnsw']
        ? await hnswIndex('glove100', s.base, s.nb, s.d, 'cosine', 16, 200, !values['reuse-hnsw'], (i) => {
            if (i % 50000 === 0) log(`  hnswlib build: ${i} points`)
          })
        : null
    if (h) {
      out['hnswlib'] = {
        config: 'HNSW M=16 efC=200',
        buildS: h.buildSeconds,
        builtThisRun: h.builtNow,
        fileBytesPerVector: h.bytesPerVector,
      }
      log(`hnswlib M=16 efC=200: build ${h.buildSeconds.toFixed(1)} s${h.builtNow ? '' : ' (cached build, time of that build)'}`)
    } else if (s.hnsw) out['hnswlib'] = { skipped: true, reason: values['skip-hnsw'] ? '--skip-hnsw' : 'hnswlib-node not installed' }

    // ---- the points of every system ----
    const points: Point[] = []
    const nprobes = values.nprobe ? nums(values.nprobe) : s.nprobe
    for (const nprobe of nprobes) {
      for (const refineFactor of values.refine ? nums(values.refine) : s.refine) {
        for (const exactFactor of values.exact ? nums(values.exact) : [undefined]) {
          if (exactFactor !== undefined && exactFactor > refineFactor) continue
          const opts: Record<string, number> = exactFactor === undefined ? { nprobe, refineFactor } : { nprobe, refineFactor, exactFactor }
          const p: Point = {
            system: 'vqlite',
            params: opts,
            recall10: Number.NaN,
            qpsRounds: [],
            qps: Number.NaN,
            run: async (warm) => {
              let rows = 0
              const r = timedPass(s, (q) => {
                const ids = index.search(q, K, opts).ids
                if (warm) rows += index.lastSearchStats().rowsRead
                return ids
              })
              if (warm) {
                p.recall10 = recallAtK(r.found, K, s.gt, s.gtK, s.nq, K)
                p.rowsRead = rows / s.nq
              }
              return r.qps
            },
          }
          points.push(p)
        }
      }
      if (faiss) {
        const f = faiss
        for (const kFactor of values.kfactor ? nums(values.kfactor) : s.kfactor) {
          const p: Point = {
            system: 'faiss',
            params: { nprobe, kFactor },
            recall10: Number.NaN,
            qpsRounds: [],
            qps: Number.NaN,
            run: async (warm) => {
              const r = await f.ask(`search ${nprobe} ${kFactor}`)
              if (warm) p.recall10 = r['recall10'] as number
              return r['qps'] as number
            },
          }
          points.push(p)
        }
      }
    }
    if (h) {
      for (const ef of values.ef ? nums(values.ef) : s.ef) {
        const p: Point = {
          system: 'hnswlib',
          params: { ef },
          recall10: Number.NaN,
          qpsRounds: [],
          qps: Number.NaN,
          run: async (warm) => {
            h.index.setEf(ef)
            const r = timedPass(s, (q) => h.index.searchKnn(Array.from(q), K).neighbors)
            if (warm) p.recall10 = recallAtK(r.found, K, s.gt, s.gtK, s.nq, K)
            return r.qps
          },
        }
        points.push(p)
      }
    }

    // ---- warm-up, then interleaved rounds ----
    t0 = performance.now()
    log(
      `${points.length} points (${points.filter((p) => p.system === 'vqlite').length} vqlite, ${points.filter((p) => p.system === 'faiss').length} FAISS, ${points.filter((p) => p.system === 'hnswlib').length} hnswlib); warm-up pass, then ${rounds} rounds`,
    )
    let lastRound = -1
    const samples = await interleavedRounds(points.length, (i) => points[i]!.run(false), {
      rounds,
      seed: 1,
      warm: (i) => points[i]!.run(true),
      onSample: (round) => {
        if (round !== lastRound) log(`  round ${round + 1}/${rounds}`)
        lastRound = round
      },
    })
    points.forEach((p, i) => {
      p.qpsRounds = samples[i]!
      p.qps = median(samples[i]!)
    })
    timings['sweepS'] = since(t0)
    log(`sweep: ${timings['sweepS'].toFixed(0)} s`)
    for (const p of points) {
      const spread = Math.max(...p.qpsRounds) / Math.min(...p.qpsRounds)
      console.log(
        `  ${p.system.padEnd(7)} ${knob(p).padEnd(26)} R@10 ${p.recall10.toFixed(4)}  QPS ${p.qps.toFixed(0).padStart(6)} (rounds max/min ${spread.toFixed(2)})${p.rowsRead !== undefined ? `  rows read/query ${p.rowsRead.toFixed(1)}` : ''}`,
      )
    }
    out['points'] = points.map(({ run: _run, ...p }) => p)

    // ---- best QPS at the recall targets ----
    const bySystem = (sys: Point['system']): Point[] => points.filter((p) => p.system === sys)
    const summary: Record<string, unknown> = {}
    console.log(`\n${s.name}: best single-thread QPS at recall@10 >= target (median of ${rounds} rounds)`)
    console.log(`| R@10 >= | vqlite ${s.vqDescription} | FAISS ${s.faissFactory} + RFlat | hnswlib M=16 | vqlite/FAISS | vqlite/hnswlib |`)
    console.log('|---|---|---|---|---|---|')
    const cell = (p: Point | null): string => (p ? `${p.qps.toFixed(0)} (${knob(p)}, R ${p.recall10.toFixed(3)})` : '-')
    for (const t of TARGETS) {
      const v = bestAtRecall(bySystem('vqlite'), t)
      const f = bestAtRecall(bySystem('faiss'), t)
      const hb = bestAtRecall(bySystem('hnswlib'), t)
      const strip = (p: Point | null) =>
        p
          ? {
              params: p.params,
              recall10: p.recall10,
              qps: p.qps,
              qpsRounds: p.qpsRounds,
              ...(p.rowsRead !== undefined ? { rowsRead: p.rowsRead } : {}),
            }
          : null
      const row = {
        vqlite: strip(v),
        faiss: strip(f),
        hnswlib: strip(hb),
        vqliteOverFaiss: v && f ? v.qps / f.qps : null,
        vqliteOverHnswlib: v && hb ? v.qps / hb.qps : null,
      }
      summary[String(t)] = row
      const ratio = (x: number | null): string => (x === null ? '-' : `${x.toFixed(2)}x`)
      console.log(`| ${t} | ${cell(v)} | ${cell(f)} | ${cell(hb)} | ${ratio(row.vqliteOverFaiss)} | ${ratio(row.vqliteOverHnswlib)} |`)
    }
    out['summary'] = summary
    if (out['buildRatioVqliteOverFaiss'] !== undefined) {
      console.log(
        `build (train + add, ${buildThreads} threads each): vqlite ${vqBuild.buildS.toFixed(1)} s, FAISS ${timings['faissBuildS']!.toFixed(1)} s: ratio ${(out['buildRatioVqliteOverFaiss'] as number).toFixed(2)} (target <= 1.2)`,
      )
    }
    const pick = (sys: Point['system']): Point | null => {
      const list = bySystem(sys)
      return bestAtRecall(list, 0.95) ?? [...list].sort((a, b) => b.recall10 - a.recall10)[0] ?? null
    }
    const vqPoint = pick('vqlite')!
    log(`the point of the checks below: vqlite ${knob(vqPoint)} (R@10 ${vqPoint.recall10.toFixed(4)})`)

    // ---- memory, each system in a fresh process ----
    if (!values['skip-memory']) {
      t0 = performance.now()
      const qFile = join(dir, 'queries.f32')
      writeFileSync(qFile, s.queries)
      const mem: MemoryFigures[] = []
      const vqRaw = runChild(process.execPath, [
        '--expose-gc',
        MEMORY_CHILD,
        JSON.stringify({
          system: 'vqlite',
          lib: libSpec === 'vqlite' ? 'vqlite' : resolve(libSpec),
          file: vqFile,
          queries: qFile,
          d: s.d,
          k: K,
          ...vqPoint.params,
        }),
      ])
      const nodeReadings = (r: Record<string, unknown>) => ({
        before: r['before'],
        afterOpen: r['afterOpen'],
        after: r['after'],
        peakOwnedOpen: r['peakOwnedOpen'],
      })
      mem.push(memoryFigures('vqlite', vqPoint.params, vqRaw, nodeReadings(vqRaw), s.nb))
      const fp = pick('faiss')
      if (faiss && fp) {
        const raw = runChild(
          FAISS_PYTHON,
          [SERVER, 'memory', faissFile, qFile, String(s.d), s.metric, String(fp.params['nprobe']), String(fp.params['kFactor'])],
          { PYTHONPATH: values['faiss-path'], OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
        )
        mem.push(
          memoryFigures(
            'faiss',
            fp.params,
            raw,
            { before: raw['before'], afterOpen: raw['after_open'], after: raw['after_workload'], peakOwnedOpen: raw['peak_owned_open'] },
            s.nb,
          ),
        )
      }
      const hp = pick('hnswlib')
      if (h && hp) {
        const raw = runChild(process.execPath, [
          '--expose-gc',
          MEMORY_CHILD,
          JSON.stringify({ system: 'hnswlib', file: h.file, queries: qFile, d: s.d, k: K, space: 'cosine', ef: hp.params['ef'] }),
        ])
        mem.push(memoryFigures('hnswlib', hp.params, raw, nodeReadings(raw), s.nb))
      }
      console.log(`\nmemory per vector (fresh process: open the saved index, then ${s.nq} queries at the point; growth / nb)`)
      console.log(
        '| system | point | RssAnon+RssShmem after open | after open + workload | RssFile after workload | peak during open (polled) | VmHWM during open | memoryUsage().total |',
      )
      console.log('|---|---|---|---|---|---|---|---|')
      for (const m of mem) {
        console.log(
          `| ${m.system} | ${knob({ system: m.system as Point['system'], params: m.params })} | ${m.ownedPerVectorOpen.toFixed(1)} | ${m.ownedPerVectorWorkload.toFixed(1)} | ${m.filePerVectorWorkload.toFixed(1)} | ${m.peakOwnedPerVectorOpen.toFixed(1)} | ${m.hwmPerVectorOpen?.toFixed(1) ?? '-'} | ${m.memoryUsagePerVector?.toFixed(1) ?? '-'} |`,
        )
      }
      const vm = mem.find((m) => m.system === 'vqlite')!
      const fm = mem.find((m) => m.system === 'faiss')
      const ratio = fm ? vm.ownedPerVectorWorkload / fm.ownedPerVectorWorkload : null
      if (ratio !== null) console.log(`vqlite / FAISS memory growth (open + workload): ${ratio.toFixed(3)} (target <= 0.25)`)
      out['memory'] = {
        method:
          'fresh child process per system; /proc/self/status before open, after open, after the workload (every timed query, one at a time, at the point); growth divided by nb; peak during open: RssAnon + RssShmem polled every ms by a thread, and VmHWM (all resident memory) after writing 5 to /proc/self/clear_refs before the open; Node children run with --expose-gc and collect before each reading',
        systems: mem,
        vqliteOverFaissOwnedWorkload: ratio,
        vqliteMemoryUsageOverMeasured: vm.memoryUsagePerVector !== undefined ? vm.memoryUsagePerVector / vm.ownedPerVectorWorkload : null,
      }
      timings['memoryS'] = since(t0)
    }

    // ---- searchBatch: 1 worker vs 2 ----
    if (!values['skip-batch']) {
      t0 = performance.now()
      const nqb = s.batchQueries.length / s.d
      const threads = [1, 2]
      const batchSamples = await interleavedRounds(
        threads.length,
        async (i) => {
          const tb = performance.now()
          await index.searchBatch(s.batchQueries, K, { ...vqPoint.params, threads: threads[i]! })
          return nqb / since(tb)
        },
        {
          rounds: quick ? 2 : 3,
          seed: 2,
          warm: (i) => index.searchBatch(s.batchQueries.subarray(0, 400 * s.d), K, { ...vqPoint.params, threads: threads[i]! }),
        },
      )
      const q1 = median(batchSamples[0]!)
      const q2 = median(batchSamples[1]!)
      out['batch'] = {
        queries: nqb,
        params: vqPoint.params,
        qps1: q1,
        qps2: q2,
        speedup: q2 / q1,
        rounds1: batchSamples[0],
        rounds2: batchSamples[1],
      }
      console.log(
        `\nsearchBatch ${nqb.toLocaleString('en-US')} queries (${knob(vqPoint)}): 1 worker ${q1.toFixed(0)} QPS, 2 workers ${q2.toFixed(0)} QPS: ${(q2 / q1).toFixed(2)}x (target >= 1.8)`,
      )
      timings['batchS'] = since(t0)
    }

    // ---- identical ids with the wasm and ts kernels ----
    {
      const wasm = lib.VqIndex.open(vqFile, { readonly: true, threads: 0, kernels: 'wasm' })
      toClose.push(wasm)
      const ts = lib.VqIndex.open(vqFile, { readonly: true, threads: 0, kernels: 'ts' })
      toClose.push(ts)
      let mismatched = 0
      let queriesDiffering = 0
      for (let i = 0; i < s.nq; i++) {
        const q = s.queries.subarray(i * s.d, (i + 1) * s.d)
        const a = wasm.search(q, K, vqPoint.params).ids
        const b = ts.search(q, K, vqPoint.params).ids
        let diff = 0
        for (let j = 0; j < K; j++) if (a[j] !== b[j]) diff++
        mismatched += diff
        if (diff > 0) queriesDiffering++
      }
      out['kernels'] = {
        params: vqPoint.params,
        backends: [wasm.kernelBackend, ts.kernelBackend],
        ids: s.nq * K,
        mismatched,
        queriesDiffering,
      }
      console.log(
        `ids with kernels ${wasm.kernelBackend} vs ${ts.kernelBackend} at ${knob(vqPoint)}: ${s.nq * K - mismatched} match, ${mismatched} mismatch (${queriesDiffering} queries differ)`,
      )
    }
    timings['totalS'] = since(tSet)
    out['timings'] = timings
    log(
      `${s.name}: total ${timings['totalS'].toFixed(0)} s (${Object.entries(timings)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(', ')})`,
    )
    saveJson(jsonPath, out)
    log(`saved ${jsonPath}`)
  } finally {
    faiss?.close()
    for (const ix of toClose.reverse()) await ix.close()
    rmSync(dir, { recursive: true, force: true })
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

const sets = values.set === 'both' ? ['glove', 'synth1m'] : [values.set]
for (const name of sets) {
  if (name !== 'glove' && name !== 'synth1m') throw new Error(`--set glove|synth1m|both, got ${name}`)
}
log(
  `search-vs-faiss: sets ${sets.join(', ')}${quick ? ' (quick)' : ''}, ${rounds} rounds, library ${libResolved}${values.note ? `; note: ${values.note}` : ''}`,
)
for (const name of sets) {
  const base = name === 'glove' ? await gloveSet() : await synthSet()
  // --vq-description / --faiss-factory: another pair of configurations on the same set (e.g.
  // issue 16's IVF1024,RaBitQ,RFlat against FAISS IVF1024,RaBitQfs + IndexRefineFlat).
  const s: SetSpec = {
    ...base,
    vqDescription: values['vq-description'] ?? base.vqDescription,
    faissFactory: values['faiss-factory'] ?? base.faissFactory,
  }
  if (!values['prepare-only']) await runSet(s)
  else if (s.hnsw && !values['skip-hnsw']) {
    // Caches the hnswlib build (a later run reuses it with --reuse-hnsw).
    const h = await hnswIndex('glove100', s.base, s.nb, s.d, 'cosine', 16, 200, true, (i) => {
      if (i % 50000 === 0) log(`  hnswlib build: ${i} points`)
    })
    log(h ? `hnswlib M=16 efC=200 built in ${h.buildSeconds.toFixed(1)} s: ${h.file}` : 'hnswlib-node not installed')
  }
}
