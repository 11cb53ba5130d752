/**
 * The search pool: piscina worker threads that run batch searches on shared memory.
 * Per index version the trained arrays are copied once into SharedArrayBuffers (the list
 * arenas already live in shared memory); per call, the prepared queries and the result
 * arrays are shared buffers and each task carries only its row range and buffer handles.
 * A worker that dies fails its call with a typed error (WORKER_FAILED); piscina replaces
 * it, so the next call works.
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { VqError } from '../errors.js'
import type { ListsView } from '../ivf/inverted-lists.js'
import type { IndexModel } from '../search/model.js'
import type { SearchParams } from '../search/searcher.js'
import type { VectorStorage } from '../types.js'
import type { SearchTask, SharedModel } from './protocol.js'

/** What a batch search needs from the index. */
export interface PoolSnapshot {
  readonly version: string
  readonly model: IndexModel
  readonly lists: ListsView
  readonly path: string
  readonly storeVectors: VectorStorage
}

/** Tasks per thread for a call: enough to balance uneven chunks, few enough to keep overhead low. */
const TASKS_PER_THREAD = 4

/** The compiled worker script (the sources run under a TypeScript loader only on the main thread). */
function workerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const sibling = join(here, 'worker.js')
  if (existsSync(sibling)) return sibling
  // Running from src/ (tests): use the build output.
  for (let dir = here; dirname(dir) !== dir; dir = dirname(dir)) {
    const built = join(dir, 'dist', 'src', 'parallel', 'worker.js')
    if (existsSync(built)) return built
  }
  throw new VqError('MISSING_DEPENDENCY', 'the worker script dist/src/parallel/worker.js is missing: run npm run build')
}

function shared(a: Float32Array): Float32Array {
  if (a.buffer instanceof SharedArrayBuffer) return a
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength))
  s.set(a)
  return s
}

/** Pools not yet closed. */
const LIVE = new Set<SearchPool>()

export class SearchPool {
  /** Worker threads. */
  readonly threads: number
  readonly #piscina: Piscina<SearchTask, number>
  #model: { version: string; shared: SharedModel } | undefined

  /** Pools currently running, oldest first (diagnostics, tests). */
  static live(): SearchPool[] {
    return [...LIVE]
  }

  /** The default pool size: the available parallelism. */
  static defaultThreads(): number {
    return availableParallelism()
  }

  /** A pool of `threads` workers, started now. */
  constructor(threads: number) {
    this.threads = threads
    this.#piscina = new Piscina({ filename: workerFile(), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 })
    LIVE.add(this)
  }

  /** The piscina workers (for tests and diagnostics). */
  get workers(): readonly import('node:worker_threads').Worker[] {
    return this.#piscina.threads
  }

  /**
   * Searches nq prepared queries (nq*dim) and writes nq*k ids and distances, exactly as
   * the main-thread Searcher would.
   */
  async search(
    snap: PoolSnapshot, queries: Float32Array, nq: number, p: SearchParams,
    outIds: Float64Array, outDist: Float32Array, threads: number,
  ): Promise<void> {
    if (!this.#model || this.#model.version !== snap.version) {
      const arrays: SharedModel['arrays'] = {}
      for (const [name, a] of Object.entries(snap.model.exportArrays())) arrays[name] = { shape: a.shape, data: shared(a.data) }
      this.#model = {
        version: snap.version,
        shared: { spec: snap.model.spec, dim: snap.model.dim, metric: snap.model.metric, kernels: snap.model.kernels.name, arrays },
      }
    }
    const d = snap.model.dim
    const q = shared(queries.subarray(0, nq * d))
    const ids = new Float64Array(new SharedArrayBuffer(nq * p.k * 8))
    const dist = new Float32Array(new SharedArrayBuffer(nq * p.k * 4))
    const tasks = Math.min(nq, Math.max(1, threads * TASKS_PER_THREAD))
    const per = Math.ceil(nq / tasks)
    const runs: Promise<number>[] = []
    for (let from = 0; from < nq; from += per) {
      runs.push(this.#piscina.run({
        version: snap.version, model: this.#model.shared, lists: snap.lists, path: snap.path, storeVectors: snap.storeVectors,
        queries: q, from, to: Math.min(nq, from + per), k: p.k, nprobe: p.nprobe, refineFactor: p.refineFactor, filter: p.filter,
        outIds: ids, outDist: dist,
      }))
    }
    try {
      await Promise.all(runs)
    } catch (cause) {
      await Promise.allSettled(runs)
      throw new VqError('WORKER_FAILED', `a search worker failed: ${(cause as Error)?.message ?? String(cause)}; the pool replaces it`, { cause })
    }
    outIds.set(ids)
    outDist.set(dist)
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    LIVE.delete(this)
    await this.#piscina.destroy()
  }
}
