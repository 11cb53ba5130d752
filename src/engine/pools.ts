/**
 * The index's worker pool, started on first use: batch searches, and training and
 * encoding work when the index has more than one thread.
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import { WorkerPool } from '../parallel/pool.js'
import type { Parallel } from '../search/model.js'

export class PoolHolder {
  readonly #threads: number | undefined
  readonly #kernels: Kernels
  #pool: WorkerPool | undefined

  /** threads: the index's thread option (undefined: the available parallelism). */
  constructor(threads: number | undefined, kernels: Kernels) {
    this.#threads = threads
    this.#kernels = kernels
  }

  /** Threads of a batch search: the call's option, else the index's, else the pool default. */
  threadsFor(threads: number | undefined): number {
    return threads ?? this.#threads ?? WorkerPool.defaultThreads()
  }

  /** The pool with this many threads (a pool of another size is closed and replaced). */
  pool(threads: number): WorkerPool {
    if (!this.#pool || this.#pool.threads !== threads) {
      void this.#pool?.close()
      this.#pool = new WorkerPool(threads)
    }
    return this.#pool
  }

  /**
   * Training and encoding work for the pool when the index has more than one thread; the
   * pool itself starts only when some work is large enough to use it.
   */
  parallel(): Parallel | undefined {
    const threads = this.threadsFor(undefined)
    if (threads <= 1) return undefined
    const kernels = this.#kernels.name
    return {
      threads,
      assign: (r) => this.pool(threads).assign(r, kernels),
      trainPq: (pq, x, n, o) => this.pool(threads).trainPq(pq, x, n, o, kernels),
      encode: (model, x, n) => this.pool(threads).encode(model, x, n),
    }
  }

  /** Closes the pool (if one was started). */
  async close(): Promise<void> {
    const pool = this.#pool
    this.#pool = undefined
    await pool?.close()
  }
}
