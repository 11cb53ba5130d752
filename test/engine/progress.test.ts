/**
 * Progress callbacks (onProgress of add / upsert, retrain's 'encoding' stage, searchBatch)
 * on the calling thread (threads: 0; the pool's side is in abort-pool.int.test.ts):
 * events only go forward and end at the total; a callback that throws fails the call
 * with its error and changes nothing. And BatchSearchResult iterates its rows.
 */
import { describe, expect, it } from 'vitest'
import { type AddProgress, type BatchProgress, type TrainProgress, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 16
const ids = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

async function trainedIndex(n: number, storeVectors: 'none' | 'float32' = 'float32') {
  const x = clusteredVectors(n, d, 16, 5)
  const ix = VqIndex.create(':memory:', { dim: d, description: 'IVF16,PQ8', storeVectors, threads: 0 })
  await ix.train(x.subarray(0, Math.min(n, 4000) * d), { seed: 1 })
  await ix.add(ids(n), x)
  return { ix, x }
}

/** Asserts done never goes back, stays within [0, total], and the last one is the total. */
function expectForward(events: readonly { done: number; total: number }[], total: number): void {
  expect(events.length).toBeGreaterThan(0)
  let last = -1
  for (const e of events) {
    expect(e.total).toBe(total)
    expect(e.done).toBeGreaterThanOrEqual(last)
    expect(e.done).toBeLessThanOrEqual(total)
    last = e.done
  }
  expect(last).toBe(total)
}

/** What must not change when a call fails. */
function fingerprint(ix: VqIndex, x: Float32Array): unknown {
  const r = ix.search(x.subarray(0, d), 5, { nprobe: 4 })
  const m = ix.manifest
  return { size: ix.size, generation: m.generation, codes: m.codesGeneration, ids: Array.from(r.ids), dist: Array.from(r.distances) }
}

describe('add / upsert onProgress', () => {
  it('training once, encoding forward to the total, committing last', async () => {
    const x = clusteredVectors(10_000, d, 16, 2)
    const ix = VqIndex.create(':memory:', { dim: d, description: 'IVF16,PQ8', threads: 0 })
    const events: AddProgress[] = []
    await ix.add(ids(10_000), x, undefined, { train: { seed: 3 }, onProgress: (p) => events.push(p) })
    expect(ix.size).toBe(10_000)
    expect(events[0]).toEqual({ phase: 'training', done: 0, total: 10_000 })
    expect(events.at(-1)).toEqual({ phase: 'committing', done: 10_000, total: 10_000 })
    const encoding = events.filter((e) => e.phase === 'encoding')
    // 10,000 vectors on the calling thread: steps of 2048, so several events.
    expect(encoding.length).toBeGreaterThan(2)
    expectForward(encoding, 10_000)
    expect(events.map((e) => e.phase)).toEqual(['training', ...encoding.map(() => 'encoding'), 'committing'])

    const upserts: AddProgress[] = []
    await ix.upsert(ids(3000), x.subarray(0, 3000 * d), undefined, { onProgress: (p) => upserts.push(p) })
    expect(upserts.some((e) => e.phase === 'training')).toBe(false)
    expectForward(
      upserts.filter((e) => e.phase === 'encoding'),
      3000,
    )
    expect(upserts.at(-1)?.phase).toBe('committing')
    await ix.close()
  })

  it('an empty batch reports its (0 of 0) encoding and committing', async () => {
    const { ix } = await trainedIndex(500)
    const events: AddProgress[] = []
    await ix.add([], new Float32Array(0), undefined, { onProgress: (p) => events.push(p) })
    expect(events).toEqual([
      { phase: 'encoding', done: 0, total: 0 },
      { phase: 'committing', done: 0, total: 0 },
    ])
    await ix.close()
  })

  it('a callback that throws fails the call with its error, nothing changed', async () => {
    const { ix, x } = await trainedIndex(2000)
    const before = fingerprint(ix, x)
    for (const phase of ['encoding', 'committing'] as const) {
      const boom = new Error(`callback failed in ${phase}`)
      await expect(
        ix.add(ids(5000, 10_000), clusteredVectors(5000, d, 16, 8), undefined, {
          onProgress: (p) => {
            if (p.phase === phase) throw boom
          },
        }),
      ).rejects.toBe(boom)
      expect(fingerprint(ix, x)).toEqual(before)
    }
    const empty = VqIndex.create(':memory:', { dim: d, description: 'IVF16,PQ8', threads: 0 })
    const boom = new Error('in training')
    await expect(
      empty.add(ids(2000), x.subarray(0, 2000 * d), undefined, {
        train: true,
        onProgress: () => {
          throw boom
        },
      }),
    ).rejects.toBe(boom)
    expect(empty.isTrained).toBe(false)
    expect(empty.size).toBe(0)
    // A training progress callback that throws: the same.
    const kmeans = new Error('in k-means')
    await expect(
      empty.add(ids(2000), x.subarray(0, 2000 * d), undefined, {
        train: {
          onProgress: () => {
            throw kmeans
          },
        },
      }),
    ).rejects.toBe(kmeans)
    expect(empty.isTrained).toBe(false)
    await ix.close()
    await empty.close()
  })
})

describe('retrain onProgress', () => {
  it('the training stages, then stage "encoding" forward to the item count', async () => {
    const { ix, x } = await trainedIndex(9000)
    const events: TrainProgress[] = []
    await ix.retrain({ seed: 9, onProgress: (p) => events.push(p) })
    const stages = [...new Set(events.map((e) => e.stage))]
    expect(stages).toEqual(['ivf', 'codec', 'encoding'])
    const encoding = events.filter((e) => e.stage === 'encoding')
    // Every encoding event comes after every training event.
    expect(events.findIndex((e) => e.stage === 'encoding')).toBe(events.length - encoding.length)
    expectForward(
      encoding.map((e) => ({ done: e.done!, total: e.total! })),
      9000,
    )
    for (const e of encoding) {
      expect(e).toMatchObject({ phase: 'iterate', part: 0, parts: 1, iteration: e.done, iterations: 9000 })
      expect(e.objective).toBeNaN()
    }
    // Training events have no done / total.
    expect(events.filter((e) => e.stage !== 'encoding').every((e) => e.done === undefined && e.total === undefined)).toBe(true)
    expect(ix.size).toBe(9000)
    expect(ix.search(x.subarray(0, d), 1, { nprobe: 16 }).ids[0]).toBe(0)
    await ix.close()
  })

  it('a callback that throws while re-encoding fails the retrain, the old model stays', async () => {
    const { ix, x } = await trainedIndex(5000)
    const before = fingerprint(ix, x)
    const boom = new Error('no more')
    await expect(
      ix.retrain({
        onProgress: (p) => {
          if (p.stage === 'encoding') throw boom
        },
      }),
    ).rejects.toBe(boom)
    expect(fingerprint(ix, x)).toEqual(before)
    await ix.close()
  })
})

describe('searchBatch onProgress and iteration (calling thread)', () => {
  it('done rises to nq; a throwing callback fails the batch; rows iterate in order', async () => {
    const { ix, x } = await trainedIndex(3000)
    const nq = 200
    const queries = x.subarray(0, nq * d)
    const events: BatchProgress[] = []
    const r = await ix.searchBatch(queries, 5, { threads: 0, nprobe: 8, onProgress: (p) => events.push({ ...p }) })
    expectForward(events, nq)
    expect(events.length).toBeGreaterThan(2)
    const plain = await ix.searchBatch(queries, 5, { threads: 0, nprobe: 8 })
    expect(Array.from(r.ids)).toEqual(Array.from(plain.ids))

    const rows = [...r]
    expect(rows).toHaveLength(nq)
    rows.forEach((row, i) => {
      expect(Array.from(row.ids)).toEqual(Array.from(r.row(i).ids))
      expect(Array.from(row.distances)).toEqual(Array.from(r.row(i).distances))
      expect(row.ids.buffer).toBe(r.ids.buffer) // views, no copy
    })
    let i = 0
    for (const { ids: got } of plain) expect(got[0]).toBe(plain.ids[i++ * 5])
    expect(i).toBe(nq)

    const boom = new Error('progress failed')
    await expect(
      ix.searchBatch(queries, 5, {
        threads: 0,
        onProgress: () => {
          throw boom
        },
      }),
    ).rejects.toBe(boom)
    expect(ix.size).toBe(3000)
    await ix.close()
  })
})
