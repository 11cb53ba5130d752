/** VqShards.searchBatch with real worker pools (phase 1 on each shard's workers): the one index's results. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { VqIndex, VqShards } from '../../src/index.js'
import { randomVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-shards-pool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('phase 1 on worker pools, shards searched at once', async () => {
  const n = 8000
  const d = 24
  const x = randomVectors(n, d, 61)
  const q = randomVectors(300, d, 62)
  const ids = Float64Array.from({ length: n }, (_, i) => i)
  const one = VqIndex.create(join(dir, 'one.vq'), { dim: d, description: 'IVF32,PQ12x4,RFlat', storeVectors: 'float32', threads: 2 })
  await one.train(x, { seed: 2 })
  await one.add(ids, x)
  const shards = await VqShards.create([join(dir, 's0.vq'), join(dir, 's1.vq'), join(dir, 's2.vq')], one, { threads: 2 })
  const cuts = [0, 3000, 5000, n]
  for (let s = 0; s < 3; s++) await shards.shards[s]!.add(ids.subarray(cuts[s]!, cuts[s + 1]!), x.subarray(cuts[s]! * d, cuts[s + 1]! * d))
  const o = { nprobe: 8, refineFactor: 4 }
  const want = await one.searchBatch(q, 10, { ...o, threads: 0 })
  const got = await shards.searchBatch(q, 10, { ...o, threads: 2 })
  expect(Array.from(got.ids)).toEqual(Array.from(want.ids))
  expect(Array.from(got.distances)).toEqual(Array.from(want.distances))
  expect([...got].length).toBe(300)
  await shards.close()
  await one.close()
}, 120_000)
