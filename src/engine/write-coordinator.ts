/**
 * The write coordinator: the write queue and the search fence of one index.
 *
 * A write has two phases: `prepare` (async: training, encoding on the worker pool; it
 * only reads the index) and `apply` (synchronous: the commit and the in-memory mutation
 * of the lists). Writes run one at a time in call order, each prepare after the previous
 * write's apply. Pooled searches are readers: an apply starts only when no reader is in
 * flight, and a reader that arrives while an apply waits or runs waits until it is done.
 * So no search observes the lists while a write mutates them:
 * - a pooled searchBatch (the only search that awaits while holding a view of the lists)
 *   enters through read(), and apply waits for every reader to leave;
 * - a synchronous search cannot interleave with apply, which is synchronous (checked:
 *   an apply that returns a promise is a programming error), and assertNotMutating()
 *   catches a search issued from inside an apply.
 * A failing prepare or apply rejects its own write only; the queue and the fence go on.
 * A write given a cancellable control that aborts while it waits for its turn rejects at
 * once (it never prepares); the writes queued after it still wait for the ones before it.
 */
import { VqError } from '../errors.js'

/** What a write's cancellation offers the queue (util/cancel.ts CallControl). */
export interface QueueCancel {
  /** Throws the abort error when aborted. */
  check(): void
  /** Calls fn when the call aborts (at once if it has); returns the function that stops listening. */
  onAbort(fn: () => void): () => void
}

export class WriteCoordinator {
  /** Tail of the write queue: settles when the last queued write is done. */
  #tail: Promise<void> = Promise.resolve()
  /** Pooled searches in flight. */
  #readers = 0
  /** Set while an apply waits for readers or runs; readers arriving meanwhile wait on it. */
  #gate: Promise<void> | undefined
  /** Resolves the waiting apply when the last reader leaves. */
  #drained: (() => void) | undefined
  #mutating = false
  /** Writes queued or running. */
  #pending = 0

  /** Pooled searches in flight. */
  get readers(): number {
    return this.#readers
  }

  /** True when no write is queued or running and no pooled search is in flight. */
  get idle(): boolean {
    return this.#pending === 0 && this.#readers === 0
  }

  /** True while an apply runs. */
  get mutating(): boolean {
    return this.#mutating
  }

  /**
   * Queues a write: after every write queued before it, runs prepare (readers may run
   * meanwhile), then apply alone (no reader in flight). Resolves with apply's result.
   * `cancel`: an abort while the write waits for its turn rejects it at once.
   */
  async write<P, T>(prepare: () => P | Promise<P>, apply: (prepared: P) => T, cancel?: QueueCancel): Promise<T> {
    const prior = this.#tail
    let done!: () => void
    this.#tail = new Promise((resolve) => {
      done = resolve
    })
    this.#pending++
    try {
      await (cancel ? turn(prior, cancel) : prior)
      const prepared = await prepare()
      return await this.#exclusively(() => apply(prepared))
    } finally {
      this.#pending--
      // The next write starts when this one is done, and never before the ones queued
      // before it (a write that gave up waiting ends before its turn came).
      void prior.then(done)
    }
  }

  /** Runs fn (which may await while it reads the lists) as a reader: never during an apply. */
  async read<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#gate) await this.#gate
    this.#readers++
    try {
      return await fn()
    } finally {
      if (--this.#readers === 0 && this.#drained) {
        const drained = this.#drained
        this.#drained = undefined
        drained()
      }
    }
  }

  /** Throws when called from inside an apply (a synchronous search there would see half-mutated lists). */
  assertNotMutating(): void {
    if (this.#mutating) throw new VqError('INTERNAL', "vqlite internal error: a search ran inside a write's mutation")
  }

  async #exclusively<T>(apply: () => T): Promise<T> {
    let open!: () => void
    this.#gate = new Promise((resolve) => {
      open = resolve
    })
    try {
      if (this.#readers > 0)
        await new Promise<void>((resolve) => {
          this.#drained = resolve
        })
      this.#mutating = true
      const out = apply()
      if (out instanceof Promise) throw new VqError('INTERNAL', "vqlite internal error: a write's apply phase must be synchronous")
      return out
    } finally {
      this.#mutating = false
      this.#gate = undefined
      open()
    }
  }
}

/** Resolves when prior does; rejects with the abort if cancel aborts first. */
function turn(prior: Promise<void>, cancel: QueueCancel): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stop = cancel.onAbort(() => {
      try {
        cancel.check()
      } catch (e) {
        reject(e)
      }
    })
    void prior.then(() => {
      stop()
      resolve()
    })
  })
}
