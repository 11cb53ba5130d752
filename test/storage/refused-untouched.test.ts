/**
 * Every refused open leaves the file (and its -wal, -shm and -journal) byte for byte as it
 * was, for a writer and a reader, and every damaged file is refused with a typed error
 * (CORRUPT_FILE naming the table, row or field), never a raw Error, RangeError,
 * SyntaxError or SqliteError.
 */
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { FORMAT_VERSION } from '../../src/storage/identity.js'
import { packValue, unpackValue } from '../../src/storage/msgpack.js'
import { clusteredVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-refused-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 8
const N = 300
const x = clusteredVectors(N, d, 6, 11)

/** A healthy IVF index file (lists 0..3) with codes, stored vectors and metadata, at rest. */
const good = join(dir, 'good.vqlite')
beforeAll(async () => {
  const a = VqIndex.create(good, { dim: d, description: 'IVF4,PQ4', storeVectors: 'float32' })
  await a.train(x)
  await a.add(
    Array.from({ length: N }, (_, i) => i),
    x,
    Array.from({ length: N }, (_, i) => ({ i })),
  )
  await a.setProperty('owner', 'ada')
  a.close()
})

/** sha256 of the file and of each of its side files ('absent' when missing). */
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

function thrown(fn: () => unknown): unknown {
  try {
    const r = fn() as { close?: () => void }
    r?.close?.()
  } catch (e) {
    return e
  }
  return undefined
}

/** Opens p for writing and for reading: both refused with `code` (a VqError), nothing changed. */
function refusedUntouched(p: string, code: string, text?: RegExp): void {
  const before = fingerprint(p)
  for (const readonly of [false, true]) {
    const e = thrown(() => VqIndex.open(p, { readonly }))
    expect(e, `open(${p}, { readonly: ${readonly} }) should fail`).toBeDefined()
    expect(e, String(e)).toBeInstanceOf(VqError)
    expect((e as VqError).code, (e as Error).message).toBe(code)
    if (text) expect((e as Error).message).toMatch(text)
    expect(fingerprint(p), `the files of ${p} after a refused open (readonly ${readonly})`).toEqual(before)
  }
}

let n = 0
/** A copy of the good file, changed by fn on a plain connection (the copy stays in rollback-journal mode). */
function damaged(fn: (db: Database.Database) => void): string {
  const p = join(dir, `damaged-${n++}.vqlite`)
  copyFileSync(good, p)
  const db = new Database(p)
  try {
    fn(db)
  } finally {
    db.close()
  }
  expect(existsSync(`${p}-wal`)).toBe(false)
  return p
}

function editManifest(db: Database.Database, edit: (m: Record<string, unknown>) => unknown): void {
  const v = db.prepare("SELECT value FROM vq_manifest WHERE key = 'manifest'").pluck().get() as Buffer
  db.prepare("UPDATE vq_manifest SET value = ? WHERE key = 'manifest'").run(packValue(edit(unpackValue(v) as Record<string, unknown>)))
}

describe('refused opens change nothing', () => {
  it('the healthy file opens (the control)', () => {
    const p = damaged(() => {})
    const a = VqIndex.open(p, { readonly: true })
    expect(a.size).toBe(N)
    a.close()
  })

  it('NOT_SQLITE: text, an empty file, random bytes', () => {
    const text = join(dir, 'text.vqlite')
    writeFileSync(text, 'not a database\n'.repeat(50))
    refusedUntouched(text, 'NOT_SQLITE')
    const empty = join(dir, 'empty.vqlite')
    writeFileSync(empty, '')
    refusedUntouched(empty, 'NOT_SQLITE')
    const noise = join(dir, 'noise.vqlite')
    writeFileSync(noise, Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 7919 + 13) & 255)))
    refusedUntouched(noise, 'NOT_SQLITE')
  })

  it('FOREIGN_FILE: another SQLite database, in rollback and in WAL mode', () => {
    const p = join(dir, 'app.db')
    const db = new Database(p)
    db.exec("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada')")
    db.close()
    refusedUntouched(p, 'FOREIGN_FILE', /not a vqlite index/)
    const w = join(dir, 'app-wal.db')
    const dbw = new Database(w)
    dbw.pragma('journal_mode = WAL')
    dbw.exec("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada')")
    dbw.close()
    refusedUntouched(w, 'FOREIGN_FILE')
    // Our own application id on another kind of file is not enough: the tables are checked.
    refusedUntouched(
      damaged((db) => db.exec('DROP TABLE vq_codes')),
      'CORRUPT_FILE',
      /table vq_codes is missing/,
    )
  })

  it('NEWER_FORMAT, and format versions vqlite never wrote (0, -1) are CORRUPT_FILE', () => {
    refusedUntouched(
      damaged((db) => db.pragma(`user_version = ${FORMAT_VERSION + 1}`)),
      'NEWER_FORMAT',
    )
    refusedUntouched(
      damaged((db) => db.pragma('user_version = 0')),
      'CORRUPT_FILE',
      /index format 0/,
    )
    refusedUntouched(
      damaged((db) => db.pragma('user_version = -1')),
      'CORRUPT_FILE',
      /index format -1/,
    )
  })

  it('CORRUPT_FILE: truncated, cut inside the header, overwritten pages', () => {
    const half = damaged(() => {})
    truncateSync(half, Math.floor(statSync(half).size / 2))
    refusedUntouched(half, 'CORRUPT_FILE')
    const stub = damaged(() => {})
    truncateSync(stub, 10)
    refusedUntouched(stub, 'CORRUPT_FILE')
    const short = damaged(() => {})
    truncateSync(short, 60)
    refusedUntouched(short, 'CORRUPT_FILE')
    const scribbled = damaged(() => {})
    const b = readFileSync(scribbled)
    for (let i = 4096; i < b.length; i++) b[i] = (i * 131) & 255
    writeFileSync(scribbled, b)
    refusedUntouched(scribbled, 'CORRUPT_FILE')
  })

  it('CORRUPT_FILE: dropped tables and columns', () => {
    for (const t of ['vq_manifest', 'vq_arrays', 'vq_codes', 'vq_vectors', 'vq_metadata', 'vq_tombstones']) {
      refusedUntouched(
        damaged((db) => db.exec(`DROP TABLE ${t}`)),
        'CORRUPT_FILE',
        new RegExp(`${t} is missing`),
      )
    }
    refusedUntouched(
      damaged((db) => db.exec('ALTER TABLE vq_metadata DROP COLUMN json')),
      'CORRUPT_FILE',
      /vq_metadata\.json is missing/,
    )
    refusedUntouched(
      damaged((db) => db.exec('ALTER TABLE vq_codes RENAME COLUMN code TO c')),
      'CORRUPT_FILE',
      /vq_codes\.code is missing/,
    )
  })

  it('CORRUPT_FILE: a manifest that is missing, not msgpack, not an object, or not a BLOB', () => {
    refusedUntouched(
      damaged((db) => db.exec("DELETE FROM vq_manifest WHERE key = 'manifest'")),
      'CORRUPT_FILE',
      /manifest is missing/,
    )
    for (const blob of ["x'c1c1c1c1'", "x'dc'", "x'de0005'", "x'd9ff41'", 'randomblob(64)', "'text, not msgpack'"]) {
      refusedUntouched(
        damaged((db) => db.exec(`UPDATE vq_manifest SET value = ${blob} WHERE key = 'manifest'`)),
        'CORRUPT_FILE',
        /manifest/,
      )
    }
    refusedUntouched(
      damaged((db) => editManifest(db, () => 5)),
      'CORRUPT_FILE',
      /manifest is damaged/,
    )
  })

  it('CORRUPT_FILE: manifest counts that no allocation may trust (2^31, 2^40, 2^53)', () => {
    const cases: Record<string, unknown>[] = [
      { count: 2 ** 31 },
      { count: 2 ** 40 },
      { count: 2 ** 31, nextSeq: 2 ** 31 + 1 },
      { count: 2 ** 40, nextSeq: 2 ** 40 + 1 },
      { nextSeq: 2 ** 53 },
      { count: -1 },
      { count: N + 1, nextSeq: N + 10 },
      { count: N - 1 },
      { nextSeq: 5 },
      { dim: 2 ** 40 },
      { dim: 0.5 },
      { count: '300' },
      { spec: null },
    ]
    for (const c of cases) {
      refusedUntouched(
        damaged((db) => editManifest(db, (m) => ({ ...m, ...c }))),
        'CORRUPT_FILE',
      )
    }
  })

  it('CORRUPT_FILE: trained arrays with a bad dtype, shape or data', () => {
    const edits = [
      "UPDATE vq_arrays SET dtype = 'float64'",
      'UPDATE vq_arrays SET dtype = 7 WHERE name IN (SELECT name FROM vq_arrays LIMIT 1)',
      "UPDATE vq_arrays SET shape = '[1,2'",
      'UPDATE vq_arrays SET shape = \'"x"\'',
      "UPDATE vq_arrays SET shape = '[1e300, 1e300]'",
      "UPDATE vq_arrays SET shape = '[-4, -8]'",
      "UPDATE vq_arrays SET shape = '[3]'",
      "UPDATE vq_arrays SET data = x'000102'",
      'UPDATE vq_arrays SET data = zeroblob(8)',
      'DELETE FROM vq_arrays WHERE name IN (SELECT name FROM vq_arrays LIMIT 1)',
      'DELETE FROM vq_arrays',
    ]
    for (const sql of edits)
      refusedUntouched(
        damaged((db) => db.exec(sql)),
        'CORRUPT_FILE',
      )
    refusedUntouched(
      damaged((db) => db.exec("UPDATE vq_arrays SET shape = '[1,2'")),
      'CORRUPT_FILE',
      /vq_arrays row "[^"]+": the shape "\[1,2" is not valid JSON/,
    )
  })

  it('CORRUPT_FILE: codes of the wrong length, seqs, lists and ids out of range', () => {
    const edits: [string, RegExp][] = [
      ["UPDATE vq_codes SET code = x'00' WHERE id = 7", /id 7: the code has 1 bytes, expected/],
      ['UPDATE vq_codes SET code = zeroblob(400) WHERE id = 7', /id 7: the code has 400 bytes/],
      ["UPDATE vq_codes SET code = 'text' WHERE id = 7", /id 7/],
      ['UPDATE vq_codes SET list = 99 WHERE id = 7', /id 7: the item is in list 99/],
      ['UPDATE vq_codes SET list = -1 WHERE id = 7', /id 7/],
      ['UPDATE vq_codes SET list = 2147483648 * 4 WHERE id = 7', /id 7/],
      ['UPDATE vq_codes SET seq = 8589934592 WHERE id = 7', /id 7: the seq/],
      ['UPDATE vq_codes SET seq = -5 WHERE id = 7', /the manifest counts 300 items but vq_codes holds 299/],
      ['UPDATE vq_codes SET seq = 100000 WHERE id = 7', /id 7: seq 100000 is not below/],
      ['UPDATE vq_codes SET id = -3 WHERE id = 7', /id -3: the id/],
      ['UPDATE vq_codes SET id = 9007199254740993 WHERE id = 7', /the id/],
      ['UPDATE vq_codes SET id = 2.5 WHERE id = 7', /the id/],
    ]
    for (const [sql, text] of edits)
      refusedUntouched(
        damaged((db) => db.exec(sql)),
        'CORRUPT_FILE',
        text,
      )
  })
})

describe('damage found after opening is CORRUPT_FILE naming the item', () => {
  it('get() of a vector of the wrong length, or of metadata that is not JSON', () => {
    const p = damaged((db) => {
      db.exec("UPDATE vq_vectors SET vector = x'0000' WHERE id = 11")
      db.exec('UPDATE vq_metadata SET json = \'{"i": \' WHERE id = 12')
      db.exec('UPDATE vq_metadata SET json = zeroblob(10) WHERE id = 13')
    })
    const a = VqIndex.open(p, { readonly: true })
    expect(a.get(10)!.metadata).toEqual({ i: 10 })
    for (const [id, text] of [
      [11, /vq_vectors id 11: the vector has 2 bytes, expected 32/],
      [12, /vq_metadata id 12: metadata is not valid JSON/],
      [13, /vq_metadata id 13/],
    ] as const) {
      const e = thrown(() => a.get(id))
      expect(e).toBeInstanceOf(VqError)
      expect((e as VqError).code).toBe('CORRUPT_FILE')
      expect((e as Error).message).toMatch(text)
    }
    a.close()
  })

  it('retrain() over a stored vector of the wrong length', async () => {
    const p = damaged((db) => db.exec('UPDATE vq_vectors SET vector = zeroblob(36) WHERE id = 20'))
    const a = VqIndex.open(p)
    const e = await a.retrain().then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(e).toBeInstanceOf(VqError)
    expect((e as VqError).code).toBe('CORRUPT_FILE')
    expect((e as Error).message).toMatch(/vq_vectors id 20: the vector has 36 bytes, expected 32/)
    expect(a.size).toBe(N)
    a.close()
  })

  it('a property that is not msgpack', () => {
    const p = damaged((db) => db.exec("UPDATE vq_manifest SET value = x'dc' WHERE key = 'prop:owner'"))
    const a = VqIndex.open(p, { readonly: true })
    const e = thrown(() => a.getProperty('owner'))
    expect((e as VqError).code).toBe('CORRUPT_FILE')
    expect((e as Error).message).toMatch(/property "owner"/)
    a.close()
  })

  it('a text-index field name that is not msgpack, or a text index whose table is gone', () => {
    for (const sql of [
      "INSERT INTO vq_manifest (key, value) VALUES ('text_field', x'dc')",
      "INSERT INTO vq_manifest (key, value) VALUES ('text_field', x'a474657874')",
    ]) {
      const p = damaged((db) => db.exec(sql))
      const e = thrown(() => {
        const a = VqIndex.open(p, { readonly: true })
        try {
          return a.keywordSearch('lorem', 3)
        } finally {
          a.close()
        }
      })
      expect(e, String(e)).toBeInstanceOf(VqError)
      expect((e as VqError).code, (e as Error).message).toBe('CORRUPT_FILE')
    }
  })

  it('tables dropped under an open reader: every store call is CORRUPT_FILE, never a SqliteError', () => {
    const p = damaged(() => {})
    const a = VqIndex.open(p, { readonly: true })
    const db = new Database(p)
    db.exec('DROP TABLE vq_metadata; DROP TABLE vq_vectors')
    db.close()
    for (const call of [() => a.get(3), () => a.find({ i: 3 }), () => a.search(x.subarray(0, d), 3, { filter: { i: { $lt: 5 } } })]) {
      const e = thrown(call)
      expect(e, String(e)).toBeInstanceOf(VqError)
      expect((e as VqError).code, (e as Error).message).toBe('CORRUPT_FILE')
    }
    a.close()
  })
})
