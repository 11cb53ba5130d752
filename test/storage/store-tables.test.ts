import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqFormatError, VqInputError, VqStateError } from '../../src/errors.js'
import { SqliteStore } from '../../src/storage/sqlite-store.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-tables-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Items with these ids: list id % 3, one code byte (= id), metadata { t: word } (none for null). */
function rows(ids: number[], words: (string | null)[]) {
  return {
    ids: Float64Array.from(ids),
    lists: Int32Array.from(ids, (id) => id % 3),
    codes: Uint8Array.from(ids),
    codeSize: 1,
    metadata: words.map((w) => (w === null ? null : JSON.stringify({ t: w }))),
  }
}

describe('the store statement groups', () => {
  it('items: insert in seq order, ID_EXISTS rolls back the batch, delete writes tombstones', () => {
    const s = SqliteStore.create(join(dir, 'items.vqlite'), { v: 1 })
    try {
      s.transaction(() => s.insertItems(rows([5, 1, 9], ['apple pie', null, 'pear']), 0), 'adding')
      const e = (() => {
        try {
          s.transaction(() => s.insertItems(rows([7, 1], ['x', 'y']), 3), 'adding')
        } catch (err) {
          return err
        }
        return undefined
      })()
      expect(e).toBeInstanceOf(VqInputError)
      expect((e as VqInputError).code).toBe('ID_EXISTS')
      expect(s.existing(Float64Array.of(7, 1, 5, 2))).toEqual([1, 5])
      const c = s.loadCodes(-1, 1, 0)
      expect(Array.from(c.ids)).toEqual([5, 1, 9])
      expect(Array.from(c.seqs)).toEqual([0, 1, 2])
      expect(Array.from(c.lists)).toEqual([2, 1, 0])
      expect(Array.from(c.codes)).toEqual([5, 1, 9])
      expect(s.getItem(5)).toEqual({ vector: null, metadata: '{"t":"apple pie"}' })
      expect(s.getItem(7)).toBeUndefined()

      const gone = s.transaction(() => s.deleteItems(Float64Array.of(9, 4, 5), 3), 'deleting')
      expect(gone).toEqual([9, 5])
      expect(s.tombstonesAfter(-1)).toEqual([9, 5])
      expect(s.tombstonesAfter(3)).toEqual([5])
      expect(s.maxId()).toBe(1)
      expect(s.loadCodes(0, 1, 0).ids.length).toBe(1)
      // A code of the wrong size is a corrupt file.
      expect(() => s.loadCodes(-1, 2, 0)).toThrow(VqFormatError)
    } finally {
      s.close()
    }
  })

  it('keyword index: filled from stored items at creation, then kept current by inserts and deletes', () => {
    const p = join(dir, 'text.vqlite')
    const s = SqliteStore.create(p, {})
    try {
      expect(s.textField).toBeNull()
      expect(() => s.keywordSearch('apple', 5)).toThrow(VqStateError)
      s.transaction(() => s.insertItems(rows([1, 2], ['apples and pears', 'only pears']), 0), 'adding')
      s.transaction(() => s.createTextIndex('t'), 'indexing')
      expect(s.textField).toBe('t')
      expect(s.keywordSearch('apple', 5).ids).toEqual([1])
      s.transaction(() => s.insertItems(rows([3], ['an apple']), 2), 'adding')
      expect(s.keywordSearch('apple', 5).ids.sort()).toEqual([1, 3])
      s.transaction(() => s.deleteItems(Float64Array.of(1), 3), 'deleting')
      expect(s.keywordSearch('apple', 5).ids).toEqual([3])
      expect(s.keywordSearch('pear', 5, 'c.id > ?', [1]).ids).toEqual([2])
    } finally {
      s.close()
    }
    const r = SqliteStore.open(p, { readonly: true })
    try {
      expect(r.textField).toBe('t')
      expect(r.keywordSearch('pears', 5).ids).toEqual([2])
    } finally {
      r.close()
    }
  })

  it('meta and properties round-trip; a read-only store refuses every write; a closed store every call', () => {
    const p = join(dir, 'meta.vqlite')
    const s = SqliteStore.create(p, { dim: 2 })
    s.transaction(() => {
      s.writeManifest({ dim: 2, count: 3 })
      s.writeArrays({ c: { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4.5) } })
      s.setProperty('owner', { name: 'me', n: Int32Array.of(4) })
    }, 'writing')
    s.close()
    const r = SqliteStore.open(p, { readonly: true })
    expect(r.readManifest()).toEqual({ dim: 2, count: 3 })
    const a = r.readArrays()['c']!
    expect(a.shape).toEqual([2, 2])
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4.5])
    expect(r.readProperties()).toEqual({ owner: { name: 'me', n: Int32Array.of(4) } })
    const writes: (() => unknown)[] = [
      () => r.writeManifest({}),
      () => r.writeArrays({}),
      () => r.setProperty('x', 1),
      () => r.createTextIndex('t'),
      () => r.insertItems(rows([1], [null]), 0),
      () => r.deleteItems(Float64Array.of(1), 0),
      () => r.insertRaw([]),
      () => r.updateCodes([], new Int32Array(0), new Uint8Array(0), 1),
    ]
    for (const w of writes) expect(w).toThrow(expect.objectContaining({ code: 'READ_ONLY' }))
    r.close()
    r.close()
    for (const call of [
      () => r.readManifest(),
      () => r.readVectors(Float64Array.of(1), 1),
      () => r.textField,
      () => r.transaction(() => 0, 'x'),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'CLOSED' }))
    }
  })
})
