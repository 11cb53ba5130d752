/**
 * The fast fetch of stored vectors (readVectorBlobs: one bound statement per batch size,
 * or JSON above BOUND_MAX ids, whose rows are taken as the ids asked when their count and
 * lengths prove it) against a simple reference: one plain `SELECT vector FROM vq_vectors
 * WHERE id = ?` per id. Missing ids, duplicates, rows of another length (including lengths
 * that compensate each other), text and integer values in place of a blob, float16 rows.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeVector, encodeVectors, fillVectors } from '../../src/engine/vector-codec.js'
import { VqFormatError } from '../../src/errors.js'
import { openVectorReader, readVectorBlobs, type VectorRows } from '../../src/storage/vector-reader.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-vfetch-'))
const dim = 6
const count = 400
/** Stored ids: 7i + 3 for i < count, except i % 9 === 5 (no row). */
const storedIds = Array.from({ length: count }, (_, i) => i)
  .filter((i) => i % 9 !== 5)
  .map((i) => 7 * i + 3)
const vectorOf = (id: number): Float32Array => Float32Array.from({ length: dim }, (_, t) => ((id * 31 + t * 17) % 97) / 8 - 6)

/** A file with only the vq_vectors table (all the reader reads), rows written by fill. */
function makeFile(name: string, fill: (db: Database.Database) => void): string {
  const path = join(dir, name)
  const db = new Database(path)
  db.exec('CREATE TABLE vq_vectors (id INTEGER PRIMARY KEY, vector BLOB NOT NULL)')
  db.transaction(() => fill(db))()
  db.close()
  return path
}

function insertAll(db: Database.Database, s: 'float32' | 'float16'): void {
  const put = db.prepare('INSERT INTO vq_vectors (id, vector) VALUES (?, ?)')
  for (const id of storedIds) put.run(id, Buffer.from(encodeVectors(vectorOf(id), dim, s)))
}

let f32: string
let f16: string
let damaged: string
/** Damaged rows of the damaged file: id -> the value stored in place of its vector. */
const damage = new Map<number, Buffer | string | number>([
  [7 * 10 + 3, Buffer.alloc(4 * dim - 1, 1)], // one byte short
  [7 * 11 + 3, Buffer.alloc(4 * dim + 1, 2)], // one byte long: together they compensate
  [7 * 40 + 3, 'x'.repeat(4 * dim - 4)], // text, shorter
  [7 * 42 + 3, 'é'.repeat(2 * dim)], // text of 4 * dim bytes but 2 * dim characters
  [7 * 70 + 3, 12345], // an integer
  [7 * 90 + 3, Buffer.alloc(0)], // an empty blob
])

beforeAll(() => {
  f32 = makeFile('f32.db', (db) => insertAll(db, 'float32'))
  f16 = makeFile('f16.db', (db) => insertAll(db, 'float16'))
  damaged = makeFile('damaged.db', (db) => {
    insertAll(db, 'float32')
    const set = db.prepare('UPDATE vq_vectors SET vector = ? WHERE id = ?')
    for (const [id, v] of damage) set.run(v, id)
  })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Reference: per id, its stored value (bytes of a blob, or the value itself), absent when no row. */
function reference(db: Database.Database, ids: ArrayLike<number>, n: number): Map<number, Uint8Array | 'not a blob'> {
  const get = db.prepare('SELECT vector FROM vq_vectors WHERE id = ?').pluck()
  const out = new Map<number, Uint8Array | 'not a blob'>()
  for (let i = 0; i < n; i++) {
    const v = get.get(ids[i]!) as unknown
    if (v === undefined) continue
    out.set(ids[i]!, v instanceof Uint8Array ? new Uint8Array(v) : 'not a blob')
  }
  return out
}

/** The rows readVectorBlobs returned, per id (a row's bytes, or 'not a blob'), with their order checked. */
function perId(rows: VectorRows): Map<number, Uint8Array | 'not a blob'> {
  const out = new Map<number, Uint8Array | 'not a blob'>()
  for (let r = 1; r < rows.ids.length; r++) expect(rows.ids[r]!).toBeGreaterThanOrEqual(rows.ids[r - 1]!)
  if (rows.lengths === null) {
    expect(rows.blob.length).toBe(rows.ids.length * rows.size)
    rows.ids.forEach((id, r) => {
      out.set(id, rows.blob.subarray(r * rows.size, (r + 1) * rows.size))
    })
    return out
  }
  let at = 0
  rows.ids.forEach((id, r) => {
    const len = rows.lengths![r]!
    out.set(id, len < 0 ? 'not a blob' : rows.blob.subarray(at, at + len))
    if (len > 0) at += len
  })
  expect(at).toBe(rows.blob.length)
  return out
}

function expectSame(got: Map<number, Uint8Array | 'not a blob'>, want: Map<number, Uint8Array | 'not a blob'>): void {
  expect([...got.keys()].sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b))
  for (const [id, v] of want) {
    const g = got.get(id)!
    if (v === 'not a blob') expect(g).toBe('not a blob')
    else expect(g === 'not a blob' ? g : Array.from(g)).toEqual(Array.from(v))
  }
}

/** Ids to ask: stored, missing (holes and beyond the range), with duplicates. */
const idSets = (maxLength: number) =>
  fc.array(fc.oneof(fc.constantFrom(...storedIds), fc.integer({ min: 0, max: 7 * count + 10 }), fc.constantFrom(...damage.keys())), {
    minLength: 1,
    maxLength,
  })

describe('readVectorBlobs against a per-id SELECT', () => {
  it('intact rows: the same ids and bytes for any batch (sizes past the statement cache, missing ids, duplicates)', () => {
    const { conn, stmt } = openVectorReader(f32)
    const ref = new Database(f32, { readonly: true })
    try {
      fc.assert(
        fc.property(idSets(60), fc.integer({ min: 0, max: 3 }), (asked, extra) => {
          const ids = Float64Array.from([...asked, ...Array.from({ length: extra }, () => -1)])
          const n = asked.length
          const rows = readVectorBlobs(stmt, ids, n)
          expect(rows.lengths).toBeNull()
          expectSame(perId(rows), reference(ref, ids, n))
        }),
        { seed: 15, numRuns: 300 },
      )
    } finally {
      conn.close()
      ref.close()
    }
  })

  it('a batch larger than the bound statements (the JSON path) reads the same', () => {
    const { conn, stmt } = openVectorReader(f32)
    const ref = new Database(f32, { readonly: true })
    try {
      for (const n of [1024, 1025, 3000]) {
        const ids = Float64Array.from({ length: n }, (_, i) => (i * 7919) % (7 * count + 40))
        expectSame(perId(readVectorBlobs(stmt, ids, n)), reference(ref, ids, n))
        const all = Float64Array.from({ length: n }, (_, i) => storedIds[(i * 13) % storedIds.length]!)
        const rows = readVectorBlobs(stmt, all, n)
        expect(rows.lengths).toBeNull()
        expectSame(perId(rows), reference(ref, all, n))
      }
    } finally {
      conn.close()
      ref.close()
    }
  })

  it('damaged rows keep their own length (never shifted or accepted), on both paths', () => {
    const { conn, stmt } = openVectorReader(damaged)
    const ref = new Database(damaged, { readonly: true })
    try {
      fc.assert(
        fc.property(idSets(40), (asked) => {
          const ids = Float64Array.from(asked)
          const rows = readVectorBlobs(stmt, ids, ids.length)
          const bad = asked.some((id) => damage.has(id))
          // Rows of one length other than a vector's: the whole batch is refused (fillVectors).
          if (rows.lengths === null && rows.ids.length > 0 && rows.size !== 4 * dim) expect(bad).toBe(true)
          else expectSame(perId(rows), reference(ref, ids, ids.length))
        }),
        { seed: 16, numRuns: 300 },
      )
      // The two rows whose lengths compensate (4d - 1 and 4d + 1 bytes), alone and with an intact one.
      for (const ask of [
        [73, 80],
        [73, 80, 3],
        [3, 80, 73, 10],
      ]) {
        const ids = Float64Array.from(ask)
        const rows = readVectorBlobs(stmt, ids, ids.length)
        expect(rows.lengths).not.toBeNull()
        expectSame(perId(rows), reference(ref, ids, ids.length))
      }
      const big = Float64Array.from({ length: 2000 }, (_, i) => storedIds[i % storedIds.length]!)
      expectSame(perId(readVectorBlobs(stmt, big, big.length)), reference(ref, big, big.length))
    } finally {
      conn.close()
      ref.close()
    }
  })

  it('the ids come back in the order SQLite is asked them: the batch table is the outer loop', () => {
    const { conn } = openVectorReader(f32)
    try {
      const bound = conn
        .prepare('EXPLAIN QUERY PLAN SELECT count(*) FROM (VALUES (?),(?)) c CROSS JOIN vq_vectors v ON v.id = c.column1')
        .all(1, 2) as {
        detail: string
      }[]
      expect(bound.map((r) => r.detail)).toEqual([expect.stringMatching(/^SCAN .*VALUES/), 'SEARCH v USING INTEGER PRIMARY KEY (rowid=?)'])
    } finally {
      conn.close()
    }
  })
})

describe('fillVectors over the fast fetch against decodeVector of a per-id SELECT', () => {
  for (const s of ['float32', 'float16'] as const) {
    it(`${s}: the same floats and found flags`, () => {
      const path = s === 'float32' ? f32 : f16
      const { conn, stmt } = openVectorReader(path)
      const ref = new Database(path, { readonly: true })
      try {
        fc.assert(
          fc.property(idSets(50), (asked) => {
            const ids = Float64Array.from(asked)
            const n = ids.length
            const out = new Float32Array(n * dim).fill(Number.NaN)
            const found = fillVectors(readVectorBlobs(stmt, ids, n), ids, n, s, dim, out)
            const want = reference(ref, ids, n)
            for (let i = 0; i < n; i++) {
              const v = want.get(ids[i]!)
              expect(found[i]).toBe(v === undefined ? 0 : 1)
              if (v !== undefined && v !== 'not a blob') {
                expect(Array.from(out.subarray(i * dim, (i + 1) * dim))).toEqual(Array.from(decodeVector(v, s, dim, `id ${ids[i]}`)))
              }
            }
          }),
          { seed: 17, numRuns: 200 },
        )
      } finally {
        conn.close()
        ref.close()
      }
    })
  }

  it('a damaged row is CORRUPT_FILE naming its id; a float16 infinity too', () => {
    const { conn, stmt } = openVectorReader(damaged)
    try {
      for (const id of damage.keys()) {
        const ids = Float64Array.of(3, id, 10)
        const out = new Float32Array(3 * dim)
        let e: unknown
        try {
          fillVectors(readVectorBlobs(stmt, ids, 3), ids, 3, 'float32', dim, out)
        } catch (x) {
          e = x
        }
        expect(e).toBeInstanceOf(VqFormatError)
        expect((e as VqFormatError).code).toBe('CORRUPT_FILE')
        expect((e as Error).message).toContain(`id ${id}`)
      }
    } finally {
      conn.close()
    }
    const inf = makeFile('f16inf.db', (db) => {
      insertAll(db, 'float16')
      const v = Buffer.from(encodeVectors(vectorOf(17), dim, 'float16'))
      v.writeUInt16LE(0x7c00, 4)
      db.prepare('UPDATE vq_vectors SET vector = ? WHERE id = ?').run(v, 17)
    })
    const r = openVectorReader(inf)
    try {
      const ids = Float64Array.of(24, 17, 3)
      expect(() => fillVectors(readVectorBlobs(r.stmt, ids, 3), ids, 3, 'float16', dim, new Float32Array(3 * dim))).toThrow(/id 17/)
    } finally {
      r.conn.close()
    }
  })
})
