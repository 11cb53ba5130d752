import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { type VqError, VqIndex, VqStorageError } from '../../src/index.js'
import { startNode } from '../helpers/child.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()

const dir = mkdtempSync(join(tmpdir(), 'vqlite-conc-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const writer = join(import.meta.dirname, '../fixtures/writer.mjs')
const BATCH = 50

/** Every id of the index in search order; checks that only whole batches are visible. */
function assertWholeBatches(index: VqIndex): number {
  expect(index.size % BATCH).toBe(0)
  const q = new Float32Array(8).fill(0.1)
  const r = index.search(q, Math.max(1, index.size))
  const ids = Array.from(r.ids)
    .filter((id) => id >= 0)
    .sort((a, b) => a - b)
  expect(ids).toEqual(Array.from({ length: index.size }, (_, i) => i))
  return index.size / BATCH
}

describe('a reader process beside a writer process', () => {
  it('sees only committed batches, and refresh() picks up new ones', async () => {
    const path = join(dir, 'shared.vqlite')
    const child = startNode(writer, [path, String(BATCH), '60', '15'])
    const reader = await (async () => {
      try {
        await child.waitFor((out) => (out.match(/committed/g) ?? []).length >= 3, 30_000, 'three committed batches')
        return VqIndex.open(path, { readonly: true })
      } catch (e) {
        await child.stop()
        throw e
      }
    })()
    try {
      let seen = assertWholeBatches(reader)
      expect(seen).toBeGreaterThanOrEqual(3)
      const observed = [seen]
      // Poll while the writer goes on: every refresh shows whole batches, never fewer than before.
      // The loop ends when the writer exits (for any reason), or after 200 rounds.
      for (let i = 0; i < 200 && !child.exit(); i++) {
        await new Promise((r) => setTimeout(r, 20))
        reader.refresh()
        const now = assertWholeBatches(reader)
        expect(now).toBeGreaterThanOrEqual(seen)
        seen = now
        observed.push(now)
      }
      const exit = await child.waitExit(30_000)
      expect(exit, child.stderr()).toEqual({ code: 0, signal: null })
      expect(child.stdout()).toContain('done')
      reader.refresh()
      expect(assertWholeBatches(reader)).toBe(60)
      expect(new Set(observed).size).toBeGreaterThan(2) // it really watched the index grow
      // Metadata and vectors of late batches are readable through the reader's connection.
      expect(reader.get(59 * BATCH)!.metadata).toEqual({ batch: 59 })
      expect(reader.refresh()).toBe(false)
    } finally {
      await child.stop()
      await reader.close()
    }
  })

  it('a writer that dies fails the wait at once, with its output, instead of hanging', async () => {
    // The path is a folder: the writer cannot create an index there and exits with an error.
    const child = startNode(writer, [dir, String(BATCH), '60'])
    const t0 = performance.now()
    const e = await child
      .waitFor((out) => out.includes('committed'), 30_000, 'a committed batch')
      .then(
        () => undefined,
        (err: Error) => err,
      )
    expect(e?.message).toMatch(/child exited \(code [1-9]\d*, signal null\) before a committed batch/)
    expect(e?.message).toContain('--- stderr ---')
    expect(performance.now() - t0).toBeLessThan(30_000)
    expect((await child.stop()).code).not.toBe(0)
  })

  it('refresh() applies deletions and upserts made by the writer, in order', async () => {
    const path = join(dir, 'edits.vqlite')
    const w = VqIndex.create(path, { dim: 2, storeVectors: 'float32' })
    await w.add([1, 2, 3, 4], new Float32Array([0, 0, 1, 1, 2, 2, 3, 3]))
    const r = VqIndex.open(path, { readonly: true })
    await w.delete([2])
    await w.upsert([3, 5], new Float32Array([9, 9, 5, 5]))
    expect(r.size).toBe(4)
    expect(r.refresh()).toBe(true)
    expect(r.size).toBe(w.size)
    const q = new Float32Array([9, 9])
    expect(r.search(q, 4)).toEqual(w.search(q, 4))
    // A retrain-sized change (all codes) makes the reader reload everything.
    const s = VqIndex.create(join(dir, 'sq.vqlite'), { dim: 2, description: 'SQ8', storeVectors: 'float32' })
    await s.train(new Float32Array([0, 0, 10, 10]))
    await s.add([1, 2, 3], new Float32Array([1, 1, 5, 5, 9, 9]))
    const sr = VqIndex.open(join(dir, 'sq.vqlite'), { readonly: true })
    await s.retrain()
    sr.refresh()
    expect(sr.search(q, 3)).toEqual(s.search(q, 3))
    for (const i of [w, r, s, sr]) i.close()
  })

  it('re-ranking reads share a read snapshot, which writes, refresh() and close() end first', async () => {
    const path = join(dir, 'snapshot.vqlite')
    const w = VqIndex.create(path, { dim: 2, description: 'SQ8,RFlat', storeVectors: 'float32' })
    await w.train(new Float32Array([0, 0, 10, 10]))
    await w.add([1, 2, 3], new Float32Array([1, 1, 5, 5, 9, 9]))
    const r = VqIndex.open(path, { readonly: true })
    const q = new Float32Array([8, 8])
    // Everything below runs before the event loop turns, so no snapshot ends by itself.
    expect(Array.from(r.search(q, 3).ids)).toEqual([3, 2, 1])
    expect(Array.from(w.search(q, 3).ids)).toEqual([3, 2, 1])
    // The writer's own snapshot does not hold back its write: a third connection sees it.
    await w.add([4], new Float32Array([8, 8]))
    const third = VqIndex.open(path, { readonly: true })
    expect(third.size).toBe(4)
    // The reader's refresh() reads past its snapshot, and re-ranking then finds the new vector.
    expect(r.refresh()).toBe(true)
    const hit = r.search(q, 1)
    expect(hit.ids[0]).toBe(4)
    expect(hit.distances[0]).toBe(0)
    // A write right after a search, then close, leave one file at rest.
    w.search(q, 2)
    await w.delete([1])
    w.search(q, 2)
    await Promise.all([r.close(), third.close()])
    await w.close()
    expect(existsSync(`${path}-wal`)).toBe(false)
    const again = VqIndex.open(path)
    expect(Array.from(again.search(q, 4).ids)).toEqual([4, 3, 2, -1])
    await again.close()
  })

  it('a second writer gets LOCKED after the busy timeout, and nothing is lost', async () => {
    const path = join(dir, 'locked.vqlite')
    const a = VqIndex.create(path, { dim: 2 })
    await a.add([1], new Float32Array([1, 1]))
    // Another connection holds the write lock.
    const other = new Database(path)
    other.prepare('BEGIN IMMEDIATE').run()
    const t0 = performance.now()
    const b = VqIndex.open(path, { busyTimeoutMs: 300 })
    let err: VqError | undefined
    await b.add([2], new Float32Array([2, 2])).catch((e: VqError) => {
      err = e
    })
    const waited = performance.now() - t0
    expect(err).toBeInstanceOf(VqStorageError)
    expect(err!.code).toBe('LOCKED')
    expect(waited).toBeGreaterThanOrEqual(250)
    expect(b.size).toBe(1)
    other.prepare('ROLLBACK').run()
    other.close()
    await b.add([2], new Float32Array([2, 2]))
    b.close()
    a.close()
    const c = VqIndex.open(path)
    expect(c.size).toBe(2)
    c.close()
  })

  it('two writers on one file: the stale one is refused instead of diverging', async () => {
    const path = join(dir, 'two.vqlite')
    const a = VqIndex.create(path, { dim: 2 })
    const b = VqIndex.open(path)
    await a.add([1], new Float32Array([1, 1]))
    const e = await b.add([2], new Float32Array([2, 2])).catch((x: VqError) => x)
    expect((e as VqError).code).toBe('READ_ONLY')
    expect((e as VqError).message).toMatch(/changed by another connection/)
    a.close()
    b.close()
  })
})
