/**
 * Filter semantics (README, "Filters"): comparisons respect JSON types. A plain JS
 * evaluator of the documented rule is compared with find() and with a filtered exact
 * search over random metadata (numbers, strings, booleans, null, arrays, nested objects,
 * missing fields) and random filters within the limits; then one test per known failure.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Filter, type FilterValue, type Metadata, VqIndex } from '../../src/index.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()

const MISSING = Symbol('missing')
type Got = unknown | typeof MISSING

/** The value at a dotted path: only plain objects have fields; anything else is missing. */
function at(m: Metadata, path: string): Got {
  let v: unknown = m
  for (const seg of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, seg)) return MISSING
    v = (v as Record<string, unknown>)[seg]
  }
  return v
}

/** Strings order by code point (SQLite compares UTF-8 bytes). */
function order(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

function eq(v: Got, x: FilterValue): boolean {
  if (x === null) return v === MISSING || v === null
  return typeof v === typeof x && v === x
}

function cmp(v: Got, op: string, x: number | string): boolean {
  if (typeof v !== typeof x) return false
  const c = typeof x === 'number' ? (v as number) - x : order(v as string, x)
  return op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0
}

/** The documented semantics, in plain JS. */
function matches(f: Filter, m: Metadata, id: number): boolean {
  return Object.entries(f).every(([key, spec]) => {
    if (spec === undefined) return true
    if (key === '$and') return (spec as Filter[]).every((g) => matches(g, m, id))
    if (key === '$or') return (spec as Filter[]).some((g) => matches(g, m, id))
    if (key === '$not') return !matches(spec as Filter, m, id)
    const v: Got = key === '$id' ? id : at(m, key)
    if (spec === null || typeof spec !== 'object') return eq(v, spec as FilterValue)
    return Object.entries(spec).every(([op, x]) => {
      switch (op) {
        case '$eq':
          return eq(v, x as FilterValue)
        case '$ne':
          return !eq(v, x as FilterValue)
        case '$in':
          return (x as FilterValue[]).some((y) => eq(v, y))
        case '$nin':
          return !(x as FilterValue[]).some((y) => eq(v, y))
        case '$exists':
          return (v !== MISSING && v !== null) === x
        default:
          return cmp(v, op, x as number | string)
      }
    })
  })
}

// Values chosen to collide under loose comparison: 1 / 1.0 / true / "1", "[1]" / [1], null / missing.
const STRINGS = ['', 'a', 'b', 'ab', 'B', '1', 'true', 'null', '[1]', '{"a":1}', 'é', '日本', '😀']
const scalar = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, 1.5, -0.5, 1e300, -1e-300, 2000, 3),
  fc.integer({ min: -5, max: 5 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...STRINGS),
)
const KEYS = ['a', 'b', 'c']
const json: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 3 }),
  ),
})).v
const metadata: fc.Arbitrary<Metadata> = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.constantFrom(...KEYS), json, { maxKeys: 3 }) as fc.Arbitrary<Metadata> },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: json as fc.Arbitrary<Metadata> },
)

const PATHS = ['a', 'b', 'c', 'a.b', 'a.c', 'b.a', '$id']
const bound = fc.oneof(fc.constantFrom(0, 1, 1.5, 2, -1, 3, 2000), fc.constantFrom(...STRINGS))
const fieldSpec: fc.Arbitrary<unknown> = fc.oneof(
  scalar,
  fc.record({ $eq: scalar }),
  fc.record({ $ne: scalar }),
  fc.record({ $in: fc.array(scalar, { maxLength: 4 }) }),
  fc.record({ $nin: fc.array(scalar, { maxLength: 4 }) }),
  fc.record({ $exists: fc.boolean() }),
  fc.record({ $gt: bound }),
  fc.record({ $gte: bound }),
  fc.record({ $lt: bound }),
  fc.record({ $lte: bound }),
  fc.record({ $gt: bound, $lte: bound }),
)
const filter: fc.Arbitrary<Filter> = fc.letrec<{ f: Filter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.dictionary(fc.constantFrom(...PATHS), fieldSpec, { minKeys: 1, maxKeys: 2 }) as fc.Arbitrary<Filter>,
    fc.record({ $and: fc.array(tie('f'), { minLength: 1, maxLength: 3 }) }) as fc.Arbitrary<Filter>,
    fc.record({ $or: fc.array(tie('f'), { minLength: 1, maxLength: 3 }) }) as fc.Arbitrary<Filter>,
    fc.record({ $not: tie('f') }) as fc.Arbitrary<Filter>,
  ),
})).f

const d = 2

async function indexOf(items: Metadata[]): Promise<VqIndex> {
  const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
  const x = new Float32Array(items.length * d).map((_, i) => (i % 7) + 1)
  await index.add(
    items.map((_, i) => i),
    x,
    items,
  )
  return index
}

describe('filter semantics (property-based, against a plain JS evaluator)', () => {
  it('find() and a filtered exact search select exactly the items the documented rule selects', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(metadata, { minLength: 1, maxLength: 40 }),
        fc.array(filter, { minLength: 1, maxLength: 8 }),
        async (items, filters) => {
          const index = await indexOf(items)
          try {
            const q = new Float32Array(d).fill(1)
            for (const f of filters) {
              const want = items.flatMap((m, id) => (matches(f, m, id) ? [id] : []))
              const found = index.find(f, 1_000_000)
              expect(
                found.map((r) => r.id),
                JSON.stringify(f),
              ).toEqual(want)
              for (const r of found) expect(r.metadata).toEqual(JSON.parse(JSON.stringify(items[r.id] ?? null)))
              const got = Array.from(index.search(q, items.length, { filter: f }).ids)
                .filter((id) => id >= 0)
                .sort((a, b) => a - b)
              expect(got, JSON.stringify(f)).toEqual(want)
            }
          } finally {
            await index.close()
          }
        },
      ),
      { seed: 1414, numRuns: 60 },
    )
  })
})

describe('filter semantics (property-based, keyword search and the cache)', () => {
  it('keywordSearch with a filter returns the text items the rule selects; repeated filters answer the same from the cache', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(metadata, { minLength: 1, maxLength: 30 }),
        fc.array(filter, { minLength: 1, maxLength: 6 }),
        async (raw, filters) => {
          // Objects get a text field for the keyword index; other metadata has none.
          const items = raw.map((m, i) =>
            m !== null && typeof m === 'object' && !Array.isArray(m) ? { ...m, text: `hello item${i}` } : m,
          ) as Metadata[]
          const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
          try {
            await index.createTextIndex('text')
            await index.add(
              items.map((_, i) => i),
              new Float32Array(items.length * d).fill(1),
              items,
            )
            const q = new Float32Array(d).fill(1)
            for (const f of [...filters, ...filters]) {
              const want = items.flatMap((m, id) => (matches(f, m, id) ? [id] : []))
              const text = want.filter((id) => typeof (items[id] as { text?: unknown } | null)?.text === 'string')
              const got = Array.from(index.keywordSearch('hello', 1000, { filter: f }).ids).sort((a, b) => a - b)
              expect(got, JSON.stringify(f)).toEqual(text)
              const found = Array.from(index.search(q, items.length, { filter: f }).ids)
                .filter((id) => id >= 0)
                .sort((a, b) => a - b)
              expect(found, JSON.stringify(f)).toEqual(want)
            }
          } finally {
            await index.close()
          }
        },
      ),
      { seed: 2024, numRuns: 30 },
    )
  })
})

describe('filter semantics (known failures)', () => {
  const items: Metadata[] = [
    { flag: true, year: 1999, tags: ['a'], s: '1' },
    { flag: 1, year: '2001', tags: '["a"]', s: 1 },
    { flag: false, year: [2001], n: 1.0 },
    { flag: 0, year: { v: 2001 }, n: 1.5 },
    { year: 2001, flag: null },
    null,
  ]

  it('{ flag: true } matches only true, never the number 1 (and 1 never true)', async () => {
    const index = await indexOf(items)
    expect(index.find({ flag: true }).map((r) => r.id)).toEqual([0])
    expect(index.find({ flag: 1 }).map((r) => r.id)).toEqual([1])
    expect(index.find({ flag: false }).map((r) => r.id)).toEqual([2])
    expect(index.find({ flag: 0 }).map((r) => r.id)).toEqual([3])
    expect(index.find({ flag: { $in: [true] } }).map((r) => r.id)).toEqual([0])
    expect(index.find({ flag: { $in: [1, 0] } }).map((r) => r.id)).toEqual([1, 3])
    expect(index.find({ n: 1 }).map((r) => r.id)).toEqual([2])
  })

  it('{ year: { $gt: 2000 } } matches numbers only, not strings, arrays or objects', async () => {
    const index = await indexOf(items)
    expect(index.find({ year: { $gt: 2000 } }).map((r) => r.id)).toEqual([4])
    expect(index.find({ year: { $lt: 3000 } }).map((r) => r.id)).toEqual([0, 4])
    expect(index.find({ year: { $gt: '3' } }).map((r) => r.id)).toEqual([])
    expect(index.find({ year: { $gte: '2001' } }).map((r) => r.id)).toEqual([1])
    const q = new Float32Array(d).fill(1)
    expect(Array.from(index.search(q, 6, { filter: { year: { $gt: 2000 } } }).ids.filter((v) => v >= 0))).toEqual([4])
  })

  it('equality never matches across types: "1" vs 1, a string vs the JSON text of an array', async () => {
    const index = await indexOf(items)
    expect(index.find({ s: '1' }).map((r) => r.id)).toEqual([0])
    expect(index.find({ s: 1 }).map((r) => r.id)).toEqual([1])
    expect(index.find({ tags: '["a"]' }).map((r) => r.id)).toEqual([1])
    expect(index.find({ tags: { $in: ['["a"]'] } }).map((r) => r.id)).toEqual([1])
    expect(index.find({ tags: { $ne: 'a' } }).map((r) => r.id)).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('$in [null] matches missing and null, as { field: null } does; $ne / $nin / $not match missing fields', async () => {
    const index = await indexOf(items)
    expect(index.find({ flag: { $in: [null] } }).map((r) => r.id)).toEqual([4, 5])
    expect(index.find({ flag: null }).map((r) => r.id)).toEqual([4, 5])
    expect(index.find({ s: { $ne: '1' } }).map((r) => r.id)).toEqual([1, 2, 3, 4, 5])
    expect(index.find({ s: { $nin: ['1', 1] } }).map((r) => r.id)).toEqual([2, 3, 4, 5])
    expect(index.find({ $not: { year: { $gt: 2000 } } }).map((r) => r.id)).toEqual([0, 1, 2, 3, 5])
  })

  it('$id is the integer id: "3", true and null never match it, 3.0 does', async () => {
    const index = await indexOf(items)
    expect(index.find({ $id: '3' })).toEqual([])
    expect(index.find({ $id: { $in: ['3', '1'] } })).toEqual([])
    expect(index.find({ $id: true })).toEqual([])
    expect(index.find({ $id: null })).toEqual([])
    expect(index.find({ $id: 3.0 }).map((r) => r.id)).toEqual([3])
    expect(index.find({ $id: { $gt: '0' } })).toEqual([])
    expect(index.find({ $id: { $gte: 4 } }).map((r) => r.id)).toEqual([4, 5])
    expect(index.find({ $id: { $nin: [1, '2'] } }).map((r) => r.id)).toEqual([0, 2, 3, 4, 5])
  })
})
