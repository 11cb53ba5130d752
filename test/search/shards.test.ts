/**
 * VqShards: shards made with createLike from a trained index, holding the items of that
 * index split by id range, return the same results (ids and distances) as the one index,
 * for every composition kind a shard set supports (IVF-PQ with and without RFlat, flat
 * scan, cosine), with filters, one query or a batch; shards that do not share a model
 * are refused.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type Metric, VqError, VqIndex, VqShards } from '../../src/index.js'
import { Rng } from '../../src/util/random.js'
import { expectVqError } from '../helpers/errors.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()
const dir = mkdtempSync(join(tmpdir(), 'vqlite-shards-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const n = 6000
const d = 16
const rng = new Rng(33)
// Clustered data, so that lists differ in size and many candidates lie near each other.
const centres = new Float32Array(40 * d).map(() => 3 * rng.normal())
const x = new Float32Array(n * d)
for (let i = 0; i < n; i++) {
  const c = rng.int(40)
  for (let t = 0; t < d; t++) x[i * d + t] = centres[c * d + t]! + rng.normal()
}
const nq = 60
const queries = new Float32Array(nq * d).map(() => 3 * rng.normal())
const ids = Float64Array.from({ length: n }, (_, i) => i)
const meta = Array.from({ length: n }, (_, i) => ({ odd: i % 2 === 1, i }))
let seq = 0
const path = (): string => join(dir, `f${seq++}.vq`)

async function pair(
  description: string,
  metric: Metric,
  cuts: number[],
): Promise<{ one: VqIndex<{ odd: boolean; i: number }>; shards: VqShards<{ odd: boolean; i: number }> }> {
  const one = VqIndex.create<{ odd: boolean; i: number }>(path(), { dim: d, metric, description, storeVectors: 'float32', threads: 1 })
  await one.train(x, { seed: 3 })
  await one.add(ids, x, meta)
  const shards = await VqShards.create<{ odd: boolean; i: number }>(
    cuts.slice(1).map(() => path()),
    one,
    { threads: 1 },
  )
  for (let s = 0; s + 1 < cuts.length; s++) {
    const [a, b] = [cuts[s]!, cuts[s + 1]!]
    await shards.shards[s]!.add(ids.subarray(a, b), x.subarray(a * d, b * d), meta.slice(a, b))
  }
  return { one, shards }
}

/**
 * Exact distances (RFlat) are bit for bit those of the one index. First-stage distances
 * (no refine stage) may differ in the last float32 bits: the scan kernels sum an item's
 * table entries in an order that depends on its position in its list (blocks and tails).
 */
function same(got: Float32Array, want: Float32Array, description: string): void {
  if (description.includes('RFlat')) {
    expect(Array.from(got)).toEqual(Array.from(want))
    return
  }
  for (let j = 0; j < want.length; j++) expect(Math.abs(got[j]! - want[j]!)).toBeLessThanOrEqual(1e-5 * Math.abs(want[j]!))
}

describe('sharded search equals one index', () => {
  it.each([
    ['IVF32,PQ8,RFlat', 'l2', [0, 1500, 4000, 4100, 6000]],
    ['IVF32,PQ8x4,RFlat', 'l2', [0, 3000, 6000]],
    ['IVF32,PQ8', 'l2', [0, 2000, 4000, 6000]],
    ['IVF16,SQ8,RFlat', 'cosine', [0, 100, 6000]],
    ['PQ4x4,RFlat', 'ip', [0, 2500, 5000, 6000]],
  ] as const)('%s (%s), cuts %j', async (description, metric, cuts) => {
    const { one, shards } = await pair(description, metric, [...cuts])
    expect(shards.size).toBe(n)
    let compared = 0
    for (const o of [
      { nprobe: 1 },
      { nprobe: 4, refineFactor: 4 },
      { nprobe: 32, refineFactor: 16 },
      { nprobe: 8, filter: { odd: true } },
    ]) {
      for (let q = 0; q < nq; q++) {
        const query = queries.subarray(q * d, (q + 1) * d)
        const a = one.search(query, 10, o)
        const b = shards.search(query, 10, o)
        expect(Array.from(b.ids)).toEqual(Array.from(a.ids))
        same(b.distances, a.distances, description)
        compared++
      }
      const batch = await shards.searchBatch(queries, 10, { ...o, threads: 0 })
      const whole = await one.searchBatch(queries, 10, { ...o, threads: 0 })
      expect(Array.from(batch.ids)).toEqual(Array.from(whole.ids))
      same(batch.distances, whole.distances, description)
    }
    expect(compared).toBe(4 * nq)
    const m = shards.search(queries.subarray(0, d), 5, { nprobe: 8, includeMetadata: true })
    expect(m.metadata).toEqual(Array.from(m.ids, (id) => meta[id]))
    expect(shards.get(4500)?.metadata).toEqual(meta[4500])
    expect(shards.shardOf(cuts[1]!)).toBe(1)
  })

  it('k beyond the items, and shards that are empty', async () => {
    const { one, shards } = await pair('IVF8,PQ4,RFlat', 'l2', [0, 0, 30, 30])
    await one.delete(Array.from({ length: n - 30 }, (_, i) => 30 + i))
    const a = one.search(queries.subarray(0, d), 50, { nprobe: 8, refineFactor: 3 })
    const b = shards.search(queries.subarray(0, d), 50, { nprobe: 8, refineFactor: 3 })
    expect(Array.from(b.ids)).toEqual(Array.from(a.ids))
    expect(b.ids[40]).toBe(-1)
  })
})

describe('what a shard set refuses', () => {
  it('another model, another composition, string ids, no index', async () => {
    const a = VqIndex.create(path(), { dim: d, description: 'IVF8,PQ4,RFlat', storeVectors: 'float32' })
    await a.train(x, { seed: 1 })
    const b = VqIndex.create(path(), { dim: d, description: 'IVF8,PQ4,RFlat', storeVectors: 'float32' })
    await b.train(x, { seed: 2 })
    const c = VqIndex.create(path(), { dim: d, description: 'IVF8,PQ8,RFlat', storeVectors: 'float32' })
    await c.train(x, { seed: 1 })
    const s = VqIndex.create(path(), { dim: d, description: 'IVF8,PQ4,RFlat', storeVectors: 'float32', ids: 'string' })
    await s.train(x, { seed: 1 })
    expectVqError(() => VqShards.from([a, b]), VqError, 'BAD_ARGUMENT')
    expectVqError(() => VqShards.from([a, c]), VqError, 'BAD_ARGUMENT')
    expectVqError(() => VqShards.from([a, s as never]), VqError, 'ID_KIND')
    expectVqError(() => VqShards.from([]), VqError, 'BAD_ARGUMENT')
    const like = await VqIndex.createLike(path(), a)
    expect(() => VqShards.from([a, like])).not.toThrow()
    expect(like.isTrained && like.size === 0).toBe(true)
    const untrained = VqIndex.create(path(), { dim: d, description: 'IVF8,PQ4,RFlat', storeVectors: 'float32' })
    await expect(VqIndex.createLike(path(), untrained)).rejects.toMatchObject({ code: 'NOT_TRAINED' })
  })
})

describe('exportModel / createFromModel', () => {
  it('a model passed as plain data (a structured clone, as between threads) encodes as the source', async () => {
    const src = VqIndex.create(path(), { dim: d, metric: 'cosine', description: 'OPQ4,IVF16,PQ4,RFlat', storeVectors: 'float32' })
    await src.train(x, { seed: 5 })
    await src.add(ids, x)
    const model = structuredClone(src.exportModel())
    const copy = await VqIndex.createFromModel(':memory:', model)
    expect(copy.description).toBe(src.description)
    await copy.add(ids, x)
    for (let q = 0; q < 10; q++) {
      const query = queries.subarray(q * d, (q + 1) * d)
      expect(Array.from(copy.search(query, 10, { nprobe: 4, refineFactor: 2 }).ids)).toEqual(
        Array.from(src.search(query, 10, { nprobe: 4, refineFactor: 2 }).ids),
      )
    }
    await expect(VqIndex.createFromModel(path(), { ...model, arrays: 'no' } as never)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
    await expect(VqIndex.createFromModel(path(), null as never)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
    const [name, a] = Object.entries(model.arrays)[0]!
    const shrunk = { ...model, arrays: { ...model.arrays, [name]: { shape: [1], data: a.data.subarray(0, 1) } } }
    const target = path()
    const e = await VqIndex.createFromModel(target, shrunk).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(VqError)
    expect(existsSync(target)).toBe(false)
  })
})
