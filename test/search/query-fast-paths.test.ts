/**
 * The per-query fast paths of search() against their references:
 * - checkQuery's in-place check of a Float32Array gives checkVectors' answer (the same array,
 *   or the same error code and message) for every input, finite or not, within the norm
 *   limit or beyond it, of the right length or not;
 * - IndexState.prepareQuery (the cosine query normalised into a reused buffer) gives exactly
 *   prepare()'s floats, and the same ZERO_VECTOR error for a zero query;
 * - searchParams returns the same (frozen) object while the parameters are equal, a new one
 *   when any changes.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { searchParams } from '../../src/engine/search.js'
import { VqIndex } from '../../src/index.js'
import { MAX_SQUARED_NORM } from '../../src/limits.js'
import { checkQuery, checkVectors } from '../../src/validate.js'

/** What a check returns or throws, comparably. */
function answer(f: () => unknown): unknown {
  try {
    return { ok: f() }
  } catch (e) {
    const err = e as Error & { code?: string }
    return { code: err.code, message: err.message, name: err.name }
  }
}

/** checkQuery by checkVectors alone (the reference). */
function checkQueryRef(q: unknown, dim: number): unknown {
  const { x, n } = checkVectors(q, dim, 'query')
  if (n !== 1) throw Object.assign(new Error(), { code: 'DIMENSION_MISMATCH' })
  return x
}

describe('checkQuery fast path', () => {
  const special = fc.constantFrom(Number.NaN, Infinity, -Infinity, 3e18, -3e18, 1e19, 0, -0, 1e-30)
  it('agrees with checkVectors on Float32Arrays of any content and length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: -1, max: 1 }),
        fc.array(fc.oneof(fc.float({ noNaN: false }), special), { maxLength: 14 }),
        (dim, extra, values) => {
          const len = Math.max(0, dim + extra)
          const q = new Float32Array(len)
          for (let i = 0; i < len; i++) q[i] = values[i % Math.max(1, values.length)] ?? 0
          const got = answer(() => checkQuery(q, dim))
          const ref = answer(() => checkQueryRef(q, dim))
          if ((ref as { ok?: unknown }).ok !== undefined) {
            expect((got as { ok?: unknown }).ok).toBe(q) // the same array, no copy
          } else {
            expect((got as { code?: string }).code).toBe((ref as { code?: string }).code)
          }
        },
      ),
      { seed: 15, numRuns: 2000 },
    )
  })

  it('gives the reference error messages at the norm limit and for non-finite values', () => {
    const big = new Float32Array([Math.sqrt(MAX_SQUARED_NORM) * 1.001, 1])
    expect(answer(() => checkQuery(big, 2))).toMatchObject({ code: 'VALUE_OUT_OF_RANGE' })
    expect(answer(() => checkQuery(big, 2))).toEqual(answer(() => checkVectors(big, 2, 'query')))
    const edge = new Float32Array([Math.sqrt(MAX_SQUARED_NORM) * 0.999, 1])
    expect(checkQuery(edge, 2)).toBe(edge)
    const nan = new Float32Array([1, Number.NaN])
    expect(answer(() => checkQuery(nan, 2))).toEqual(answer(() => checkVectors(nan, 2, 'query')))
    const ok = new Float32Array([3, 4])
    expect(checkQuery(ok, 2)).toBe(ok)
    expect(answer(() => checkQuery(new Float32Array(4), 2))).toMatchObject({ code: 'DIMENSION_MISMATCH' })
    expect(answer(() => checkQuery([1, 2], 2))).toEqual({ ok: new Float32Array([1, 2]) })
  })
})

describe('prepareQuery and searchParams', () => {
  it("prepareQuery gives prepare()'s floats (cosine); searchParams reuses equal parameters", async () => {
    const d = 6
    const x = new Float32Array(64 * d)
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 1.3) * (1 + (i % 5))
    const ix = VqIndex.create(':memory:', { dim: d, metric: 'cosine', description: 'Flat', threads: 0 })
    try {
      await ix.add(
        Float64Array.from({ length: 64 }, (_, i) => i),
        x,
      )
      // The state is private to VqIndex: catch it on its way through prepareQuery.
      const { IndexState } = await import('../../src/engine/state.js')
      const states: InstanceType<typeof IndexState>[] = []
      const proto = IndexState.prototype
      const orig = proto.prepareQuery
      proto.prepareQuery = function (this: InstanceType<typeof IndexState>, q: Float32Array) {
        states.push(this)
        return orig.call(this, q)
      }
      try {
        ix.search(x.subarray(0, d), 3)
      } finally {
        proto.prepareQuery = orig
      }
      const state = states[0]!
      for (let i = 0; i < 64; i++) {
        const q = x.slice(i * d, (i + 1) * d)
        const ref = state.prepare(q, 1, 'query')
        const got = state.prepareQuery(q)
        expect(Array.from(got)).toEqual(Array.from(ref))
      }
      expect(state.prepareQuery(x.subarray(0, d))).toBe(state.prepareQuery(x.subarray(d, 2 * d))) // one reused buffer
      const zero = new Float32Array(d)
      expect(answer(() => state.prepareQuery(zero))).toEqual(answer(() => state.prepare(zero, 1, 'query')))
      const o = { k: 5, nprobe: 1, refineFactor: 1, qb: 4, errorBounds: true, exactFactor: 2, filter: undefined, includeMetadata: false }
      const p1 = searchParams(state, o)
      expect(searchParams(state, { ...o })).toBe(p1)
      expect(Object.isFrozen(p1)).toBe(true)
      const p2 = searchParams(state, { ...o, k: 6 })
      expect(p2).not.toBe(p1)
      expect(p2).toEqual({ k: 6, nprobe: 1, refineFactor: 1, qb: 4, errorBounds: true, exactFactor: 2, filter: null })
      expect(searchParams(state, { ...o, nprobe: 2 }).nprobe).toBe(2)
    } finally {
      await ix.close()
    }
  })
})
