/**
 * Paths that are not regular files are refused at once with a typed error (never a hang),
 * and a file a writer left mid-commit (a hot -journal) is recovered by the next open,
 * read-only or not, where the file is writable; a foreign one is refused untouched.
 * (Permission cases: permissions.int.test.ts.)
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-paths-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 8
const N = 400
const x = clusteredVectors(N, d, 5, 21)
const good = join(dir, 'good.vqlite')
beforeAll(async () => {
  const a = VqIndex.create(good, { dim: d, description: 'PQ4', storeVectors: 'float32' })
  await a.train(x)
  await a.add(
    Array.from({ length: N }, (_, i) => i),
    x,
    Array.from({ length: N }, (_, i) => ({ i })),
  )
  a.close()
})

function caught(fn: () => unknown): VqError {
  try {
    const r = fn() as { close?: () => void }
    r?.close?.()
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(VqError)
    return e as VqError
  }
  throw new Error('expected an error')
}

function fingerprint(p: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const s of ['', '-wal', '-shm', '-journal']) {
    out[s || 'db'] = existsSync(p + s)
      ? createHash('sha256')
          .update(readFileSync(p + s))
          .digest('hex')
      : 'absent'
  }
  return out
}

describe('paths that are not regular files', () => {
  it('a FIFO is refused at once (open never blocks on it)', () => {
    const p = join(dir, 'pipe.vqlite')
    execFileSync('mkfifo', [p])
    const t = Date.now()
    for (const readonly of [false, true]) {
      const e = caught(() => VqIndex.open(p, { readonly }))
      expect(e.code).toBe('CANNOT_OPEN')
      expect(e.message).toMatch(/named pipe \(FIFO\), not an index file/)
    }
    expect(Date.now() - t).toBeLessThan(2000)
  })

  it('a folder, /dev/null, /dev/zero, a symbolic-link loop, a dangling link', () => {
    const folder = join(dir, 'folder.vqlite')
    mkdirSync(folder)
    expect(caught(() => VqIndex.open(folder)).message).toMatch(/a folder, not an index file/)
    for (const dev of ['/dev/null', '/dev/zero']) {
      if (!existsSync(dev)) continue
      for (const readonly of [false, true]) {
        const e = caught(() => VqIndex.open(dev, { readonly }))
        expect(e.code).toBe('CANNOT_OPEN')
        expect(e.message).toMatch(/a character device/)
      }
    }
    const a = join(dir, 'loop-a.vqlite')
    const b = join(dir, 'loop-b.vqlite')
    symlinkSync(b, a)
    symlinkSync(a, b)
    const loop = caught(() => VqIndex.open(a))
    expect(loop.code).toBe('CANNOT_OPEN')
    expect(loop.message).toMatch(/loop of symbolic links/)
    const dangling = join(dir, 'dangling.vqlite')
    symlinkSync(join(dir, 'nowhere'), dangling)
    expect(caught(() => VqIndex.open(dangling)).code).toBe('NOT_FOUND')
    // A symbolic link to a good index is followed.
    const link = join(dir, 'link.vqlite')
    symlinkSync(good, link)
    const i = VqIndex.open(link, { readonly: true })
    expect(i.size).toBe(N)
    i.close()
  })

  it('a socket', async () => {
    const p = join(dir, 'sock.vqlite')
    const server: Server = createServer()
    await new Promise<void>((r) => server.listen(p, r))
    try {
      const e = caught(() => VqIndex.open(p, { readonly: true }))
      expect(e.code).toBe('CANNOT_OPEN')
      expect(e.message).toMatch(/a socket/)
    } finally {
      await new Promise((r) => server.close(r))
    }
  })
})

/** A copy of the good file at p with a hot journal: a writer's transaction that spilled pages into the file, caught mid-way. */
function withHotJournal(p: string, from = good): void {
  const src = join(dir, `src-${Math.random().toString(36).slice(2)}.vqlite`)
  copyFileSync(from, src)
  const db = new Database(src)
  db.pragma('cache_size = 4')
  db.exec('BEGIN')
  db.exec('UPDATE vq_vectors SET vector = zeroblob(length(vector))')
  db.exec('UPDATE vq_codes SET code = zeroblob(length(code))')
  copyFileSync(src, p)
  copyFileSync(`${src}-journal`, `${p}-journal`)
  db.exec('ROLLBACK')
  db.close()
  rmSync(src)
  // It is hot indeed: a plain read-only SQLite connection cannot read it.
  const ro = new Database(p, { readonly: true })
  expect(() => ro.prepare('SELECT count(*) FROM vq_codes').get()).toThrow(expect.objectContaining({ code: 'SQLITE_READONLY_ROLLBACK' }))
  ro.close()
}

function checkRecovered(p: string, readonly: boolean): void {
  const i = VqIndex.open(p, { readonly })
  expect(i.size).toBe(N)
  expect(i.get(N - 1)!.vector).toEqual(x.subarray((N - 1) * d, N * d))
  expect(i.get(0)!.metadata).toEqual({ i: 0 })
  i.close()
  expect(existsSync(`${p}-journal`)).toBe(false)
  const db = new Database(p, { readonly: true })
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
  db.close()
}

describe('a file a writer left mid-commit (hot journal)', () => {
  it('is recovered by a writer, and by a reader where the file is writable', () => {
    for (const readonly of [false, true]) {
      const p = join(dir, `hot-${readonly}.vqlite`)
      withHotJournal(p)
      checkRecovered(p, readonly)
      // And it opens both ways afterwards.
      checkRecovered(p, !readonly)
    }
  })

  it('a foreign SQLite file with a hot journal is refused untouched (no recovery of a file that is not ours)', () => {
    const foreign = join(dir, 'foreign-src.db')
    const db = new Database(foreign)
    db.exec('CREATE TABLE vq_vectors (id INTEGER PRIMARY KEY, vector BLOB); CREATE TABLE vq_codes (code BLOB)')
    db.exec(
      'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) INSERT INTO vq_vectors (vector) SELECT zeroblob(900) FROM n',
    )
    db.exec('INSERT INTO vq_codes VALUES (zeroblob(10))')
    db.close()
    const p = join(dir, 'foreign-hot.db')
    const src = new Database(foreign)
    src.pragma('cache_size = 4')
    src.exec('BEGIN')
    src.exec('UPDATE vq_vectors SET vector = zeroblob(1000)')
    copyFileSync(foreign, p)
    copyFileSync(`${foreign}-journal`, `${p}-journal`)
    src.exec('ROLLBACK')
    src.close()
    const before = fingerprint(p)
    for (const readonly of [false, true]) expect(caught(() => VqIndex.open(p, { readonly })).code).toBe('FOREIGN_FILE')
    expect(fingerprint(p)).toEqual(before)
  })
})
