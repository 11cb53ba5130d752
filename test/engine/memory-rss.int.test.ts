/**
 * memoryUsage() against the process's measured resident memory (RssAnon + RssShmem of
 * /proc/<pid>/status), in a child process (memory-rss.child.mjs) that opens an index built
 * here: an 'IVF64,Flat' index of 100,000 x 64 (26 MB of codes in memory), on the TypeScript
 * kernels (no WebAssembly memory, whose size the backend does not report yet).
 * - After open() and after a query workload, the growth from before open() is within 20%
 *   of memoryUsage().total plus memoryUsage().fixedOverhead (one-time costs of the process
 *   are paid by a warm-up first; the fixed overhead covers what the C allocator keeps).
 * - While open() runs (sampled by this process every ~2 ms), the growth never exceeds the
 *   final footprint by more than 25%: the load holds no second copy of the codes.
 *   (Fails on the code before the chunked load: loadCodes' arrays and the lists' arenas
 *   were both alive, about 2x the final footprint.)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqIndex } from '../../src/index.js'
import { Rng } from '../../src/util/random.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-memory-rss-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const child = join(import.meta.dirname, 'memory-rss.child.mjs')
const DIM = 64
const N = 100_000
const QUERIES = 200

async function build(path: string, n: number, description: string): Promise<void> {
  const rng = new Rng(7)
  const x = new Float32Array(n * DIM)
  for (let i = 0; i < x.length; i++) x[i] = rng.normal()
  const ix = VqIndex.create(path, { dim: DIM, metric: 'l2', description, kernels: 'ts' })
  await ix.train(x, { seed: 1 })
  await ix.add(
    Float64Array.from({ length: n }, (_, i) => i),
    x,
  )
  await ix.close()
}

interface Line {
  phase?: string
  mark?: string
  owned?: number
  usage?: { total: number; fixedOverhead: number }
  detail?: Record<string, number>
}

/** Runs the child; returns its lines and the peak of its RssAnon + RssShmem sampled during open(). */
function run(warmup: string, path: string): Promise<{ lines: Line[]; peak: number; samples: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', child, warmup, path, String(DIM), String(QUERIES), 'ts'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const lines: Line[] = []
    let err = ''
    let buf = ''
    let sampling = false
    let peak = 0
    let samples = 0
    const sample = (): void => {
      if (!sampling) return
      try {
        const t = readFileSync(`/proc/${p.pid}/status`, 'utf8')
        const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(t)![1]) * 1024
        peak = Math.max(peak, kb('RssAnon') + kb('RssShmem'))
        samples++
      } catch {
        // the child is gone
      }
    }
    const timer = setInterval(sample, 2)
    p.stderr.on('data', (b: Buffer) => {
      err += b.toString()
    })
    p.stdout.on('data', (b: Buffer) => {
      buf += b.toString()
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as Line
        buf = buf.slice(nl + 1)
        if (line.mark === 'open-start') sampling = true
        if (line.mark === 'open-end') {
          sample()
          sampling = false
        }
        lines.push(line)
      }
    })
    p.on('exit', (code) => {
      clearInterval(timer)
      if (code !== 0) reject(new Error(`child exited with ${code}: ${err}`))
      else resolve({ lines, peak, samples })
    })
  })
}

describe('memoryUsage() and the resident memory of the process', () => {
  const warmup = join(dir, 'warmup.vqlite')
  const path = join(dir, 'flat.vqlite')
  beforeAll(async () => {
    await build(warmup, 500, 'Flat')
    await build(path, N, 'IVF64,Flat')
  }, 60_000)

  it('agrees with the growth of RssAnon + RssShmem within 20% after open() and a query workload; open() peaks within 25% of the footprint', async () => {
    const { lines, peak, samples } = await run(warmup, path)
    const at = (phase: string): Line => lines.find((l) => l.phase === phase)!
    const before = at('before').owned!
    for (const phase of ['open', 'queries']) {
      const l = at(phase)
      const growth = l.owned! - before
      const total = l.usage!.total
      expect(total).toBeGreaterThan(N * DIM * 4)
      const why = `${phase}: growth ${growth}, memoryUsage() ${JSON.stringify(l.usage)}, process ${JSON.stringify(l.detail)}`
      expect(Math.abs(growth - total), why).toBeLessThanOrEqual(0.2 * total + l.usage!.fixedOverhead)
    }
    expect(samples).toBeGreaterThan(0)
    const final = at('open').owned! - before
    expect(peak - before, `open() peak growth ${peak - before}, final ${final}`).toBeLessThanOrEqual(1.25 * final)
  }, 60_000)
})
