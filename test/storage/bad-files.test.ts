import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Packr } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type VqError, VqFormatError, VqIndex, VqStorageError } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-badfiles-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 8
const x = clusteredVectors(2000, d, 10, 3)

/** A healthy index file with 2,000 PQ codes, stored vectors and metadata. */
const good = join(dir, 'good.vqlite')
beforeAll(async () => {
  const a = VqIndex.create(good, { dim: d, description: 'PQ4', storeVectors: 'float32' })
  await a.train(x)
  await a.add(
    Array.from({ length: 2000 }, (_, i) => i),
    x,
    Array.from({ length: 2000 }, (_, i) => ({ i, text: 'lorem ipsum '.repeat(10) })),
  )
  a.close()
})

function caught(fn: () => unknown): VqError {
  try {
    fn()
  } catch (e) {
    return e as VqError
  }
  throw new Error('expected an error')
}

/** Asserts that fn fails with the class and code, and that the file's bytes did not change. */
function rejectsUntouched(path: string, fn: () => unknown, cls: typeof VqFormatError | typeof VqStorageError, code: string): VqError {
  const before = readFileSync(path)
  const e = caught(fn)
  expect(e).toBeInstanceOf(cls)
  expect(e.code).toBe(code)
  expect(readFileSync(path).equals(before)).toBe(true)
  return e
}

describe('bad files get their own typed errors, and vqlite never writes to them', () => {
  it('a file that is not SQLite', () => {
    const p = join(dir, 'notes.txt')
    writeFileSync(p, 'Dear diary, today I wrote some vectors.\n'.repeat(100))
    const e = rejectsUntouched(p, () => VqIndex.open(p), VqFormatError, 'NOT_SQLITE')
    expect(e.message).toMatch(/not a SQLite database/)
  })

  it('an empty file', () => {
    const p = join(dir, 'empty.vqlite')
    writeFileSync(p, '')
    rejectsUntouched(p, () => VqIndex.open(p), VqFormatError, 'NOT_SQLITE')
  })

  it('a SQLite database that is not a vqlite index', () => {
    const p = join(dir, 'app.db')
    const db = new Database(p)
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')")
    db.close()
    const e = rejectsUntouched(p, () => VqIndex.open(p), VqFormatError, 'FOREIGN_FILE')
    expect(e.message).toMatch(/not a vqlite index.*not modified/)
    rejectsUntouched(p, () => VqIndex.open(p, { readonly: true }), VqFormatError, 'FOREIGN_FILE')
  })

  it('a newer format version', () => {
    const p = join(dir, 'future.vqlite')
    copyFileSync(good, p)
    const db = new Database(p)
    db.pragma('user_version = 99')
    db.close()
    const e = rejectsUntouched(p, () => VqIndex.open(p), VqFormatError, 'NEWER_FORMAT')
    expect(e.message).toMatch(/format 99 is newer than this vqlite/)
  })

  it('a truncated file', () => {
    const p = join(dir, 'truncated.vqlite')
    copyFileSync(good, p)
    truncateSync(p, Math.floor(statSync(p).size / 2))
    rejectsUntouched(p, () => VqIndex.open(p), VqFormatError, 'CORRUPT_FILE')
  })

  it('a file cut inside its header', () => {
    const p = join(dir, 'stub.vqlite')
    copyFileSync(good, p)
    truncateSync(p, 10)
    rejectsUntouched(p, () => VqIndex.open(p), VqFormatError, 'CORRUPT_FILE')
  })

  it('a file from a pre-release vqlite (a codec, no spec, in its manifest)', () => {
    const p = join(dir, 'prerelease.vqlite')
    copyFileSync(good, p)
    const db = new Database(p)
    const row = db.prepare("SELECT value FROM vq_manifest WHERE key = 'manifest'").get() as { value: Buffer }
    const packr = new Packr({ moreTypes: true, useRecords: false })
    const { spec, ...rest } = packr.unpack(row.value) as Record<string, unknown> & { spec: { codec: unknown } }
    db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'manifest'").run(packr.pack({ ...rest, codec: spec.codec }))
    db.close()
    const e = rejectsUntouched(p, () => VqIndex.open(p, { readonly: true }), VqFormatError, 'UNSUPPORTED')
    expect(e.message).toMatch(/pre-release vqlite .* rebuild the index/)
    // A writer gets the same error, and writes nothing either (not even the journal mode).
    rejectsUntouched(p, () => VqIndex.open(p), VqFormatError, 'UNSUPPORTED')
  })

  it('a file with overwritten pages', () => {
    const p = join(dir, 'corrupt.vqlite')
    copyFileSync(good, p)
    const b = readFileSync(p)
    // Keep page 1 (header and schema); scribble over every later page.
    for (let i = 4096; i < b.length; i++) b[i] = (i * 131) & 255
    writeFileSync(p, b)
    rejectsUntouched(p, () => VqIndex.open(p, { readonly: true }), VqFormatError, 'CORRUPT_FILE')
    rejectsUntouched(p, () => VqIndex.open(p), VqFormatError, 'CORRUPT_FILE')
  })

  it('create() on an existing path, of any kind, leaves it alone', () => {
    rejectsUntouched(good, () => VqIndex.create(good, { dim: d }), VqStorageError, 'FILE_EXISTS')
    const p = join(dir, 'precious.txt')
    writeFileSync(p, 'do not touch')
    rejectsUntouched(p, () => VqIndex.create(p, { dim: d }), VqStorageError, 'FILE_EXISTS')
  })

  it('a missing file or folder', () => {
    expect(caught(() => VqIndex.open(join(dir, 'nope.vqlite'))).code).toBe('NOT_FOUND')
    expect(caught(() => VqIndex.create(join(dir, 'no-such-dir', 'x.vqlite'), { dim: 4 })).code).toBe('NOT_FOUND')
  })

  it('bad options at create() leave no file behind', () => {
    const p = join(dir, 'never.vqlite')
    expect(caught(() => VqIndex.create(p, { dim: 10, description: 'PQ3' })).code).toBe('BAD_OPTION')
    expect(() => statSync(p)).toThrow()
  })

  describe('a read-only location', () => {
    // Root ignores file permissions, so when the tests run as root the attempts run in a
    // child process as the unprivileged user "nobody" (uid 65534).
    const asRoot = process.getuid?.() === 0
    const roDir = join(tmpdir(), `vqlite-ro-${process.pid}`)
    beforeAll(() => {
      mkdirSync(roDir, { recursive: true })
      copyFileSync(good, join(roDir, 'shipped.vqlite'))
      chmodSync(join(roDir, 'shipped.vqlite'), 0o444)
      chmodSync(roDir, 0o555)
    })
    afterAll(() => {
      chmodSync(roDir, 0o755)
      rmSync(roDir, { recursive: true, force: true })
    })
    const attempt = (what: string, path: string): { ok?: boolean; size?: number; code?: string; message?: string } => {
      const r = spawnSync(process.execPath, [join(import.meta.dirname, '../fixtures/open-as.mjs'), what, path], {
        encoding: 'utf8',
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      })
      expect(r.status, r.stderr).toBe(0)
      return JSON.parse(r.stdout) as { ok?: boolean; code?: string }
    }

    it('creating an index there is READ_ONLY', () => {
      const r = attempt('create', join(roDir, 'new.vqlite'))
      expect(r.code).toBe('READ_ONLY')
      expect(r.message).toMatch(/is not writable/)
    })

    it('opening for writing is READ_ONLY with a hint; opening read-only works', () => {
      const before = readFileSync(join(roDir, 'shipped.vqlite'))
      const w = attempt('open', join(roDir, 'shipped.vqlite'))
      expect(w.code).toBe('READ_ONLY')
      expect(w.message).toMatch(/readonly: true/)
      expect(attempt('open-readonly', join(roDir, 'shipped.vqlite'))).toEqual({ ok: true, size: 2000 })
      expect(readFileSync(join(roDir, 'shipped.vqlite')).equals(before)).toBe(true)
    })
  })
})
