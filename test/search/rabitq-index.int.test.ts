/**
 * RaBitQ indexes on the worker pool: searchBatch with 0 and 2 worker threads returns, row
 * for row, what search() returns on the calling thread (1-bit IVF RaBitQ with RFlat, whose
 * bound-driven re-ranking reads the stored vectors from each worker's own connection; and
 * 4-bit), for several qb, refine factors and a filter, and again after writes.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { type BatchSearchOptions, type Metric, VqIndex } from '../../src/index.js'
import { WorkerPool } from '../../src/parallel/pool.js'
import { clusteredSearchSet } from '../helpers/data.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()

const dir = mkdtempSync(join(tmpdir(), 'vqlite-rabitq-pool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const d = 48
const n = 3000
const nq = 120
const k = 10
const { x, queries } = clusteredSearchSet(n, nq, d, 30, 21, 1)
const ids = Array.from({ length: n }, (_, i) => 3 * i + 2)
const meta = ids.map((_, i) => ({ bucket: i % 7 }))

/** Every row of the batch equals search() of that query with the same options. */
function expectRowsEqualSearch(
  index: VqIndex,
  batch: { row(i: number): { ids: Float64Array; distances: Float32Array } },
  opts: BatchSearchOptions,
): void {
  const { threads: _, ...searchOpts } = opts
  for (let i = 0; i < nq; i++) {
    const one = index.search(queries.subarray(i * d, (i + 1) * d), k, searchOpts)
    const row = batch.row(i)
    expect(row.ids, `row ${i} ${JSON.stringify(opts)}`).toEqual(one.ids)
    expect(row.distances, `row ${i} ${JSON.stringify(opts)}`).toEqual(one.distances)
  }
}

describe('searchBatch of RaBitQ indexes on the worker pool', () => {
  const cases: Array<[string, Metric]> = [
    ['IVF16,RaBitQ,RFlat', 'l2'],
    ['IVF16,RaBitQ,RFlat', 'cosine'],
    ['IVF16,RaBitQ4,RFlat', 'ip'],
    ['IVF16,RaBitQ', 'l2'],
  ]
  for (const [description, metric] of cases) {
    it(`${description} / ${metric}: threads 0 and 2 equal search() row for row`, async () => {
      const index = VqIndex.create(join(dir, `${description.replace(/\W/g, '_')}-${metric}.vqlite`), {
        dim: d,
        metric,
        description,
        storeVectors: description.includes('RFlat') ? 'float32' : 'none',
        threads: 2,
      })
      await index.train(x, { seed: 5 })
      await index.add(ids, x, meta)
      const variants: BatchSearchOptions[] = [
        { nprobe: 4, refineFactor: 8 },
        { nprobe: 16, refineFactor: 32, qb: 0 },
        { nprobe: 2, refineFactor: 4, qb: 8 },
        { nprobe: 4, refineFactor: 1, qb: 2 },
        { nprobe: 3, refineFactor: 16, filter: { bucket: { $in: [1, 3] } } },
      ]
      // The 2-thread batches really go to the worker pool (and the 0-thread ones do not).
      const poolSearch = vi.spyOn(WorkerPool.prototype, 'search')
      for (const opts of variants) {
        const seq = await index.searchBatch(queries, k, { ...opts, threads: 0 })
        expect(poolSearch).not.toHaveBeenCalled()
        const par = await index.searchBatch(queries, k, { ...opts, threads: 2 })
        expect(poolSearch).toHaveBeenCalledTimes(1)
        poolSearch.mockClear()
        expect(par.ids, JSON.stringify(opts)).toEqual(seq.ids)
        expect(par.distances, JSON.stringify(opts)).toEqual(seq.distances)
        expectRowsEqualSearch(index, par, opts)
      }
      // Writes between batches reach the workers: deleted ids are gone from every row.
      const deleted = ids.filter((_, i) => i % 4 === 0)
      await index.delete(deleted)
      const gone = new Set(deleted)
      const opts = { nprobe: 8, refineFactor: 16 }
      const seq = await index.searchBatch(queries, k, { ...opts, threads: 0 })
      const par = await index.searchBatch(queries, k, { ...opts, threads: 2 })
      expect(par.ids).toEqual(seq.ids)
      expect(par.distances).toEqual(seq.distances)
      for (const id of par.ids) expect(gone.has(id)).toBe(false)
      expectRowsEqualSearch(index, par, opts)
      poolSearch.mockRestore()
      await index.close()
    }, 60_000)
  }
})
