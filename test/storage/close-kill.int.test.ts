/**
 * Kill tests of close() and create(): a child process (test/fixtures/closer.mjs) opens,
 * adds one batch, and closes, again and again; it is SIGKILLed at random points inside
 * close() (while the file is switched from WAL back to a rollback journal) and inside
 * create(). After every kill the file must open read-only and writable (a hot -journal or
 * a WAL left behind is recovered), pass integrity_check, and hold exactly the committed
 * batches (every acknowledged one, at most the one committed as it died).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { VqIndex } from '../../src/index.js'
import { Rng } from '../../src/util/random.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-close-kill-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const closer = join(import.meta.dirname, '../fixtures/closer.mjs')
const BATCH = 1500
const DIM = 16
const CLOSE_KILLS = 40
const CREATE_KILLS = 10

interface Run {
  out: string
  err: string
}

/** Runs the closer on path and SIGKILLs it when `when` resolves (given the output so far). */
async function runAndKill(path: string, when: (run: Run) => Promise<void>): Promise<Run> {
  const child = spawn(process.execPath, [closer, path, String(BATCH), '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const run: Run = { out: '', err: '' }
  child.stdout.on('data', (b: Buffer) => {
    run.out += b.toString()
  })
  child.stderr.on('data', (b: Buffer) => {
    run.err += b.toString()
  })
  const closed = new Promise((r) => child.once('close', r))
  await Promise.race([when(run), closed])
  child.kill('SIGKILL')
  await closed
  return run
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Batches acknowledged as committed in a run's output. */
function acknowledged(out: string): number[] {
  return (out.match(/committed \d+/g) ?? []).map((l) => Number(l.split(' ')[1]))
}

/** What a kill left beside the file (for the summary). */
function leftovers(path: string): string {
  const base = path.split('/').pop()!
  return readdirSync(dir)
    .filter((f) => f.startsWith(base) && f !== base)
    .map((f) => f.slice(base.length))
    .join(',')
}

/**
 * Opens path read-only, then writable: both must work. Returns the number of whole batches,
 * after checking integrity and that ids 0..n-1 and every batch's metadata are there.
 */
function checkFile(path: string): number {
  const ro = VqIndex.open(path, { readonly: true })
  const n = ro.size
  ro.close()
  const rw = VqIndex.open(path)
  expect(rw.size).toBe(n)
  expect(n % BATCH).toBe(0)
  const ids = Array.from(rw.search(new Float32Array(DIM).fill(0.25), Math.max(1, n)).ids)
    .filter((id) => id >= 0)
    .sort((a, b) => a - b)
  expect(ids.length).toBe(n)
  expect(ids.every((id, i) => id === i)).toBe(true)
  for (let b = 0; b < n / BATCH; b++) expect(rw.get(b * BATCH + BATCH - 1)!.metadata).toMatchObject({ batch: b })
  rw.close()
  const db = new Database(path, { readonly: true, fileMustExist: true })
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
  const counts = db
    .prepare('SELECT (SELECT count(*) FROM vq_codes) c, (SELECT count(*) FROM vq_vectors) v, (SELECT count(*) FROM vq_metadata) m')
    .get() as { c: number; v: number; m: number }
  expect(counts).toEqual({ c: n, v: n, m: n })
  expect(db.pragma('journal_mode', { simple: true })).toBe('delete')
  db.close()
  // At rest after a clean close: one file.
  expect(leftovers(path)).toBe('')
  return n / BATCH
}

describe('kills inside close() and create()', () => {
  it(`after ${CLOSE_KILLS} SIGKILLs inside close(), every file opens read-only and writable with every committed batch`, async () => {
    const path = join(dir, 'close.vqlite')
    const rng = new Rng(1402)
    let batches = 0
    let insideClose = 0
    const summary: string[] = []
    for (let k = 0; k < CLOSE_KILLS; k++) {
      const closes = 1 + rng.int(2)
      // close() takes a few milliseconds here: kill within 0-3 ms of "closing".
      const delayMs = rng.int(4)
      const run = await runAndKill(path, async (r) => {
        while ((r.out.match(/closing \d+/g) ?? []).length < closes) await sleep(1)
        if (delayMs > 0) await sleep(delayMs)
      })
      expect(run.err).toBe('')
      const acked = acknowledged(run.out)
      const lastClosing = (run.out.match(/closing \d+/g) ?? []).length
      const lastClosed = (run.out.match(/closed \d+/g) ?? []).length
      if (lastClosing > lastClosed) insideClose++
      const left = leftovers(path)
      const found = checkFile(path)
      const lastAcked = acked.length > 0 ? acked[acked.length - 1]! + 1 : batches
      expect(found).toBeGreaterThanOrEqual(lastAcked)
      expect(found).toBeLessThanOrEqual(lastAcked + 1)
      summary.push(`${found}${left ? `[${left}]` : ''}`)
      batches = found
    }
    process.stdout.write(
      `close kills: ${CLOSE_KILLS}, inside close(): ${insideClose}; batches found [left beside the file]: ${summary.join(' ')}\n`,
    )
    // The kills really landed inside close() (between "closing" and "closed"): how many
    // depends on the machine's timing (11 to 39 of 40 seen on 2 cores, loaded or not); at
    // least a quarter, so that the test keeps testing what it says.
    expect(insideClose).toBeGreaterThanOrEqual(CLOSE_KILLS / 4)
  }, 600_000)

  it(`after ${CREATE_KILLS} SIGKILLs around create(), the path holds no index or a whole one`, async () => {
    const rng = new Rng(2611)
    const summary: string[] = []
    for (let k = 0; k < CREATE_KILLS; k++) {
      const path = join(dir, `create-${k}.vqlite`)
      // The child loads the sources (about a second) and then creates the file: kill at a
      // random point from 0.3 s to just after the first commit.
      const delayMs = 300 + rng.int(1500)
      const run = await runAndKill(path, async (r) => {
        const t = Date.now()
        while (Date.now() - t < delayMs && !r.out.includes('committed')) await sleep(1)
      })
      expect(run.err).toBe('')
      if (!existsSync(path)) {
        expect(acknowledged(run.out)).toEqual([])
        expect(readdirSync(dir).filter((f) => f === `create-${k}.vqlite-wal` || f === `create-${k}.vqlite-journal`)).toEqual([])
        summary.push('none')
        continue
      }
      const found = checkFile(path)
      expect(found).toBeGreaterThanOrEqual(acknowledged(run.out).length)
      summary.push(String(found))
    }
    process.stdout.write(`create kills: ${CREATE_KILLS}; batches found: ${summary.join(' ')}\n`)
  }, 300_000)
})
