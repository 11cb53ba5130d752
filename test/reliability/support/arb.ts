/**
 * fast-check arbitraries of the API corpus: small vectors on a quarter grid (exact in
 * float32, many ties), metadata of scalars and nested objects (no arrays: the filter model
 * leaves array fields open) over small domains where 1, true and "1" meet, and filters of
 * the typed rule over the same fields.
 */
import fc from 'fast-check'
import type { Filter } from '../../../src/types.js'

/** One component: k/4 for k in [-8, 8]. */
export const component = fc.integer({ min: -8, max: 8 }).map((k) => k / 4)

/** A vector of dimension dim. */
export function vector(dim: number): fc.Arbitrary<Float32Array> {
  return fc.array(component, { minLength: dim, maxLength: dim }).map((a) => Float32Array.from(a))
}

/** n vectors of dimension dim, row-major. */
export function vectors(dim: number, n: number): fc.Arbitrary<Float32Array> {
  return fc.array(component, { minLength: dim * n, maxLength: dim * n }).map((a) => Float32Array.from(a))
}

/** Scalars where types meet: 0..3, "0".."3", booleans, null, 1.5, short words. */
export const scalar: fc.Arbitrary<string | number | boolean | null> = fc.oneof(
  fc.integer({ min: 0, max: 3 }),
  fc.constantFrom('0', '1', '2', '3', 'a', 'b', 'jazz'),
  fc.boolean(),
  fc.constant(null),
  fc.constant(1.5),
)

/** Field names of the generated metadata; n is a nested object with x and y. */
export const FIELDS = ['a', 'b', 'c', 'n.x', 'n.y'] as const

/** Metadata: null, a scalar, or an object of some of a, b, c and n: { x?, y? } (undefined properties too). */
export const metadata: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: scalar },
  {
    weight: 8,
    arbitrary: fc.record(
      {
        a: scalar,
        b: scalar,
        c: fc.oneof(scalar, fc.constant(undefined)),
        n: fc.oneof(fc.record({ x: scalar, y: scalar }, { requiredKeys: [] }), scalar),
      },
      { requiredKeys: [] },
    ),
  },
)

const comparable = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('0', '1', '2', '3', 'a', 'b'), fc.constant(1.5))

/** One condition on a field: a bare value or operators of the typed rule. */
const condition: fc.Arbitrary<unknown> = fc.oneof(
  scalar,
  fc.record({ $eq: scalar }),
  fc.record({ $ne: scalar }),
  fc.record({ $in: fc.array(scalar, { minLength: 1, maxLength: 4 }) }),
  fc.record({ $nin: fc.array(scalar, { minLength: 1, maxLength: 4 }) }),
  fc.record({ $gt: comparable }),
  fc.record({ $gte: comparable }),
  fc.record({ $lt: comparable }),
  fc.record({ $lte: comparable }),
  fc.record({ $gt: comparable, $lte: comparable }),
  fc.record({ $exists: fc.boolean() }),
)

const idCondition: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.record({ $in: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 6 }) }),
  fc.record({ $gte: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ $lt: fc.integer({ min: 0, max: 40 }) }),
)

const leaf: fc.Arbitrary<Filter> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...FIELDS), condition).map(([f, c]) => ({ [f]: c }) as Filter) },
  { weight: 1, arbitrary: idCondition.map((c) => ({ $id: c }) as Filter) },
)

/** A filter: leaves, several keys, $and / $or / $not, nested at most a few levels. */
export const filter: fc.Arbitrary<Filter> = fc.letrec<{ f: Filter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: leaf },
    { weight: 2, arbitrary: fc.tuple(leaf, leaf).map(([x, y]) => ({ ...x, ...y })) },
    { weight: 1, arbitrary: fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((fs) => ({ $and: fs })) },
    { weight: 1, arbitrary: fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((fs) => ({ $or: fs })) },
    { weight: 1, arbitrary: tie('f').map((f) => ({ $not: f })) },
  ),
})).f
