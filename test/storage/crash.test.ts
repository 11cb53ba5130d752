import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { MAX_K, VqIndex } from '../../src/index.js'
import { Rng } from '../../src/util/random.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const writer = join(import.meta.dirname, '../fixtures/writer.mjs')
const BATCH = 200
const KILLS = 25

describe('crash safety', () => {
  it(`after each of ${KILLS} SIGKILLs at random points, exactly the committed batches are there`, async () => {
    const path = join(dir, 'crash.vqlite')
    const rng = new Rng(2026)
    let batchesBefore = 0
    const summary: string[] = []
    for (let k = 0; k < KILLS; k++) {
      const child = spawn(process.execPath, [writer, path, String(BATCH), '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString()
      })
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString()
      })
      const exited = new Promise((r) => child.once('exit', r))
      // Kill at a random moment: one run in five anywhere from start-up on (often before
      // the first commit), the others at a random point after the first commit.
      if (rng.float() < 0.8) {
        while (!out.includes('committed') && child.exitCode === null) await new Promise((r) => setTimeout(r, 2))
        await new Promise((r) => setTimeout(r, rng.int(150)))
      } else {
        await new Promise((r) => setTimeout(r, rng.int(300)))
      }
      child.kill('SIGKILL')
      await exited
      expect(err).toBe('')
      const acked = (out.match(/committed \d+/g) ?? []).map((l) => Number(l.split(' ')[1]))
      const lastAcked = acked.length > 0 ? acked[acked.length - 1]! + 1 : batchesBefore

      if (!existsSync(path)) {
        // Killed before the index was created: creation is all or nothing, so no file at all.
        expect(acked).toEqual([])
        // (A kill during creation may leave a crash.vqlite.creating-* temporary file, never the index.)
        expect(readdirSync(dir).filter((f) => /^crash\.vqlite(-wal|-shm)?$/.test(f))).toEqual([])
        summary.push('0/0')
        continue
      }
      // The raw file first: SQLite's own check, and the three tables agree row for row.
      const db = new Database(path, { fileMustExist: true })
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      const counts = db
        .prepare('SELECT (SELECT count(*) FROM vq_codes) c, (SELECT count(*) FROM vq_vectors) v, (SELECT count(*) FROM vq_metadata) m')
        .get() as { c: number; v: number; m: number }
      db.close()
      expect(counts.v).toBe(counts.c)
      expect(counts.m).toBe(counts.c)

      // Then through vqlite: whole batches only, every acknowledged batch present, ids 0..n-1.
      const index = VqIndex.open(path)
      const n = index.size
      expect(n % BATCH).toBe(0)
      const batches = n / BATCH
      expect(batches).toBeGreaterThanOrEqual(lastAcked) // nothing acknowledged is lost
      expect(batches).toBeLessThanOrEqual(lastAcked + 1) // at most the batch committed as it died
      expect(index.manifest.count).toBe(n)
      // Every id through the file (find) and through the lists in memory (a search of k = n,
      // in chunks of MAX_K: ids from the lists are all there once).
      const ids = index.find({}, Math.max(1, n)).map((r) => r.id)
      expect(ids).toEqual(Array.from({ length: n }, (_, i) => i))
      const k = Math.max(1, Math.min(n, MAX_K))
      const listed = Array.from(index.search(new Float32Array(8).fill(0.5), k).ids).filter((id) => id >= 0)
      expect(listed).toHaveLength(Math.min(n, MAX_K))
      expect(listed.every((id) => Number.isInteger(id) && id >= 0 && id < n)).toBe(true)
      expect(index.stats().count).toBe(n)
      if (batches > 0) expect(index.get(n - 1)!.metadata).toEqual({ batch: batches - 1 })
      index.close()
      summary.push(`${acked.length}/${batches - batchesBefore}`)
      batchesBefore = batches
    }
    // The kills really landed mid-run: most runs committed something before dying.
    expect(summary.filter((s) => !s.startsWith('0/')).length).toBeGreaterThan(KILLS / 2)
    process.stdout.write(`crash test: ${KILLS} kills, batches acknowledged/found per run: ${summary.join(' ')}\n`)
  }, 180_000)
})
