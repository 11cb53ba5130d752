/**
 * search()'s options have a hand-written fast path (resolveSearch) in front of the schema
 * (SearchSchema, the one description): on every input it must give the schema's answer,
 * the same resolved options or the same error (class, code and message).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveSearch, resolveSearchBySchema } from '../../src/engine/options.js'
import { parseOptions, SearchSchema } from '../../src/engine/schema.js'
import { MAX_REFINE_FACTOR } from '../../src/limits.js'
import type { SearchOptions } from '../../src/types.js'

function answer(f: () => unknown): unknown {
  try {
    return { ok: f() }
  } catch (e) {
    return { error: (e as Error).constructor.name, code: (e as { code?: string }).code, message: (e as Error).message }
  }
}

const value = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer({ min: -3, max: 40 }),
  fc.integer({ min: MAX_REFINE_FACTOR - 2, max: MAX_REFINE_FACTOR + 2 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 53 - 1, 1.5, 0, -0),
  fc.string({ maxLength: 3 }),
  fc.boolean(),
  fc.constant({}),
  fc.constant({ genre: 'jazz' }),
  fc.constant([]),
  fc.constant(() => 1),
  fc.bigInt({ min: -5n, max: 5n }),
)

const options = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      { nprobe: value, refineFactor: value, qb: value, errorBounds: value, exactFactor: value, filter: value, includeMetadata: value },
      { requiredKeys: [] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ nprobe: value, nprobee: value, refinefactor: value, threads: value, k: value }, { requiredKeys: [] }),
  },
  { weight: 1, arbitrary: value },
  {
    weight: 1,
    arbitrary: fc.record({ nprobe: value }, { requiredKeys: [] }).map((o) => Object.assign(Object.create({ inherited: 1 }), o)),
  },
  { weight: 1, arbitrary: fc.record({ nprobe: value }, { requiredKeys: [] }).map((o) => Object.assign(Object.create(null), o)) },
)

describe('search options: the fast path agrees with the schema', () => {
  it('on random inputs (values, wrong keys, non-objects, odd prototypes)', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 1, max: 100 }), (o, k) => {
        expect(answer(() => resolveSearch(k, o as SearchOptions))).toEqual(answer(() => resolveSearchBySchema(k, o)))
      }),
      { seed: 1414, numRuns: 5000 },
    )
  })

  it('the common cases resolve to the schema defaults', () => {
    for (const o of [
      undefined,
      {},
      { nprobe: 8 },
      { nprobe: 8, refineFactor: 4 },
      { refineFactor: MAX_REFINE_FACTOR },
      { qb: 0 },
      { qb: 8 },
      { errorBounds: false },
      { exactFactor: 1 },
      { refineFactor: 16, exactFactor: MAX_REFINE_FACTOR },
      { includeMetadata: true },
    ]) {
      const s = parseOptions(SearchSchema, o, 'search')
      expect(resolveSearch(10, o)).toEqual({
        k: 10,
        nprobe: s.nprobe,
        refineFactor: s.refineFactor,
        qb: s.qb,
        errorBounds: s.errorBounds,
        exactFactor: s.exactFactor,
        filter: s.filter,
        includeMetadata: s.includeMetadata,
      })
    }
    expect(resolveSearch(10, undefined)).toEqual({
      k: 10,
      nprobe: 20,
      refineFactor: 1,
      qb: 4,
      errorBounds: true,
      exactFactor: 2,
      includeMetadata: false,
      filter: undefined,
    })
  })
})
