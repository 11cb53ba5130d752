/**
 * Cancellation and progress of the calls that run on the worker pool (real piscina
 * threads, so an integration test): searchBatch with threads 2 and a large add's encoding.
 * An abort stops the workers' remaining claims, the call rejects with ABORTED and changes
 * nothing, and the same pool serves the next calls.
 */
import { describe, expect, it } from 'vitest'
import { type BatchProgress, VqAbortError, type VqError, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 16
const ids = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

function expectAborted(e: unknown, reason: unknown): void {
  expect(e, String(e)).toBeInstanceOf(VqAbortError)
  expect((e as VqError).code).toBe('ABORTED')
  expect((e as Error).cause).toBe(reason)
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  )
}

describe('worker pool: abort and progress', () => {
  it('searchBatch threads 2: aborted mid-batch, the pool still works; progress forward to nq', async () => {
    const x = clusteredVectors(20_000, d, 16, 5)
    const ix = VqIndex.create(':memory:', { dim: d, description: 'IVF16,SQ8', threads: 2 })
    await ix.train(x, { seed: 1 })
    await ix.add(ids(20_000), x)
    const queries = clusteredVectors(40_000, d, 16, 6)
    // Warm the pool (workers load the sources once).
    await ix.searchBatch(queries.subarray(0, 64 * d), 10, { threads: 2, nprobe: 16 })

    const ac = new AbortController()
    const reason = new Error('stop the batch')
    let done = 0
    const t0 = performance.now()
    const e = await outcome(
      ix.searchBatch(queries, 10, {
        threads: 2,
        nprobe: 16,
        signal: ac.signal,
        onProgress: (p) => {
          done = p.done
          if (p.done > 0) ac.abort(reason)
        },
      }),
    )
    const aborted = performance.now() - t0
    expectAborted(e, reason)
    expect(done).toBeGreaterThan(0)
    expect(done).toBeLessThan(40_000)

    // The same pool answers the next batch, as the calling thread does.
    const events: BatchProgress[] = []
    const t1 = performance.now()
    const full = await ix.searchBatch(queries, 10, { threads: 2, nprobe: 16, onProgress: (p) => events.push({ ...p }) })
    const whole = performance.now() - t1
    const local = await ix.searchBatch(queries.subarray(0, 500 * d), 10, { threads: 0, nprobe: 16 })
    expect(Array.from(full.ids.subarray(0, 500 * 10))).toEqual(Array.from(local.ids))
    expect(events.at(-1)).toEqual({ done: 40_000, total: 40_000 })
    for (let i = 1; i < events.length; i++) expect(events[i]!.done).toBeGreaterThanOrEqual(events[i - 1]!.done)
    // The workers stopped claiming: the aborted batch took less than a whole one.
    expect(aborted).toBeLessThan(whole / 2)

    // Already aborted: rejected before any task starts.
    const gone = new AbortController()
    gone.abort('never')
    expectAborted(await outcome(ix.searchBatch(queries, 10, { threads: 2, signal: gone.signal })), 'never')
    await ix.close()
  })

  it('train with its IVF k-means on the pool: aborted between iterations, untrained; the pool trains afterwards', async () => {
    const dim = 32
    const x = clusteredVectors(20_000, dim, 64, 9)
    const ix = VqIndex.create(':memory:', { dim, description: 'IVF256,SQ8', threads: 2 })
    const ac = new AbortController()
    const reason = new Error('stop training')
    let iterations = 0
    const e = await outcome(
      ix.train(x, {
        ivfIterations: 500,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.stage === 'ivf' && p.phase === 'iterate' && ++iterations === 2) setImmediate(() => ac.abort(reason))
        },
      }),
    )
    expectAborted(e, reason)
    // Seen at the next assignment step's end: one or two more iterations at most.
    expect(iterations).toBeGreaterThanOrEqual(2)
    expect(iterations).toBeLessThanOrEqual(4)
    expect(ix.isTrained).toBe(false)
    await ix.train(x, { seed: 1 })
    expect(ix.isTrained).toBe(true)
    await ix.close()
  })

  it('a large add encoded on the pool: aborted, nothing changed; progress forward to the total', async () => {
    const x = clusteredVectors(4000, d, 16, 7)
    const ix = VqIndex.create(':memory:', { dim: d, description: 'IVF16,PQ8', threads: 2 })
    await ix.train(x, { seed: 2 })
    await ix.add(ids(4000), x)
    const before = Array.from(ix.search(x.subarray(0, d), 5, { nprobe: 16 }).ids)
    // Start the pool (its workers load the sources once) before anything is timed.
    await ix.searchBatch(x.subarray(0, 64 * d), 5, { threads: 2 })
    const big = clusteredVectors(200_000, d, 16, 8)
    const ac = new AbortController()
    const reason = new Error('stop encoding')
    let encoded = 0
    let abortedAt = 0
    const e = await outcome(
      ix.add(ids(200_000, 10_000), big, undefined, {
        signal: ac.signal,
        onProgress: (p) => {
          if (p.phase === 'encoding') {
            encoded = p.done
            if (p.done > 0 && !ac.signal.aborted) {
              abortedAt = performance.now()
              ac.abort(reason)
            }
          }
        },
      }),
    )
    // From the abort to the rejection: the claims in progress, not the rest of the batch.
    const aborted = performance.now() - abortedAt
    expectAborted(e, reason)
    expect(encoded).toBeGreaterThan(0)
    expect(encoded).toBeLessThan(200_000)
    expect(ix.size).toBe(4000)
    expect(ix.manifest.generation).toBe(2)
    expect(Array.from(ix.search(x.subarray(0, d), 5, { nprobe: 16 }).ids)).toEqual(before)

    const seen: number[] = []
    const t1 = performance.now()
    await ix.add(ids(50_000, 10_000), big.subarray(0, 50_000 * d), undefined, {
      onProgress: (p) => {
        if (p.phase === 'encoding') seen.push(p.done)
      },
    })
    // The workers stopped claiming: the aborted 200,000 ended sooner than a whole 50,000 takes.
    expect(aborted).toBeLessThan(performance.now() - t1)
    expect(ix.size).toBe(54_000)
    expect(seen.at(-1)).toBe(50_000)
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!)
    await ix.close()
  })
})
