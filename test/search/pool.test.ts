import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type VqError, VqIndex } from '../../src/index.js'
import { WorkerPool } from '../../src/parallel/pool.js'
import { clusteredVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-pool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 16
const n = 6000
const x = clusteredVectors(n, d, 40, 41, 0.4)
const queries = clusteredVectors(300, d, 40, 42, 0.4)
const ids = Array.from({ length: n }, (_, i) => i)
const meta = ids.map((i) => ({ even: i % 2 === 0, bucket: i % 50 }))

describe('searchBatch on the worker pool', () => {
  it('gives exactly the results of sequential search, for every kind of index', async () => {
    for (const description of ['Flat', 'PQ8', 'IVF32,PQ8', 'OPQ8,IVF16,PQ8x4', 'IVF32,SQ8,RFlat', 'IVF16,PQ4,Refine(SQ8)']) {
      const index = VqIndex.create(join(dir, `${description.replace(/\W/g, '_')}.vqlite`), {
        dim: d, metric: 'cosine', description, storeVectors: 'float16', threads: 2,
      })
      await index.train(x, { seed: 4, opqIterations: 3 })
      await index.add(ids, x, meta)
      for (const opts of [{ nprobe: 4, refineFactor: 3 }, { nprobe: 2, filter: { bucket: { $lt: 3 } } }]) {
        const seq = await index.searchBatch(queries, 10, { ...opts, threads: 0 })
        const par = await index.searchBatch(queries, 10, { ...opts, threads: 2 })
        expect(par.ids, description).toEqual(seq.ids)
        expect(par.distances, description).toEqual(seq.distances)
        for (let i = 0; i < 5; i++) expect(index.search(queries.subarray(i * d, (i + 1) * d), 10, opts).ids).toEqual(seq.row(i).ids)
      }
      // Writes between batches reach the workers (new index version).
      await index.delete(ids.slice(0, 100))
      const seq = await index.searchBatch(queries, 10, { threads: 0 })
      expect((await index.searchBatch(queries, 10, { threads: 2 })).ids).toEqual(seq.ids)
      await index.close()
    }
  })

  it('training (IVF k-means assignment, PQ sub-quantizers) and encoding on the pool give the same index', async () => {
    const big = clusteredVectors(40000, d, 200, 44, 0.4)
    const bigIds = Array.from({ length: 40000 }, (_, i) => i)
    const results = []
    for (const threads of [0, 2]) {
      const index = VqIndex.create(':memory:', { dim: d, description: 'IVF256,PQ8', threads })
      const before = WorkerPool.live().length
      await index.train(big, { seed: 5 })
      // With threads: 2 the training really went to a pool.
      expect(WorkerPool.live().length).toBe(before + (threads > 1 ? 1 : 0))
      await index.add(bigIds, big)
      results.push({ arrays: index.model.exportArrays(), r: await index.searchBatch(queries, 10, { threads: 0 }) })
      await index.close()
    }
    expect(results[1]!.arrays['ivf.centroids']!.data).toEqual(results[0]!.arrays['ivf.centroids']!.data)
    expect(results[1]!.arrays['codec.centroids']!.data).toEqual(results[0]!.arrays['codec.centroids']!.data)
    expect(results[1]!.r.ids).toEqual(results[0]!.r.ids)
    expect(results[1]!.r.distances).toEqual(results[0]!.r.distances)
  })

  it('a worker that dies fails its call with WORKER_FAILED, and the pool recovers', async () => {
    const index = VqIndex.create(':memory:', { dim: d, description: 'IVF16,SQ8', threads: 2 })
    await index.train(x)
    await index.add(ids, x)
    const big = clusteredVectors(20000, d, 40, 43, 0.4)
    const want = await index.searchBatch(big, 10, { threads: 0 })
    await index.searchBatch(queries, 10) // starts the pool
    const running = index.searchBatch(big, 10)
    // Terminate one worker thread while the call is running.
    const workers = await workersOf(index)
    await new Promise((r) => setTimeout(r, 20))
    await workers[0]!.terminate()
    const e = await running.then(() => undefined, (err: VqError) => err)
    expect(e?.code).toBe('WORKER_FAILED')
    const again = await index.searchBatch(big, 10)
    expect(again.ids).toEqual(want.ids)
    await index.close()
  })
})

/** The pool's worker threads (through the pool object the index keeps). */
async function workersOf(index: VqIndex): Promise<readonly import('node:worker_threads').Worker[]> {
  const { WorkerPool } = await import('../../src/parallel/pool.js')
  void index
  const pools = WorkerPool.live()
  return pools[pools.length - 1]!.workers
}
