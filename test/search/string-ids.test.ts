/**
 * String ids (create({ ids: 'string' })): every call that takes or returns ids, checked
 * against an integer-id twin holding the same vectors under integer ids (the same training
 * seed gives the same model and codes, so results must map one to one), plus the door
 * checks, persistence (reopen, export/import) and the key table's life cycle.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type CreateOptions, VqFormatError, VqIndex, VqInputError, VqOptionError, VqStateError } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'
import { expectVqError } from '../helpers/errors.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()
const dir = mkdtempSync(join(tmpdir(), 'vq-strids-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const d = 16
const n = 600
const x = clusteredVectors(n, d, 12, 5, 0.3)
const qs = clusteredVectors(20, d, 12, 77, 0.35)
/** Keys of every shape the door accepts: UUID-like, unicode, spaces, digits-only, max length. */
const keyOf = (i: number): string =>
  i === 0
    ? 'k'.repeat(512)
    : i % 5 === 0
      ? `${i}`
      : i % 5 === 1
        ? `ключ ${i} ✓`
        : i % 5 === 2
          ? `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
          : `doc/${i}.md`
const keys = Array.from({ length: n }, (_, i) => keyOf(i))
const ints = Array.from({ length: n }, (_, i) => i)
const meta = Array.from({ length: n }, (_, i) => ({ group: i % 3, name: keys[i]! }))

type Meta = { group: number; name: string }

async function twins(description: string, extra: Partial<CreateOptions> = {}) {
  const base = { dim: d, description, threads: 2, ...extra }
  const s = VqIndex.create<Meta>(join(dir, `s-${Math.random().toString(36).slice(2)}.vqlite`), { ...base, ids: 'string' })
  const i = VqIndex.create<Meta>(join(dir, `i-${Math.random().toString(36).slice(2)}.vqlite`), { ...base, ids: 'integer' })
  await s.add(keys, x, meta, { train: { seed: 9 } })
  await i.add(ints, x, meta, { train: { seed: 9 } })
  return { s, i }
}

const toKeys = (ids: Float64Array): string[] => Array.from(ids, (id) => (id < 0 ? '' : keys[id]!))

describe.each([
  ['Flat', {}],
  ['IVF8,PQ4x4', {}],
  ['IVF8,SQ8,RFlat', { storeVectors: 'float32' as const }],
])('string ids on %s', (description, extra) => {
  it('search, searchBatch (0 and 2 threads), filters, includeMetadata and keyword-free reads give the twin results under the keys', async () => {
    const { s, i } = await twins(description, extra)
    // Each filter on keys, with the same filter on the twin's integer ids.
    const filters = [
      [undefined, undefined],
      [{ group: 1 }, { group: 1 }],
      [{ $id: { $in: [keys[3]!, keys[10]!, keys[11]!, 'absent'] } }, { $id: { $in: [3, 10, 11] } }],
      [{ $not: { $id: keys[0]! } }, { $not: { $id: 0 } }],
    ] as const
    for (const [filter, twin] of filters) {
      for (let q = 0; q < 20; q++) {
        const query = qs.subarray(q * d, (q + 1) * d)
        const a = s.search(query, 7, { nprobe: 4, refineFactor: 2, ...(filter ? { filter } : {}), includeMetadata: true })
        const b = i.search(query, 7, { nprobe: 4, refineFactor: 2, ...(twin ? { filter: twin } : {}) })
        expect(a.ids).toEqual(toKeys(b.ids))
        expect(Array.from(a.distances)).toEqual(Array.from(b.distances))
        expect(a.metadata).toEqual(Array.from(b.ids, (id) => (id < 0 ? null : meta[id])))
      }
      for (const threads of [0, 2]) {
        const a = await s.searchBatch(qs, 5, { nprobe: 4, threads, ...(filter ? { filter } : {}) })
        const b = await i.searchBatch(qs, 5, { nprobe: 4, threads, ...(twin ? { filter: twin } : {}) })
        expect(a.ids).toEqual(toKeys(b.ids))
        const rows = [...a]
        expect(rows).toHaveLength(20)
        for (const [q, row] of rows.entries()) expect(row.ids).toEqual(toKeys(b.row(q).ids))
      }
    }
    // The $id filter's semantics on keys: only strings match, compared by code point.
    expect(s.count({ $id: 3 } as never)).toBe(0)
    expect(s.count({ $id: keys[4]! })).toBe(1)
    expect(s.count({ $id: { $gte: 'doc/', $lt: 'doc0' } })).toBe(keys.filter((k) => k >= 'doc/' && k < 'doc0').length)
    expect(s.find({ $id: { $in: [keys[7]!, keys[2]!] } }).map((r) => r.id)).toEqual([keys[2], keys[7]])
  })
})

describe('string ids: writes', () => {
  it('get / has / reconstruct / delete / upsert take keys; a deleted key can come back; counts and items agree', async () => {
    const { s, i } = await twins('IVF8,PQ4x4', { storeVectors: 'float32' })
    expect(s.idKind).toBe('string')
    expect(s.get(keys[5]!)).toEqual({ ...i.get(5)!, id: keys[5] })
    expect(s.has(keys[5]!)).toBe(true)
    expect(s.has('absent')).toBe(false)
    expect(s.get('absent')).toBeUndefined()
    expect(Array.from(s.reconstruct(keys[5]!))).toEqual(Array.from(i.reconstruct(5)))
    expectVqError(() => s.reconstruct('absent'), VqInputError, 'UNKNOWN_ID', /"absent"/)
    expect(await s.delete([keys[5]!, keys[6]!, 'absent'])).toBe(2)
    expect(await i.delete([5, 6])).toBe(2)
    expect(s.has(keys[5]!)).toBe(false)
    expect(s.size).toBe(n - 2)
    // Upsert: an existing key keeps its place in the key table; a deleted one comes back as new.
    const v = x.subarray(0, 3 * d)
    await s.upsert([keys[7]!, keys[5]!, 'brand new'], v, [{ group: 9, name: 'a' }, null, { group: 9, name: 'c' }])
    await i.upsert([7, 5, n], v, [{ group: 9, name: 'a' }, null, { group: 9, name: 'c' }])
    expect(s.size).toBe(n)
    expect(s.get(keys[7]!)?.metadata).toEqual({ group: 9, name: 'a' })
    expect(s.count({ group: 9 })).toBe(2)
    for (let q = 0; q < 20; q++) {
      const query = qs.subarray(q * d, (q + 1) * d)
      const b = i.search(query, 10, { nprobe: 8 })
      expect(s.search(query, 10, { nprobe: 8 }).ids).toEqual(Array.from(b.ids, (id) => (id === n ? 'brand new' : id < 0 ? '' : keys[id])))
    }
    // items(): insertion order (upserted items last), every key once, filter and vectors.
    const seen: string[] = []
    for await (const item of s.items({ batchSize: 7 })) seen.push(item.id)
    expect(seen).toHaveLength(n)
    expect(new Set(seen).size).toBe(n)
    expect(seen.slice(-3)).toEqual([keys[7], keys[5], 'brand new'])
    const g1: string[] = []
    for await (const item of s.items({ filter: { group: 1 }, includeVectors: true, batchSize: 50 })) {
      expect(item.vector).toEqual(s.get(item.id)!.vector)
      g1.push(item.id)
    }
    expect(g1.length).toBe(s.count({ group: 1 }))
    const ig1: number[] = []
    for await (const item of i.items({ filter: { group: 1 } })) ig1.push(item.id)
    expect(g1).toEqual(ig1.map((id) => (id === n ? 'brand new' : keys[id])))
  })

  it('refused writes change nothing: ID_EXISTS, DUPLICATE_ID, bad keys, strict delete of an unknown key', async () => {
    const s = VqIndex.create(join(dir, 'refusals.vqlite'), { dim: d, ids: 'string', storeVectors: 'float32' })
    await s.add(['a', 'b'], x.subarray(0, 2 * d))
    const before = JSON.stringify([...s.find({}, 100)])
    const v1 = x.subarray(0, d)
    await expect(s.add(['a'], v1)).rejects.toMatchObject({ code: 'ID_EXISTS', message: expect.stringContaining('"a"') })
    await expect(s.add(['c', 'c'], x.subarray(0, 2 * d))).rejects.toMatchObject({ code: 'DUPLICATE_ID' })
    for (const bad of ['', 'x'.repeat(513), 'lone \ud800 surrogate', 7, null, undefined, {}]) {
      await expect(s.add([bad as string], v1)).rejects.toBeInstanceOf(VqInputError)
      await expect(s.add([bad as string], v1)).rejects.toMatchObject({ code: 'BAD_IDS' })
    }
    expect(() => s.get(5 as unknown as string)).toThrow(VqInputError)
    await expect(s.delete(['a', 'zz'], { strict: true })).rejects.toMatchObject({
      code: 'UNKNOWN_ID',
      message: expect.stringContaining('"zz"'),
    })
    // A failed batch with a new key in it: the key was not kept (adding it later works).
    await expect(s.add(['d', 'a'], x.subarray(0, 2 * d))).rejects.toMatchObject({ code: 'ID_EXISTS' })
    expect(s.has('d')).toBe(false)
    expect(JSON.stringify([...s.find({}, 100)])).toBe(before)
    expect(s.size).toBe(2)
    await s.add(['d'], v1)
    expect(s.has('d')).toBe(true)
    expectVqError(() => s.maxId(), VqStateError, 'UNSUPPORTED')
    // An integer-id index names its kind when given strings.
    const i = VqIndex.create(':memory:', { dim: d })
    await expect(i.add(['a'] as unknown as number[], v1)).rejects.toMatchObject({
      code: 'BAD_IDS',
      message: expect.stringContaining("ids: 'string'"),
    })
    expect(() => i.has(5000n as unknown as number)).not.toThrow()
    expect(i.has(5000n as unknown as number)).toBe(false)
  })
})

describe('string ids: files', () => {
  it('reopen (ID_KIND unless asked for), read-only reader, export/import keep the keys', async () => {
    const path = join(dir, 'persist.vqlite')
    const s = VqIndex.create<Meta>(path, { dim: d, ids: 'string', description: 'IVF8,SQ8', storeVectors: 'float16' })
    await s.add(keys, x, meta, { train: { seed: 2 } })
    const want = s.search(qs.subarray(0, d), 10, { nprobe: 8, includeMetadata: true })
    const snap = join(dir, 'persist.snap')
    expect(await s.export(snap)).toBe(n)
    await s.close()
    expectVqError(() => VqIndex.open(path), VqOptionError, 'ID_KIND', /ids: 'string'/)
    const again = VqIndex.open<Meta>(path, { ids: 'string' })
    expect(again.search(qs.subarray(0, d), 10, { nprobe: 8, includeMetadata: true })).toEqual(want)
    await again.close()
    const any = VqIndex.open(path, { ids: 'any', readonly: true })
    expect(any.idKind).toBe('string')
    expect(any.search(qs.subarray(0, d), 10, { nprobe: 8 }).ids).toEqual(want.ids)
    await any.close()
    expectVqError(() => VqIndex.import(snap, join(dir, 'copy-int.vqlite')), VqOptionError, 'ID_KIND')
    expect(() => VqIndex.open(join(dir, 'copy-int.vqlite'), { ids: 'any' })).toThrow(/no such file/)
    const copy = VqIndex.import<Meta>(snap, ':memory:', { ids: 'string' })
    expect(copy.search(qs.subarray(0, d), 10, { nprobe: 8, includeMetadata: true })).toEqual(want)
    expect(copy.get(keys[9]!)?.metadata).toEqual(meta[9])
    // A new key after import does not collide with the imported ones.
    await copy.add(['after import'], x.subarray(0, d))
    expect(copy.count({ $id: 'after import' })).toBe(1)
    expect(copy.get(keys[n - 1]!)?.metadata).toEqual(meta[n - 1])
  })

  it("retrain keeps every key; a read-only reader sees the writer's new and deleted keys after refresh()", async () => {
    const path = join(dir, 'reader.vqlite')
    const w = VqIndex.create<Meta>(path, { dim: d, ids: 'string', description: 'IVF8,PQ4x4', storeVectors: 'float32' })
    await w.add(keys, x, meta, { train: { seed: 4 } })
    const r = VqIndex.open<Meta>(path, { ids: 'string', readonly: true })
    const q0 = qs.subarray(0, d)
    await w.retrain({ seed: 5 })
    r.refresh()
    expect(r.search(q0, 10, { nprobe: 8 })).toEqual(w.search(q0, 10, { nprobe: 8 }))
    expect(new Set(w.search(q0, 10, { nprobe: 8 }).ids).size).toBe(10)
    await w.add(['late arrival'], q0, [{ group: 7, name: 'late' }])
    await w.delete([keys[1]!])
    expect(r.refresh()).toBe(true)
    expect(r.has('late arrival')).toBe(true)
    expect(r.has(keys[1]!)).toBe(false)
    expect(r.search(q0, 1, { nprobe: 8 }).ids).toEqual(['late arrival'])
    expect(r.count({ $id: { $in: ['late arrival', keys[1]!] } })).toBe(1)
    await r.close()
  })

  it('a snapshot whose keys were altered is refused (CORRUPT_FILE), one without keys for a string-id manifest too', async () => {
    const s = VqIndex.create(join(dir, 'snapdamage.vqlite'), { dim: d, ids: 'string' })
    await s.add(['alpha', 'beta'], x.subarray(0, 2 * d))
    const snap = join(dir, 'snapdamage.snap')
    await s.export(snap)
    const bytes = readFileSync(snap)
    const at = bytes.indexOf(Buffer.from('alpha'))
    expect(at).toBeGreaterThan(0)
    const damaged = Buffer.from(bytes)
    damaged[at] = 'A'.charCodeAt(0)
    writeFileSync(join(dir, 'damaged.snap'), damaged)
    expectVqError(() => VqIndex.import(join(dir, 'damaged.snap'), ':memory:', { ids: 'string' }), VqFormatError, 'CORRUPT_FILE')
  })
})

describe('typed metadata and filters', () => {
  it('carries the metadata type through add, get, search, find and items (compile-time checks)', async () => {
    type Song = { title: string; year: number; artist: { name: string; born?: number }; tags: string[] }
    const ix = VqIndex.create<Song>(':memory:', { dim: 2, ids: 'string' })
    await ix.add(['s1', 's2'], new Float32Array([0, 1, 1, 0]), [
      { title: 'So What', year: 1959, artist: { name: 'Miles' }, tags: ['modal'] },
      { title: 'Naima', year: 1960, artist: { name: 'Coltrane', born: 1926 }, tags: [] },
    ])
    const hit = ix.search(new Float32Array([0, 1]), 1, { includeMetadata: true, filter: { year: { $lt: 1960 }, 'artist.name': 'Miles' } })
    const title: string | undefined = hit.metadata?.[0]?.title
    expect(title).toBe('So What')
    const id: string = hit.ids[0]!
    expect(id).toBe('s1')
    expect(ix.get('s2')?.metadata?.artist.born).toBe(1926)
    for await (const item of ix.items()) expect(typeof item.metadata?.year).toBe('number')
    // @ts-expect-error an unknown field path
    expect(() => ix.count({ yeer: 1959 })).not.toThrow()
    // @ts-expect-error a string compared with a number field
    expect(ix.count({ year: '1959' })).toBe(0)
    // @ts-expect-error $gt on a boolean-free string field takes a string, not a number
    expect(ix.count({ title: { $gt: 5 } })).toBe(0)
    // @ts-expect-error metadata of the wrong shape
    await expect(ix.add(['s3'], new Float32Array([1, 1]), [{ title: 3 }])).resolves.toBeUndefined()
    // @ts-expect-error integer ids on a string-id index
    expect(() => ix.get(3)).toThrow(VqInputError)
    expect(ix.count({ 'artist.born': { $exists: true } })).toBe(1)
  })
})
