import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, afterEach, describe, expect, it, type MockInstance, vi } from 'vitest'
import { type VqError, VqIndex } from '../../src/index.js'
import { WorkerPool, workerEntry } from '../../src/parallel/pool.js'
import { clusteredVectors } from '../helpers/data.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()

const dir = mkdtempSync(join(tmpdir(), 'vqlite-pool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 16
const n = 3000
const x = clusteredVectors(n, d, 40, 41, 0.4)
const queries = clusteredVectors(200, d, 40, 42, 0.4)
const ids = Array.from({ length: n }, (_, i) => i)
const meta = ids.map((i) => ({ even: i % 2 === 0, bucket: i % 50 }))
/** Spies on WorkerPool methods (the calls go through), removed after each test. */
const poolSpies: MockInstance[] = []
const spyPool = <M extends 'assign' | 'trainPq' | 'encode' | 'search'>(method: M): MockInstance => {
  const spy = vi.spyOn(WorkerPool.prototype, method) as MockInstance
  poolSpies.push(spy)
  return spy
}
afterEach(() => {
  for (const s of poolSpies.splice(0)) s.mockRestore()
})

describe('searchBatch on the worker pool', () => {
  it.each(['Flat', 'PQ8', 'IVF32,PQ8', 'OPQ8,IVF16,PQ8x4', 'IVF32,SQ8,RFlat', 'IVF16,PQ4,Refine(SQ8)', 'SQ4', 'SQfp16'])(
    '%s: exactly the results of sequential search',
    async (description) => {
      {
        const index = VqIndex.create(join(dir, `${description.replace(/\W/g, '_')}.vqlite`), {
          dim: d,
          metric: 'cosine',
          description,
          storeVectors: 'float16',
          threads: 2,
        })
        await index.train(x, { seed: 4, opqIterations: 3 })
        await index.add(ids, x, meta)
        for (const opts of [
          { nprobe: 4, refineFactor: 3 },
          { nprobe: 2, filter: { bucket: { $lt: 3 } } },
        ]) {
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
    },
  )

  it('training (IVF k-means assignment, PQ sub-quantizers) and encoding on the pool give the same index', async () => {
    const big = clusteredVectors(40000, d, 200, 44, 0.4)
    const bigIds = Array.from({ length: 40000 }, (_, i) => i)
    const results = []
    for (const threads of [0, 2]) {
      const index = VqIndex.create(':memory:', { dim: d, description: 'IVF256,PQ8', threads })
      const assign = spyPool('assign')
      const trainPq = spyPool('trainPq')
      const encode = spyPool('encode')
      // 40,000 training points for 256 lists: enough work for the pool's k-means steps.
      await index.train(big, { seed: 5, ivfMaxPointsPerCentroid: 256, ivfIterations: 2, iterations: 2 })
      // With threads: 2 the training really went to a pool (k-means steps and sub-quantizers).
      expect(assign.mock.calls.length > 0, 'k-means on the pool').toBe(threads > 1)
      expect(trainPq.mock.calls.length, 'PQ training on the pool').toBe(threads > 1 ? 1 : 0)
      await index.add(bigIds, big)
      expect(encode.mock.calls.length, 'encoding on the pool').toBe(threads > 1 ? 1 : 0)
      for (const spy of poolSpies.splice(0)) spy.mockRestore()
      results.push({ arrays: index.model.exportArrays(), r: await index.searchBatch(queries, 10, { threads: 0 }) })
      await index.close()
    }
    expect(results[1]!.arrays['ivf.centroids']!.data).toEqual(results[0]!.arrays['ivf.centroids']!.data)
    expect(results[1]!.arrays['codec.centroids']!.data).toEqual(results[0]!.arrays['codec.centroids']!.data)
    expect(results[1]!.r.ids).toEqual(results[0]!.r.ids)
    expect(results[1]!.r.distances).toEqual(results[0]!.r.distances)
  }, 30_000) // above the pool's work thresholds (2^27 multiply-adds per step) by design: heavier than a unit test

  it('a worker that dies fails its call with WORKER_FAILED, and the pool recovers', async () => {
    const index = VqIndex.create(':memory:', { dim: d, description: 'IVF16,SQ8', threads: 2 })
    await index.train(x)
    await index.add(ids, x)
    const big = clusteredVectors(8000, d, 40, 43, 0.4)
    const want = await index.searchBatch(big, 10, { threads: 0 })
    const search = spyPool('search')
    await index.searchBatch(queries, 10) // starts the pool
    const pool = search.mock.contexts[0] as WorkerPool
    expect(pool).toBeInstanceOf(WorkerPool)
    const running = index.searchBatch(big, 10)
    // Terminate one worker thread while the call is running.
    const workers = pool.workers
    await new Promise((r) => setTimeout(r, 20))
    await workers[0]!.terminate()
    const e = await running.then(
      () => undefined,
      (err: VqError) => err,
    )
    expect(e?.code).toBe('WORKER_FAILED')
    const again = await index.searchBatch(big, 10)
    expect(again.ids).toEqual(want.ids)
    await index.close()
  })
})

describe('the worker script', () => {
  const caught = (f: () => unknown): VqError => {
    try {
      f()
    } catch (e) {
      return e as VqError
    }
    throw new Error('expected a throw')
  }
  /** A fake install: root/src/parallel/pool.<ext> (the module asking), plus the given files. */
  const layout = (files: string[]): string => {
    const root = mkdtempSync(join(dir, 'layout-'))
    for (const f of files) {
      mkdirSync(join(root, f, '..'), { recursive: true })
      writeFileSync(join(root, f), '')
    }
    return root
  }

  it('is the one beside the running pool module: worker.ts through tsx from the sources', () => {
    const e = workerEntry()
    expect(e.filename).toBe(fileURLToPath(new URL('../../src/parallel/worker.ts', import.meta.url)))
    expect(e.execArgv?.[0]).toBe('--import')
    expect(e.execArgv?.[1]).toMatch(/^file:.*\/node_modules\/tsx\//)
  })

  it("worker.js beside a built pool.js, with the process's Node options", () => {
    const root = layout(['dist/src/parallel/worker.js'])
    expect(workerEntry(pathToFileURL(join(root, 'dist/src/parallel/pool.js')).href)).toEqual({
      filename: join(root, 'dist/src/parallel/worker.js'),
      execArgv: undefined,
    })
  })

  it('never another build: no worker beside the module is MISSING_DEPENDENCY, even with a dist/ around', () => {
    const root = layout(['dist/src/parallel/worker.js'])
    for (const ext of ['js', 'ts']) {
      const e = caught(() => workerEntry(pathToFileURL(join(root, `src/parallel/pool.${ext}`)).href))
      expect(e.code).toBe('MISSING_DEPENDENCY')
      expect(e.message).toContain(join(root, `src/parallel/worker.${ext}`))
    }
  })

  it('sources without tsx installed: MISSING_DEPENDENCY that says so', () => {
    const root = layout(['src/parallel/worker.ts'])
    const e = caught(() => workerEntry(pathToFileURL(join(root, 'src/parallel/pool.ts')).href))
    expect(e.code).toBe('MISSING_DEPENDENCY')
    expect(e.message).toMatch(/tsx/)
  })
})
