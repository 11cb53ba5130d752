/**
 * Filters are validated first, within documented limits (BAD_FILTER naming the limit),
 * cached on their canonical form, and compiled so that nothing within the limits reaches
 * SQLite's own limits (32,766 bound values, expression depth 1,000).
 */
import { describe, expect, it } from 'vitest'
import { type Filter, VqIndex } from '../../src/index.js'
import { MAX_FILTER_DEPTH, MAX_FILTER_SET, MAX_FILTER_TERMS, MAX_NAME_LENGTH } from '../../src/limits.js'
import { checkFilter, MAX_FILTER_VALUES } from '../../src/storage/filter-sql.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()

const d = 2
const n = 40

async function small(): Promise<VqIndex> {
  const index = VqIndex.create(':memory:', { dim: d, threads: 0 })
  const x = new Float32Array(n * d).map((_, i) => i % 5)
  await index.add(
    Array.from({ length: n }, (_, i) => i),
    x,
    Array.from({ length: n }, (_, i) => ({ a: i, s: `s${i % 4}`, t: i % 2 === 0 })),
  )
  return index
}

const q = new Float32Array(d)

/** Every way search, find and keywordSearch refuse a filter: the same BAD_FILTER. */
function refused(index: VqIndex, f: unknown, message: RegExp): void {
  for (const run of [() => index.search(q, 3, { filter: f as Filter }), () => index.find(f as Filter), () => checkFilter(f)]) {
    let e: unknown
    try {
      run()
    } catch (err) {
      e = err
    }
    expect((e as { code?: string } | undefined)?.code, String(message)).toBe('BAD_FILTER')
    expect((e as Error).message).toMatch(message)
  }
}

function nest(depth: number, wrap: (f: Filter) => Filter): Filter {
  let f: Filter = { a: 1 }
  for (let i = 1; i < depth; i++) f = wrap(f)
  return f
}

describe('filter refusals (BAD_FILTER, before any SQL or cache)', () => {
  const cyclic: Record<string, unknown> = {}
  cyclic['$and'] = [cyclic]
  const cyclicNot: Record<string, unknown> = {}
  cyclicNot['$not'] = cyclicNot
  const cyclicOps: Record<string, unknown> = {}
  cyclicOps['$eq'] = cyclicOps
  const throwing = {
    get a(): number {
      throw new Error('boom')
    },
  }
  const symbolKey = { [Symbol('k')]: 1 }
  const holes = [1, 2, 3]
  delete holes[1] // a hole, not an undefined element
  const cases: [string, unknown, RegExp][] = [
    ['100,000 levels of $and', nest(100_000, (f) => ({ $and: [f] })), /MAX_FILTER_DEPTH/],
    ['100,000 levels of $not', nest(100_000, (f) => ({ $not: f })), /MAX_FILTER_DEPTH/],
    [`${MAX_FILTER_DEPTH + 1} levels of $or`, nest(MAX_FILTER_DEPTH + 1, (f) => ({ $or: [f] })), /nested more than 32 levels/],
    ['a cycle through $and', cyclic, /refers to itself/],
    ['a cycle through $not', cyclicNot, /refers to itself/],
    ['a cycle through an operator', { a: cyclicOps }, /values must be|refers to itself/],
    ['a BigInt', { a: 5n }, /BigInt/],
    ['a BigInt in $in', { a: { $in: [1, 5n] } }, /BigInt/],
    ['NaN', { missing: Number.NaN }, /NaN is not a finite number/],
    ['Infinity in $gt', { a: { $gt: Number.POSITIVE_INFINITY } }, /Infinity is not a finite number/],
    ['-Infinity in $nin', { a: { $nin: [Number.NEGATIVE_INFINITY] } }, /not a finite number/],
    ['a function', { a: () => 1 }, /function/],
    ['a function in $eq', { a: { $eq: () => 1 } }, /function/],
    ['a function as the filter', () => 1, /plain object/],
    ['a symbol value', { a: Symbol('s') }, /symbol/],
    ['a symbol key', symbolKey, /symbol key/],
    ['undefined in $in', { a: { $in: [1, undefined] } }, /undefined/],
    ['a hole in $in', { a: { $in: holes } }, /undefined/],
    ['undefined in $or', { $or: [{ a: 1 }, undefined] }, /plain object/],
    ['null as the filter', null, /plain object/],
    ['an array as the filter', [{ a: 1 }], /plain object/],
    ['a string as the filter', 'a = 1', /plain object/],
    ['a Map as the filter', new Map([['a', 1]]), /Map/],
    ['a Date value', { a: new Date(0) }, /Date/],
    ['a RegExp value', { a: /x/ }, /RegExp/],
    ['a Set for $in', { a: { $in: new Set([1]) } }, /takes an array/],
    ['a class instance as operators', { a: new (class Ops {})() }, /Ops/],
    ['an array value', { a: [1, 2] }, /use \$in/],
    ['unknown operator', { a: { $regex: 'x' } }, /unknown operator "\$regex"/],
    ['unknown top-level operator', { $where: 'x' }, /unknown operator "\$where"/],
    ['an operator object without $', { a: { b: 1 } }, /unknown operator "b"/],
    ['no condition', { a: {} }, /no condition on "a"/],
    ['only undefined conditions', { a: { $eq: undefined } }, /no condition on "a"/],
    ['$gt of a boolean', { a: { $gt: true } }, /takes a number or a string/],
    ['$lt of null', { a: { $lt: null } }, /takes a number or a string/],
    ['$exists of 1', { a: { $exists: 1 } }, /true or false/],
    ['$in of a number', { a: { $in: 5 } }, /takes an array/],
    ['empty $or', { $or: [] }, /non-empty array/],
    ['$and of an object', { $and: { a: 1 } }, /non-empty array/],
    ['a bad field path', { "a') OR 1=1 --": 1 }, /not a path of identifiers/],
    ['an empty field path', { '': 1 }, /not a path of identifiers/],
    ['a field path past MAX_NAME_LENGTH', { ['a'.repeat(MAX_NAME_LENGTH + 1)]: 1 }, /MAX_NAME_LENGTH/],
    ['a getter that throws', throwing, /could not be read \(boom\)/],
    [
      `${MAX_FILTER_TERMS + 1} members of $or`,
      { $or: Array.from({ length: MAX_FILTER_TERMS + 1 }, (_, i) => ({ a: i })) },
      /MAX_FILTER_TERMS/,
    ],
    [
      `${MAX_FILTER_TERMS + 1} top-level keys`,
      Object.fromEntries(Array.from({ length: MAX_FILTER_TERMS + 1 }, (_, i) => [`f${i}`, i])),
      /MAX_FILTER_TERMS/,
    ],
    [
      `${MAX_FILTER_TERMS + 1} conditions over nested lists`,
      { $and: Array.from({ length: 101 }, (_, i) => ({ $or: Array.from({ length: 100 }, (_, j) => ({ [`f${i}`]: j })) })) },
      /MAX_FILTER_TERMS/,
    ],
    [`${MAX_FILTER_TERMS + 1} empty members`, { $and: Array.from({ length: MAX_FILTER_TERMS + 1 }, () => ({})) }, /MAX_FILTER_TERMS/],
    [`${MAX_FILTER_SET + 1} values in $in`, { a: { $in: Array.from({ length: MAX_FILTER_SET + 1 }, (_, i) => i) } }, /MAX_FILTER_SET/],
    [
      `more than ${MAX_FILTER_VALUES} values in all`,
      { $or: Array.from({ length: 11 }, (_, i) => ({ [`f${i}`]: { $nin: Array.from({ length: MAX_FILTER_SET }, (_, j) => j) } })) },
      /MAX_FILTER_VALUES/,
    ],
  ]

  it.each(cases)('%s', async (_, f, message) => {
    const index = await small()
    refused(index, f, message)
  })

  it('a refused filter changes nothing: the next valid filter answers as before', async () => {
    const index = await small()
    const before = index.find({ a: { $lt: 3 } })
    refused(index, { a: { $lt: 3, $bad: 1 } }, /unknown operator/)
    expect(index.find({ a: { $lt: 3 } })).toEqual(before)
  })

  it('filters at the limits are accepted', async () => {
    const index = await small()
    expect(index.find(nest(MAX_FILTER_DEPTH, (f) => ({ $or: [f] }))).map((r) => r.id)).toEqual([1])
    expect(index.find({ ['a'.repeat(MAX_NAME_LENGTH)]: { $exists: false } })).toHaveLength(n)
    expect(index.find({ a: { $in: Array.from({ length: MAX_FILTER_SET }, (_, i) => i * 2) } })).toHaveLength(n / 2)
  })
})

describe('the filter cache is keyed on the validated canonical form', () => {
  it('{ missing: NaN } after { missing: null } is refused, not answered from the cache', async () => {
    const index = await small()
    expect(index.search(q, 3, { filter: { missing: null } }).ids[0]).toBeGreaterThanOrEqual(0)
    refused(index, { missing: Number.NaN }, /NaN/)
  })

  it('a function-valued condition is refused, not dropped', async () => {
    const index = await small()
    refused(index, { a: 1, b: (() => 2) as unknown as number }, /function/)
  })

  it('equal filters share a key; filters that differ only in JSON type do not', () => {
    expect(checkFilter({ a: 1, b: { $eq: 'x' } }).key).toBe(checkFilter({ a: { $eq: 1 }, b: 'x' }).key)
    expect(checkFilter({ $and: [{ a: 1 }, { $and: [{ b: 2 }] }] }).key).toBe(checkFilter({ a: 1, b: 2 }).key)
    expect(checkFilter({ a: 1, c: undefined }).key).toBe(checkFilter({ a: 1 }).key)
    const keys = [{ a: 1 }, { a: '1' }, { a: true }, { a: null }, { a: { $in: [1] } }, { a: { $in: ['1'] } }].map((f) => checkFilter(f).key)
    expect(new Set(keys).size).toBe(4) // { a: 1 } and { a: { $in: [1] } } are the same test, and so are the '1' forms
    expect(checkFilter({ a: 1 }).key).not.toBe(checkFilter({ a: { $ne: 1 } }).key)
  })

  it('a cached filter answers as a fresh one (search after find, the same filter written two ways)', async () => {
    const index = await small()
    const ids = (f: Filter): number[] =>
      Array.from(index.search(q, n, { filter: f }).ids)
        .filter((v) => v >= 0)
        .sort((a, b) => a - b)
    const a = ids({ t: true, a: { $lt: 10 } })
    expect(a).toEqual([0, 2, 4, 6, 8])
    expect(ids({ a: { $lt: 10 }, t: { $eq: true } })).toEqual(a)
    expect(ids({ t: 1, a: { $lt: 10 } })).toEqual([])
  })
})

describe('filters past what SQLite takes in one statement', () => {
  const ids = (index: VqIndex, f: Filter): number[] => index.find(f, 1_000_000).map((r) => r.id)

  it('$in / $nin with 32,767 and 100,000 values is one bound JSON array', async () => {
    const index = await small()
    const big = Array.from({ length: 32_767 }, (_, i) => i * 3)
    expect(ids(index, { a: { $in: big } })).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === 0))
    expect(ids(index, { a: { $nin: Array.from({ length: MAX_FILTER_SET }, (_, i) => i + 2) } })).toEqual([0, 1])
    expect(ids(index, { $id: { $in: Array.from({ length: MAX_FILTER_SET }, (_, i) => 39 - i) } })).toHaveLength(n)
    expect(
      index.search(q, n, { filter: { s: { $in: Array.from({ length: 50_000 }, (_, i) => `s${i}`) } } }).ids.filter((v) => v >= 0),
    ).toHaveLength(n)
  })

  // Preparing 10,000 conditions takes SQLite about a second: these tests get more time.
  const SLOW = 30_000

  it(`$or of ${MAX_FILTER_TERMS} equalities on one field (one set)`, async () => {
    const index = await small()
    expect(ids(index, { $or: Array.from({ length: MAX_FILTER_TERMS }, (_, i) => ({ a: i + 35 })) })).toEqual([35, 36, 37, 38, 39])
    expect(ids(index, { $and: Array.from({ length: MAX_FILTER_TERMS }, (_, i) => ({ a: { $ne: i + 3 } })) })).toEqual([0, 1, 2])
  })

  it(
    `$or of ${MAX_FILTER_TERMS} conditions on distinct fields (3 bound values each, a balanced tree)`,
    async () => {
      const index = await small()
      const members = Array.from({ length: MAX_FILTER_TERMS }, (_, i) => ({ [`f${i}`]: { $gte: 'x' } }))
      expect(ids(index, { $or: [...members.slice(1), { a: { $gte: 39 } }] })).toEqual([39])
    },
    SLOW,
  )

  it(
    `${MAX_FILTER_TERMS} top-level keys`,
    async () => {
      const index = await small()
      const keys = Object.fromEntries(Array.from({ length: MAX_FILTER_TERMS - 1 }, (_, i) => [`f${i}`, { $exists: false }]))
      expect(ids(index, { ...keys, a: { $lt: 2 } })).toEqual([0, 1])
    },
    SLOW,
  )

  it(`${MAX_FILTER_DEPTH} levels of wide $and / $or / $not stay under SQLite's expression depth`, async () => {
    const index = await small()
    let f: Filter = { a: 1 }
    for (let i = 1; i < MAX_FILTER_DEPTH; i++) {
      const width = 300
      const others = Array.from({ length: width }, (_, j) => ({ [`g${i}_${j}`]: { $gt: j } }))
      f = i % 3 === 0 ? { $not: f } : i % 3 === 1 ? { $or: [f, ...others] } : { $and: [f, ...others.map((o) => ({ $not: o }))] }
    }
    // Levels 3, 6, ... 30 are $not: ten negations of { a: 1 }, so item 1 only.
    expect(ids(index, f)).toEqual([1])
    expect(index.search(q, 3, { filter: f }).ids[0]).toBe(1)
    refused(index, { $not: f }, /MAX_FILTER_DEPTH/)
  })
})
