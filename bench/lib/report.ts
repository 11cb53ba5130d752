/** Shared helpers of the bench scripts: recall, machine info, JSON output, FAISS runner. */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname } from 'node:path'
import { wasmVariant } from 'vqlite/kernels'

/**
 * recall@k: the mean over queries of |returned top-k ∩ true top-k| / k.
 * found: nq*kFound labels (row-major); truth: nq*gtK labels, nearest first.
 */
export function recallAtK(found: ArrayLike<number>, kFound: number, truth: ArrayLike<number>, gtK: number, nq: number, k: number): number {
  let sum = 0
  for (let i = 0; i < nq; i++) {
    const want = new Set<number>()
    for (let j = 0; j < k; j++) want.add(truth[i * gtK + j]!)
    let hit = 0
    for (let j = 0; j < Math.min(k, kFound); j++) if (want.has(found[i * kFound + j]!)) hit++
    sum += hit / k
  }
  return sum / nq
}

/** What the figures were measured on. */
export function machineInfo(): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    // Which binary of the WebAssembly kernels this process runs (relaxed SIMD where the engine has it).
    wasm: wasmVariant(),
    execArgv: process.execArgv,
  }
}

/** Writes JSON (pretty) to path, creating folders. */
export function saveJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)
}

/** Debian's python3 with FAISS (never the pyenv python on PATH). */
export const FAISS_PYTHON = '/usr/bin/python3'

/** True when FAISS is importable by FAISS_PYTHON. */
export function faissAvailable(): boolean {
  const r = spawnSync(FAISS_PYTHON, ['-c', 'import faiss'], { stdio: 'ignore' })
  return r.status === 0
}

/**
 * Runs a FAISS script (bench/faiss/*.py) and returns its JSON lines. Its stderr passes
 * through so FAISS warnings are visible.
 */
export function runFaiss(script: string, args: string[], env: Record<string, string> = {}): Record<string, unknown>[] {
  const r = spawnSync(FAISS_PYTHON, [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 28,
  })
  if (r.status !== 0) throw new Error(`${script} exited with ${r.status}`)
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/**
 * A long-running FAISS script that answers one JSON line per input line (see
 * bench/faiss/glove100_ivf.py), so measurements can be interleaved with ours.
 */
export class FaissServer {
  readonly #child: import('node:child_process').ChildProcessWithoutNullStreams
  readonly #lines: string[] = []
  readonly #waiters: { resolve: (line: string) => void; reject: (e: Error) => void }[] = []

  constructor(script: string, args: string[], env: Record<string, string> = {}) {
    this.#child = spawn(FAISS_PYTHON, [script, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    this.#child.stderr.on('data', (b: Buffer) => process.stderr.write(b))
    let buf = ''
    this.#child.stdout.on('data', (b: Buffer) => {
      buf += b.toString()
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        const w = this.#waiters.shift()
        if (w) w.resolve(line)
        else this.#lines.push(line)
      }
    })
    this.#child.once('exit', (code) => {
      for (const w of this.#waiters.splice(0)) w.reject(new Error(`FAISS script exited with ${code}`))
    })
  }

  /** The script's process id (for /proc/<pid>/status). */
  get pid(): number | undefined {
    return this.#child.pid
  }

  /** The next JSON line the script prints. */
  next(): Promise<Record<string, unknown>> {
    const line = this.#lines.shift()
    if (line !== undefined) return Promise.resolve(JSON.parse(line) as Record<string, unknown>)
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve: (l) => resolve(JSON.parse(l) as Record<string, unknown>), reject })
    })
  }

  /** Sends one command line and returns the answer. */
  ask(command: string): Promise<Record<string, unknown>> {
    this.#child.stdin.write(`${command}\n`)
    return this.next()
  }

  close(): void {
    this.#child.stdin.end('quit\n')
  }
}

/** Seconds since t0 (from performance.now()). */
export function since(t0: number): number {
  return (performance.now() - t0) / 1000
}
