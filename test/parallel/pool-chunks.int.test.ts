/**
 * The pool's batch search hands each thread one task and lets the workers claim the queries
 * in chunks from a shared counter. Whatever nq and thread count, every query is searched
 * exactly once and its row is what the calling thread's search gives.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { getKernels } from '../../native-free-kernels/index.js'
import { type AssignRequest, assignRows } from '../../src/clustering/kmeans.js'
import { VqIndex } from '../../src/index.js'
import { claimSize, searchChunk, WorkerPool } from '../../src/parallel/pool.js'
import { clusteredVectors } from '../helpers/data.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()

const dir = mkdtempSync(join(tmpdir(), 'vqlite-pool-chunks-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('searchChunk', () => {
  it('claims 1..16 queries, and at least 16 claims per thread when a claim holds more than one query', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 64 }), (nq, threads) => {
        const c = searchChunk(nq, threads)
        expect(Number.isInteger(c)).toBe(true)
        expect(c).toBeGreaterThanOrEqual(1)
        expect(c).toBeLessThanOrEqual(16)
        if (c > 1) expect(nq / c).toBeGreaterThanOrEqual(16 * threads)
      }),
      { seed: 15 },
    )
  })
})

describe('claimSize', () => {
  it('stays within [least, most] and gives about 16 claims per thread in between', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 5000 }),
        (n, threads, least) => {
          const most = least * 8
          const c = claimSize(n, threads, least, most)
          expect(c).toBeGreaterThanOrEqual(least)
          expect(c).toBeLessThanOrEqual(most)
          if (c > least && c < most) expect(Math.ceil(n / c)).toBeGreaterThan(8 * threads)
        },
      ),
      { seed: 16 },
    )
  })
})

const sharedF32 = (a: Float32Array): Float32Array => {
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength))
  s.set(a)
  return s
}

describe('encoding and k-means steps claimed by the workers', () => {
  it('equal the calling thread (uneven last claims, rows subsets)', async () => {
    const d = 8
    const n = 5300 // claims of 1,024 vectors: the last one short
    const x = clusteredVectors(n, d, 20, 71, 0.4)
    const index = VqIndex.create(':memory:', { dim: d, description: 'IVF16,PQ4x4', threads: 0 })
    await index.train(x, { seed: 1 })
    const pool = new WorkerPool(2)
    try {
      const want = index.model.encode(x, n)
      const got = await pool.encode(index.model, x, n)
      expect(got.lists).toEqual(want.lists)
      expect(got.codes).toEqual(want.codes)
      expect(got.terms).toEqual(want.terms)

      const k = 37
      const kernels = getKernels()
      const centroids = sharedF32(x.subarray(0, k * d))
      const norms = new Float64Array(new SharedArrayBuffer(k * 8))
      kernels.normsL2sqr(centroids, k, d, norms)
      const data = sharedF32(x)
      const rows = new Int32Array(new SharedArrayBuffer(n * 4))
      let count = 0
      for (let i = 0; i < n; i += 3) rows[count++] = i
      for (const subset of [null, rows]) {
        const out = () => ({
          assign: new Int32Array(new SharedArrayBuffer(n * 4)).fill(-1),
          dist: new Float32Array(new SharedArrayBuffer(n * 4)),
          second: new Float32Array(new SharedArrayBuffer(n * 4)),
        })
        const base = { data, n, d, centroids, k, norms, rows: subset, count: subset ? count : n }
        const a: AssignRequest = { ...base, ...out() }
        const b: AssignRequest = { ...base, ...out() }
        assignRows(kernels, a)
        await pool.assign(b, kernels.name)
        expect(b.assign).toEqual(a.assign)
        expect(b.dist).toEqual(a.dist)
        expect(b.second).toEqual(a.second)
      }
    } finally {
      await pool.close()
    }
  }, 60_000)
})

describe('chunked batch search', () => {
  it('equals the calling thread for any nq and thread count (RFlat reads on the workers)', async () => {
    const d = 16
    const n = 2000
    const x = clusteredVectors(n, d, 30, 51, 0.4)
    const queries = clusteredVectors(700, d, 30, 52, 0.4)
    const index = VqIndex.create(join(dir, 'rflat.vqlite'), {
      dim: d,
      description: 'IVF16,PQ8x4,RFlat',
      storeVectors: 'float32',
      threads: 3,
    })
    await index.train(x, { seed: 3 })
    await index.add(
      Array.from({ length: n }, (_, i) => i),
      x,
    )
    const run = vi.spyOn(WorkerPool.prototype, 'search')
    try {
      // nq below, at and above one claim per thread, not multiples of the chunk, and large
      // enough for 16-query claims (700 / (2 * 16) >= 16).
      const sizes = [6, 7, 17, 33, 258, 700]
      const seq = []
      for (const nq of sizes) seq.push(await index.searchBatch(queries.subarray(0, nq * d), 10, { nprobe: 4, refineFactor: 3, threads: 0 }))
      // Threads outermost: a call with another thread count replaces the pool.
      for (const threads of [1, 2, 3]) {
        for (const [i, nq] of sizes.entries()) {
          const par = await index.searchBatch(queries.subarray(0, nq * d), 10, { nprobe: 4, refineFactor: 3, threads })
          expect(par.ids, `nq ${nq} threads ${threads}`).toEqual(seq[i]!.ids)
          expect(par.distances, `nq ${nq} threads ${threads}`).toEqual(seq[i]!.distances)
        }
      }
      // Every pooled call went through the pool (nq >= 2 * threads for each of them).
      expect(run).toHaveBeenCalledTimes(6 * 3)
    } finally {
      run.mockRestore()
    }
  }, 60_000)

  it('a pool of more threads than claims still searches every query once', async () => {
    const d = 8
    const n = 600
    const x = clusteredVectors(n, d, 10, 61, 0.4)
    const index = VqIndex.create(':memory:', { dim: d, description: 'IVF8,SQ8', threads: 4 })
    await index.train(x, { seed: 2 })
    await index.add(
      Array.from({ length: n }, (_, i) => i),
      x,
    )
    const q = x.subarray(0, 9 * d)
    const seq = await index.searchBatch(q, 5, { nprobe: 8, threads: 0 })
    const par = await index.searchBatch(q, 5, { nprobe: 8, threads: 4 })
    expect(par.ids).toEqual(seq.ids)
    expect(par.distances).toEqual(seq.distances)
  }, 60_000)
})
