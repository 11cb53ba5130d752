/** Shared pieces of the vqlite commands: option parsers, the stderr progress bar, Ctrl-C handling, output helpers, exit codes. */

import { createRequire } from 'node:module'
import type { SingleBar } from 'cli-progress'
import { InvalidArgumentError } from 'commander'

/** Largest --threads: more workers than this is a typo, not a machine. */
export const MAX_THREADS = 1024

/**
 * A strict decimal integer from an option or argument: digits only (an optional leading +),
 * within [min, max]; `limit` names the documented limit in the message. "", " ", "1e3",
 * "0x10", "1.5" and "-1" are refused (Number() would read some of them as numbers).
 */
export function parseInteger(value: string, min: number, max: number, limit?: string): number {
  const t = value.trim()
  const v = /^\+?\d{1,20}$/.test(t) ? Number(t) : Number.NaN
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`expected an integer from ${min} to ${max}${limit ? ` (${limit})` : ''}, got ${JSON.stringify(value)}`)
  }
  return v
}

/** An option parser (commander) for integers in [min, max]. */
export function intRange(min: number, max: number, limit?: string): (value: string) => number {
  return (value: string) => parseInteger(value, min, max, limit)
}

/** Parses "1,4,16" into positive safe integers (one argument: usable as a commander parser). */
export function intList(value: string): number[] {
  return parseIntList(value, 1, Number.MAX_SAFE_INTEGER)
}

/** Parses "1,4,16" into integers in [min, max]. */
export function parseIntList(value: string, min: number, max: number, limit?: string): number[] {
  const parts = value.split(',')
  const out: number[] = []
  for (const s of parts) {
    try {
      out.push(parseInteger(s, min, max, limit))
    } catch {
      throw new InvalidArgumentError(
        `expected integers from ${min} to ${max}${limit ? ` (${limit})` : ''} separated by commas, got ${JSON.stringify(value)}`,
      )
    }
  }
  return out
}

/** An option parser (commander) for comma-separated lists of integers in [min, max]. */
export function intListRange(min: number, max: number, limit?: string): (value: string) => number[] {
  return (value: string) => parseIntList(value, min, max, limit)
}

/** A non-negative safe integer. */
export function positiveInt(value: string): number {
  return parseInteger(value, 0, Number.MAX_SAFE_INTEGER)
}

/** A usage error found by a command's action (printed with the help hint, exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError'
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

/** One progress bar at a time on stderr, relabelled as phases change. */
export class Progress {
  #made: SingleBar | undefined
  #label = ''

  /** The bar, made on first use on a terminal (cli-progress is loaded only then: a faster start). */
  get #bar(): SingleBar {
    if (!this.#made) {
      const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress')
      this.#made = new cliProgress.SingleBar(
        {
          format: '{label} |{bar}| {percentage}% {value}/{total} {eta_formatted}',
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    }
    return this.#made
  }
  #active = false

  update(label: string, done: number, total: number): void {
    if (!process.stderr.isTTY) {
      if (label !== this.#label) process.stderr.write(`${label}\n`)
      this.#label = label
      return
    }
    if (label !== this.#label || !this.#active) {
      this.stop()
      this.#bar.start(Math.max(1, total), done, { label })
      this.#label = label
      this.#active = true
    } else {
      this.#bar.setTotal(Math.max(1, total))
      this.#bar.update(done, { label })
    }
  }

  stop(): void {
    if (this.#active) this.#bar.stop()
    this.#active = false
  }

  log(message: string): void {
    this.stop()
    this.#label = ''
    process.stderr.write(`${message}\n`)
  }
}

/** An AbortController aborted by the first Ctrl-C; a second one exits. */
export function interruptible(progress: Progress, what: string): AbortController {
  const ac = new AbortController()
  process.on('SIGINT', () => {
    if (ac.signal.aborted) {
      progress.log('second Ctrl-C: exiting now')
      process.exit(130)
    }
    progress.log(`Ctrl-C: stopping ${what} after the current step (Ctrl-C again to exit at once)`)
    ac.abort()
  })
  return ac
}

export const mb = (bytes: number): string => (bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`)

/**
 * Exit codes: 0 done; 1 bad input or data, or a file the system refused (every VqError:
 * the message names the file, line and value and nothing was changed); 2 usage error (an
 * unknown command, a missing or malformed option or argument, a number past its limit);
 * 3 internal failure (a bug: please report it); 130 interrupted.
 */
export const EXIT = { ok: 0, badInput: 1, usage: 2, internal: 3, interrupted: 130 } as const

/** Prints a value as JSON (--json) or as text. */
export function emit(json: boolean, value: unknown, text: () => string): void {
  console.log(
    json
      ? JSON.stringify(value, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v), 2)
      : text(),
  )
}

/**
 * A hit's snippet (FTS5's snippet()/highlight() spans) on one line, the matched words
 * marked: ANSI bold on a terminal, **word** otherwise.
 */
export function renderSnippet(snippet: { text: string; highlights: readonly (readonly [number, number])[] }): string {
  const [open, close] = process.stdout.isTTY ? ['\u001b[1m', '\u001b[22m'] : ['**', '**']
  let out = ''
  let at = 0
  for (const [start, end] of snippet.highlights) {
    out += snippet.text.slice(at, start) + open + snippet.text.slice(start, end) + close
    at = end
  }
  return (out + snippet.text.slice(at)).replace(/\s+/g, ' ').trim()
}

/** Largest share of the machine's memory the vectors of one input file may take. */
export const MAX_INPUT_SHARE = 0.5
