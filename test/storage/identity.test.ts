import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { VqFormatError } from '../../src/errors.js'
import { VqIndex } from '../../src/index.js'
import { APPLICATION_ID, checkSqliteHeader, FORMAT_VERSION, identify, migrate } from '../../src/storage/identity.js'
import { unpackValue } from '../../src/storage/msgpack.js'
import { initSchema } from '../../src/storage/schema.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-identity-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Asserts that fn throws a VqFormatError with this code (and a message containing `text`). */
function failsWith(fn: () => unknown, code: string, text = ''): void {
  expect(fn).toThrow(VqFormatError)
  expect(fn).toThrow(expect.objectContaining({ code, message: expect.stringContaining(text) }))
}

/** A database file at p, set up by fn. */
function dbFile(name: string, fn: (db: Database.Database) => void): string {
  const p = join(dir, name)
  const db = new Database(p)
  try {
    fn(db)
  } finally {
    db.close()
  }
  return p
}

describe('file identity, schema and migrations', () => {
  it('a new schema marks the file as a vqlite index of the current format, with its tables and manifest', () => {
    const p = dbFile('new.vqlite', (db) => initSchema(db, { dim: 4 }))
    expect(identify(p)).toBe(FORMAT_VERSION)
    const db = new Database(p, { readonly: true })
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID)
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()
    expect(tables).toEqual([
      'sqlite_sequence',
      'vq_arrays',
      'vq_codes',
      'vq_keys',
      'vq_manifest',
      'vq_metadata',
      'vq_tombstones',
      'vq_vectors',
    ])
    const m = db.prepare("SELECT value FROM vq_manifest WHERE key = 'manifest'").pluck().get() as Buffer
    expect(unpackValue(m)).toEqual({ dim: 4 })
    db.close()
  })

  it('checks the SQLite header: another kind of file is NOT_SQLITE, a header cut short CORRUPT_FILE', () => {
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'hello, this is not a database\n'.repeat(10))
    failsWith(() => checkSqliteHeader(text), 'NOT_SQLITE')
    const empty = join(dir, 'empty')
    writeFileSync(empty, '')
    failsWith(() => checkSqliteHeader(empty), 'NOT_SQLITE')
    const cut = join(dir, 'cut')
    writeFileSync(cut, 'SQLite for')
    failsWith(() => checkSqliteHeader(cut), 'CORRUPT_FILE')
    const good = dbFile('good.db', (db) => db.exec('CREATE TABLE t (x)'))
    expect(() => checkSqliteHeader(good)).not.toThrow()
  })

  it('refuses a foreign database and a newer format', () => {
    const foreign = dbFile('app.db', (db) => db.exec('CREATE TABLE users (name)'))
    failsWith(() => identify(foreign), 'FOREIGN_FILE', 'application_id 0')
    const newer = dbFile('newer.vqlite', (db) => {
      initSchema(db, {})
      db.pragma(`user_version = ${FORMAT_VERSION + 1}`)
    })
    failsWith(() => identify(newer), 'NEWER_FORMAT', `index format ${FORMAT_VERSION + 1} is newer`)
  })

  it('a format version vqlite never wrote (0, -1) is CORRUPT_FILE', () => {
    for (const v of [0, -1]) {
      const p = dbFile(`v${v}.vqlite`, (db) => {
        initSchema(db, {})
        db.pragma(`user_version = ${v}`)
      })
      failsWith(() => identify(p), 'CORRUPT_FILE', `index format ${v} is not one vqlite writes`)
    }
  })

  it('a format with no migration path fails NEWER_FORMAT and leaves the version as it was', () => {
    const p = dbFile('old.vqlite', (db) => {
      initSchema(db, {})
      db.pragma('user_version = 0')
    })
    const db = new Database(p)
    failsWith(() => migrate(db, 0), 'NEWER_FORMAT', 'no migration from index format 0')
    expect(db.pragma('user_version', { simple: true })).toBe(0)
    db.close()
  })

  it('format 1 (before RaBitQ) is read as it is, read-only, and marked 2 when opened for writing, items unchanged', async () => {
    const p = join(dir, 'format1.vqlite')
    const d = 8
    const x = new Float32Array(64 * d).map((_, i) => Math.sin(i * 0.37))
    const ix = await VqIndex.create(p, { dim: d, description: 'IVF4,SQ8' })
    await ix.add(
      Array.from({ length: 64 }, (_, i) => i),
      x,
      undefined,
      { train: true },
    )
    const before = ix.search(x.subarray(0, d), 5)
    await ix.close()
    const raw = new Database(p)
    raw.pragma('user_version = 1')
    raw.close()
    expect(identify(p)).toBe(1)
    const ro = await VqIndex.open(p, { readonly: true })
    expect(ro.storageInfo().formatVersion).toBe(1)
    expect(ro.search(x.subarray(0, d), 5)).toEqual(before)
    await ro.close()
    expect(identify(p)).toBe(1) // a read-only open writes nothing
    const rw = await VqIndex.open(p)
    expect(rw.storageInfo().formatVersion).toBe(FORMAT_VERSION)
    expect(rw.size).toBe(64)
    expect(rw.search(x.subarray(0, d), 5)).toEqual(before)
    await rw.close()
    expect(identify(p)).toBe(FORMAT_VERSION)
  })

  it('format 2 (before string ids, no key table) is read as it is, and gains the key table when opened for writing', async () => {
    const p = join(dir, 'format2.vqlite')
    const d = 4
    const ix = VqIndex.create(p, { dim: d })
    await ix.add([1, 2], new Float32Array(2 * d).fill(0.5), [{ a: 1 }, null])
    await ix.close()
    const raw = new Database(p)
    raw.exec('DROP TABLE vq_keys')
    raw.pragma('user_version = 2')
    raw.close()
    const ro = VqIndex.open(p, { readonly: true })
    expect(ro.storageInfo().formatVersion).toBe(2)
    expect(ro.get(1)?.metadata).toEqual({ a: 1 })
    expect(ro.count({ $id: 2 })).toBe(1)
    await ro.close()
    const rw = VqIndex.open(p)
    expect(rw.storageInfo().formatVersion).toBe(FORMAT_VERSION)
    await rw.add([3], new Float32Array(d).fill(0.25))
    expect(rw.size).toBe(3)
    await rw.close()
    const check = new Database(p, { readonly: true })
    expect(check.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'vq_keys'").pluck().get()).toBe(1)
    check.close()
  })

  it('migrating from the current format is a no-op', () => {
    const p = dbFile('current.vqlite', (db) => initSchema(db, {}))
    const db = new Database(p)
    migrate(db, FORMAT_VERSION)
    expect(db.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION)
    db.close()
  })
})
