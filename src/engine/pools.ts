/**
 * The index's worker pool, started on first use: batch searches, and training and
 * encoding work when the index has more than one thread.
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import { VqStateError } from '../errors.js'
import { WorkerPool } from '../parallel/pool.js'
import type { Parallel } from '../search/model.js'

export class PoolHolder {
  readonly #threads: number | undefined
  readonly #kernels: Kernels
  #pool: WorkerPool | undefined
  /** Pools replaced by one of another size, stopping once their calls in flight settle. */
  readonly #retiring = new Set<Promise<void>>()
  #closed = false

  /** threads: the index's thread option (undefined: the available parallelism). */
  constructor(threads: number | undefined, kernels: Kernels) {
    this.#threads = threads
    this.#kernels = kernels
  }

  /** Threads of a batch search: the call's option, else the index's, else the pool default. */
  threadsFor(threads: number | undefined): number {
    return threads ?? this.#threads ?? WorkerPool.defaultThreads()
  }

  /**
   * The pool with this many threads. A pool of another size is replaced; it stops once the
   * calls it is running settle, and close() waits for that. CLOSED after close().
   */
  pool(threads: number): WorkerPool {
    if (this.#closed) throw new VqStateError('CLOSED', 'the index is closed')
    if (!this.#pool || this.#pool.threads !== threads) {
      if (this.#pool) this.#retire(this.#pool)
      this.#pool = new WorkerPool(threads)
    }
    return this.#pool
  }

  #retire(pool: WorkerPool): void {
    // The error of stopping a replaced pool has no caller to go to; close() reports none either.
    const stopping: Promise<void> = pool
      .close()
      .catch(() => undefined)
      .finally(() => this.#retiring.delete(stopping))
    this.#retiring.add(stopping)
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

  /** Closes the pool (if one was started) and waits for every replaced pool to stop; no pool starts afterwards. */
  async close(): Promise<void> {
    this.#closed = true
    const pool = this.#pool
    this.#pool = undefined
    try {
      await pool?.close()
    } finally {
      await Promise.all([...this.#retiring])
    }
  }
}
