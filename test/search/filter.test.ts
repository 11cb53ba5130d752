import { describe, expect, it } from 'vitest'
import { type Filter, type FilterValue, type VqError, VqIndex } from '../../src/index.js'
import { Rng } from '../../src/util/random.js'
import { clusteredVectors } from '../helpers/data.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()

const d = 12
const n = 6000
const x = clusteredVectors(n, d, 50, 31, 0.4)
const queries = clusteredVectors(30, d, 50, 32, 0.4)
const rng = new Rng(9)
const GENRES = ['jazz', 'rock', 'folk', 'soul', 'it\'s "quoted"']
type Meta = { genre?: string; year?: number; rating?: number | null; live?: boolean; label?: { name: string } } | null
const meta: Meta[] = Array.from({ length: n }, (_, i) => {
  if (i % 97 === 0) return null
  const m: Record<string, unknown> = { genre: GENRES[rng.int(GENRES.length)], year: 1950 + rng.int(71), live: rng.int(2) === 1 }
  if (i % 5 !== 0) m['rating'] = rng.int(3) === 0 ? null : Math.round(rng.float() * 50) / 10
  if (i % 3 === 0) m['label'] = { name: rng.int(2) ? 'Blue Note' : 'Impulse!' }
  return m as Meta
})
const ids = Array.from({ length: n }, (_, i) => 10 * i)

/** The filter semantics, in plain JS, for checking the SQL. */
function matches(f: Filter, m: Meta, id: number): boolean {
  const get = (path: string): unknown => {
    if (path === '$id') return id
    let v: unknown = m
    for (const p of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined
    return v === undefined ? null : v
  }
  return Object.entries(f).every(([key, spec]) => {
    if (key === '$and') return (spec as Filter[]).every((g) => matches(g, m, id))
    if (key === '$or') return (spec as Filter[]).some((g) => matches(g, m, id))
    if (key === '$not') return !matches(spec as Filter, m, id)
    const v = get(key)
    if (spec === null || typeof spec !== 'object') return spec === null ? v === null : v === spec
    return Object.entries(spec).every(([op, arg]) => {
      switch (op) {
        case '$eq':
          return v === arg
        case '$ne':
          return v !== arg
        case '$in':
          return (arg as FilterValue[]).includes(v as FilterValue)
        case '$nin':
          return !(arg as FilterValue[]).includes(v as FilterValue)
        case '$gt':
          return v !== null && (v as number) > (arg as number)
        case '$gte':
          return v !== null && (v as number) >= (arg as number)
        case '$lt':
          return v !== null && (v as number) < (arg as number)
        case '$lte':
          return v !== null && (v as number) <= (arg as number)
        case '$exists':
          return (v !== null) === arg
        default:
          throw new Error(op)
      }
    })
  })
}

const FILTERS: Filter[] = [
  { genre: 'jazz' },
  { genre: 'it\'s "quoted"' },
  { year: { $gte: 1960, $lt: 1970 } },
  { genre: { $in: ['rock', 'soul'] }, live: true },
  { genre: { $nin: ['rock', 'soul'] } },
  { rating: null },
  { rating: { $exists: true } },
  { rating: { $ne: null, $gt: 4.5 } },
  { 'label.name': 'Blue Note' },
  {
    $or: [
      { genre: 'folk', year: { $lt: 1955 } },
      { 'label.name': 'Impulse!', live: false },
    ],
  },
  { $not: { genre: 'jazz' } },
  { $and: [{ year: { $gt: 2000 } }, { $not: { rating: { $lt: 2 } } }] },
  { $id: { $in: [0, 10, 20, 999990, 7] } },
  { $id: { $gte: 59000 } },
  { genre: { $eq: 'jazz' }, year: 1999 },
]

describe('filtered search', () => {
  it('every operator selects exactly the items the predicate describes', async () => {
    const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
    await index.add(ids, x, meta)
    const q = queries.subarray(0, d)
    for (const f of FILTERS) {
      const want = ids.filter((id, i) => matches(f, meta[i]!, id)).sort((a, b) => a - b)
      const got = index.search(q, n, { filter: f })
      const found = Array.from(got.ids)
        .filter((id) => id >= 0)
        .sort((a, b) => a - b)
      expect(found, JSON.stringify(f)).toEqual(want)
    }
  })

  it('a 1%-selective filter returns k results whenever k items match, with recall close to unfiltered', async () => {
    const exact = VqIndex.create(':memory:', { dim: d, threads: 0 })
    await exact.add(ids, x, meta)
    const index = VqIndex.create(':memory:', { dim: d, description: 'IVF64,PQ4,RFlat', storeVectors: 'float32', threads: 0 })
    await index.train(x, { seed: 1 })
    await index.add(ids, x, meta)
    const filter: Filter = { genre: 'jazz', year: { $gte: 1990, $lt: 1995 } }
    const allowed = ids.filter((id, i) => matches(filter, meta[i]!, id)).length
    expect(allowed / n).toBeGreaterThan(0.005)
    expect(allowed / n).toBeLessThan(0.02)
    const k = 10
    const opts = { nprobe: 8, refineFactor: 4 }
    let hitF = 0
    let hitU = 0
    for (let qi = 0; qi < 30; qi++) {
      const q = queries.subarray(qi * d, (qi + 1) * d)
      const got = index.search(q, k, { ...opts, filter })
      expect(got.ids.filter((id) => id >= 0).length).toBe(Math.min(k, allowed))
      const truth = new Set(exact.search(q, k, { filter }).ids)
      for (const id of got.ids) if (truth.has(id)) hitF++
      const truthU = new Set(exact.search(q, k).ids)
      for (const id of index.search(q, k, opts).ids) if (truthU.has(id)) hitU++
    }
    const rf = hitF / (30 * k)
    const ru = hitU / (30 * k)
    expect(rf).toBeGreaterThanOrEqual(ru - 0.02)
  })

  it('a filter matching fewer than k items returns all of them, then padding', async () => {
    const index = VqIndex.create(':memory:', { dim: d, description: 'IVF32,SQ8', threads: 0 })
    await index.train(x)
    await index.add(ids, x, meta)
    const r = index.search(queries.subarray(0, d), 10, { nprobe: 1, filter: { $id: { $in: [30, 40, 50] } } })
    expect(Array.from(r.ids).sort((a, b) => a - b)).toEqual([-1, -1, -1, -1, -1, -1, -1, 30, 40, 50])
  })

  it('filters see writes: a cached filter is recomputed after add / delete', async () => {
    const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
    await index.add([1, 2], x.subarray(0, 2 * d), [{ tag: 'a' }, { tag: 'b' }])
    const q = x.subarray(0, d)
    expect(Array.from(index.search(q, 5, { filter: { tag: 'a' } }).ids.filter((v) => v >= 0))).toEqual([1])
    await index.add([3], x.subarray(2 * d, 3 * d), [{ tag: 'a' }])
    expect(Array.from(index.search(q, 5, { filter: { tag: 'a' } }).ids.filter((v) => v >= 0)).sort()).toEqual([1, 3])
    await index.delete([1])
    expect(Array.from(index.search(q, 5, { filter: { tag: 'a' } }).ids.filter((v) => v >= 0))).toEqual([3])
  })

  it('bad filters are BAD_FILTER errors that name the problem; values never reach SQL text', async () => {
    const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
    await index.add(ids.slice(0, 10), x.subarray(0, 10 * d), meta.slice(0, 10))
    const q = x.subarray(0, d)
    const cases: [unknown, RegExp][] = [
      [{ genre: { $regex: 'j.*' } }, /unknown operator "\$regex"/],
      [{ $xor: [] }, /unknown operator "\$xor"/],
      [{ "genre') OR 1=1 --": 'x' }, /is not a path of identifiers/],
      [{ year: { $gt: [1] } }, /takes a number or a string/],
      [{ year: { $in: 5 } }, /takes an array/],
      [{ year: { $exists: 1 } }, /true or false/],
      [{ genre: { a: 1 } }, /unknown operator "a"/],
      [{ $or: [] }, /non-empty array/],
      [{ genre: [1, 2] }, /unknown operator "0"|values must be/],
    ]
    for (const [f, msg] of cases) {
      let e: unknown
      try {
        index.search(q, 3, { filter: f as Filter })
      } catch (err) {
        e = err
      }
      expect((e as VqError).code, JSON.stringify(f)).toBe('BAD_FILTER')
      expect((e as Error).message).toMatch(msg)
    }
    // A value full of SQL is just a string that matches nothing.
    expect(index.search(q, 3, { filter: { genre: "x' OR '1'='1" } }).ids[0]).toBe(-1)
  })
})
