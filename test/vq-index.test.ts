import { describe, expect, it } from 'vitest'
import { referenceKernels as ref } from '../native-free-kernels/index.js'
import { type CreateOptions, type Metric, type VqError, VqIndex, VqInputError, VqOptionError, VqStateError } from '../src/index.js'
import { clusteredVectors, randomVectors } from './helpers/data.js'
import { expectVqError } from './helpers/errors.js'
import { closeIndexesAfterEach } from './helpers/indexes.js'

closeIndexesAfterEach()

const seq = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

/** Brute force with the public distance conventions, ties by smaller id. */
function bruteForce(
  x: Float32Array,
  ids: number[],
  q: Float32Array,
  d: number,
  k: number,
  metric: Metric,
): { ids: number[]; dist: number[] } {
  const n = ids.length
  const scored = ids.map((id, i) => {
    let dist: number
    if (metric === 'l2') dist = ref.l2sqr(q, 0, x, i * d, d)
    else if (metric === 'ip') dist = -ref.innerProduct(q, 0, x, i * d, d)
    else dist = 1 - ref.cosineSimilarity(q, 0, x, i * d, d)
    return { id, dist }
  })
  scored.sort((a, b) => a.dist - b.dist || a.id - b.id)
  const top = scored.slice(0, Math.min(k, n))
  return { ids: top.map((s) => s.id), dist: top.map((s) => s.dist) }
}

describe('VqIndex: Flat is exact', () => {
  for (const metric of ['l2', 'ip', 'cosine'] as const) {
    it(`${metric}: ids and distances equal brute force`, async () => {
      const d = 17,
        n = 500,
        k = 10
      const index = VqIndex.create(':memory:', { dim: d, metric })
      const x = randomVectors(n, d, 1)
      const ids = seq(n, 1000)
      await index.train(x)
      await index.add(ids, x)
      expect(index.size).toBe(n)
      for (let qi = 0; qi < 20; qi++) {
        const q = randomVectors(1, d, 100 + qi)
        const got = index.search(q, k)
        const want = bruteForce(x, ids, q, d, k, metric)
        expect(Array.from(got.ids)).toEqual(want.ids)
        for (let j = 0; j < k; j++) expect(got.distances[j]).toBeCloseTo(want.dist[j]!, 4)
      }
    })
  }

  it('pads with -1 / Infinity when k exceeds the size, including an empty index', async () => {
    const index = VqIndex.create(':memory:', { dim: 3 })
    expect(Array.from(index.search(new Float32Array(3), 2).ids)).toEqual([-1, -1])
    await index.add([7, 8], new Float32Array([0, 0, 0, 1, 1, 1]))
    const r = index.search(new Float32Array([1, 1, 1]), 4)
    expect(Array.from(r.ids)).toEqual([8, 7, -1, -1])
    expect(Array.from(r.distances)).toEqual([0, 3, Infinity, Infinity])
  })

  it('accepts ids as any array-like of integers, up to 2^53 - 1', async () => {
    const index = VqIndex.create(':memory:', { dim: 2 })
    await index.add(new Float64Array([0, Number.MAX_SAFE_INTEGER]), new Float32Array([0, 0, 5, 5]))
    await index.add(Int32Array.from([3]), new Float32Array([1, 1]))
    expect(Array.from(index.search(new Float32Array([5, 5]), 1).ids)).toEqual([Number.MAX_SAFE_INTEGER])
    expect(index.has(3)).toBe(true)
  })
})

describe('VqIndex: compressed codecs', () => {
  const d = 32,
    n = 6000,
    nq = 50,
    k = 10
  const x = clusteredVectors(n, d, 100, 42, 0.4)
  const qs = clusteredVectors(nq, d, 100, 42, 0.4).map((v, i) => v + 0.01 * Math.sin(i))
  const ids = seq(n)

  async function recallOf(options: CreateOptions & { ids?: 'integer' }, metric: Metric): Promise<number> {
    const exact = VqIndex.create(':memory:', { dim: d, metric })
    await exact.add(ids, x)
    const index = VqIndex.create(':memory:', { ...options, dim: d, metric })
    await index.train(x, { seed: 3 })
    await index.add(ids, x)
    // On the main thread: this is about the codecs (the pool's parity is test/search/pool.test.ts).
    const a = await exact.searchBatch(qs, k, { threads: 0 })
    const b = await index.searchBatch(qs, k, { threads: 0 })
    let hit = 0
    for (let i = 0; i < nq; i++) {
      const want = new Set(a.row(i).ids)
      for (const id of b.row(i).ids) if (want.has(id)) hit++
    }
    return hit / (nq * k)
  }

  // Recall thresholds sit well below the values seen (in parentheses) on this seeded data,
  // and well above what a broken codec gives (~k/n).
  it.each([
    ['PQ8', 'l2', 0.5], // (0.628)
    ['PQ16', 'cosine', 0.75], // (0.870)
    ['PQ8x4', 'ip', 0.25], // (0.338)
    ['SQ8', 'l2', 0.95], // (0.984)
    ['SQ4', 'cosine', 0.7], // (0.818)
    ['SQfp16', 'ip', 0.98], // (0.998)
  ] as const)('%s (%s) finds most of the exact neighbours', async (description, metric, min) => {
    expect(await recallOf({ dim: d, description }, metric)).toBeGreaterThan(min)
  })

  // On the main thread (threads: 0); the pool's rows equal these: test/search/pool.test.ts.
  it('searchBatch rows equal search, for every codec', async () => {
    for (const description of ['Flat', 'PQ8', 'PQ16x4', 'SQ8', 'SQ4', 'SQfp16']) {
      const index = VqIndex.create(':memory:', { dim: d, metric: 'cosine', description })
      await index.train(x.subarray(0, 3000 * d))
      await index.add(seq(3000), x.subarray(0, 3000 * d))
      const batch = await index.searchBatch(qs, k, { threads: 0 })
      for (let i = 0; i < nq; i++) {
        const one = index.search(qs.subarray(i * d, (i + 1) * d), k)
        expect(batch.row(i).ids).toEqual(one.ids)
        expect(batch.row(i).distances).toEqual(one.distances)
      }
    }
  })

  it('a description string and the equivalent codec object build the same index', async () => {
    const a = VqIndex.create(':memory:', { dim: d, description: 'PQ8x4' })
    const b = VqIndex.create(':memory:', { dim: d, codec: { kind: 'pq', m: 8, nbits: 4 } })
    expect(b.description).toBe('PQ8x4')
    expect(b.spec).toEqual(a.spec)
    await a.train(x, { seed: 1 })
    await b.train(x, { seed: 1 })
    await a.add(ids, x)
    await b.add(ids, x)
    expect(b.search(qs.subarray(0, d), 5)).toEqual(a.search(qs.subarray(0, d), 5))
    expect(VqIndex.create(':memory:', { dim: d, codec: { kind: 'sq8' } }).description).toBe('SQ8')
    expect(VqIndex.create(':memory:', { dim: d, codec: { kind: 'fp16' } }).description).toBe('SQfp16')
    expect(VqIndex.create(':memory:', { dim: d, description: 'PQ4', codec: { kind: 'pq', m: 4 } }).codeSize).toBe(4)
  })

  it('reports training progress per sub-quantizer', async () => {
    const parts = new Set<number>()
    const index = VqIndex.create(':memory:', { dim: d, description: 'PQ4' })
    await index.train(x, { iterations: 2, onProgress: (p) => parts.add(p.part) })
    expect([...parts].sort()).toEqual([0, 1, 2, 3])
  })
})

async function rejectsAsync(p: Promise<unknown>, cls: new (...a: never[]) => VqError, code: string, message?: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(cls)
  expect((e as VqError).code).toBe(code)
  if (message) expect((e as VqError).message).toMatch(message)
}

describe('VqIndex: bad input gets a typed error and changes nothing', () => {
  const d = 8
  const x = clusteredVectors(2000, d, 20, 7)

  async function trainedIndex(): Promise<VqIndex> {
    const index = VqIndex.create(':memory:', { dim: d, description: 'PQ4', metric: 'cosine' })
    await index.train(x, { seed: 1 })
    await index.add(seq(100), x.subarray(0, 100 * d))
    return index
  }

  it('bad options and descriptions', () => {
    expectVqError(() => VqIndex.create(':memory:', { dim: 0 }), VqOptionError, 'BAD_OPTION', /dim must be an integer/)
    expectVqError(() => VqIndex.create(':memory:', { dim: 2.5 }), VqOptionError, 'BAD_OPTION')
    expectVqError(
      () => VqIndex.create(':memory:', { dim: 4, metric: 'hamming' as Metric }),
      VqOptionError,
      'BAD_OPTION',
      /metric must be one of/,
    )
    expectVqError(
      () => VqIndex.create(':memory:', { dim: 4, description: 'PQ' }),
      VqOptionError,
      'BAD_DESCRIPTION',
      /invalid index description "PQ": unknown stage/,
    )
    expectVqError(() => VqIndex.create(':memory:', { dim: 4, description: 'HNSW32' }), VqOptionError, 'BAD_DESCRIPTION')
    expectVqError(
      () => VqIndex.create(':memory:', { dim: 10, description: 'PQ3' }),
      VqOptionError,
      'BAD_OPTION',
      /m = 3 must divide the dimension 10/,
    )
    expectVqError(
      () => VqIndex.create(':memory:', { dim: 8, description: 'PQ4x9' }),
      VqOptionError,
      'BAD_OPTION',
      /nbits must be an integer from 1 to 8/,
    )
    expectVqError(() => VqIndex.create(':memory:', { dim: 8, description: 'PQ4x0' }), VqOptionError, 'BAD_OPTION', /nbits/)
    expectVqError(
      () => VqIndex.create(':memory:', { dim: 8, description: 'PQ4', codec: { kind: 'pq', m: 2 } }),
      VqOptionError,
      'BAD_OPTION',
      /disagree/,
    )
    expectVqError(
      () => VqIndex.create(':memory:', { dim: 8, dimension: 3 } as unknown as CreateOptions),
      VqOptionError,
      'UNKNOWN_OPTION',
      /did you mean "dim"|known options/,
    )
    expectVqError(
      () => VqIndex.create(':memory:', { dim: 8, metirc: 'l2' } as unknown as CreateOptions),
      VqOptionError,
      'UNKNOWN_OPTION',
      /did you mean "metric"/,
    )
    expectVqError(
      () => VqIndex.create(':memory:', { dim: 8, storeVectors: 'float64' as never }),
      VqOptionError,
      'BAD_OPTION',
      /storeVectors must be one of/,
    )
    expectVqError(() => VqIndex.create(':memory:', { dim: 8, durability: 'extra' as never }), VqOptionError, 'BAD_OPTION', /durability/)
    expectVqError(() => VqIndex.create('', { dim: 8 }), VqOptionError, 'BAD_OPTION', /path/)
  })

  it('training: empty set, too few points for k, wrong dimension, NaN, non-empty index', async () => {
    const pq = VqIndex.create(':memory:', { dim: d, description: 'PQ4' })
    await rejectsAsync(pq.train(new Float32Array(0)), VqInputError, 'EMPTY_TRAINING_SET')
    await rejectsAsync(
      pq.train(x.subarray(0, 100 * d)),
      VqInputError,
      'TOO_FEW_TRAINING_POINTS',
      /needs at least 256 training vectors, got 100/,
    )
    await rejectsAsync(pq.train(x.subarray(0, 1001)), VqInputError, 'DIMENSION_MISMATCH', /not a whole number of vectors of dimension 8/)
    const bad = x.slice(0, 300 * d)
    bad[5 * d + 3] = NaN
    await rejectsAsync(pq.train(bad), VqInputError, 'NON_FINITE_VALUE', /vector 5, component 3/)
    bad[5 * d + 3] = Infinity
    await rejectsAsync(pq.train(bad), VqInputError, 'NON_FINITE_VALUE')
    await rejectsAsync(pq.train(x, { iteratons: 3 } as never), VqOptionError, 'UNKNOWN_OPTION', /did you mean "iterations"/)
    expect(pq.isTrained).toBe(false)
    const index = await trainedIndex()
    await rejectsAsync(index.train(x), VqStateError, 'NOT_EMPTY')
  })

  it('search / add before training', async () => {
    const pq = VqIndex.create(':memory:', { dim: d, description: 'SQ8' })
    expectVqError(() => pq.search(new Float32Array(d), 3), VqStateError, 'NOT_TRAINED', /trained before search/)
    await rejectsAsync(pq.add([1], new Float32Array(d)), VqStateError, 'NOT_TRAINED')
    await rejectsAsync(pq.searchBatch(new Float32Array(d), 3), VqStateError, 'NOT_TRAINED')
    expect(pq.size).toBe(0)
  })

  it('add: wrong dimension, NaN, zero vector under cosine, bad / duplicate / existing ids; nothing is added', async () => {
    const index = await trainedIndex()
    const q = x.subarray(500 * d, 501 * d)
    const before = index.search(q, 10)
    const v = x.slice(200 * d, 203 * d)
    await rejectsAsync(index.add([200, 201], v), VqInputError, 'BAD_IDS', /got 2 ids for 3 vectors/)
    await rejectsAsync(index.add([200, 201, 202], v.subarray(0, 3 * d - 1)), VqInputError, 'DIMENSION_MISMATCH')
    await rejectsAsync(index.add([200, 200, 202], v), VqInputError, 'DUPLICATE_ID', /id 200 appears more than once/)
    await rejectsAsync(index.add([200, 5, 202], v), VqInputError, 'ID_EXISTS', /id 5 is already in the index/)
    await rejectsAsync(index.add([200, -1, 202], v), VqInputError, 'BAD_IDS', /integers from 0/)
    await rejectsAsync(index.add([200, 1.5, 202], v), VqInputError, 'BAD_IDS')
    await rejectsAsync(index.add([200, 2 ** 53, 202], v), VqInputError, 'BAD_IDS')
    await rejectsAsync(index.add('abc' as unknown as number[], v), VqInputError, 'BAD_IDS')
    const nan = v.slice()
    nan[2 * d] = NaN
    await rejectsAsync(index.add([200, 201, 202], nan), VqInputError, 'NON_FINITE_VALUE', /vector 2, component 0/)
    const zero = v.slice()
    zero.fill(0, d, 2 * d)
    await rejectsAsync(index.add([200, 201, 202], zero), VqInputError, 'ZERO_VECTOR', /vector 1 is all zeros/)
    await rejectsAsync(index.add([200], 'x' as unknown as Float32Array), VqInputError, 'BAD_VECTORS')
    expect(index.size).toBe(100)
    expect(index.has(200)).toBe(false)
    expect(index.search(q, 10)).toEqual(before)
  })

  it('search: wrong dimension, NaN, bad k', async () => {
    const index = await trainedIndex()
    expectVqError(() => index.search(new Float32Array(d + 1), 3), VqInputError, 'DIMENSION_MISMATCH')
    expectVqError(() => index.search(new Float32Array(2 * d), 3), VqInputError, 'DIMENSION_MISMATCH', /expected one vector/)
    expectVqError(() => index.search(new Float32Array(d).fill(NaN), 3), VqInputError, 'NON_FINITE_VALUE')
    expectVqError(() => index.search(new Float32Array(d).fill(1), 0), VqInputError, 'BAD_K')
    expectVqError(() => index.search(new Float32Array(d).fill(1), 2.5), VqInputError, 'BAD_K')
    expectVqError(() => index.search(new Float32Array(d), 3), VqInputError, 'ZERO_VECTOR')
    await rejectsAsync(index.searchBatch(new Float32Array(3 * d + 2), 3), VqInputError, 'DIMENSION_MISMATCH')
    expectVqError(() => index.reconstruct(12345), VqInputError, 'UNKNOWN_ID', /not in the index/)
  })

  it('closed indexes refuse every call', async () => {
    const index = await trainedIndex()
    await index.close()
    expectVqError(() => index.search(x.subarray(0, d), 3), VqStateError, 'CLOSED')
    await rejectsAsync(index.add([999], x.subarray(0, d)), VqStateError, 'CLOSED')
    await rejectsAsync(index.train(x), VqStateError, 'CLOSED')
  })
})
