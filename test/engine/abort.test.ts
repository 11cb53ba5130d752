/**
 * Cancellation (AbortSignal) of train / add / upsert / retrain / searchBatch / export on
 * the calling thread (threads: 0; the worker pool's side is abort-pool.int.test.ts). An
 * aborted call rejects with VqAbortError ABORTED (cause: the signal's reason) and changes
 * nothing: count, model, search results, the file (reopened) stay as they were; an abort
 * after the call is done is ignored.
 *
 * "During" aborts are queued with setImmediate just after the call starts: the call can
 * only see them if its long loop lets the event loop run, which is what is under test.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqAbortError, VqError, VqIndex, VqOptionError } from '../../src/index.js'
import { clusteredVectors, randomVectors } from '../helpers/data.js'

const d = 16
const dir = mkdtempSync(join(tmpdir(), 'vq-abort-'))
let files = 0
const newFile = (): string => join(dir, `ix-${++files}.vq`)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ids = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

/** What a call rejected with (or 'resolved'). */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  )
}

/** Asserts the typed abort: VqAbortError, code ABORTED, the reason as cause. */
function expectAborted(e: unknown, reason: unknown): void {
  expect(e, String(e)).toBeInstanceOf(VqAbortError)
  expect(e).toBeInstanceOf(VqError)
  expect((e as VqError).code).toBe('ABORTED')
  expect((e as Error).cause).toBe(reason)
}

/** An aborted signal, and its reason. */
function aborted(): { signal: AbortSignal; reason: Error } {
  const ac = new AbortController()
  const reason = new Error('stopped by the test')
  ac.abort(reason)
  return { signal: ac.signal, reason }
}

/** A signal aborted on the next event-loop turn (setImmediate), and its reason. */
function abortSoon(): { signal: AbortSignal; reason: Error } {
  const ac = new AbortController()
  const reason = new Error('stopped by the test, mid-call')
  setImmediate(() => ac.abort(reason))
  return { signal: ac.signal, reason }
}

/** What must not change when a call is aborted. */
function fingerprint(ix: VqIndex, x: Float32Array): unknown {
  const m = ix.manifest
  const found = ix.isTrained
    ? [0, 7, 33].map((i) => {
        const r = ix.search(x.subarray(i * d, (i + 1) * d), 5, { nprobe: 4 })
        return [Array.from(r.ids), Array.from(r.distances)]
      })
    : null
  return { size: ix.size, trained: ix.isTrained, generation: m.generation, codes: m.codesGeneration, nextSeq: m.nextSeq, found }
}

/** The fingerprint of the file, reopened read-only. */
function fileFingerprint(path: string, x: Float32Array): unknown {
  const r = VqIndex.open(path, { readonly: true, threads: 0 })
  try {
    return fingerprint(r, x)
  } finally {
    void r.close()
  }
}

/** A trained index holding n clustered vectors (threads 0: everything on the calling thread). */
async function trainedIndex(n: number, description = 'IVF16,PQ8', storeVectors: 'none' | 'float32' = 'float32') {
  const x = clusteredVectors(n, d, 16, 5)
  const path = newFile()
  const ix = VqIndex.create(path, { dim: d, description, storeVectors, threads: 0 })
  await ix.train(x.subarray(0, Math.min(n, 4000) * d), { seed: 1 })
  await ix.add(ids(n), x)
  return { ix, x, path }
}

describe('an already aborted signal: rejected at the door, nothing done', () => {
  it('train, add, add { train }, upsert, retrain, searchBatch, export', async () => {
    const { ix, x, path } = await trainedIndex(2000)
    const before = fingerprint(ix, x)
    const empty = VqIndex.create(newFile(), { dim: d, description: 'IVF16,PQ8', threads: 0 })
    const untouched = fingerprint(empty, x)
    const calls: [string, (signal: AbortSignal) => Promise<unknown>][] = [
      ['train', (signal) => empty.train(x, { signal })],
      ['add { train }', (signal) => empty.add([1], x.subarray(0, d), undefined, { train: { signal } })],
      ['add { train, signal }', (signal) => empty.add(ids(300), x.subarray(0, 300 * d), undefined, { train: true, signal })],
      ['add', (signal) => ix.add([50_000], x.subarray(0, d), undefined, { signal })],
      ['upsert', (signal) => ix.upsert([3], x.subarray(0, d), undefined, { signal })],
      ['retrain', (signal) => ix.retrain({ signal })],
      ['searchBatch', (signal) => ix.searchBatch(x.subarray(0, 40 * d), 5, { signal, threads: 0 })],
    ]
    for (const [name, call] of calls) {
      const { signal, reason } = aborted()
      const e = await outcome(call(signal))
      expectAborted(e, reason)
      expect((e as Error).message, name).toMatch(/aborted/)
    }
    const target = join(dir, 'door.snap')
    const { signal, reason } = aborted()
    expectAborted(await outcome(ix.export(target, { signal })), reason)
    expect(existsSync(target)).toBe(false)
    expect(fingerprint(ix, x)).toEqual(before)
    expect(fingerprint(empty, x)).toEqual(untouched)
    await ix.close()
    expect(fileFingerprint(path, x)).toEqual(before)
    await empty.close()
  })

  it('a reason that is not an Error is the cause as given; the default reason too', async () => {
    const empty = VqIndex.create(':memory:', { dim: d, description: 'PQ2x4', threads: 0 })
    const ac = new AbortController()
    ac.abort('a plain string')
    expectAborted(await outcome(empty.train(randomVectors(10, d, 1), { signal: ac.signal })), 'a plain string')
    const bare = new AbortController()
    bare.abort()
    const e = await outcome(empty.train(randomVectors(10, d, 1), { signal: bare.signal }))
    expectAborted(e, bare.signal.reason)
    expect((e as Error).cause).toBeInstanceOf(DOMException)
    expect(empty.isTrained).toBe(false)
  })
})

describe('an abort during the call: rejected, nothing changed', () => {
  it('train with many k-means iterations (PQ on the calling thread)', async () => {
    const x = randomVectors(20_000, d, 3)
    const path = newFile()
    const ix = VqIndex.create(path, { dim: d, description: 'PQ8', threads: 0 })
    const before = fingerprint(ix, x)
    let events = 0
    let iterations = 0
    // aborted from outside once training has started (its first progress event): from a
    // timer of its own, the abort could land before the first event on a loaded machine
    const ac = new AbortController()
    const reason = new Error('stopped by the test, mid-call')
    const t0 = performance.now()
    const e = await outcome(
      ix.train(x, {
        iterations: 200,
        tolerance: 0,
        signal: ac.signal,
        onProgress: (p) => {
          events++
          if (events === 1) setImmediate(() => ac.abort(reason))
          if (p.phase === 'iterate') iterations++
        },
      }),
    )
    expectAborted(e, reason)
    // It stopped in the middle (k-means++ seeding or the first iterations), soon.
    expect(events).toBeGreaterThan(0)
    expect(iterations).toBeLessThan(8 * 200)
    expect(performance.now() - t0).toBeLessThan(5000)
    expect(fingerprint(ix, x)).toEqual(before)
    // The index still trains afterwards.
    await ix.train(x.subarray(0, 2000 * d), { seed: 2 })
    expect(ix.isTrained).toBe(true)
    await ix.close()
    expect((fileFingerprint(path, x) as { trained: boolean }).trained).toBe(true)
  })

  it('train, aborted from a progress callback between IVF k-means iterations', async () => {
    const x = clusteredVectors(6000, d, 16, 9)
    const ix = VqIndex.create(':memory:', { dim: d, description: 'IVF32,SQ8', threads: 0 })
    const ac = new AbortController()
    const reason = new Error('enough')
    const seen: string[] = []
    const e = await outcome(
      ix.train(x, {
        ivfIterations: 50,
        signal: ac.signal,
        onProgress: (p) => {
          seen.push(`${p.stage}:${p.iteration}`)
          if (p.stage === 'ivf' && p.iteration === 3) ac.abort(reason)
        },
      }),
    )
    expectAborted(e, reason)
    expect(seen.at(-1)).toBe('ivf:3')
    expect(ix.isTrained).toBe(false)
    expect(ix.manifest.generation).toBe(0)
  })

  it('a large add (encoding on the calling thread), file reopened unchanged', async () => {
    const { ix, x, path } = await trainedIndex(1000)
    const before = fingerprint(ix, x)
    const big = clusteredVectors(60_000, d, 16, 21)
    let encoded = 0
    const { signal, reason } = abortSoon()
    const e = await outcome(
      ix.add(ids(60_000, 10_000), big, undefined, {
        signal,
        onProgress: (p) => {
          if (p.phase === 'encoding') encoded = p.done
        },
      }),
    )
    expectAborted(e, reason)
    expect(encoded).toBeGreaterThan(0)
    expect(encoded).toBeLessThan(60_000)
    expect(fingerprint(ix, x)).toEqual(before)
    expect(ix.has(10_000)).toBe(false)
    await ix.close()
    expect(fileFingerprint(path, x)).toEqual(before)
  })

  it('upsert and add { train }, aborted while encoding / training', async () => {
    const { ix, x } = await trainedIndex(1000)
    const before = fingerprint(ix, x)
    const ac = new AbortController()
    const reason = new Error('halt')
    const e = await outcome(
      ix.upsert(ids(20_000), clusteredVectors(20_000, d, 16, 4), undefined, {
        signal: ac.signal,
        onProgress: (p) => {
          if (p.phase === 'encoding' && p.done > 0) ac.abort(reason)
        },
      }),
    )
    expectAborted(e, reason)
    expect(fingerprint(ix, x)).toEqual(before)
    await ix.close()

    const empty = VqIndex.create(':memory:', { dim: d, description: 'IVF16,PQ8', threads: 0 })
    const soon = abortSoon()
    const e2 = await outcome(
      empty.add(ids(20_000), randomVectors(20_000, d, 8), undefined, { train: { iterations: 200, tolerance: 0 }, signal: soon.signal }),
    )
    expectAborted(e2, soon.reason)
    expect(empty.isTrained).toBe(false)
    expect(empty.size).toBe(0)
  })

  it('an abort in the last progress event (committing) still stops the commit', async () => {
    const { ix, x, path } = await trainedIndex(1000)
    const before = fingerprint(ix, x)
    const ac = new AbortController()
    const phases: string[] = []
    const e = await outcome(
      ix.add(ids(10, 5000), x.subarray(0, 10 * d), undefined, {
        signal: ac.signal,
        onProgress: (p) => {
          phases.push(p.phase)
          if (p.phase === 'committing') ac.abort('late')
        },
      }),
    )
    expectAborted(e, 'late')
    expect(phases.at(-1)).toBe('committing')
    expect(fingerprint(ix, x)).toEqual(before)
    await ix.close()
    expect(fileFingerprint(path, x)).toEqual(before)
  })

  it('retrain: aborted during training and during re-encoding; the old model stays', async () => {
    const { ix, x, path } = await trainedIndex(20_000)
    const before = fingerprint(ix, x)
    const soon = abortSoon()
    expectAborted(await outcome(ix.retrain({ iterations: 200, tolerance: 0, signal: soon.signal })), soon.reason)
    expect(fingerprint(ix, x)).toEqual(before)

    const ac = new AbortController()
    const stages = new Set<string>()
    const e = await outcome(
      ix.retrain({
        signal: ac.signal,
        onProgress: (p) => {
          stages.add(p.stage)
          if (p.stage === 'encoding' && (p.done ?? 0) > 0) ac.abort('mid-encoding')
        },
      }),
    )
    expectAborted(e, 'mid-encoding')
    expect([...stages]).toEqual(['ivf', 'codec', 'encoding'])
    expect(fingerprint(ix, x)).toEqual(before)
    await ix.close()
    expect(fileFingerprint(path, x)).toEqual(before)
  })

  it('export: the half-written file is removed, the index unchanged, a later export works', async () => {
    const { ix, x } = await trainedIndex(60_000, 'IVF16,SQ8')
    const before = fingerprint(ix, x)
    const target = join(dir, 'mid.snap')
    const { signal, reason } = abortSoon()
    expectAborted(await outcome(ix.export(target, { signal })), reason)
    expect(existsSync(target)).toBe(false)
    expect(readdirSync(dir).filter((f) => f.startsWith('mid.snap'))).toEqual([])
    expect(fingerprint(ix, x)).toEqual(before)
    // The read session is over: writes and exports work.
    await ix.add([999_999], x.subarray(0, d))
    expect(await ix.export(target)).toBe(60_001)
    const back = VqIndex.import(target, ':memory:', { threads: 0 })
    expect(back.size).toBe(60_001)
    await back.close()
    await ix.close()
  })

  it('an export that pauses is one point in time: searches run meanwhile, a write waits for it', async () => {
    const { ix, x, path } = await trainedIndex(60_000, 'IVF16,SQ8')
    const target = join(dir, 'consistent.snap')
    const signal = new AbortController().signal
    const order: string[] = []
    const exporting = ix.export(target, { signal }).then((n) => {
      order.push('exported')
      return n
    })
    // Queued behind the export's first pause: a search, a filtered search (a read on the
    // same connection, inside the export's read transaction) and a write.
    const during = new Promise<number[]>((resolve, reject) =>
      setImmediate(() => {
        try {
          order.push('searching')
          const a = ix.search(x.subarray(0, d), 3, { nprobe: 16 }).ids[0]!
          const b = ix.search(x.subarray(0, d), 3, { nprobe: 16, filter: { $id: { $lt: 10 } } }).ids[0]!
          resolve([a, b])
        } catch (e) {
          reject(e)
        }
      }),
    )
    const adding = new Promise<void>((resolve, reject) =>
      setImmediate(() =>
        ix.add([777_777], x.subarray(0, d)).then(() => {
          order.push('added')
          resolve()
        }, reject),
      ),
    )
    expect(await during).toEqual([0, 0])
    expect(await exporting).toBe(60_000)
    await adding
    // The searches ran while the export was under way; the add committed after it.
    expect(order).toEqual(['searching', 'exported', 'added'])
    expect(ix.size).toBe(60_001)
    const back = VqIndex.import(target, ':memory:', { threads: 0 })
    expect(back.size).toBe(60_000)
    expect(back.has(777_777)).toBe(false)
    await back.close()
    await ix.close()
    expect((fileFingerprint(path, x) as { size: number }).size).toBe(60_001)
  })

  it('a string-id index: an aborted export leaves nothing, a paused one keeps every key', async () => {
    const n = 40_000
    const x = clusteredVectors(n, d, 16, 13)
    const keys = Array.from({ length: n }, (_, i) => `doc-${i.toString(36)}`)
    const ix = VqIndex.create(newFile(), { dim: d, description: 'SQ8', ids: 'string', storeVectors: 'float32', threads: 0 })
    await ix.train(x.subarray(0, 2000 * d))
    await ix.add(keys, x)
    const target = join(dir, 'keys.snap')
    const soon = abortSoon()
    expectAborted(await outcome(ix.export(target, { signal: soon.signal })), soon.reason)
    expect(existsSync(target)).toBe(false)
    // Never aborted: the export pauses between records and still carries every key, in order.
    expect(await ix.export(target, { signal: new AbortController().signal })).toBe(n)
    const back = VqIndex.import(target, ':memory:', { ids: 'string', threads: 0 })
    const got: string[] = []
    for await (const item of back.items()) got.push(item.id)
    expect(got).toEqual(keys)
    expect(back.search(x.subarray(5 * d, 6 * d), 1).ids[0]).toBe(keys[5])
    await back.close()
    await ix.close()
  })

  it('searchBatch on the calling thread; the index serves searches and writes afterwards', async () => {
    const { ix, x } = await trainedIndex(5000)
    const queries = clusteredVectors(30_000, d, 16, 77)
    const { signal, reason } = abortSoon()
    let done = 0
    const e = await outcome(ix.searchBatch(queries, 10, { threads: 0, nprobe: 16, signal, onProgress: (p) => (done = p.done) }))
    expectAborted(e, reason)
    expect(done).toBeGreaterThan(0)
    expect(done).toBeLessThan(30_000)
    const r = await ix.searchBatch(queries.subarray(0, 50 * d), 10, { threads: 0, nprobe: 16 })
    expect(Array.from(r.row(3).ids)).toEqual(Array.from(ix.search(queries.subarray(3 * d, 4 * d), 10, { nprobe: 16 }).ids))
    await ix.add([70_000], x.subarray(0, d))
    expect(ix.size).toBe(5001)
    await ix.close()
  })
})

describe('an abort while the call waits behind another write', () => {
  it('rejects at once; the writes queued after it still wait their turn, in order', async () => {
    const { ix, x } = await trainedIndex(20_000)
    const order: string[] = []
    // A signal that never aborts: the retrain pauses, so the event loop runs while it works.
    const retraining = ix
      .retrain({ iterations: 60, tolerance: 0, seed: 3, signal: new AbortController().signal })
      .then(() => order.push('retrained'))
    const ac = new AbortController()
    const adding = outcome(ix.add([90_001], x.subarray(0, d), undefined, { signal: ac.signal })).then((e) => {
      order.push('add settled')
      return e
    })
    const upserting = ix.upsert([90_002], x.subarray(0, d)).then(() => order.push('upserted'))
    setImmediate(() => ac.abort('not waiting'))
    expectAborted(await adding, 'not waiting')
    await Promise.all([retraining, upserting])
    expect(order).toEqual(['add settled', 'retrained', 'upserted'])
    expect(ix.has(90_001)).toBe(false)
    expect(ix.has(90_002)).toBe(true)
    expect(ix.size).toBe(20_001)
    await ix.close()
  })
})

describe('a signal that never aborts changes no result', () => {
  it('the same model, codes and batch results as without one (the pausing paths compute the same)', async () => {
    const x = clusteredVectors(10_000, d, 16, 31)
    const make = () => VqIndex.create(':memory:', { dim: d, description: 'IVF32,PQ8', threads: 0 })
    const plain = make()
    const followed = make()
    const signal = new AbortController().signal
    await plain.train(x, { seed: 6 })
    await followed.train(x, { seed: 6, signal })
    const arrays = (ix: VqIndex) => Object.fromEntries(Object.entries(ix.model.exportArrays()).map(([k, a]) => [k, Array.from(a.data)]))
    expect(arrays(followed)).toEqual(arrays(plain))
    await plain.add(ids(10_000), x)
    await followed.add(ids(10_000), x, undefined, { signal, onProgress: () => undefined })
    for (const id of [0, 2047, 2048, 4096, 9999]) expect(Array.from(followed.reconstruct(id))).toEqual(Array.from(plain.reconstruct(id)))
    const queries = x.subarray(0, 300 * d)
    const a = await plain.searchBatch(queries, 10, { nprobe: 8 })
    const b = await followed.searchBatch(queries, 10, { nprobe: 8, signal, onProgress: () => undefined })
    expect(Array.from(b.ids)).toEqual(Array.from(a.ids))
    expect(Array.from(b.distances)).toEqual(Array.from(a.distances))
    await plain.close()
    await followed.close()
  })
})

describe('an abort after the call is done is ignored', () => {
  it('the calls succeed and their changes stay', async () => {
    const { ix, x, path } = await trainedIndex(1000)
    const ac = new AbortController()
    const signal = ac.signal
    await ix.add([9000], x.subarray(0, d), undefined, { signal })
    await ix.retrain({ signal, seed: 4 })
    const r = await ix.searchBatch(x.subarray(0, 20 * d), 3, { threads: 0, signal })
    const target = join(dir, 'after.snap')
    expect(await ix.export(target, { signal })).toBe(1001)
    ac.abort(new Error('too late'))
    expect(ix.size).toBe(1001)
    expect(r.row(0).ids[0]).toBe(0)
    expect(existsSync(target)).toBe(true)
    const after = fingerprint(ix, x)
    await ix.close()
    expect(fileFingerprint(path, x)).toEqual(after)
  })
})

describe('signal and onProgress at the door', () => {
  it('a value that is not an AbortSignal is BAD_OPTION naming the option and the value', async () => {
    const ix = VqIndex.create(':memory:', { dim: d, threads: 0 })
    const x = randomVectors(20, d, 2)
    const refused = [
      ['train', () => ix.train(x, { signal: {} as never })],
      ['add', () => ix.add([1], x.subarray(0, d), undefined, { signal: new AbortController() as never })],
      ['add train', () => ix.add([1], x.subarray(0, d), undefined, { train: { signal: 'stop' as never } })],
      ['searchBatch', () => ix.searchBatch(x, 2, { signal: { aborted: true } as never })],
      ['export', () => ix.export(join(dir, 'never.snap'), { signal: 5 as never })],
    ] as const
    for (const [name, call] of refused) {
      const e = await outcome(call())
      expect(e, name).toBeInstanceOf(VqOptionError)
      expect((e as VqError).code).toBe('BAD_OPTION')
      // (add's { train } reports the union: "train must be true, false or training options, got Object")
      if (name !== 'add train') expect((e as Error).message).toMatch(/signal must be an AbortSignal, got /)
    }
    const e = await outcome(ix.add([1], x.subarray(0, d), undefined, { onProgress: 'log' as never }))
    expect((e as VqError).code).toBe('BAD_OPTION')
    expect((e as Error).message).toBe('onProgress must be a function, got "log"')
    expect((await outcome(ix.export(join(dir, 'never.snap'), { bogus: 1 } as never))) as VqError).toMatchObject({
      code: 'UNKNOWN_OPTION',
    })
    expect(existsSync(join(dir, 'never.snap'))).toBe(false)
    await ix.close()
  })
})
