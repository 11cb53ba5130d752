/**
 * Cancellation of one call: the AbortSignals it was given, checked at the points where
 * stopping changes nothing (before the call starts, between k-means iterations, training
 * stages, encoding chunks, snapshot records, batch chunks; never after a commit).
 *
 * Synchronous work cannot see an abort (the signal flips only when the event loop runs
 * the code that aborts it), so long loops call pause() between their steps: without a
 * signal it does nothing; with one it checks the signal and, at most every YIELD_MS, lets
 * the event loop run (one setImmediate) so that an abort can arrive. The overhead is one
 * clock read per step and one event-loop turn per YIELD_MS of work.
 */
import { VqAbortError } from '../errors.js'

/** Most milliseconds of work between two event-loop turns of a cancellable call. */
export const YIELD_MS = 10

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export class CallControl {
  /** What the call does, for the error message ("add()"). */
  readonly what: string
  readonly #signals: readonly AbortSignal[]
  #last = performance.now()

  /** what: the call ("add()"); signals: its AbortSignals (undefined entries are ignored). */
  constructor(what: string, signals: readonly (AbortSignal | undefined)[] = []) {
    this.what = what
    this.#signals = signals.filter((s): s is AbortSignal => s !== undefined)
  }

  /** True when the call has a signal (so its loops pause now and then). */
  get cancellable(): boolean {
    return this.#signals.length > 0
  }

  /** The aborted signal, if any. */
  #aborted(): AbortSignal | undefined {
    for (const s of this.#signals) if (s.aborted) return s
    return undefined
  }

  /** True once a signal has aborted. */
  get aborted(): boolean {
    return this.#aborted() !== undefined
  }

  /** Throws VqAbortError ABORTED (cause: the signal's reason) when a signal has aborted. */
  check(): void {
    const s = this.#aborted()
    if (s) throw abortError(this.what, s.reason)
  }

  /**
   * A checkpoint of a long loop: checks the signals, and when YIELD_MS have passed since
   * the last turn, returns a promise that lets the event loop run once and checks again
   * (callers await it only when there is one: `const p = c.pause(); if (p) await p`).
   * Nothing without a signal.
   */
  pause(): Promise<void> | undefined {
    if (this.#signals.length === 0) return undefined
    this.check()
    const now = performance.now()
    if (now - this.#last < YIELD_MS) return undefined
    return turn().then(() => {
      this.#last = performance.now()
      this.check()
    })
  }

  /** Calls fn once when a signal aborts (at once if one has); returns the function that stops listening. */
  onAbort(fn: () => void): () => void {
    if (this.#aborted()) {
      fn()
      return () => undefined
    }
    const listener = (): void => fn()
    for (const s of this.#signals) s.addEventListener('abort', listener, { once: true })
    return () => {
      for (const s of this.#signals) s.removeEventListener('abort', listener)
    }
  }
}

/** A control without signals: check() and pause() do nothing. */
export const UNCANCELLABLE = new CallControl('')

/** The error of an aborted call: VqAbortError ABORTED, the signal's reason as cause. */
export function abortError(what: string, reason: unknown): VqAbortError {
  const why = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason)
  return new VqAbortError('ABORTED', `${what} was aborted${why ? ` (${why})` : ''}; nothing was changed`, { cause: reason })
}

/**
 * Progress of items done out of a total, reported through a caller's callback: only
 * forward (a count never repeats or goes back), the last report is (total, total).
 * An exception of the callback propagates to the code that reported.
 */
export class ProgressCounter {
  readonly total: number
  readonly #report: (done: number, total: number) => void
  #done = -1

  constructor(total: number, report: (done: number, total: number) => void) {
    this.total = total
    this.#report = report
  }

  /** Reports done (clamped to total) when it is past the last count reported. */
  to(done: number): void {
    const d = Math.min(done, this.total)
    if (d <= this.#done) return
    this.#done = d
    this.#report(d, this.total)
  }

  /** Reports the total (once). */
  finish(): void {
    this.to(this.total)
  }
}
