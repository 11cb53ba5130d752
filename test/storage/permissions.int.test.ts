/**
 * Permissions (in child processes as the unprivileged user "nobody" when the tests run as
 * root, who ignores file permissions): a file without read permission is CANNOT_OPEN naming
 * the permission, and a file a writer left mid-commit (a hot -journal) in a read-only
 * folder is refused with READ_ONLY saying what to do, nothing changed.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

// World-readable, so that the unprivileged child processes below can reach the files.
const dir = join(tmpdir(), `vqlite-paths-${process.pid}`)
mkdirSync(dir, { recursive: true, mode: 0o755 })
chmodSync(dir, 0o755)
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

// Root ignores file permissions: permission cases run in a child process as "nobody".
const asRoot = process.getuid?.() === 0
const opener = join(import.meta.dirname, '../fixtures/open-as.mjs')
function openAs(what: 'open' | 'open-readonly', path: string): { ok?: boolean; size?: number; code?: string; message?: string } {
  const r = spawnSync(process.execPath, [opener, what, path], { encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) })
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as { ok?: boolean; code?: string; message?: string }
}
function canDropPrivileges(): boolean {
  if (!asRoot) return true
  return spawnSync(process.execPath, ['-e', '0'], { uid: 65534, gid: 65534 }).status === 0
}

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

describe('permissions', () => {
  it('a file without read permission is CANNOT_OPEN naming the permission, not NOT_SQLITE', (ctx) => {
    if (!canDropPrivileges()) ctx.skip()
    const p = join(dir, 'secret.vqlite')
    copyFileSync(good, p)
    chmodSync(p, 0o200)
    const before = fingerprint(p)
    for (const what of ['open', 'open-readonly'] as const) {
      const r = openAs(what, p)
      expect(r.code, r.message).toBe('CANNOT_OPEN')
      expect(r.message).toMatch(/permission denied/)
    }
    expect(fingerprint(p)).toEqual(before)
  })

  it('on a read-only folder: READ_ONLY saying what to do, nothing changed', (ctx) => {
    if (!canDropPrivileges()) ctx.skip()
    const ro = join(dir, 'ro')
    mkdirSync(ro, { mode: 0o755 })
    const p = join(ro, 'hot.vqlite')
    withHotJournal(p)
    chmodSync(p, 0o444)
    chmodSync(`${p}-journal`, 0o444)
    chmodSync(ro, 0o555)
    try {
      const before = fingerprint(p)
      for (const what of ['open', 'open-readonly'] as const) {
        const r = openAs(what, p)
        expect(r.code, r.message).toBe('READ_ONLY')
      }
      const r = openAs('open-readonly', p)
      expect(r.message).toMatch(/stopped in the middle of a commit.*write access.*open it once where it is writable/)
      expect(fingerprint(p)).toEqual(before)
    } finally {
      chmodSync(ro, 0o755)
    }
    chmodSync(p, 0o644)
    checkRecovered(p, true)
  })
})
