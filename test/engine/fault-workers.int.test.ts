/**
 * Worker failures come out typed: a VqError thrown in a worker is rebuilt as the same class
 * with the same code and message; any other error, or a worker that dies, is WORKER_FAILED
 * with the original message (never "[object Object]"); the pool goes on working. A pool
 * replaced by one of another size stops, and close() waits for it: no worker outlives close.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PoolHolder } from '../../src/engine/pools.js'
import { VqError, VqIndex } from '../../src/index.js'
import { InvertedLists, type ListsView } from '../../src/ivf/inverted-lists.js'
import { WorkerPool } from '../../src/parallel/pool.js'
import { IndexModel } from '../../src/search/model.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 8
const x = clusteredVectors(600, d, 4, 41)
const dir = mkdtempSync(join(tmpdir(), 'vq-workers-'))
/** One pool for the tests that do not replace it (starting workers from sources takes seconds). */
let pool: WorkerPool | undefined
const shared = (): WorkerPool => {
  pool ??= new WorkerPool(2)
  return pool
}
afterAll(async () => {
  await pool?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function trainedIndex(description: string, path = ':memory:'): Promise<VqIndex> {
  const ix = VqIndex.create(path, { dim: d, description, storeVectors: 'float32', threads: 0 })
  await ix.add(
    Array.from({ length: 600 }, (_, i) => i),
    x,
    undefined,
    { train: { seed: 1 } },
  )
  return ix
}

/** A stand-in for a trained model whose arrays a worker cannot load (what a damaged shared buffer looks like to it). */
function damagedModel(model: IndexModel): { fake: IndexModel; bad: Record<string, { shape: number[]; data: Float32Array }> } {
  const bad: Record<string, { shape: number[]; data: Float32Array }> = {}
  for (const [name, a] of Object.entries(model.exportArrays())) bad[name] = { shape: [...a.shape], data: a.data.slice(0, 3) }
  const fake = Object.create(model) as IndexModel
  Object.defineProperty(fake, 'uid', { value: 1e9 + Math.floor(Math.random() * 1e6) })
  Object.defineProperty(fake, 'exportArrays', { value: () => bad })
  return { fake, bad }
}

describe('worker failures', () => {
  it('a VqError in a worker keeps its class, code and message', async () => {
    const ix = await trainedIndex('IVF4,SQ8')
    const { fake, bad } = damagedModel(ix.model)
    // What the same load throws on this thread.
    let expected: unknown
    try {
      new IndexModel(ix.model.spec, d, ix.metric, ix.model.kernels).loadArrays(bad)
    } catch (e) {
      expected = e
    }
    expect(expected).toBeInstanceOf(VqError)
    const pool = shared()
    try {
      const error = await pool.encode(fake, x, 100).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(VqError)
      expect(error).toBeInstanceOf((expected as object).constructor as new () => unknown)
      expect(error).toMatchObject({
        code: (expected as VqError).code,
        message: (expected as VqError).message,
        name: (expected as VqError).name,
      })
      // The pool goes on working.
      const enc = await pool.encode(ix.model, x, 100)
      expect(Array.from(enc.lists)).toEqual(Array.from(ix.model.encode(x.subarray(0, 100 * d), 100).lists))
    } finally {
      await ix.close()
    }
  })

  it('a raw error in a worker is WORKER_FAILED naming it', async () => {
    const ix = await trainedIndex('IVF4,SQ8,RFlat')
    const pool = shared()
    try {
      const snapshot = {
        model: ix.model,
        lists: listsOf(ix.model, 600),
        path: join(dir, 'missing', 'gone.vq'),
        storeVectors: 'float32' as const,
      }
      const ids = new Float64Array(8 * 5)
      const dist = new Float32Array(8 * 5)
      const error = await pool
        .search(snapshot, x, 8, { k: 5, nprobe: 4, refineFactor: 2, qb: 4, errorBounds: true, exactFactor: 2, filter: null }, ids, dist)
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(error).toBeInstanceOf(VqError)
      expect(error).toMatchObject({ code: 'WORKER_FAILED' })
      expect((error as Error).message).not.toMatch(/\[object Object\]/)
      expect((error as Error).message).toMatch(/a worker thread failed: \w*Error: .*(open|database)/i)
    } finally {
      await ix.close()
    }
  })

  it('a worker that dies mid-call is WORKER_FAILED with its message; the next call works', async () => {
    const ix = await trainedIndex('IVF4,SQ8')
    const pool = shared()
    try {
      await pool.encode(ix.model, x, 600)
      const big = clusteredVectors(50_000, d, 4, 42)
      const call = pool.encode(ix.model, big, 50_000)
      const died = pool.workers[0]!.terminate()
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      )
      await died
      expect(error).toBeInstanceOf(VqError)
      expect(error).toMatchObject({ code: 'WORKER_FAILED' })
      expect((error as Error).message).not.toMatch(/\[object Object\]/)
      expect((error as Error).message).toMatch(/a worker thread failed: .+/)
      const enc = await pool.encode(ix.model, x, 100)
      expect(enc.lists.length).toBe(100)
    } finally {
      await ix.close()
    }
  })

  it('PoolHolder: a replaced pool stops; close() waits for every pool and starts none after', async () => {
    const ix = await trainedIndex('IVF4,SQ8')
    const holder = new PoolHolder(2, ix.model.kernels)
    const first = holder.pool(2)
    const running = first.encode(ix.model, x, 600)
    const second = holder.pool(1)
    expect(second).not.toBe(first)
    // The call in flight on the replaced pool completes.
    const enc = await running
    expect(enc.lists.length).toBe(600)
    await second.encode(ix.model, x, 50)
    const workers = [...first.workers, ...second.workers]
    await holder.close()
    for (const w of workers) expect(w.threadId).toBe(-1)
    expect(() => holder.pool(2)).toThrow(expect.objectContaining({ code: 'CLOSED' }))
    await ix.close()
  })

  it('close() waits for a pooled searchBatch in flight, then stops the workers', async () => {
    const path = join(dir, 'close-batch.vq')
    const ix = VqIndex.create(path, { dim: d, description: 'IVF4,SQ8', threads: 2 })
    await ix.add(
      Array.from({ length: 600 }, (_, i) => i),
      x,
      undefined,
      { train: { seed: 1 } },
    )
    const batch = ix.searchBatch(x, 5, { threads: 2, nprobe: 4 })
    const closing = ix.close()
    const r = await batch
    expect(r.nq).toBe(600)
    expect(r.row(0).ids[0]).toBe(0)
    await closing
    await expect(ix.searchBatch(x, 5, { threads: 2 })).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

/** Lists holding the first n vectors of x, encoded by model. */
function listsOf(model: IndexModel, n: number): ListsView {
  const enc = model.encode(x.subarray(0, n * d), n)
  const ids = Float64Array.from({ length: n }, (_, i) => i)
  const seqs = Uint32Array.from({ length: n }, (_, i) => i + 1)
  return InvertedLists.build(
    model.coarse.nlist,
    model.scanCodeSize,
    model.refineSize,
    enc.lists,
    ids,
    seqs,
    model.padCodes(enc.codes, n),
    enc.refine,
    enc.terms,
  ).view()
}
