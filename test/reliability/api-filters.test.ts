/**
 * Filter corpus (issue 14): the typed rule (equality only within one JSON type; $gt / $gte /
 * $lt / $lte compare numbers with numbers and strings with strings; $in / $nin per value;
 * $exists: present and not null), checked as a property against the model on random
 * metadata and filters, as a table of explicit rows, with large valid filters past
 * SQLite's own limits, and hostile filters refused as BAD_FILTER by find, search,
 * searchBatch and keywordSearch without changing anything. One property run or one row = one case.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_FILTER_DEPTH, MAX_FILTER_SET, MAX_FILTER_TERMS, MAX_NAME_LENGTH } from '../../src/limits.js'
import type { Filter } from '../../src/types.js'
import { VqIndex } from '../../src/vq-index.js'
import * as arb from './support/arb.js'
import { cyclic, nestedFilter } from './support/bad-values.js'
import { expectExactResult, jsonCopy, Model } from './support/model.js'
import { expectRefusedUnchanged } from './support/refusal.js'
import { expectFind } from './support/runner.js'

const DIM = 4
const NUM_RUNS = 60

describe('typed filters vs the model on random metadata (find and filtered search)', () => {
  it('seed 14041', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(arb.vector(DIM), arb.metadata), { minLength: 1, maxLength: 25 }),
        fc.array(arb.filter, { minLength: 4, maxLength: 4 }),
        arb.vector(DIM),
        async (items, filters, q) => {
          const ix = VqIndex.create(':memory:', { dim: DIM, threads: 0 })
          try {
            const model = new Model(DIM, 'l2')
            const ids = items.map((_, i) => i * 3 + 1)
            const x = new Float32Array(items.length * DIM)
            items.forEach(([v, m], i) => {
              x.set(v, i * DIM)
              model.items.set(ids[i]!, { vector: v, metadata: jsonCopy(m) })
            })
            await ix.add(
              ids,
              x,
              items.map(([, m]) => m),
            )
            for (const f of filters) {
              const what = `filter ${JSON.stringify(f)}`
              expectFind(ix, model, f, 1000, `find ${what}`)
              const { yes, open } = model.classify(f)
              const k = items.length
              const r = ix.search(q, k, { filter: f })
              if (open.size === 0) expectExactResult(model, q, k, yes, r, `search ${what}`)
              else for (const id of r.ids) if (id !== -1) expect(yes.has(id) || open.has(id), `search ${what}: id ${id} matches`).toBe(true)
            }
          } finally {
            await ix.close()
          }
        },
      ),
      { seed: 14_041, numRuns: NUM_RUNS, endOnFailure: true },
    )
  })
})

/** Items of every JSON type under one field v; id 6 has no v at all. */
const TYPED: [number, unknown][] = [
  [0, { v: true }],
  [1, { v: 1 }],
  [2, { v: '1' }],
  [3, { v: 0 }],
  [4, { v: false }],
  [5, { v: null }],
  [6, { w: 1 }],
  [7, { v: 2000 }],
  [8, { v: 'abc' }],
  [9, { v: 2001.5 }],
  [10, { v: { x: 1 } }],
  [11, { v: '' }],
  [12, { v: 'Z' }],
]

/** Filter, ids that must match, ids the contract leaves open. */
const TYPED_ROWS: [string, Filter, number[], number[]][] = [
  ['true matches only true', { v: true }, [0], []],
  ['1 matches only the number 1', { v: 1 }, [1], []],
  ['"1" matches only the string', { v: '1' }, [2], []],
  ['false matches only false', { v: false }, [4], []],
  ['0 matches only the number 0', { v: 0 }, [3], []],
  ['$eq true', { v: { $eq: true } }, [0], []],
  ['$eq a float', { v: { $eq: 2001.5 } }, [9], []],
  ['$gt 2000: numbers only', { v: { $gt: 2000 } }, [9], []],
  ['$gte 2000: numbers only', { v: { $gte: 2000 } }, [7, 9], []],
  ['$gt 0: no booleans, no strings', { v: { $gt: 0 } }, [1, 7, 9], []],
  ['$lt 1: no false, no null, no strings', { v: { $lt: 1 } }, [3], []],
  ['$lte 1', { v: { $lte: 1 } }, [1, 3], []],
  ['$gt "": strings only', { v: { $gt: '' } }, [2, 8, 12], []],
  ['$lt "b": strings only', { v: { $lt: 'b' } }, [2, 8, 11, 12], []],
  ['$gte "a" and $lt "b"', { v: { $gte: 'a', $lt: 'b' } }, [8], []],
  ['$in [true, "1"]', { v: { $in: [true, '1'] } }, [0, 2], []],
  ['$in [1]', { v: { $in: [1] } }, [1], []],
  ['$in [0, false]', { v: { $in: [0, false] } }, [3, 4], []],
  ['$nin [true, 1]', { v: { $nin: [true, 1] } }, [2, 3, 4, 5, 7, 8, 9, 10, 11, 12], [6]],
  ['$ne 1', { v: { $ne: 1 } }, [0, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12], [6]],
  ['$ne true', { v: { $ne: true } }, [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12], [6]],
  ['$exists true: present and not null', { v: { $exists: true } }, [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12], []],
  ['$exists false: absent or null', { v: { $exists: false } }, [5, 6], []],
  ['$not of equality (missing compares false)', { $not: { v: 1 } }, [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], []],
  ['a nested path', { 'v.x': 1 }, [10], []],
  ['a nested path with "1"', { 'v.x': '1' }, [], []],
  ['$or of types', { $or: [{ v: true }, { v: '1' }] }, [0, 2], []],
  ['$and of a range', { $and: [{ v: { $gte: 0 } }, { v: { $lte: 1 } }] }, [1, 3], []],
  ['$id $in', { $id: { $in: [0, 1, 99] } }, [0, 1], []],
  ['$id and a field', { $id: { $gte: 5 }, v: { $exists: true } }, [7, 8, 9, 10, 11, 12], []],
]

describe('the typed rule, row by row (find and filtered search)', () => {
  let ix: VqIndex
  const model = new Model(DIM, 'l2')
  beforeAll(async () => {
    ix = VqIndex.create(':memory:', { dim: DIM, threads: 0 })
    const x = new Float32Array(TYPED.length * DIM).map((_, i) => ((i * 7) % 13) / 4 - 1)
    await ix.add(
      TYPED.map(([id]) => id),
      x,
      TYPED.map(([, m]) => m),
    )
    TYPED.forEach(([id, m], i) => {
      model.items.set(id, { vector: x.slice(i * DIM, (i + 1) * DIM), metadata: jsonCopy(m) })
    })
  })
  afterAll(async () => {
    await ix.close()
  })
  it.each(TYPED_ROWS)('%s', (name, f, want, open) => {
    const got = ix.find(f).map((g) => g.id)
    expect(
      got.filter((id) => !open.includes(id)),
      `find ${name}: ${JSON.stringify(f)}`,
    ).toEqual(want)
    // The model agrees with the row (a check of the model itself).
    const c = model.classify(f)
    expect(
      [...c.yes].sort((a, b) => a - b),
      `model of ${name}`,
    ).toEqual(want)
    const r = ix.search(new Float32Array(DIM), TYPED.length, { filter: f })
    const ids = [...r.ids].filter((id) => id !== -1 && !open.includes(id)).sort((a, b) => a - b)
    expect(ids, `search ${name}`).toEqual(want)
  })
})

function manyKeys(n: number): Filter {
  const f: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) f[`f${i}`] = { $exists: false }
  return f as Filter
}

describe('large valid filters past SQLite limits give exact answers', () => {
  const N = 50
  let ix: VqIndex
  beforeAll(async () => {
    ix = VqIndex.create(':memory:', { dim: DIM, threads: 0 })
    await ix.add(
      Array.from({ length: N }, (_, i) => i),
      new Float32Array(N * DIM).map((_, i) => (i % 9) / 4),
      Array.from({ length: N }, (_, i) => ({ n: i, s: `s${i}` })),
    )
  })
  afterAll(async () => {
    await ix.close()
  })
  const evens = Array.from({ length: 40_000 }, (_, i) => i * 2)
  const rows: [string, Filter, number[]][] = [
    ['$in of 40,000 numbers', { n: { $in: evens } }, Array.from({ length: 25 }, (_, i) => i * 2)],
    ['$nin of 40,000 numbers', { n: { $nin: evens } }, Array.from({ length: 25 }, (_, i) => i * 2 + 1)],
    ['$in of 40,000 strings', { s: { $in: evens.map((e) => `s${e}`) } }, Array.from({ length: 25 }, (_, i) => i * 2)],
    ['$id $in of 40,000 ids', { $id: { $in: evens } }, Array.from({ length: 25 }, (_, i) => i * 2)],
    ['$or of 1,001 terms', { $or: Array.from({ length: 1001 }, (_, i) => ({ n: i * 3 })) }, Array.from({ length: 17 }, (_, i) => i * 3)],
    ['1,001 top-level keys', manyKeys(1001), Array.from({ length: N }, (_, i) => i)],
    [`$and of ${MAX_FILTER_DEPTH - 4} levels`, nestedFilter(MAX_FILTER_DEPTH - 4) as Filter, []],
  ]
  it.each(rows)('%s', (name, f, want) => {
    expect(
      ix.find(f, 1000).map((g) => g.id),
      `find ${name}`,
    ).toEqual(want)
    const r = ix.search(new Float32Array(DIM), N, { filter: f })
    expect(
      [...r.ids].filter((id) => id !== -1).sort((a, b) => a - b),
      `search ${name}`,
    ).toEqual(want)
  })
})

/** Hostile filters: every one is BAD_FILTER naming the problem, wherever a filter goes. */
function hostile(): [string, unknown, RegExp][] {
  const bigSet = Array.from({ length: MAX_FILTER_SET + 1 }, (_, i) => i)
  return [
    [`nested ${MAX_FILTER_DEPTH + 1} deep`, nestedFilter(MAX_FILTER_DEPTH + 1), /deep|depth|nest/i],
    ['nested 100,000 deep', nestedFilter(100_000), /deep|depth|nest/i],
    [
      'sub-objects 100,000 deep',
      (() => {
        let v: unknown = 1
        for (let i = 0; i < 100_000; i++) v = { $not: v }
        return v
      })(),
      /deep|depth|nest|\$not/i,
    ],
    [`${MAX_FILTER_TERMS + 1} top-level keys`, manyKeys(MAX_FILTER_TERMS + 1), /terms|conditions|limit|10000|10,000/i],
    [
      `$or of ${MAX_FILTER_TERMS + 1} terms`,
      { $or: Array.from({ length: MAX_FILTER_TERMS + 1 }, (_, i) => ({ n: i })) },
      /terms|conditions|limit|10000|10,000/i,
    ],
    [`$in of ${MAX_FILTER_SET + 1} values`, { n: { $in: bigSet } }, /\$in|values|limit|100000|100,000/i],
    [`$nin of ${MAX_FILTER_SET + 1} values`, { n: { $nin: bigSet } }, /\$nin|values|limit|100000|100,000/i],
    ['a cycle', cyclic(), /cycle|itself|circular|operator/i],
    [
      'a cycle inside $and',
      (() => {
        const f: Record<string, unknown> = { n: 1 }
        f['$and'] = [f]
        return f
      })(),
      /cycle|itself|circular|nested|deep/i,
    ],
    ['a BigInt value', { n: 5n }, /bigint|\bn\b/i],
    ['a BigInt in $in', { n: { $in: [1, 5n] } }, /bigint|\$in|\bn\b/i],
    ['NaN', { n: Number.NaN }, /NaN|finite|\bn\b/],
    ['Infinity in $gt', { n: { $gt: Number.POSITIVE_INFINITY } }, /Infinity|finite|\$gt/],
    ['a function value', { n: () => 1 }, /function|\bn\b/i],
    ['a function in $eq', { n: { $eq: () => 1 } }, /function|\$eq|\bn\b/i],
    ['a Symbol value', { n: Symbol('s') }, /symbol|\bn\b/i],
    ['a Date value', { n: new Date(0) }, /Date|\bn\b/],
    ['a RegExp value', { s: /s1/ }, /RegExp|\bs\b/],
    ['an unknown operator', { n: { $foo: 1 } }, /\$foo/],
    ['an unknown top-level operator', { $nor: [{ n: 1 }] }, /\$nor/],
    ['$and not an array', { $and: 5 }, /\$and/],
    ['$or not an array', { $or: { n: 1 } }, /\$or/],
    ['$not not an object', { $not: 5 }, /\$not/],
    ['$gt null', { n: { $gt: null } }, /\$gt/],
    ['$gt true', { n: { $gt: true } }, /\$gt/],
    ['$lt an object', { n: { $lt: {} } }, /\$lt/],
    ['$in not an array', { n: { $in: 5 } }, /\$in/],
    ['$in of objects', { n: { $in: [{}] } }, /\$in|\bn\b/],
    ['$exists "yes"', { n: { $exists: 'yes' } }, /\$exists/],
    ['$eq an array', { n: { $eq: [1] } }, /\$eq|\bn\b/],
    [`a field name of ${MAX_NAME_LENGTH + 1} characters`, { ['f'.repeat(MAX_NAME_LENGTH + 1)]: 1 }, /field|name|long|256/i],
  ]
}

describe('hostile filters: BAD_FILTER, named, nothing changed', () => {
  const rows = hostile()
  const calls: [string, (ix: VqIndex, f: unknown) => unknown][] = [
    ['find', (ix, f) => ix.find(f as Filter)],
    ['search', (ix, f) => ix.search(new Float32Array(DIM), 3, { filter: f as Filter })],
    ['searchBatch', (ix, f) => ix.searchBatch(new Float32Array(2 * DIM), 3, { threads: 0, filter: f as Filter })],
    ['keywordSearch', (ix, f) => ix.keywordSearch('s1', 3, { filter: f as Filter })],
  ]
  let ix: VqIndex
  beforeAll(async () => {
    ix = VqIndex.create(':memory:', { dim: DIM, threads: 0 })
    await ix.add([1, 2, 3], new Float32Array(3 * DIM).fill(0.5), [{ n: 1, s: 's1' }, { n: 2, s: 's2' }, null])
    await ix.createTextIndex('s')
  })
  afterAll(async () => {
    await ix.close()
  })
  it.each(rows.flatMap(([name, f, names]) => calls.map(([call, run]) => [`${call}: ${name}`, run, f, names] as const)))(
    '%s',
    async (name, run, f, names) => {
      await expectRefusedUnchanged(ix, [1, 2, 3], () => run(ix, f), { codes: ['BAD_FILTER'], names }, name)
      // The index still answers a good filter after the refusal (no poisoned cache).
      expect(
        ix.find({ n: 1 }).map((g) => g.id),
        `${name}: a later good filter`,
      ).toEqual([1])
    },
  )

  it('the cache is keyed after validation: { missing: NaN } after { missing: null } is BAD_FILTER', async () => {
    expect([...ix.search(new Float32Array(DIM), 3, { filter: { missing: { $exists: false } } }).ids].sort()).toEqual([1, 2, 3])
    ix.search(new Float32Array(DIM), 3, { filter: { missing: null } })
    await expectRefusedUnchanged(
      ix,
      [1, 2, 3],
      () => ix.search(new Float32Array(DIM), 3, { filter: { missing: Number.NaN } }),
      { codes: ['BAD_FILTER'], names: /NaN|finite/ },
      'NaN after null',
    )
    await expectRefusedUnchanged(
      ix,
      [1, 2, 3],
      () => ix.search(new Float32Array(DIM), 3, { filter: { n: () => 1 } as never }),
      { codes: ['BAD_FILTER'], names: /function/i },
      'a function after a cached filter',
    )
  })
})
