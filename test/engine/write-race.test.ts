/**
 * The write fence on the real index: a pooled upsert (>= 16,384 vectors, so the encode
 * runs on the worker pool) with a pooled searchBatch started while the encode is in
 * flight. The upsert replaces existing items, so its apply compacts the list arenas in
 * place (InvertedLists.remove) and appends into them. The batch must see the index as it
 * was when it started (every row equal to the same search before the upsert), and the
 * upsert must wait for it; afterwards searches see the new vectors.
 *
 * The upsert's encode step is held open (after the pool has encoded the batch, before the
 * upsert may go on) until the batch has been dispatched to the free workers, so the batch
 * starts while the upsert is still encoding on every run, and the workers scan while the
 * upsert commits and changes the lists (the commit of 16,384 rows is much shorter than
 * the batch's scan). Without the fence the upsert settles first and rows scanned after its
 * change hold other ids and distances.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Encoded } from '../../src/search/model.js'
import { VqIndex } from '../../src/vq-index.js'
import { randomVectors } from '../helpers/data.js'

const D = 48
const N = 24_000
const UPSERT = 16_384
const NQ = 1024
const K = 10

let open: VqIndex[] = []
afterEach(async () => {
  await Promise.all(open.map((i) => i.close()))
  open = []
})

describe('write fence (pooled upsert vs pooled searchBatch)', () => {
  it('a searchBatch started during a pooled upsert encode sees the state before the upsert, and the upsert waits for it', async () => {
    const index = VqIndex.create(':memory:', { dim: D, description: 'Flat', threads: 2 })
    open.push(index)
    const ids = Float64Array.from({ length: N }, (_, i) => i)
    await index.add(ids, randomVectors(N, D, 1))
    const queries = randomVectors(NQ, D, 2)
    const before = await index.searchBatch(queries, K)

    // Hold the upsert's (pooled) encode until the batch is in flight.
    const model = index.model
    const encodeWith = model.encodeWith.bind(model)
    let encodeStarted!: () => void
    const started = new Promise<void>((r) => {
      encodeStarted = r
    })
    let release!: () => void
    const released = new Promise<void>((r) => {
      release = r
    })
    let pooled = false
    model.encodeWith = async (x: Float32Array, n: number, parallel?: Parameters<typeof encodeWith>[2]): Promise<Encoded> => {
      pooled = parallel !== undefined && parallel.threads > 1 && n >= 16_384
      const out = await encodeWith(x, n, parallel)
      encodeStarted()
      await released
      return out
    }

    const fresh = randomVectors(UPSERT, D, 3)
    const events: string[] = []
    const upsert = index.upsert(ids.subarray(0, UPSERT), fresh).then(() => {
      events.push('upsert')
    })
    await started
    const batch = index.searchBatch(queries, K).then((r) => {
      events.push('batch')
      return r
    })
    release()
    const [during] = await Promise.all([batch, upsert])
    expect(pooled).toBe(true)

    // Entries of the racing batch that differ from the same search before the upsert, and the order the calls settled in.
    let wrong = 0
    for (let i = 0; i < NQ * K; i++) if (during.ids[i] !== before.ids[i] || during.distances[i] !== before.distances[i]) wrong++
    expect({ wrong, settled: events }).toEqual({ wrong: 0, settled: ['batch', 'upsert'] })

    // After the upsert: the count is unchanged and every replaced id is found at its new vector.
    expect(index.size).toBe(N)
    const after = await index.searchBatch(fresh.subarray(0, 64 * D), 1)
    for (let i = 0; i < 64; i++) {
      expect(after.ids[i]).toBe(i)
      expect(after.distances[i]).toBe(0)
    }
    const q = queries.subarray(0, 8 * D)
    const pooledAfter = await index.searchBatch(q, K, { threads: 2 })
    expect(pooledAfter.nq).toBe(8)
    for (let i = 0; i < 8; i++)
      expect(Array.from(pooledAfter.row(i).ids)).toEqual(Array.from(index.search(q.subarray(i * D, (i + 1) * D), K).ids))
  })
})
