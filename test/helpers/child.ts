/**
 * Child processes for tests, without races: the exit is listened for at spawn time (so an
 * early exit is never missed), output is collected from the start, and every wait is
 * bounded and fails with the child's output instead of hanging.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Child {
  readonly process: ChildProcess
  /** Everything the child wrote to stdout / stderr so far. */
  readonly stdout: () => string
  readonly stderr: () => string
  /** Settles once, when the child has exited (or could not start). */
  readonly exited: Promise<Exit>
  /** The exit, once it happened (undefined while running). */
  readonly exit: () => Exit | undefined
  /** Resolves when the output satisfies `ready`; rejects if the child exits first or after timeoutMs. */
  waitFor(ready: (stdout: string, stderr: string) => boolean, timeoutMs: number, what: string): Promise<void>
  /** The exit, within timeoutMs (rejects after it, with the output so far). */
  waitExit(timeoutMs: number): Promise<Exit>
  /** Kills the child (if running) and waits for its exit, within timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>
}

/** Starts `node script ...args` (the same Node as the tests). */
export function startNode(script: string, args: readonly string[], options: SpawnOptions = {}): Child {
  const child = spawn(process.execPath, [script, ...args], { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let exit: Exit | undefined
  const watchers = new Set<() => void>()
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal }
      resolve(exit)
      for (const w of watchers) w()
    })
    // A spawn failure emits 'error' and maybe no 'exit'.
    child.once('error', (e) => {
      err += `\n[spawn error] ${e.message}`
      exit ??= { code: null, signal: null }
      resolve(exit)
      for (const w of watchers) w()
    })
  })
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString()
    for (const w of watchers) w()
  })
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString()
    for (const w of watchers) w()
  })
  const describe = (): string => `${script} ${args.join(' ')}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`

  /** Resolves when check() returns true, re-checked on every output and on exit. */
  const until = (check: () => boolean, timeoutMs: number, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (f: () => void): void => {
        clearTimeout(timer)
        watchers.delete(watch)
        f()
      }
      const watch = (): void => {
        if (check()) done(resolve)
        else if (exit)
          done(() =>
            reject(new Error(`child exited (code ${String(exit!.code)}, signal ${String(exit!.signal)}) before ${what}: ${describe()}`)),
          )
      }
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${describe()}`))),
        timeoutMs,
      )
      watchers.add(watch)
      watch()
    })

  const result: Child = {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    exit: () => exit,
    waitFor: (ready, timeoutMs, what) => until(() => ready(out, err), timeoutMs, what),
    waitExit: async (timeoutMs) => {
      await until(() => exit !== undefined, timeoutMs, 'the exit')
      return exit!
    },
    stop: async (signal = 'SIGKILL', timeoutMs = 10_000) => {
      if (!exit) child.kill(signal)
      return result.waitExit(timeoutMs)
    },
  }
  return result
}
