/**
 * One damaged metadata row does not poison every filter (it matches no filter that reads
 * metadata; returning it is CORRUPT_FILE naming the item), filtered queries on a stale
 * handle answer from one consistent state, and keywordSearch / find edge cases are typed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { VqFormatError, VqIndex, VqInputError, VqOptionError, VqStateError } from '../../src/index.js'
import { expectVqError } from '../helpers/errors.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()

const d = 2
let dir: string
let path: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vqlite-filter-damage-'))
  path = join(dir, 'x.vq')
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const vectors = (n: number, base = 0): Float32Array => new Float32Array(n * d).map((_, i) => base + Math.floor(i / d) + 1)

const ids = (r: { ids: Float64Array }): number[] =>
  Array.from(r.ids)
    .filter((v) => v >= 0)
    .sort((a, b) => a - b)

/** An index of 8 items (tag a for even ids, b for odd; text "hello N") whose rows 3, 4 and 5 are then damaged on disk. */
async function damaged(): Promise<VqIndex> {
  const w = VqIndex.create(path, { dim: d, threads: 0 })
  await w.createTextIndex('text')
  await w.add(
    [0, 1, 2, 3, 4, 5, 6, 7],
    vectors(8),
    Array.from({ length: 8 }, (_, i) => ({ tag: i % 2 ? 'b' : 'a', n: i, text: `hello ${i}` })),
  )
  await w.close()
  const db = new Database(path)
  db.prepare('UPDATE vq_metadata SET json = ? WHERE id = 3').run('{"tag": "b", "n": 3, "text": "hello')
  db.prepare('UPDATE vq_metadata SET json = ? WHERE id = 4').run(Buffer.from([1, 2, 3, 4]))
  db.prepare('UPDATE vq_metadata SET json = ? WHERE id = 5').run(`${'['.repeat(1500)}${']'.repeat(1500)}`)
  db.close()
  return VqIndex.open(path, { threads: 0 })
}

describe('a damaged metadata row', () => {
  it('matches no filter that reads metadata; every other item answers as before', async () => {
    const index = await damaged()
    const q = vectors(1)
    expect(ids(index.search(q, 8, { filter: { tag: 'a' } }))).toEqual([0, 2, 6])
    expect(ids(index.search(q, 8, { filter: { $not: { tag: 'a' } } }))).toEqual([1, 7])
    expect(ids(index.search(q, 8, { filter: { n: { $ne: 0 } } }))).toEqual([1, 2, 6, 7])
    expect(index.find({ tag: 'b' }).map((r) => r.id)).toEqual([1, 7])
    expect(index.find({ missing: null }).map((r) => r.id)).toEqual([0, 1, 2, 6, 7])
    expect(Array.from(index.keywordSearch('hello', 8, { filter: { n: { $gte: 0 } } }).ids).sort()).toEqual([0, 1, 2, 6, 7])
  })

  it('a filter on ids alone still selects it (search needs no metadata)', async () => {
    const index = await damaged()
    expect(ids(index.search(vectors(1), 8, { filter: { $id: { $in: [3, 4, 5, 6] } } }))).toEqual([3, 4, 5, 6])
    expect(ids(index.search(vectors(1), 8, { filter: {} }))).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('find() that must return its metadata is CORRUPT_FILE naming the item', async () => {
    const index = await damaged()
    expectVqError(() => index.find({ $id: 3 }), VqFormatError, 'CORRUPT_FILE', /id 3: metadata is not valid JSON/)
    expectVqError(() => index.find({ $id: 4 }), VqFormatError, 'CORRUPT_FILE', /id 4: metadata is a object/)
    expectVqError(() => index.find({ $id: { $gte: 5 } }), VqFormatError, 'CORRUPT_FILE', /id 5:/)
    expectVqError(() => index.find({}), VqFormatError, 'CORRUPT_FILE', /id 3:/)
    expect(index.find({}, 3).map((r) => r.id)).toEqual([0, 1, 2])
  })
})

describe('filtered queries on a stale handle', () => {
  it('a reader that has not refreshed finds an upserted item under a filter it had not cached', async () => {
    const w = VqIndex.create(path, { dim: d, threads: 0 })
    await w.add([1, 2, 3], vectors(3), [{ tag: 'a' }, { tag: 'a' }, { tag: 'b' }])
    const r = VqIndex.open(path, { readonly: true, threads: 0 })
    const q = vectors(1)
    expect(ids(r.search(q, 5, { filter: { tag: 'a' } }))).toEqual([1, 2])
    await w.upsert([2, 4], vectors(2, 10), [{ tag: 'c' }, { tag: 'c' }])
    // Not cached before the upsert: evaluated on the new state and mapped onto it.
    expect(ids(r.search(q, 5, { filter: { tag: 'c' } }))).toEqual([2, 4])
    // Cached before the upsert: not answered from the old state.
    expect(ids(r.search(q, 5, { filter: { tag: 'a' } }))).toEqual([1])
    expect(r.find({ tag: 'c' }).map((x) => x.id)).toEqual([2, 4])
    await w.delete([4])
    expect(ids(r.search(q, 5, { filter: { $id: { $gte: 0 } } }))).toEqual([1, 2, 3])
    expect(r.refresh()).toBe(false)
  })

  it('a writer whose file another writer changed is refused (READ_ONLY, reopen it), not answered from two states', async () => {
    const a = VqIndex.create(path, { dim: d, threads: 0 })
    await a.add([1, 2], vectors(2), [{ tag: 'a' }, { tag: 'a' }])
    const b = VqIndex.open(path, { threads: 0 })
    await b.upsert([2], vectors(1, 5), [{ tag: 'b' }])
    expectVqError(() => a.search(vectors(1), 3, { filter: { tag: 'b' } }), VqStateError, 'READ_ONLY', /reopen it/)
    expect(ids(b.search(vectors(1), 3, { filter: { tag: 'b' } }))).toEqual([2])
  })
})

describe('keywordSearch and find arguments', () => {
  it('query words are quoted: FTS5 syntax in the query is plain text; no words finds nothing', async () => {
    const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
    await index.createTextIndex('text')
    await index.add([1, 2, 3], vectors(3), [{ text: 'near and or not' }, { text: 'star "quoted" text' }, { text: 'plain' }])
    for (const query of ['"', 'NEAR(a b)', 'a AND', 'OR', '*', '^star', 'text:plain', '(', 'col : x', 'NOT', '""""']) {
      expect(() => index.keywordSearch(query, 5), query).not.toThrow()
    }
    expect(Array.from(index.keywordSearch('NOT', 5).ids)).toEqual([1])
    expect(Array.from(index.keywordSearch('"quoted', 5).ids)).toEqual([2])
    expect(index.keywordSearch('', 5).ids).toHaveLength(0)
    expect(index.keywordSearch(' ?!.,;()"* ', 5).ids).toHaveLength(0)
  })

  it('bad arguments and filters are typed errors, also when the query has no words', async () => {
    const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
    await index.createTextIndex('text')
    await index.add([1], vectors(1), [{ text: 'hello' }])
    expectVqError(() => index.keywordSearch(5 as unknown as string, 5), VqInputError, 'BAD_ARGUMENT', /query must be a string/)
    expectVqError(() => index.keywordSearch('hello', 5, { filter: { a: Number.NaN } }), VqInputError, 'BAD_FILTER', /NaN/)
    expectVqError(() => index.keywordSearch('', 5, { filter: { a: { $bad: 1 } } }), VqInputError, 'BAD_FILTER', /\$bad/)
    expectVqError(() => index.keywordSearch('hello', 5, { filter: null as never }), VqInputError, 'BAD_FILTER')
    const many = Array.from({ length: 1001 }, (_, i) => `w${i}`).join(' ')
    expectVqError(() => index.keywordSearch(many, 5), VqInputError, 'BAD_ARGUMENT', /1001 distinct words/)
    for (const limit of [Number.NaN, -1, 0, 1.5, 1e7, '3']) {
      expectVqError(() => index.find({}, limit as number), VqOptionError, 'BAD_OPTION', /limit/)
    }
    expectVqError(() => index.find(undefined as never), VqInputError, 'BAD_FILTER')
  })

  it('a text field must be a dotted path of names within MAX_NAME_LENGTH (null is not the field "null")', async () => {
    const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
    for (const field of [null, 5, 'a'.repeat(257), 'a b', '']) {
      await expect(index.createTextIndex(field as string), String(field)).rejects.toMatchObject({ code: 'BAD_OPTION' })
    }
    expect(index.textField).toBe(null)
    await index.createTextIndex('a'.repeat(256))
    expect(index.textField).toBe('a'.repeat(256))
  })
})
