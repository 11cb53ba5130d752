import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { VqError, VqFormatError, VqStateError, VqStorageError } from '../../src/errors.js'
import { closedError, isUniqueViolation, readOnlyError, storageError } from '../../src/storage/error-mapping.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-errmap-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The error fn throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  throw new Error('expected an error')
}

function mapped(e: unknown): VqError {
  const m = storageError(e, '/x/a.vqlite', 'doing it')
  expect(m).toBeInstanceOf(VqError)
  return m as VqError
}

describe('SQLite errors map to typed vqlite errors', () => {
  it('a file that is not a database: NOT_SQLITE (real SQLITE_NOTADB)', () => {
    const p = join(dir, 'text.db')
    writeFileSync(p, 'not a database at all, just some text that is long enough to fill a header\n'.repeat(20))
    const db = new Database(p)
    const e = thrown(() => db.prepare('SELECT 1 FROM sqlite_master').get())
    db.close()
    expect((e as { code: string }).code).toBe('SQLITE_NOTADB')
    const m = mapped(e)
    expect(m).toBeInstanceOf(VqFormatError)
    expect(m.code).toBe('NOT_SQLITE')
    expect(m.cause).toBe(e)
  })

  it('another connection holding the write lock: LOCKED (real SQLITE_BUSY)', () => {
    const p = join(dir, 'busy.db')
    const a = new Database(p)
    a.exec('CREATE TABLE t (x)')
    const b = new Database(p, { timeout: 0 })
    a.exec('BEGIN IMMEDIATE')
    const e = thrown(() => b.exec('BEGIN IMMEDIATE'))
    a.exec('ROLLBACK')
    a.close()
    b.close()
    expect((e as { code: string }).code).toMatch(/^SQLITE_BUSY/)
    const m = mapped(e)
    expect(m).toBeInstanceOf(VqStorageError)
    expect(m.code).toBe('LOCKED')
    expect(m.message).toContain('/x/a.vqlite: doing it')
  })

  it('a write on a read-only connection: READ_ONLY (real SQLITE_READONLY)', () => {
    const p = join(dir, 'ro.db')
    const w = new Database(p)
    w.exec('CREATE TABLE t (x)')
    w.close()
    const db = new Database(p, { readonly: true })
    const e = thrown(() => db.exec('INSERT INTO t VALUES (1)'))
    db.close()
    expect((e as { code: string }).code).toMatch(/^SQLITE_READONLY/)
    const m = mapped(e)
    expect(m).toBeInstanceOf(VqStorageError)
    expect(m.code).toBe('READ_ONLY')
  })

  it('each result-code family gets its class and code', () => {
    const cases: [string, typeof VqError, string][] = [
      ['SQLITE_BUSY_SNAPSHOT', VqStorageError, 'LOCKED'],
      ['SQLITE_LOCKED', VqStorageError, 'LOCKED'],
      ['SQLITE_NOTADB', VqFormatError, 'NOT_SQLITE'],
      ['SQLITE_CORRUPT', VqFormatError, 'CORRUPT_FILE'],
      ['SQLITE_CORRUPT_INDEX', VqFormatError, 'CORRUPT_FILE'],
      ['SQLITE_IOERR_SHORT_READ', VqFormatError, 'CORRUPT_FILE'],
      ['SQLITE_READONLY_DBMOVED', VqStorageError, 'READ_ONLY'],
      ['SQLITE_CANTOPEN', VqStorageError, 'CANNOT_OPEN'],
      ['SQLITE_FULL', VqStorageError, 'IO_ERROR'],
      ['SQLITE_IOERR_WRITE', VqStorageError, 'IO_ERROR'],
      ['SQLITE_CONSTRAINT_CHECK', VqStorageError, 'IO_ERROR'],
    ]
    for (const [code, cls, vq] of cases) {
      const e = new Database.SqliteError(`sqlite says ${code}`, code)
      const m = mapped(e)
      expect(m, code).toBeInstanceOf(cls)
      expect(m.code, code).toBe(vq)
      expect(m.cause, code).toBe(e)
    }
    expect(mapped(new Database.SqliteError('x', 'SQLITE_FULL')).message).toContain('disk full')
    expect(mapped(new Database.SqliteError('x', 'SQLITE_IOERR_FSYNC')).message).toContain('SQLITE_IOERR_FSYNC')
    expect(mapped(new Database.SqliteError('no such table: t', 'SQLITE_ERROR')).message).toContain('no such table: t (SQLITE_ERROR)')
    expect(mapped(new Database.SqliteError('no such table: t', 'SQLITE_ERROR')).code).toBe('CORRUPT_FILE')
  })

  it('a file that lacks a table or column, or holds malformed JSON text, is CORRUPT_FILE (real SQLITE_ERRORs)', () => {
    const db = new Database(':memory:')
    db.exec('CREATE TABLE m (id INTEGER PRIMARY KEY, json TEXT); INSERT INTO m VALUES (1, \'{"a": \')')
    const errors = [
      thrown(() => db.prepare('SELECT * FROM vq_codes').all()),
      thrown(() => db.prepare('SELECT nope FROM m').all()),
      thrown(() => db.prepare("SELECT json_extract(json, '$.a') FROM m").all()),
    ]
    db.close()
    for (const e of errors) {
      expect((e as { code: string }).code).toBe('SQLITE_ERROR')
      const m = mapped(e)
      expect(m, (e as Error).message).toBeInstanceOf(VqFormatError)
      expect(m.code).toBe('CORRUPT_FILE')
      expect(m.message).toContain('/x/a.vqlite: doing it: the file is damaged')
    }
    // Other SQLITE_ERRORs (a bug, not damage) stay IO_ERROR.
    expect(mapped(new Database.SqliteError('near "x": syntax error', 'SQLITE_ERROR')).code).toBe('IO_ERROR')
  })

  it('a hot journal a read-only connection cannot roll back is READ_ONLY saying what to do', () => {
    for (const code of ['SQLITE_READONLY_ROLLBACK', 'SQLITE_READONLY_RECOVERY', 'SQLITE_READONLY_CANTINIT']) {
      const m = mapped(new Database.SqliteError('attempt to write a readonly database', code))
      expect(m.code).toBe('READ_ONLY')
      expect(m.message).toMatch(/stopped in the middle of a commit.*open it once where it is writable/)
    }
  })

  it('errors that are not from SQLite pass through (non-errors become Errors)', () => {
    const typed = new VqStateError('CLOSED', 'closed')
    expect(storageError(typed, 'p', 'd')).toBe(typed)
    const plain = new RangeError('r')
    expect(storageError(plain, 'p', 'd')).toBe(plain)
    const wrapped = storageError('oops', 'p', 'd')
    expect(wrapped).toBeInstanceOf(Error)
    expect(wrapped).not.toBeInstanceOf(VqError)
    expect(wrapped.message).toBe('oops')
  })

  it('a duplicate id is a unique violation; other constraint failures are not', () => {
    const db = new Database(':memory:')
    db.exec('CREATE TABLE t (id INTEGER NOT NULL UNIQUE, v INTEGER NOT NULL)')
    db.exec('INSERT INTO t VALUES (1, 1)')
    expect(isUniqueViolation(thrown(() => db.exec('INSERT INTO t VALUES (1, 2)')))).toBe(true)
    expect(isUniqueViolation(thrown(() => db.exec('INSERT INTO t VALUES (2, NULL)')))).toBe(false)
    expect(isUniqueViolation(new Error('UNIQUE'))).toBe(false)
    db.close()
  })

  it('closed and read-only stores are state errors', () => {
    expect(closedError()).toBeInstanceOf(VqStateError)
    expect(closedError().code).toBe('CLOSED')
    const ro = readOnlyError('/x/a.vqlite')
    expect(ro).toBeInstanceOf(VqStateError)
    expect(ro.code).toBe('READ_ONLY')
    expect(ro.message).toBe('/x/a.vqlite is open read-only')
  })
})
