import { describe, expect, it } from 'vitest'
import { packValue, unpackMultiple, unpackValue } from '../../src/storage/msgpack.js'

/** A record with every kind of value the storage layer writes: typed arrays, numbers, strings, null, booleans. */
const record = {
  kind: 'items',
  n: 3,
  ids: new Float64Array([1, 2.5]),
  lists: new Int32Array([-1, 7]),
  codes: new Uint8Array([0, 255]),
  f: new Float32Array([0.5]),
  m: ['a', null],
  ok: true,
}

describe('the storage msgpack codec', () => {
  it('writes the bytes existing index files and snapshots hold (wire format pinned)', () => {
    // Bytes written by vqlite before the codec was shared (msgpackr, moreTypes, no records):
    // typed arrays as msgpackr's 't' extension, maps as map16, no record structures.
    expect(packValue(record).toString('hex')).toBe(
      'de0008a46b696e64a56974656d73a16e03a3696473c7117408000000000000f03f0000000000000440a56c69737473c7097405ffffffff07000000' +
        'a5636f646573c703740100ffa166c70574070000003fa16d92a161c0a26f6bc3',
    )
    expect(packValue({ dim: 8, description: 'PQ4', counts: [1, 2] }).toString('hex')).toBe(
      'de0003a364696d08ab6465736372697074696f6ea3505134a6636f756e7473920102',
    )
  })

  it('round-trips typed arrays as typed arrays of the same kind and values', () => {
    const back = unpackValue(packValue(record)) as typeof record
    expect(back.ids).toBeInstanceOf(Float64Array)
    expect(back.lists).toBeInstanceOf(Int32Array)
    expect(back.codes).toBeInstanceOf(Uint8Array)
    expect(back.f).toBeInstanceOf(Float32Array)
    expect(Array.from(back.ids)).toEqual([1, 2.5])
    expect(Array.from(back.lists)).toEqual([-1, 7])
    expect(Array.from(back.codes)).toEqual([0, 255])
    expect(Array.from(back.f)).toEqual([0.5])
    expect(back.m).toEqual(['a', null])
    expect(back.ok).toBe(true)
    expect(back.kind).toBe('items')
  })

  it('decodes concatenated values in order, and reports where an unfinished one begins', () => {
    const a = packValue({ kind: 'header', version: 1 })
    const b = packValue({ kind: 'arrays', data: new Float32Array(64).fill(1.25) })
    const c = packValue({ kind: 'end', count: 0 })
    const seen: unknown[] = []
    unpackMultiple(Buffer.concat([a, b, c]), (v) => seen.push(v))
    expect(seen.map((v) => (v as { kind: string }).kind)).toEqual(['header', 'arrays', 'end'])

    const cut = Buffer.concat([a, b.subarray(0, b.length - 10)])
    const partial: unknown[] = []
    let err: { incomplete?: boolean; lastPosition?: number } | undefined
    try {
      unpackMultiple(cut, (v) => partial.push(v))
    } catch (e) {
      err = e as typeof err
    }
    expect(partial).toHaveLength(1)
    expect(err?.incomplete).toBe(true)
    expect(err?.lastPosition).toBe(a.length)
  })
})
