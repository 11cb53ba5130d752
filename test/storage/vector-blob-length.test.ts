/**
 * Every stored-vector read is length-checked per row: one damaged blob (short, long, NULL,
 * text, or a float16 infinity) is CORRUPT_FILE naming its id, never a shift of the
 * re-ranking batch that gives other ids wrong distances or drops them.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fillVectors } from '../../src/engine/vector-codec.js'
import { type VqError, VqFormatError, VqIndex } from '../../src/index.js'
import { exactKnn } from '../../src/search/exact.js'
import { openVectorReader, readVectorBlobs } from '../../src/storage/vector-reader.js'
import { randomVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-vblob-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 8
const n = 300
const x = randomVectors(n, d, 11)
const ids = Array.from({ length: n }, (_, i) => 10 * i)

async function build(name: string, storeVectors: 'float32' | 'float16'): Promise<string> {
  const p = join(dir, name)
  const ix = VqIndex.create(p, { dim: d, description: 'IVF4,PQ4,RFlat', storeVectors, threads: 0 })
  await ix.train(x, { seed: 3 })
  await ix.add(ids, x)
  await ix.close()
  return p
}

/** Runs SQL on the file directly (the damage), then reopens it as an index. */
function damage(p: string, sql: string, ...params: unknown[]): void {
  const db = new Database(p)
  db.prepare(sql).run(...params)
  db.close()
}

function thrown(f: () => unknown): VqError {
  try {
    f()
  } catch (e) {
    return e as VqError
  }
  throw new Error('expected an error')
}

/** Searches for the vector of item i with every list probed and enough candidates to re-rank item i. */
function searchAround(ix: VqIndex, i: number): ReturnType<VqIndex['search']> {
  return ix.search(x.subarray(i * d, (i + 1) * d), 5, { nprobe: 4, refineFactor: 60 })
}

let f32: string
let f16: string
beforeAll(async () => {
  f32 = await build('f32.vqlite', 'float32')
  f16 = await build('f16.vqlite', 'float16')
})

describe('a damaged stored vector', () => {
  it('an intact index re-ranks exactly (the baseline the damage is measured against)', () => {
    const ix = VqIndex.open(f32, { threads: 0 })
    const r = searchAround(ix, 7)
    const exact = exactKnn(x, n, x.subarray(7 * d, 8 * d), 1, d, 5, 'l2')
    expect(Array.from(r.ids)).toEqual(Array.from(exact.labels, (j) => ids[j]!))
    ix.close()
  })

  const cases: [string, string, unknown[]][] = [
    ['4 bytes short', 'UPDATE vq_vectors SET vector = substr(vector, 1, length(vector) - 4) WHERE id = ?', [70]],
    ['4 bytes long', "UPDATE vq_vectors SET vector = vector || x'00000000' WHERE id = ?", [70]],
    ['an integer', 'UPDATE vq_vectors SET vector = 12345 WHERE id = ?', [70]],
    ['text of another length', "UPDATE vq_vectors SET vector = 'abcdefghijklmnopqrstuvwxyz' WHERE id = ?", [70]],
    ['text of multi-byte characters', "UPDATE vq_vectors SET vector = 'ééééééééééééééé' WHERE id = ?", [70]],
    ['empty', "UPDATE vq_vectors SET vector = x'' WHERE id = ?", [70]],
  ]
  for (const [what, sql, params] of cases) {
    it(`${what}: search is CORRUPT_FILE naming the id, get too`, async () => {
      const p = join(dir, `dmg-${what.replace(/\W/g, '')}.vqlite`)
      rmSync(p, { force: true })
      const src = new Database(f32, { readonly: true })
      await src.backup(p)
      src.close()
      damage(p, sql, ...params)
      const ix = VqIndex.open(p, { threads: 0 })
      const e = thrown(() => searchAround(ix, 7))
      expect(e).toBeInstanceOf(VqFormatError)
      expect(e.code).toBe('CORRUPT_FILE')
      expect(e.message).toContain('id 70')
      const g = thrown(() => ix.get(70))
      expect(g.code).toBe('CORRUPT_FILE')
      ix.close()
    })
  }

  it('one row short and another long by as much (the batch total unchanged) is still caught', async () => {
    const p = join(dir, 'dmg-pair.vqlite')
    const src = new Database(f32, { readonly: true })
    await src.backup(p)
    src.close()
    damage(p, 'UPDATE vq_vectors SET vector = substr(vector, 1, length(vector) - 4) WHERE id = ?', 70)
    damage(p, "UPDATE vq_vectors SET vector = vector || x'00000000' WHERE id = ?", 80)
    const ix = VqIndex.open(p, { threads: 0 })
    const e = thrown(() => searchAround(ix, 7))
    expect(e.code).toBe('CORRUPT_FILE')
    expect(e.message).toMatch(/id (70|80)/)
    ix.close()
  })

  it('every row of the wrong size (all the same) is CORRUPT_FILE, not a silent misread', async () => {
    const p = join(dir, 'dmg-all.vqlite')
    const src = new Database(f32, { readonly: true })
    await src.backup(p)
    src.close()
    damage(p, 'UPDATE vq_vectors SET vector = substr(vector, 1, 16)')
    const ix = VqIndex.open(p, { threads: 0 })
    expect(thrown(() => searchAround(ix, 7)).code).toBe('CORRUPT_FILE')
    ix.close()
  })

  it('float16: a short row and an infinite component are CORRUPT_FILE naming the id', async () => {
    for (const [sql, tag] of [
      ['UPDATE vq_vectors SET vector = substr(vector, 1, length(vector) - 2) WHERE id = ?', 'short'],
      ["UPDATE vq_vectors SET vector = x'007c' || substr(vector, 3) WHERE id = ?", 'inf'],
    ] as const) {
      const p = join(dir, `dmg16-${tag}.vqlite`)
      const src = new Database(f16, { readonly: true })
      await src.backup(p)
      src.close()
      damage(p, sql, 70)
      const ix = VqIndex.open(p, { threads: 0 })
      const e = thrown(() => searchAround(ix, 7))
      expect(e.code).toBe('CORRUPT_FILE')
      expect(e.message).toContain('id 70')
      ix.close()
    }
  })
})

describe('readVectorBlobs / fillVectors on rows of differing lengths', () => {
  it('keeps each row at its own offset and names the damaged one', async () => {
    const p = join(dir, 'rows.vqlite')
    const src = new Database(f32, { readonly: true })
    await src.backup(p)
    src.close()
    damage(p, 'UPDATE vq_vectors SET vector = substr(vector, 1, 8) WHERE id = ?', 20)
    const { conn, stmt } = openVectorReader(p)
    const ask = Float64Array.from([30, 0, 20, 10])
    const rows = readVectorBlobs(stmt, ask, 4)
    expect(Array.from(rows.ids)).toEqual([0, 10, 20, 30])
    expect(Array.from(rows.lengths ?? [])).toEqual([4 * d, 4 * d, 8, 4 * d])
    const out = new Float32Array(4 * d)
    // Without the damaged id, the others decode to their own vectors.
    const ok = Float64Array.from([30, 0, 10])
    const found = fillVectors(readVectorBlobs(stmt, ok, 3), ok, 3, 'float32', d, out)
    expect(Array.from(found)).toEqual([1, 1, 1])
    expect(Array.from(out.subarray(0, d))).toEqual(Array.from(x.subarray(3 * d, 4 * d)))
    expect(Array.from(out.subarray(2 * d, 3 * d))).toEqual(Array.from(x.subarray(d, 2 * d)))
    const e = thrown(() => fillVectors(rows, ask, 4, 'float32', d, out))
    expect(e.code).toBe('CORRUPT_FILE')
    expect(e.message).toContain('id 20')
    conn.close()
  })
})

describe('a stored float32 vector of the right length but not finite', () => {
  it('is CORRUPT_FILE naming the id when a search re-ranks it (and in get), never a NaN distance or a dropped result', async () => {
    const p = join(dir, 'nan.vqlite')
    const src = new Database(f32, { readonly: true })
    await src.backup(p)
    src.close()
    damage(p, 'UPDATE vq_vectors SET vector = ? WHERE id = ?', Buffer.alloc(4 * d, 0xff), 70)
    const ix = VqIndex.open(p, { threads: 0 })
    const e = thrown(() => searchAround(ix, 7))
    expect(e).toBeInstanceOf(VqFormatError)
    expect(e.code).toBe('CORRUPT_FILE')
    expect(e.message).toContain('id 70')
    expect(thrown(() => ix.get(70)).code).toBe('CORRUPT_FILE')
    // Searches whose candidates do not include it answer as before.
    expect(ix.search(x.subarray(200 * d, 201 * d), 1, { nprobe: 1, refineFactor: 1 }).ids[0]).toBe(2000)
    await ix.close()
  })
})
