/**
 * The worker pool: piscina threads that run batch searches, k-means assignment steps,
 * PQ sub-quantizer training and the encoding of large batches, on shared memory.
 * A trained model is copied into SharedArrayBuffers once (workers rebuild it once per
 * model); the list arenas already live in shared memory; inputs and outputs of a call are
 * shared buffers, and each task carries only the call's range, a claim counter and buffer
 * handles: a call starts one task per thread, and the workers claim the items (queries,
 * points, vectors) in chunks from the shared counter, so they finish together. A caller
 * stops a batch search or an encoding early (its AbortSignal) by moving that counter past
 * the end: the workers finish the chunk they are on and claim no more (CallWatch). A worker that
 * dies fails its call with a typed error (WORKER_FAILED); piscina replaces it, so the next
 * call works. Results are identical to the single-threaded code: the workers run it.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Piscina } from 'piscina'
import type { AssignRequest } from '../clustering/kmeans.js'
import { VqError, type VqErrorCode, VqFormatError, VqInputError, VqOptionError, VqStateError, VqStorageError } from '../errors.js'
import type { ListsView } from '../ivf/inverted-lists.js'
import type { ProductQuantizer } from '../quantizers/pq.js'
import type { QuantizerTrainOptions } from '../quantizers/quantizer.js'
import type { Encoded, IndexModel } from '../search/model.js'
import type { SearchParams } from '../search/searcher.js'
import type { VectorStorage } from '../types.js'
import type { CallControl } from '../util/cancel.js'
import { describeThrown, type SharedModel, type Task, type TaskFailure, type TaskResult } from './protocol.js'

/**
 * How a caller follows a pool call: an abort of its control stops the workers' remaining
 * claims (they finish the claim they are on) and the call rejects with the abort; progress
 * is told the items done so far, from a timer while the call runs (a callback that throws
 * stops the call the same way, and the call rejects with that error). The pool stays up.
 */
export interface CallWatch {
  readonly control?: CallControl | undefined
  readonly progress?: ((done: number) => void) | undefined
}

/** Milliseconds between two progress reads of a watched pool call. */
const PROGRESS_MS = 20

/** A call's shared claim counter, the end of its range, and its shared done count (when watched). */
interface ClaimState {
  readonly next: Int32Array
  readonly to: number
  readonly done: Int32Array | null
}

/** What a batch search needs from the index. */
export interface PoolSnapshot {
  readonly model: IndexModel
  readonly lists: ListsView
  readonly path: string
  readonly storeVectors: VectorStorage
}

/**
 * Items per claim when n items are shared by `threads` workers claiming from one counter:
 * about 16 claims per thread (the threads finish within a claim of each other), clamped to
 * [least, most] and to at least 1.
 */
export function claimSize(n: number, threads: number, least: number, most: number): number {
  return Math.max(1, Math.min(most, Math.max(least, Math.ceil(n / (Math.max(1, threads) * 16)))))
}

/** k-means rows per claim: at least 256 (a kernel call's setup), at most 16,384 (ASSIGN_CHUNK). */
const ASSIGN_CLAIM = [256, 16384] as const
/** Vectors per encoding claim (each claim is one model.encode call). */
const ENCODE_CLAIM = [1024, 65536] as const

/** A fresh claim counter (see SearchTask) and the number of tasks worth starting for n items. */
function claimPlan(n: number, threads: number, chunk: number): { next: Int32Array; tasks: number } {
  return { next: new Int32Array(new SharedArrayBuffer(4)), tasks: Math.max(1, Math.min(threads, Math.ceil(n / chunk))) }
}

/** Most queries a search worker claims at a time (a claim is one atomic add). */
const MAX_SEARCH_CHUNK = 16

/**
 * Queries per claim of a batch search of nq queries on `threads` workers: at least 16
 * claims per thread (so the threads finish within a claim of each other), at most
 * MAX_SEARCH_CHUNK queries per claim, at least 1.
 */
export function searchChunk(nq: number, threads: number): number {
  return Math.max(1, Math.min(MAX_SEARCH_CHUNK, Math.floor(nq / (Math.max(1, threads) * 16))))
}

/** How the pool starts its threads. */
interface WorkerEntry {
  /** The worker module. */
  readonly filename: string
  /** Node options of the worker threads (undefined: inherit the process's). */
  readonly execArgv: string[] | undefined
}

/**
 * The worker module that belongs to the code running: `worker.js` beside the built module
 * holding this code (`dist/lib/worker.js` beside the bundle's chunks, or
 * `dist/src/parallel/worker.js` beside tsc's `pool.js`), or `worker.ts` beside `pool.ts`
 * when vqlite runs from its TypeScript sources (tests, `node --import tsx`); then the threads load the sources through tsx, a
 * development dependency. Never another build: a missing worker or loader is a
 * MISSING_DEPENDENCY error.
 */
export function workerEntry(moduleUrl: string = import.meta.url): WorkerEntry {
  const self = fileURLToPath(moduleUrl)
  const ext = extname(self)
  const filename = join(dirname(self), `worker${ext}`)
  if ((ext !== '.js' && ext !== '.ts') || !existsSync(filename)) {
    throw new VqError(
      'MISSING_DEPENDENCY',
      `the worker thread script ${filename} is missing beside ${self}: the worker pool needs vqlite's files as built or installed (an app bundler that inlines vqlite leaves its worker script behind: keep vqlite external)`,
    )
  }
  if (ext === '.js') return { filename, execArgv: undefined }
  let loader: string
  try {
    loader = createRequire(moduleUrl).resolve('tsx')
  } catch (cause) {
    throw new VqError(
      'MISSING_DEPENDENCY',
      'vqlite runs from its TypeScript sources here, and its worker threads load them through tsx, which is not installed: npm install -D tsx (or run the built package)',
      { cause },
    )
  }
  return { filename, execArgv: ['--import', pathToFileURL(loader).href] }
}

/** A shared copy of a (possibly unshared) float array. */
function shared<T extends Float32Array | Float64Array | Int32Array | Uint8Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a
  const s = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength))
  s.set(a as never)
  return s
}

/** The VqError classes a worker's failure is rebuilt as, by name. */
const ERROR_CLASSES: Record<string, typeof VqError> = {
  VqError,
  VqInputError,
  VqOptionError,
  VqStateError,
  VqFormatError,
  VqStorageError,
  // The WebAssembly kernels' OUT_OF_MEMORY (a VqError of the kernels package)
  KernelMemoryError: VqError,
}

/**
 * The error of a failed task on this side of the thread boundary: a VqError of the worker
 * rebuilt as the same class with the same code and message; anything else (a raw error of
 * the worker's code) as WORKER_FAILED naming the original error.
 */
export function rebuildFailure(f: TaskFailure): VqError {
  const cls = ERROR_CLASSES[f.name]
  if (cls && f.code !== null && /^[A-Z][A-Z_]*$/.test(f.code)) return new cls(f.code as VqErrorCode, f.message)
  return new VqError('WORKER_FAILED', `a worker thread failed: ${f.name}: ${f.message}`)
}

function isFailure(r: TaskResult): r is TaskFailure {
  return typeof r === 'object' && r !== null && r.failed === true
}

/** A shared done count for a call someone watches (progress or cancellation), else null. */
function watched(watch: CallWatch | undefined): Int32Array | null {
  return watch?.progress || watch?.control?.cancellable ? new Int32Array(new SharedArrayBuffer(4)) : null
}

/** Splits [0, n) into about `parts` ranges. */
function ranges(n: number, parts: number): [number, number][] {
  const per = Math.ceil(n / Math.max(1, Math.min(n, parts)))
  const out: [number, number][] = []
  for (let from = 0; from < n; from += per) out.push([from, Math.min(n, from + per)])
  return out
}

export class WorkerPool {
  /** Worker threads. */
  readonly threads: number
  readonly #piscina: Piscina<Task, TaskResult>
  /** Calls in flight (close() waits for them before it stops the workers). */
  readonly #inflight = new Set<Promise<unknown>>()
  #closing: Promise<void> | undefined
  #shared: { model: IndexModel; shared: SharedModel } | undefined
  /** Shared copies of inputs reused across calls (k-means data across iterations). */
  #sharedInputs = new WeakMap<object, Float32Array>()

  /** The default pool size: the available parallelism. */
  static defaultThreads(): number {
    return availableParallelism()
  }

  /**
   * A pool of `threads` workers, started now. The pool has no owner but its creator (a
   * VqIndex keeps one and closes it in close()); nothing outside tracks it.
   */
  constructor(threads: number) {
    this.threads = threads
    const { filename, execArgv } = workerEntry()
    this.#piscina = new (piscinaClass())({ filename, execArgv, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 })
  }

  /** The piscina workers (for tests and diagnostics). */
  get workers(): readonly import('node:worker_threads').Worker[] {
    return this.#piscina.threads
  }

  /**
   * Runs tasks and waits for all of them to settle. A task that threw a VqError fails the
   * call with the same error (class, code, message); a worker that threw anything else or
   * died fails it with WORKER_FAILED naming the original error (piscina replaces a dead
   * worker, so the next call works).
   */
  async #all(tasks: Task[], claim?: ClaimState, watch?: CallWatch): Promise<void> {
    if (this.#closing) throw new VqError('WORKER_FAILED', 'the worker pool is closed')
    watch?.control?.check()
    const call = Promise.allSettled(tasks.map((t) => this.#piscina.run(t)))
    this.#inflight.add(call)
    // A stop (abort, or a progress callback that threw): no more claims; the call fails with it.
    let halted: { error: unknown } | undefined
    const halt = (error: unknown): void => {
      if (halted || !claim) return
      halted = { error }
      Atomics.store(claim.next, 0, claim.to)
    }
    const control = watch?.control
    const unlisten = control?.onAbort(() => {
      try {
        control.check()
      } catch (e) {
        halt(e)
      }
    })
    const progress = watch?.progress
    const done = claim?.done
    const timer =
      progress && done
        ? setInterval(() => {
            try {
              progress(Atomics.load(done, 0))
            } catch (e) {
              halt(e)
            }
          }, PROGRESS_MS)
        : undefined
    let settled: PromiseSettledResult<TaskResult>[]
    try {
      settled = await call
    } finally {
      this.#inflight.delete(call)
      unlisten?.()
      if (timer) clearInterval(timer)
    }
    if (halted) throw halted.error
    for (const s of settled) {
      if (s.status === 'fulfilled' && isFailure(s.value)) throw rebuildFailure(s.value)
    }
    for (const s of settled) {
      if (s.status === 'rejected') {
        throw new VqError('WORKER_FAILED', `a worker thread failed: ${describeThrown(s.reason)}; the pool replaces it`, {
          cause: s.reason,
        })
      }
    }
  }

  /** The model as workers receive it (trained arrays copied into shared memory once per model). */
  #sharedModel(model: IndexModel): SharedModel {
    if (this.#shared?.model !== model) {
      const arrays: SharedModel['arrays'] = {}
      for (const [name, a] of Object.entries(model.exportArrays())) arrays[name] = { shape: a.shape, data: shared(a.data) }
      this.#shared = {
        model,
        shared: { uid: model.uid, spec: model.spec, dim: model.dim, metric: model.metric, kernels: model.kernels.name, arrays },
      }
    }
    return this.#shared.shared
  }

  /**
   * Searches nq prepared queries (nq*dim) and writes nq*k ids and distances, exactly as
   * the main-thread Searcher would. One task per thread; the workers claim the queries in
   * chunks from a shared counter (see SearchTask), so a thread that gets less CPU, or
   * costlier queries, takes fewer of them.
   */
  async search(
    snap: PoolSnapshot,
    queries: Float32Array,
    nq: number,
    p: SearchParams,
    outIds: Float64Array,
    outDist: Float32Array,
    watch?: CallWatch,
  ): Promise<void> {
    const d = snap.model.dim
    const model = this.#sharedModel(snap.model)
    const q = shared(queries.subarray(0, nq * d))
    const ids = new Float64Array(new SharedArrayBuffer(nq * p.k * 8))
    const dist = new Float32Array(new SharedArrayBuffer(nq * p.k * 4))
    const chunk = searchChunk(nq, this.threads)
    const { next, tasks } = claimPlan(nq, this.threads, chunk)
    const done = watched(watch)
    await this.#all(
      Array.from({ length: tasks }, () => ({
        kind: 'search',
        model,
        lists: snap.lists,
        path: snap.path,
        storeVectors: snap.storeVectors,
        queries: q,
        from: 0,
        to: nq,
        next,
        chunk,
        done,
        k: p.k,
        nprobe: p.nprobe,
        refineFactor: p.refineFactor,
        qb: p.qb,
        errorBounds: p.errorBounds,
        exactFactor: p.exactFactor,
        filter: p.filter,
        stage: p.stage,
        outIds: ids,
        outDist: dist,
      })),
      { next, to: nq, done },
      watch,
    )
    outIds.set(ids)
    outDist.set(dist)
  }

  /** One k-means assignment step, split over the workers (the request's arrays are shared), on the named kernel backend. */
  async assign(r: AssignRequest, kernels: string): Promise<void> {
    let data = this.#sharedInputs.get(r.data)
    if (!data) {
      data = shared(r.data.subarray(0, r.n * r.d))
      this.#sharedInputs.set(r.data, data)
    }
    const request: AssignRequest = { ...r, data }
    const chunk = claimSize(r.count, this.threads, ...ASSIGN_CLAIM)
    const { next, tasks } = claimPlan(r.count, this.threads, chunk)
    await this.#all(Array.from({ length: tasks }, () => ({ kind: 'assign', kernels, request, from: 0, to: r.count, next, chunk })))
  }

  /** Trains a PQ's sub-quantizers split over the workers on the named kernel backend; returns the codebook (m, ksub, dsub). */
  async trainPq(pq: ProductQuantizer, x: Float32Array, n: number, options: QuantizerTrainOptions, kernels: string): Promise<Float32Array> {
    const subset = pq.trainingRows(n, options)
    const out = new Float32Array(new SharedArrayBuffer(pq.m * pq.ksub * pq.dsub * 4))
    const { onProgress: _p, onWarning: _w, ...plain } = options
    const xs = shared(x.subarray(0, n * pq.dim))
    await this.#all(
      ranges(pq.m, this.threads).map(([j0, j1]) => ({
        kind: 'trainPq',
        kernels,
        dim: pq.dim,
        m: pq.m,
        nbits: pq.nbits,
        x: xs,
        n,
        rows: subset.rows ? shared(subset.rows) : null,
        j0,
        j1,
        options: plain,
        out,
      })),
    )
    return out.slice()
  }

  /** Encodes n prepared vectors (n*dim) with a trained model, split over the workers. */
  async encode(model: IndexModel, x: Float32Array, n: number, watch?: CallWatch): Promise<Encoded> {
    const m = this.#sharedModel(model)
    const lists = new Int32Array(new SharedArrayBuffer(n * 4))
    const codes = new Uint8Array(new SharedArrayBuffer(Math.max(1, n * model.codeSize)))
    const refine = model.refineSize > 0 ? new Uint8Array(new SharedArrayBuffer(n * model.refineSize)) : null
    const terms = model.usesTerms ? new Float32Array(new SharedArrayBuffer(n * 4)) : null
    const xs = shared(x.subarray(0, n * model.dim))
    const chunk = claimSize(n, this.threads, ...ENCODE_CLAIM)
    const { next, tasks } = claimPlan(n, this.threads, chunk)
    const done = watched(watch)
    await this.#all(
      Array.from({ length: tasks }, () => ({
        kind: 'encode',
        model: m,
        x: xs,
        from: 0,
        to: n,
        next,
        chunk,
        done,
        lists,
        codes,
        refine,
        terms,
      })),
      { next, to: n, done },
      watch,
    )
    return {
      lists: lists.slice(),
      codes: codes.slice(0, n * model.codeSize),
      refine: refine?.slice() ?? null,
      terms: terms?.slice() ?? null,
    }
  }

  /** Stops the workers, after the calls in flight settle (idempotent; later calls fail). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inflight])
      await this.#piscina.destroy()
    })()
    return this.#closing
  }
}

// piscina loads when the first pool starts (~25 ms of every process start otherwise).
let piscina: typeof Piscina | undefined
function piscinaClass(): typeof Piscina {
  piscina ??= (createRequire(import.meta.url)('piscina') as { Piscina: typeof Piscina }).Piscina
  return piscina
}
