/**
 * Oversized calls are refused before they allocate (issue 14, "Unbounded sizes"): each case
 * runs in its own child process (the sources through tsx) under a 1.5 GB data-size ulimit,
 * so that an unbounded allocation fails there instead of exhausting the machine, and
 * reports its peak RSS growth. Each must throw the documented VqError within 500 ms while
 * the peak resident set grows by less than 100 MB. One case = one row.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const CHILD = fileURLToPath(new URL('./support/limits-child.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

interface Outcome {
  readonly name: string
  readonly error: string
  readonly code: string | null
  readonly ms: number
  readonly peakGrowthMB: number
}

function runCase(name: string): Promise<{ outcome: Outcome | null; out: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const script = `ulimit -d 1500000; exec "$0" --import tsx "$1" "$2"`
    const child = spawn('bash', ['-c', script, process.execPath, CHILD, name], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
    child.on('error', reject)
    child.on('exit', (status) => {
      clearTimeout(timer)
      const line = out.split('\n').find((l) => l.startsWith('{"name"'))
      resolve({ outcome: line ? (JSON.parse(line) as Outcome) : null, out, status })
    })
  })
}

const CASES: [string, string, string][] = [
  ['search k=1e9', 'VqInputError', 'BAD_K'],
  ['search k=2^53-1', 'VqInputError', 'BAD_K'],
  ['search refineFactor=1e9', 'VqOptionError', 'BAD_OPTION'],
  ['searchBatch nq=100 k=1e7', 'VqInputError', 'BAD_K'],
  ['searchBatch nq=101 k=1e5 (nq*k past 1e7)', 'VqInputError', 'BAD_K'],
  ['keywordSearch k=1e9', 'VqInputError', 'BAD_K'],
  ['find limit=1e9', 'VqOptionError', 'BAD_OPTION'],
]

describe('oversized k, refineFactor, nq*k and limit: refused before allocating', () => {
  it.concurrent.each(CASES)('%s: %s %s, < 500 ms, peak RSS + < 100 MB', async (name, cls, code) => {
    const { outcome, out, status } = await runCase(name)
    expect(outcome, `the child reported (exit ${String(status)}):\n${out.slice(0, 2000)}`).not.toBeNull()
    const o = outcome!
    expect({ error: o.error, code: o.code }, `${name}: the error (after ${o.ms.toFixed(0)} ms, +${o.peakGrowthMB.toFixed(0)} MB)`).toEqual({
      error: cls,
      code,
    })
    expect(o.ms, `${name}: refused quickly`).toBeLessThan(500)
    expect(o.peakGrowthMB, `${name}: peak RSS growth in MB`).toBeLessThan(100)
  })
})
