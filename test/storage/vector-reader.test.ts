import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SqliteStore } from '../../src/storage/sqlite-store.js'
import { openVectorReader, readVectorBlobs } from '../../src/storage/vector-reader.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-vreader-'))
const path = join(dir, 'v.vqlite')
const n = 50
const vb = 8
/** Item i (id 3i) has vector bytes i, i+1, ..., i+7; items with i % 5 === 4 store no vector. */
const stored = (i: number): boolean => i % 5 !== 4
let store: SqliteStore

beforeAll(() => {
  store = SqliteStore.create(path, { test: true })
  store.transaction(() => {
    for (let i = 0; i < n; i++) {
      const vector = stored(i) ? Uint8Array.from({ length: vb }, (_, j) => i + j) : undefined
      store.insertItems(
        { ids: Float64Array.of(3 * i), lists: Int32Array.of(0), codes: Uint8Array.of(i), codeSize: 1, vectors: vector, vectorBytes: vb },
        i,
      )
    }
  }, 'writing')
})
afterAll(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('reading stored vectors', () => {
  it('returns the stored vectors of the ids asked, ascending by id, missing ids absent', () => {
    const ask = Float64Array.from([30, 3, 12, 1000, 0, 24, 99])
    // Only the first 6 ids count; id 12 (i = 4) has no vector, 1000 is unknown.
    const rows = store.readVectors(ask, 6)
    expect(Array.from(rows.ids)).toEqual([0, 3, 24, 30])
    expect(rows.size).toBe(vb)
    const firstBytes = Array.from(rows.ids, (_, k) => rows.blob[k * vb])
    expect(firstBytes).toEqual([0, 1, 8, 10])
    expect(Array.from(rows.blob.subarray(3 * vb, 4 * vb))).toEqual([10, 11, 12, 13, 14, 15, 16, 17])
    expect(Array.from(ask)).toEqual([30, 3, 12, 1000, 0, 24, 99])
  })

  it('no id found: empty rows', () => {
    const rows = store.readVectors(Float64Array.of(1, 2, 12), 3)
    expect(rows.ids.length).toBe(0)
    expect(rows.blob.length).toBe(0)
  })

  it('a worker connection of its own reads the same rows', () => {
    const { conn, stmt } = openVectorReader(path)
    try {
      expect(conn.readonly).toBe(true)
      const ids = Float64Array.from({ length: n }, (_, i) => 3 * (n - 1 - i))
      const mine = readVectorBlobs(stmt, ids, n)
      const theirs = store.readVectors(ids, n)
      expect(mine.ids.length).toBe(Array.from({ length: n }, (_, i) => i).filter(stored).length)
      expect(Array.from(mine.ids)).toEqual(Array.from(theirs.ids))
      expect(Buffer.from(mine.blob).equals(Buffer.from(theirs.blob))).toBe(true)
    } finally {
      conn.close()
    }
  })

  it('consecutive reads hold one read snapshot, ended by the next transaction or the next event-loop turn', async () => {
    const other = SqliteStore.open(path)
    try {
      store.readVectors(Float64Array.of(0), 1)
      other.transaction(() => other.setProperty('a', 1), 'writing')
      // Still inside the snapshot the read began: the other connection's commit is not seen.
      expect(store.getProperty('a')).toBeUndefined()
      store.transaction(() => store.setProperty('mine', 1), 'writing')
      expect(store.getProperty('a')).toBe(1)

      store.readVectors(Float64Array.of(0), 1)
      other.transaction(() => other.setProperty('b', 2), 'writing')
      expect(store.getProperty('b')).toBeUndefined()
      await new Promise((r) => setImmediate(r))
      expect(store.getProperty('b')).toBe(2)
    } finally {
      other.close()
    }
  })
})
