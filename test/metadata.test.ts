/** What metadata may be: plain JSON within the documented depth and size limits. */
import { describe, expect, it } from 'vitest'
import { MAX_METADATA_BYTES, MAX_METADATA_DEPTH } from '../src/limits.js'
import { checkMetadata, checkStoredMetadata } from '../src/metadata.js'

function nested(depth: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = { a: v }
  return v
}

describe('checkMetadata', () => {
  it('stores plain JSON as JSON.stringify does, null for none', () => {
    expect(checkMetadata([{ a: 1, b: [true, 'x', null], c: undefined }, null, undefined, 'text', 3.5], 5)).toEqual([
      '{"a":1,"b":[true,"x",null]}',
      null,
      null,
      '"text"',
      '3.5',
    ])
    expect(checkMetadata([nested(MAX_METADATA_DEPTH)], 1)).toHaveLength(1)
  })

  it.each([
    ['NaN', { x: Number.NaN }, /at x.*finite/],
    ['Infinity in an array', { x: [1, Number.POSITIVE_INFINITY] }, /at x\[1\]/],
    ['a BigInt', { n: 5n }, /bigint/],
    ['a function', { f: () => 1 }, /function/],
    ['a symbol', [Symbol('s')], /symbol/],
    ['a Map', { m: new Map() }, /Map/],
    ['a Date', new Date(0), /Date/],
    ['too deep', nested(MAX_METADATA_DEPTH + 1), /deeper than 64/],
    ['too deep (1,500)', nested(1500), /deeper than 64/],
    ['too big', { s: 'x'.repeat(MAX_METADATA_BYTES) }, /bytes of JSON; the limit/],
  ])('refuses %s with BAD_METADATA', (_, value, message) => {
    expect(() => checkMetadata([null, value], 2)).toThrow(
      expect.objectContaining({ code: 'BAD_METADATA', message: expect.stringMatching(message) }),
    )
  })

  it('refuses cycles', () => {
    const a: Record<string, unknown> = { x: 1 }
    a['self'] = a
    expect(() => checkMetadata([a], 1)).toThrow(expect.objectContaining({ code: 'BAD_METADATA', message: expect.stringMatching(/itself/) }))
    const shared = { y: 2 }
    expect(checkMetadata([{ p: shared, q: shared }], 1)).toEqual(['{"p":{"y":2},"q":{"y":2}}'])
  })

  it('checks the count and the container', () => {
    expect(() => checkMetadata([1], 2)).toThrow(expect.objectContaining({ code: 'BAD_METADATA' }))
    expect(() => checkMetadata('x' as never, 1)).toThrow(expect.objectContaining({ code: 'BAD_METADATA' }))
  })
})

describe('checkStoredMetadata', () => {
  it('passes valid JSON and refuses damage as CORRUPT_FILE', () => {
    expect(checkStoredMetadata('{"a":1}', 'item 1')).toBe('{"a":1}')
    expect(checkStoredMetadata(null, 'item 1')).toBeNull()
    for (const bad of ['{"a":', 'nope', 5, JSON.stringify(nested(MAX_METADATA_DEPTH + 1))]) {
      expect(() => checkStoredMetadata(bad, 'item 7 of s.vqs')).toThrow(
        expect.objectContaining({ code: 'CORRUPT_FILE', message: expect.stringMatching(/^item 7 of s.vqs/) }),
      )
    }
  })
})
