/**
 * `vqlite add-stream`: a file added block by block with ids = row numbers, trained on a
 * sample first; the CLI process SIGKILLed while it adds, then run again, ends with the same
 * index as an uninterrupted run (count, search results); an ann-benchmarks HDF5 file
 * streams the same way.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqIndex } from 'vqlite'
import { writeAnnBenchmarks } from '../../datasets/hdf5.js'
import { randomVectors } from '../helpers/data.js'
import { CLI, runIn, writeFvecs } from './cli-run.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-add-stream-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const run = (...args: string[]) => runIn(dir, args, 120_000)

const n = 40_000
const d = 32
const x = randomVectors(n, d, 11)
const q = randomVectors(30, d, 12)
writeFvecs(join(dir, 'base.fvecs'), x, n, d)
const description = 'IVF64,PQ8,RFlat'

function create(name: string): void {
  const r = run('create', name, '--dim', String(d), '--description', description, '--store-vectors', 'float32')
  expect(r.status, r.all).toBe(0)
}

function results(name: string): number[][] {
  const ix = VqIndex.open(join(dir, name), { readonly: true, threads: 0 })
  try {
    expect(ix.size).toBe(n)
    return Array.from({ length: 30 }, (_, i) =>
      Array.from(ix.search(q.subarray(i * d, (i + 1) * d), 10, { nprobe: 8, refineFactor: 4 }).ids),
    )
  } finally {
    void ix.close()
  }
}

describe('vqlite add-stream', () => {
  it('killed while adding, then run again: the index of an uninterrupted run', async () => {
    create('whole.vqlite')
    const whole = run('add-stream', 'whole.vqlite', 'base.fvecs', '--block', '2000', '--json')
    expect(whole.status, whole.all).toBe(0)
    expect(JSON.parse(whole.stdout)).toMatchObject({ added: n, resumedAt: 0, rows: n, trained: true, count: n })

    create('killed.vqlite')
    // Killed as soon as a few blocks are in (the child reports each block on stderr, not a TTY).
    const child = spawn(process.execPath, [CLI, 'add-stream', 'killed.vqlite', 'base.fvecs', '--block', '2000'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let seen = ''
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (b: Buffer) => {
        seen += b.toString()
        if ((seen.match(/adding/g) ?? []).length >= 1) setTimeout(() => child.kill('SIGKILL'), 150)
      })
      child.once('exit', () => resolve())
      child.once('error', reject)
    })
    const mid = VqIndex.open(join(dir, 'killed.vqlite'), { readonly: true, threads: 0 })
    const committed = mid.size
    await mid.close()
    expect(committed % 2000).toBe(0)
    expect(committed).toBeGreaterThan(0)
    expect(committed).toBeLessThan(n)
    const again = run('add-stream', 'killed.vqlite', 'base.fvecs', '--block', '3000', '--json')
    expect(again.status, again.all).toBe(0)
    const r = JSON.parse(again.stdout) as { resumedAt: number; added: number }
    expect(r.resumedAt).toBe(committed)
    expect(r.added).toBe(n - committed)
    expect(results('killed.vqlite')).toEqual(results('whole.vqlite'))
    const twice = run('add-stream', 'killed.vqlite', 'base.fvecs', '--json')
    expect(JSON.parse(twice.stdout)).toMatchObject({ added: 0, resumedAt: n })
  })

  it('an ann-benchmarks HDF5 file, a range of it, and refusals', async () => {
    await writeAnnBenchmarks(join(dir, 'set.hdf5'), { d, train: x, nb: n, test: q, nq: 30, distance: 'euclidean' })
    create('h.vqlite')
    const r = run('add-stream', 'h.vqlite', 'set.hdf5', '--start', '1000', '--end', '21000', '--id-base', '5', '--json')
    expect(r.status, r.all).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 20_000, rows: 20_000, trained: true, count: 20_000 })
    const ix = VqIndex.open(join(dir, 'h.vqlite'), { readonly: true, threads: 0 })
    expect(ix.get(1005)?.vector).toEqual(x.subarray(1000 * d, 1001 * d))
    expect(ix.has(1004) || ix.has(21_005)).toBe(false)
    await ix.close()
    const bad = run('add-stream', 'h.vqlite', 'nope.fvecs')
    expect(bad.status, bad.all).toBe(1)
    expect(bad.stderr).toMatch(/nope\.fvecs: no such file/)
  })
})
