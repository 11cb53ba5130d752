/**
 * ItemTables.insert binds INSERT_ROWS items per statement and the rest one by one: every
 * item lands with its seq, list, code, vector and metadata whatever the batch size, and an
 * id already stored (or repeated in the batch) is ID_EXISTS naming that id and its position,
 * with nothing of the batch kept (the caller's transaction rolls back).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqInputError } from '../../src/errors.js'
import { INSERT_ROWS, type RawItem } from '../../src/storage/items.js'
import { SqliteStore } from '../../src/storage/sqlite-store.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-items-insert-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const CS = 3
const VB = 8

/** Items with these ids: list id % 5, code bytes (id, id+1, id+2), vector bytes id*8.., metadata for ids divisible by 4. */
function rows(ids: number[]) {
  return {
    ids: Float64Array.from(ids),
    lists: Int32Array.from(ids, (id) => id % 5),
    codes: Uint8Array.from(ids.flatMap((id) => [id, id + 1, id + 2])),
    codeSize: CS,
    vectors: Uint8Array.from(ids.flatMap((id) => Array.from({ length: VB }, (_, t) => (id * VB + t) & 255))),
    vectorBytes: VB,
    metadata: ids.map((id) => (id % 4 === 0 ? JSON.stringify({ id }) : null)),
  }
}

function all(s: SqliteStore): RawItem[] {
  const out: RawItem[] = []
  s.forEachItem((r) => out.push(...r), 50)
  return out
}

function thrown(f: () => void): unknown {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe('ItemTables.insert', () => {
  it.each([1, INSERT_ROWS - 1, INSERT_ROWS, INSERT_ROWS + 1, 3 * INSERT_ROWS + 17])('%i items: every row as given', (n) => {
    const s = SqliteStore.create(join(dir, `n${n}.vqlite`), { v: 1 })
    try {
      // Ids out of order, so a row written to another item's place shows.
      const ids = Array.from({ length: n }, (_, i) => (i * 7919) % 100_003)
      s.transaction(() => s.insertItems(rows(ids), 10), 'adding')
      const got = all(s)
      expect(got.length).toBe(n)
      const want = rows(ids)
      for (let i = 0; i < n; i++) {
        const r = got[i]!
        expect(r.seq).toBe(10 + i)
        expect(r.id).toBe(ids[i])
        expect(r.list).toBe(ids[i]! % 5)
        expect(Array.from(r.code)).toEqual(Array.from(want.codes.subarray(i * CS, (i + 1) * CS)))
        expect(Array.from(r.vector!)).toEqual(Array.from(want.vectors.subarray(i * VB, (i + 1) * VB)))
        expect(r.json).toBe(want.metadata[i])
      }
    } finally {
      s.close()
    }
  })

  it.each([
    ['an id stored before, inside a full statement', 5, 3],
    ['an id stored before, in the remainder', 2 * INSERT_ROWS + 3, 1],
    ['an id repeated inside one statement', 40, -1],
  ])('ID_EXISTS for %s, naming the id and its position; nothing of the batch is kept', (_what, at, stored) => {
    const s = SqliteStore.create(join(dir, `dup${at}.vqlite`), { v: 1 })
    try {
      s.transaction(() => s.insertItems(rows([1, 2, 3]), 0), 'adding')
      const ids = Array.from({ length: 2 * INSERT_ROWS + 10 }, (_, i) => 1000 + i)
      // stored >= 0: an id of the first batch; -1: the id of an earlier item of this batch.
      const dup = stored >= 0 ? stored : ids[at - 7]!
      ids[at] = dup
      const e = thrown(() => s.transaction(() => s.insertItems(rows(ids), 3), 'adding'))
      expect(e).toBeInstanceOf(VqInputError)
      expect((e as VqInputError).code).toBe('ID_EXISTS')
      expect((e as Error).message).toContain(`id ${dup} is already in the index (position ${at} of the batch)`)
      expect(all(s).map((r) => r.id)).toEqual([1, 2, 3])
    } finally {
      s.close()
    }
  })
})
