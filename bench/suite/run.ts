/**
 * The benchmark suite behind `vqlite bench`: builds each vqlite index description on a
 * dataset, sweeps its search parameters, and measures hnswlib-node and exact (flat)
 * search on the same data in the same run. Every measured point becomes one row
 * (BenchRow), handed to onRow as soon as it is measured, so that an interrupted run keeps
 * what it measured. Progress goes through onProgress; nothing here prints.
 *
 * Per point: recall@k and QPS of single-threaded search() one query at a time (with p50 /
 * p99 latency), QPS of searchBatch() on the worker pool, and recall@1 / recall@10 /
 * recall@100 from searches with k = 1, 10, 100 (ann-benchmarks' definition, see recall.ts).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VqIndex } from 'vqlite'
import type { EvalDataset } from '../../datasets/glove100.js'
import { machineInfo } from '../lib/report.js'
import { annRecall } from './recall.js'

export interface BenchOptions {
  /** vqlite index descriptions, e.g. "IVF1024,PQ25,RFlat". */
  readonly indexes: readonly string[]
  readonly nprobe: readonly number[]
  readonly refine: readonly number[]
  /** Results per query of the timed runs. Default 10. */
  readonly k?: number
  /** Timed passes over the queries per point; the fastest counts (ann-benchmarks does the same). Default 2. */
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
  /** Single thread, one query at a time. */
  readonly qps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** searchBatch on the worker pool (null when the system has no batch search). */
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
}

/** Runs the suite; returns the rows (also given to onRow one by one). Stops early, keeping its rows, when signal aborts. */
export async function runBench(ds: EvalDataset, options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  const k = options.k ?? 10
  const machine = machineInfo()
  const aborted = (): boolean => options.signal?.aborted === true
  const progress = (phase: string, label: string, done: number, total: number): void => options.onProgress?.({ phase, label, done, total })
  const ownDir = options.workDir === undefined
  const dir = options.workDir ?? mkdtempSync(join(tmpdir(), 'vqlite-bench-'))
  const ids = Float64Array.from({ length: ds.nb }, (_, i) => i)
  const common = { dataset: ds.name, metric: ds.metric, nb: ds.nb, nq: ds.nq, d: ds.d, machine }

  const measurePoint = async (
    s: Searchable,
    label: string,
  ): Promise<Pick<BenchRow, 'recall1' | 'recall10' | 'recall100' | 'qps' | 'p50Ms' | 'p99Ms' | 'qpsBatch'>> => {
    const runs = Math.max(1, options.runs ?? 2)
    const found = new Float64Array(ds.nq * k)
    // Warm-up (compilation, first touches of pages), untimed.
    for (let i = 0; i < Math.min(ds.nq, 50); i++) s.one(ds.queries.subarray(i * ds.d, (i + 1) * ds.d), k)
    let qps = 0
    let lat = new Float64Array(0)
    for (let run = 0; run < runs; run++) {
      const times = new Float64Array(ds.nq)
      const t0 = performance.now()
      for (let i = 0; i < ds.nq; i++) {
        const t = performance.now()
        const r = s.one(ds.queries.subarray(i * ds.d, (i + 1) * ds.d), k)
        times[i] = performance.now() - t
        for (let j = 0; j < k; j++) found[i * k + j] = r[j] ?? -1
        if ((i & 127) === 0) progress('sweep', label, run * ds.nq + i, runs * ds.nq)
      }
      const q = ds.nq / ((performance.now() - t0) / 1000)
      if (q > qps) {
        qps = q
        lat = times.sort()
      }
    }
    progress('sweep', label, runs * ds.nq, runs * ds.nq)
    let qpsBatch: number | null = null
    if (s.batch) {
      for (let run = 0; run < runs; run++) {
        const tb = performance.now()
        await s.batch(ds.queries, k)
        qpsBatch = Math.max(qpsBatch ?? 0, ds.nq / ((performance.now() - tb) / 1000))
      }
    }
    // recall@r from searches with k = r (a k = 10 search re-ranks fewer candidates than a k = 100 one).
    const recallAt = async (r: number): Promise<number | null> => {
      if (r > ds.gtK) return null
      if (r === k) return annRecall(ds, found, k, r)
      const res = s.batch ? await s.batch(ds.queries, r) : collect(s, ds, r)
      return annRecall(ds, res, r, r)
    }
    return {
      recall1: (await recallAt(1))!,
      recall10: await recallAt(10),
      recall100: ds.nb >= 100 ? await recallAt(100) : null,
      qps,
      p50Ms: lat[Math.floor(0.5 * (ds.nq - 1))]!,
      p99Ms: lat[Math.floor(0.99 * (ds.nq - 1))]!,
      qpsBatch,
    }
  }

  const emit = (row: BenchRow): void => {
    rows.push(row)
    options.onRow?.(row)
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
      const path = join(dir, `${rows.length}-${description.replace(/[^A-Za-z0-9]+/g, '_')}.vqlite`)
      const ix = VqIndex.create(path, {
        dim: ds.d,
        metric: ds.metric,
        description,
        storeVectors: /(^|,)RFlat$/.test(description) ? 'float32' : 'none',
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
      })
      try {
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
            if (aborted()) break
            const params = { nprobe, refineFactor }
            const m = await measurePoint(
              {
                one: (q, kk) => ix.search(q, kk, params).ids,
                batch: async (qs, kk) =>
                  (await ix.searchBatch(qs, kk, { ...params, ...(options.threads !== undefined ? { threads: options.threads } : {}) })).ids,
              },
              `${description} nprobe ${nprobe} refine ${refineFactor}`,
            )
            emit({
              ...common,
              system: 'vqlite',
              config: description,
              params: ix.spec.ivf ? params : refineStage ? { refineFactor } : {},
              k,
              ...m,
              ...buildColumns(ix, path, trainS, addS),
            })
          }
        }
      } finally {
        await ix.close()
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
      try {
        let t = performance.now()
        await ix.train(ds.base.subarray(0, Math.min(ds.nb, 1000) * ds.d), {})
        const trainS = (performance.now() - t) / 1000
        t = performance.now()
        for (let i = 0; i < ds.nb; i += 65536) {
          const n = Math.min(65536, ds.nb - i)
          await ix.add(ids.subarray(i, i + n), ds.base.subarray(i * ds.d, (i + n) * ds.d))
          progress('flat', 'exact search: adding', i + n, ds.nb)
        }
        const addS = (performance.now() - t) / 1000
        if (!aborted()) {
          const m = await measurePoint(
            {
              one: (q, kk) => ix.search(q, kk).ids,
              batch: async (qs, kk) =>
                (await ix.searchBatch(qs, kk, options.threads !== undefined ? { threads: options.threads } : {})).ids,
            },
            'exact (Flat)',
          )
          emit({
            ...common,
            system: 'flat',
            config: 'Flat',
            params: {},
            k,
            ...m,
            ...buildColumns(ix, path, trainS, addS),
          })
        }
      } finally {
        await ix.close()
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
            if (aborted()) break
            let efK = -1
            const m = await measurePoint(
              {
                one: (q, kk) => {
                  // efSearch below k would return fewer than k results: hnswlib needs ef >= k.
                  if (efK !== kk) {
                    efK = kk
                    h.index.setEf(Math.max(ef, kk))
                  }
                  return h.index.searchKnn(Array.from(q), Math.min(kk, ds.nb)).neighbors
                },
                batch: null,
              },
              `hnswlib ef ${ef}`,
            )
            emit({
              ...common,
              system: 'hnswlib',
              config: `HNSW M=${M} efC=${efConstruction}`,
              params: { ef },
              k,
              ...m,
              threads: null,
              trainS: 0,
              addS: h.buildSeconds,
              buildS: h.buildSeconds,
              fileBytes: h.fileBytes,
              ramBytesPerVector: h.bytesPerVector,
              kernels: null,
            })
          }
        }
      }
    }
  } finally {
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
