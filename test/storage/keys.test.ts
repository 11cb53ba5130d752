/**
 * KeyTable.keysOf: the keys of a list of integer ids, in their order ('' for -1 and for an
 * id without a key), the same by both statements (ids bound one by one up to BOUND_KEYS,
 * a JSON list beyond), for every count met, including more counts than the cache keeps.
 */
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { KEYS_SCHEMA, KeyTable } from '../../src/storage/keys.js'
import { Rng } from '../../src/util/random.js'

function table(nKeys: number): { keys: KeyTable; byId: Map<number, string>; close: () => void } {
  const db = new Database(':memory:')
  db.exec(KEYS_SCHEMA)
  const keys = new KeyTable(db, ':memory:')
  const names = Array.from({ length: nKeys }, (_, i) => `key-${i}-${'é✓'.repeat(i % 3)}`)
  const ids = new Float64Array(nKeys)
  db.transaction(() =>
    keys.insert(
      names,
      ids,
      names.map((_, i) => i),
    ),
  )()
  // A few deleted, so some ids have no key.
  const gone = [3, 7, 11].filter((i) => i < nKeys).map((i) => ids[i]!)
  db.transaction(() => keys.delete(gone))()
  const byId = new Map<number, string>()
  names.forEach((name, i) => {
    if (!gone.includes(ids[i]!)) byId.set(ids[i]!, name)
  })
  return { keys, byId, close: () => db.close() }
}

describe('KeyTable.keysOf', () => {
  it('gives each id its key, in order, "" for -1, deleted and unknown ids, for every count 0..40 and beyond the bound size', () => {
    const { keys, byId, close } = table(500)
    const rng = new Rng(9)
    const counts = [...Array.from({ length: 41 }, (_, n) => n), 255, 256, 257, 300, 1000]
    for (const n of counts) {
      const ids = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const r = rng.int(10)
        ids[i] = r === 0 ? -1 : r === 1 ? 10_000 + rng.int(100) : 1 + rng.int(500)
      }
      const got = keys.keysOf(ids, n)
      expect(got.length).toBe(n)
      expect(got).toEqual(Array.from(ids, (id) => byId.get(id) ?? ''))
      // Only the first n ids count.
      if (n > 0) expect(keys.keysOf(ids, n - 1)).toEqual(got.slice(0, n - 1))
    }
    close()
  })

  it('the same id twice gives its key twice', () => {
    const { keys, byId, close } = table(20)
    const ids = [5, 5, 1, 5, -1, 1]
    expect(keys.keysOf(ids)).toEqual(ids.map((id) => byId.get(id) ?? ''))
    close()
  })
})
