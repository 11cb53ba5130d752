/**
 * The benchmark suite behind `vqlite bench`: builds each vqlite index description on a
 * dataset, sweeps its search parameters, and measures hnswlib-node and exact (flat)
 * search on the same data in the same run. Every measured point becomes one row
 * (BenchRow), handed to onRow once its rounds are done; an interrupted run keeps the
 * points measured in at least one round. Progress goes through onProgress; nothing here prints.
 *
 * Per point: recall@k and QPS of single-threaded search() one query at a time (with p50 /
 * p99 latency), QPS of searchBatch() on the worker pool, and recall@1 / recall@10 /
 * recall@100 from searches with k = 1, 10, 100 (ann-benchmarks' definition, see recall.ts).
 * QPS figures are medians of interleaved rounds over all the points (see runBench).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VqIndex } from 'vqlite'
import type { EvalDataset } from '../../datasets/glove100.js'
import { machineInfo } from '../lib/report.js'
import { interleavedRounds, median } from '../lib/rounds.js'
import { annRecall } from './recall.js'

export interface BenchOptions {
  /** vqlite index descriptions, e.g. "IVF1024,PQ25,RFlat". */
  readonly indexes: readonly string[]
  readonly nprobe: readonly number[]
  readonly refine: readonly number[]
  /** Results per query of the timed runs. Default 10. */
  readonly k?: number
  /**
   * Rounds: each round measures every point of every system once (one timed pass over the
   * queries), in a seeded shuffled order; a point's QPS is the median of its rounds. Default 5
   * (3 rounds left two runs of glove100 up to 14.5% apart point by point, 5 rounds 5.3%).
   */
  readonly runs?: number
  /** Worker threads of searchBatch (default: the pool's default). */
  readonly threads?: number
  /** hnswlib-node peer: M, efConstruction, efSearch values (null: skip). */
  readonly hnsw?: { readonly M: number; readonly efConstruction: number; readonly ef: readonly number[]; readonly reuse?: boolean } | null
  /** Exact flat search as a peer. Default true. */
  readonly flat?: boolean
  /** Folder for the index files (default: a temporary folder, removed afterwards). */
  readonly workDir?: string
  readonly seed?: number
  readonly signal?: AbortSignal
  readonly onRow?: (row: BenchRow) => void
  readonly onProgress?: (p: BenchProgress) => void
}

export interface BenchProgress {
  /** 'train' | 'add' | 'sweep' | 'hnsw-build' | 'flat'. */
  readonly phase: string
  readonly label: string
  readonly done: number
  readonly total: number
}

/** One measured configuration and parameter value. */
export interface BenchRow {
  readonly dataset: string
  readonly metric: string
  readonly nb: number
  readonly nq: number
  readonly d: number
  readonly system: 'vqlite' | 'hnswlib' | 'flat'
  /** Index description (vqlite) or the peer's build parameters. */
  readonly config: string
  /** Search parameters: nprobe / refineFactor (vqlite), ef (hnswlib). */
  readonly params: Readonly<Record<string, number>>
  readonly k: number
  readonly recall1: number
  readonly recall10: number | null
  readonly recall100: number | null
  /** Single thread, one query at a time: the median over the rounds. */
  readonly qps: number
  /** The single-thread QPS of each round, in round order. */
  readonly qpsRounds: readonly number[]
  readonly p50Ms: number
  readonly p99Ms: number
  /** searchBatch on the worker pool, the median over the rounds (null when the system has no batch search). */
  readonly qpsBatch: number | null
  readonly threads: number | null
  readonly trainS: number
  readonly addS: number
  readonly buildS: number
  /** Index file size (vqlite; hnswlib: its saved index). */
  readonly fileBytes: number
  /** Resident bytes per vector (vqlite: memoryUsage().total; hnswlib: its index size). */
  readonly ramBytesPerVector: number
  readonly kernels: string | null
  readonly machine: Record<string, unknown>
}

/** What a system gives the measurement loop. */
interface Searchable {
  one(q: Float32Array, k: number): ArrayLike<number>
  batch: ((queries: Float32Array, k: number) => Promise<ArrayLike<number>>) | null
  /** Called before every pass of `one` with its k (hnswlib: sets efSearch, shared by the points of one index). */
  prepare?: (k: number) => void
}

/** The columns of a row that the measurement fills. */
type Measured = Pick<BenchRow, 'recall1' | 'recall10' | 'recall100' | 'qps' | 'p50Ms' | 'p99Ms' | 'qpsBatch' | 'qpsRounds'>

/** A point waiting for its rounds: how to search it, and the rest of its row (computed when it is reported). */
interface PendingPoint {
  readonly s: Searchable
  readonly label: string
  readonly row: () => Omit<BenchRow, keyof Measured>
  readonly qps: number[]
  readonly batch: number[]
  /** Per-query latencies of every timed pass (ms). */
  readonly latencies: number[]
  found: Float64Array | null
}

/**
 * Runs the suite; returns the rows (also given to onRow one by one). Every system is built
 * first; then every point is warmed (an untimed pass), then measured in `runs` rounds, each
 * visiting every point of every system once in a seeded shuffled order (bench/lib/rounds.ts),
 * and a point's QPS is the median of its rounds: the machine's drift and the order points
 * are listed in no longer rank them. An abort stops the builds or the rounds and the rows of
 * the points measured at least once are reported; an abort while rows are reported stops
 * the reporting.
 */
/** Shortest time of a point's single-thread measurement in one round (repeated passes over the queries). */
const MIN_VISIT_MS = 300

export async function runBench(ds: EvalDataset, options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  const k = options.k ?? 10
  const rounds = Math.max(1, options.runs ?? 5)
  const machine = machineInfo()
  const aborted = (): boolean => options.signal?.aborted === true
  const progress = (phase: string, label: string, done: number, total: number): void => options.onProgress?.({ phase, label, done, total })
  const ownDir = options.workDir === undefined
  const dir = options.workDir ?? mkdtempSync(join(tmpdir(), 'vqlite-bench-'))
  const ids = Float64Array.from({ length: ds.nb }, (_, i) => i)
  const common = { dataset: ds.name, metric: ds.metric, nb: ds.nb, nq: ds.nq, d: ds.d, machine }
  const points: PendingPoint[] = []
  const open: VqIndex[] = []
  const warmCount = Math.min(ds.nq, 200)

  /**
   * Untimed: compilation, first touches of pages, the worker pool's start. One pass over
   * every query first (each list the queries probe is loaded into the scan engine on its
   * first probe, and each stored vector they re-rank is paged in: work the first timed
   * round would otherwise pay alone), then passes over the first (up to) 200 queries until
   * 100 ms have gone (at most 20 passes): a small set's pass takes a few milliseconds, too
   * few for the JIT to settle.
   */
  const warm = async (p: PendingPoint): Promise<void> => {
    p.s.prepare?.(k)
    for (let i = 0; i < ds.nq; i++) p.s.one(ds.queries.subarray(i * ds.d, (i + 1) * ds.d), k)
    const t0 = performance.now()
    for (let pass = 0; pass < 20 && (pass === 0 || performance.now() - t0 < 100); pass++) {
      for (let i = 0; i < warmCount; i++) p.s.one(ds.queries.subarray(i * ds.d, (i + 1) * ds.d), k)
    }
    if (p.s.batch) await p.s.batch(ds.queries.subarray(0, warmCount * ds.d), k)
  }
  /**
   * One timed visit: single-thread passes over the queries until MIN_VISIT_MS have gone (at
   * least one; a fast point's single pass takes a few tens of milliseconds, too short to
   * time steadily), then one batch pass. Returns the single-thread QPS.
   */
  const visit = async (p: PendingPoint, round: number): Promise<number> => {
    const found = new Float64Array(ds.nq * k)
    p.s.prepare?.(k)
    const t0 = performance.now()
    let searched = 0
    for (let pass = 0; pass === 0 || performance.now() - t0 < MIN_VISIT_MS; pass++) {
      for (let i = 0; i < ds.nq; i++) {
        const t = performance.now()
        const r = p.s.one(ds.queries.subarray(i * ds.d, (i + 1) * ds.d), k)
        p.latencies.push(performance.now() - t)
        if (pass === 0) for (let j = 0; j < k; j++) found[i * k + j] = r[j] ?? -1
        if ((i & 127) === 0) progress('sweep', `${p.label} (round ${round + 1}/${rounds})`, i, ds.nq)
      }
      searched += ds.nq
    }
    const qps = searched / ((performance.now() - t0) / 1000)
    p.qps.push(qps)
    p.found = found
    if (p.s.batch) {
      const tb = performance.now()
      await p.s.batch(ds.queries, k)
      p.batch.push(ds.nq / ((performance.now() - tb) / 1000))
    }
    return qps
  }
  const measured = async (p: PendingPoint): Promise<Measured> => {
    // recall@r from searches with k = r (a k = 10 search re-ranks fewer candidates than a k = 100 one).
    const recallAt = async (r: number): Promise<number | null> => {
      if (r > ds.gtK) return null
      if (r === k) return annRecall(ds, p.found!, k, r)
      p.s.prepare?.(r)
      const res = p.s.batch ? await p.s.batch(ds.queries, r) : collect(p.s, ds, r)
      return annRecall(ds, res, r, r)
    }
    const lat = Float64Array.from(p.latencies).sort()
    return {
      recall1: (await recallAt(1))!,
      recall10: await recallAt(10),
      recall100: ds.nb >= 100 ? await recallAt(100) : null,
      qps: median(p.qps),
      qpsRounds: [...p.qps],
      p50Ms: lat[Math.floor(0.5 * (lat.length - 1))]!,
      p99Ms: lat[Math.floor(0.99 * (lat.length - 1))]!,
      qpsBatch: p.batch.length > 0 ? median(p.batch) : null,
    }
  }
  /** The build and footprint columns of a row for the index ix, stored at path. */
  const buildColumns = (ix: VqIndex, path: string, trainS: number, addS: number) => ({
    threads: options.threads ?? null,
    trainS,
    addS,
    buildS: trainS + addS,
    fileBytes: fileSize(path),
    ramBytesPerVector: ix.memoryUsage().total / ds.nb,
    kernels: ix.kernelBackend,
  })

  try {
    // ---- vqlite configurations ----
    for (const description of options.indexes) {
      if (aborted()) break
      const path = join(dir, `${open.length}-${description.replace(/[^A-Za-z0-9]+/g, '_')}.vqlite`)
      const ix = VqIndex.create(path, {
        dim: ds.d,
        metric: ds.metric,
        description,
        storeVectors: /(^|,)RFlat$/.test(description) ? 'float32' : 'none',
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      })
      open.push(ix)
      let t = performance.now()
      await ix.train(ds.base, {
        seed: options.seed ?? 1,
        onProgress: (p) => progress('train', `${description}: ${p.stage} ${p.part + 1}/${p.parts}`, p.iteration, p.iterations),
      })
      const trainS = (performance.now() - t) / 1000
      if (aborted()) break
      t = performance.now()
      const chunk = 65536
      for (let i = 0; i < ds.nb && !aborted(); i += chunk) {
        const n = Math.min(chunk, ds.nb - i)
        await ix.add(ids.subarray(i, i + n), ds.base.subarray(i * ds.d, (i + n) * ds.d))
        progress('add', description, i + n, ds.nb)
      }
      if (aborted()) break
      const addS = (performance.now() - t) / 1000
      const refineStage = ix.spec.refine !== undefined && ix.spec.refine !== null
      const refines = refineStage ? options.refine : [1]
      const nprobes = ix.spec.ivf ? options.nprobe : [1]
      for (const nprobe of nprobes) {
        for (const refineFactor of refines) {
          const params = { nprobe, refineFactor }
          points.push({
            s: {
              one: (q, kk) => ix.search(q, kk, params).ids,
              batch: async (qs, kk) =>
                (await ix.searchBatch(qs, kk, { ...params, ...(options.threads !== undefined ? { threads: options.threads } : {}) })).ids,
            },
            label: `${description} nprobe ${nprobe} refine ${refineFactor}`,
            row: () => ({
              ...common,
              system: 'vqlite',
              config: description,
              params: (ix.spec.ivf ? params : refineStage ? { refineFactor } : {}) as Readonly<Record<string, number>>,
              k,
              ...buildColumns(ix, path, trainS, addS),
            }),
            qps: [],
            batch: [],
            latencies: [],
            found: null,
          })
        }
      }
    }

    // ---- exact search ----
    if ((options.flat ?? true) && !aborted()) {
      const path = join(dir, 'flat.vqlite')
      const ix = VqIndex.create(path, {
        dim: ds.d,
        metric: ds.metric,
        description: 'Flat',
        storeVectors: 'none',
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      })
      open.push(ix)
      let t = performance.now()
      await ix.train(ds.base.subarray(0, Math.min(ds.nb, 1000) * ds.d), {})
      const trainS = (performance.now() - t) / 1000
      t = performance.now()
      for (let i = 0; i < ds.nb && !aborted(); i += 65536) {
        const n = Math.min(65536, ds.nb - i)
        await ix.add(ids.subarray(i, i + n), ds.base.subarray(i * ds.d, (i + n) * ds.d))
        progress('flat', 'exact search: adding', i + n, ds.nb)
      }
      const addS = (performance.now() - t) / 1000
      if (!aborted()) {
        points.push({
          s: {
            one: (q, kk) => ix.search(q, kk).ids,
            batch: async (qs, kk) => (await ix.searchBatch(qs, kk, options.threads !== undefined ? { threads: options.threads } : {})).ids,
          },
          label: 'exact (Flat)',
          row: () => ({ ...common, system: 'flat', config: 'Flat', params: {}, k, ...buildColumns(ix, path, trainS, addS) }),
          qps: [],
          batch: [],
          latencies: [],
          found: null,
        })
      }
    }

    // ---- hnswlib-node ----
    if (options.hnsw && !aborted()) {
      const { hnswIndex, hnswAvailable } = await import('../lib/hnsw.js')
      if (await hnswAvailable()) {
        const { M, efConstruction } = options.hnsw
        const h = await hnswIndex(
          ds.name,
          ds.base,
          ds.nb,
          ds.d,
          ds.metric,
          M,
          efConstruction,
          !options.hnsw.reuse,
          (i) => progress('hnsw-build', `hnswlib M=${M} efC=${efConstruction}`, i, ds.nb),
          options.signal,
        )
        if (h) {
          for (const ef of options.hnsw.ef) {
            points.push({
              s: {
                // efSearch below k would return fewer than k results: hnswlib needs ef >= k.
                prepare: (kk) => h.index.setEf(Math.max(ef, kk)),
                one: (q, kk) => h.index.searchKnn(Array.from(q), Math.min(kk, ds.nb)).neighbors,
                batch: null,
              },
              label: `hnswlib ef ${ef}`,
              row: () => ({
                ...common,
                system: 'hnswlib',
                config: `HNSW M=${M} efC=${efConstruction}`,
                params: { ef },
                k,
                threads: null,
                trainS: 0,
                addS: h.buildSeconds,
                buildS: h.buildSeconds,
                fileBytes: h.fileBytes,
                ramBytesPerVector: h.bytesPerVector,
                kernels: null,
              }),
              qps: [],
              batch: [],
              latencies: [],
              found: null,
            })
          }
        }
      }
    }

    // ---- warm-up, then interleaved rounds over every point of every system ----
    await interleavedRounds(points.length, (i, round) => visit(points[i]!, round), {
      rounds,
      seed: options.seed ?? 1,
      warm: (i) => warm(points[i]!),
      stop: aborted,
    })

    // ---- report, in the order the points were listed ----
    const abortedBefore = aborted()
    for (const p of points) {
      if (p.qps.length === 0) continue
      if (!abortedBefore && aborted()) break
      const row: BenchRow = { ...p.row(), ...(await measured(p)) }
      rows.push(row)
      options.onRow?.(row)
    }
  } finally {
    for (const ix of open) await ix.close()
    if (ownDir) rmSync(dir, { recursive: true, force: true })
  }
  return rows
}

/** Single-threaded k-NN of every query (for systems without a batch search). */
function collect(s: Searchable, ds: EvalDataset, k: number): Float64Array {
  const out = new Float64Array(ds.nq * k)
  for (let i = 0; i < ds.nq; i++) {
    const r = s.one(ds.queries.subarray(i * ds.d, (i + 1) * ds.d), k)
    for (let j = 0; j < k; j++) out[i * k + j] = r[j] ?? -1
  }
  return out
}

/** Bytes of an index file and its WAL. */
function fileSize(path: string): number {
  let total = 0
  for (const p of [path, `${path}-wal`]) {
    try {
      total += statSync(p).size
    } catch {
      // absent
    }
  }
  return total
}
