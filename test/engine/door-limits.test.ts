/**
 * The documented limits at the door (k, refineFactor, nq * k, find limit, vector norm,
 * half-float range), ids checked alike by every method, CLOSED for every use after
 * close(), property names and values, and the messages of the option refusals that the
 * issue lists.
 */
import { describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { MAX_BATCH_RESULTS, MAX_FIND_LIMIT, MAX_FLOAT16, MAX_K, MAX_REFINE_FACTOR, MAX_SQUARED_NORM } from '../../src/limits.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 8

async function caught(f: () => unknown): Promise<VqError> {
  try {
    await f()
  } catch (e) {
    if (e instanceof VqError) return e
    throw new Error(`expected a VqError, got ${String(e)}`)
  }
  throw new Error('expected a VqError, got none')
}

async function flatIndex(n: number, description = 'Flat', storeVectors: 'none' | 'float32' | 'float16' = 'none'): Promise<VqIndex> {
  const ix = VqIndex.create(':memory:', { dim: d, description, storeVectors })
  const x = clusteredVectors(n, d, 4, 5)
  if (!ix.isTrained) await ix.train(x, { seed: 1 })
  await ix.add(
    Array.from({ length: n }, (_, i) => i),
    x,
  )
  return ix
}

describe('k, refineFactor and nq * k', () => {
  it('k past MAX_K is BAD_K naming the limit (search, searchBatch, keywordSearch), before allocating', async () => {
    const ix = await flatIndex(20)
    for (const k of [MAX_K + 1, 1e9, 2 ** 53 - 1]) {
      const e = await caught(() => ix.search(new Float32Array(d), k))
      expect(e.code).toBe('BAD_K')
      expect(e.message).toContain(String(MAX_K))
      expect((await caught(() => ix.searchBatch(new Float32Array(2 * d), k))).code).toBe('BAD_K')
    }
    await ix.createTextIndex()
    expect((await caught(() => ix.keywordSearch('x', MAX_K + 1))).code).toBe('BAD_K')
    // k = MAX_K is allowed, padded with -1 / Infinity.
    const r = ix.search(new Float32Array(d), MAX_K)
    expect(r.ids.length).toBe(MAX_K)
    expect(r.ids[19]).toBeGreaterThanOrEqual(0)
    expect(r.ids[20]).toBe(-1)
    expect(r.distances[MAX_K - 1]).toBe(Number.POSITIVE_INFINITY)
  })

  it('nq * k past MAX_BATCH_RESULTS is BAD_K asking to split the batch', async () => {
    const ix = await flatIndex(20)
    const e = await caught(() => ix.searchBatch(new Float32Array(101 * d), MAX_BATCH_RESULTS / 100))
    expect(e.code).toBe('BAD_K')
    expect(e.message).toMatch(/split the batch/)
    expect(e.message).toContain(String(MAX_BATCH_RESULTS))
  })

  it('refineFactor past MAX_REFINE_FACTOR is BAD_OPTION; within it, the candidates are clamped to the index size with the same results', async () => {
    const ix = await flatIndex(300, 'IVF2,SQ8,RFlat', 'float32')
    const q = clusteredVectors(1, d, 1, 9)
    const e = await caught(() => ix.search(q, 10, { refineFactor: 1e9 }))
    expect(e.code).toBe('BAD_OPTION')
    expect(e.message).toBe(`refineFactor must be an integer from 1 to ${MAX_REFINE_FACTOR}, got 1000000000`)
    const base = ix.search(q, 10, { refineFactor: 30, nprobe: 2 })
    for (const refineFactor of [31, 100, MAX_REFINE_FACTOR]) {
      const r = ix.search(q, 10, { refineFactor, nprobe: 2 })
      expect(Array.from(r.ids)).toEqual(Array.from(base.ids))
      expect(Array.from(r.distances)).toEqual(Array.from(base.distances))
    }
    const batch = await ix.searchBatch(q, 10, { refineFactor: MAX_REFINE_FACTOR, nprobe: 2, threads: 0 })
    expect(Array.from(batch.ids)).toEqual(Array.from(base.ids))
  })

  it('k = MAX_K with refineFactor = MAX_REFINE_FACTOR on a small index does not size candidates past the index', async () => {
    const ix = await flatIndex(300, 'IVF2,SQ8,RFlat', 'float32')
    const q = clusteredVectors(1, d, 1, 9)
    const before = process.memoryUsage().arrayBuffers
    const r = ix.search(q, MAX_K, { refineFactor: MAX_REFINE_FACTOR, nprobe: 2 })
    const grown = process.memoryUsage().arrayBuffers - before
    // The result itself is 12 bytes * MAX_K; k * refineFactor candidates would be 1.2 GB.
    expect(grown).toBeLessThan(100 * 1024 * 1024)
    expect(r.ids.filter((id) => id >= 0).length).toBe(300)
  })

  it('find limit outside 1..MAX_FIND_LIMIT is BAD_OPTION naming the limit', async () => {
    const ix = await flatIndex(5)
    for (const limit of [Number.NaN, -1, 1.5, 1e12, 0]) {
      const e = await caught(() => ix.find({}, limit))
      expect(e.code).toBe('BAD_OPTION')
      expect(e.message).toContain(String(MAX_FIND_LIMIT))
    }
    expect(ix.find({}, MAX_FIND_LIMIT).length).toBe(5)
  })
})

describe('vector values', () => {
  it('a query of 3e38-sized components is VALUE_OUT_OF_RANGE (its distances would overflow), not 0 results', async () => {
    const ix = await flatIndex(50)
    const e = await caught(() => ix.search(new Float32Array(d).fill(3e38), 10))
    expect(e.code).toBe('VALUE_OUT_OF_RANGE')
    expect(e.message).toMatch(/vector 0 has squared norm/)
    const eb = await caught(() => ix.searchBatch(Float32Array.from([...new Float32Array(d), ...new Float32Array(d).fill(3e38)]), 10))
    expect(eb.message).toMatch(/vector 1 has squared norm/)
    expect((await caught(() => ix.add([100], new Float32Array(d).fill(3e38)))).code).toBe('VALUE_OUT_OF_RANGE')
    expect((await caught(() => ix.train(new Float32Array(d).fill(3e38)))).code).toBe('VALUE_OUT_OF_RANGE')
    expect(ix.size).toBe(50)
  })

  it('vectors up to the norm limit are accepted, with finite distances', async () => {
    const ix = VqIndex.create(':memory:', { dim: d })
    const c = Math.sqrt(MAX_SQUARED_NORM / d) * 0.999
    const big = new Float32Array(d).fill(c)
    await ix.add([1, 2], Float32Array.from([...big, ...big.map((v) => -v)]))
    const r = ix.search(big, 2)
    expect(Array.from(r.ids)).toEqual([1, 2])
    expect(Number.isFinite(r.distances[1]!)).toBe(true)
  })

  it('where vectors are kept as half floats, components beyond MAX_FLOAT16 are VALUE_OUT_OF_RANGE in train / add / upsert, not in queries', async () => {
    const over = new Float32Array(d).fill(1)
    over[2] = MAX_FLOAT16 + 100
    const layouts: [string, 'none' | 'float32' | 'float16', 'l2' | 'ip' | 'cosine', boolean][] = [
      ['Flat', 'float16', 'l2', true],
      ['SQfp16', 'none', 'l2', true],
      ['SQfp16', 'none', 'ip', true],
      ['IVF2,SQfp16', 'none', 'l2', true],
      ['IVF2,SQ8,Refine(SQfp16)', 'none', 'l2', true],
      // Cosine codecs see unit vectors; float32 storage keeps the value.
      ['SQfp16', 'none', 'cosine', false],
      ['Flat', 'float32', 'l2', false],
    ]
    for (const [description, storeVectors, metric, refused] of layouts) {
      const ix = VqIndex.create(':memory:', { dim: d, description, storeVectors, metric })
      const x = clusteredVectors(64, d, 2, 3)
      if (!ix.isTrained) {
        if (refused) expect((await caught(() => ix.train(Float32Array.from([...x, ...over])))).code, description).toBe('VALUE_OUT_OF_RANGE')
        await ix.train(x, { seed: 1 })
      }
      const add = () => ix.add([1], over)
      if (refused) {
        const e = await caught(add)
        expect(e.code, description).toBe('VALUE_OUT_OF_RANGE')
        expect(e.message).toMatch(/component 2/)
        expect((await caught(() => ix.upsert([1], over))).code).toBe('VALUE_OUT_OF_RANGE')
        expect(ix.size).toBe(0)
        await ix.add([1], new Float32Array(d).fill(MAX_FLOAT16))
      } else {
        await add()
      }
      expect(ix.size, description).toBe(1)
      expect(ix.search(over, 1).ids[0]).toBe(1)
      await ix.close()
    }
  })
})

describe('ids, alike in every method', () => {
  it('has() validates like get(); a BigInt that is a safe integer is accepted by add, get, has, delete', async () => {
    const ix = VqIndex.create(':memory:', { dim: d, storeVectors: 'float32' })
    await ix.add([3, 5000n as never], new Float32Array(2 * d).fill(1))
    for (const bad of ['3', null, -1, 1.5, 2 ** 53, 2n ** 60n, -1n]) {
      expect((await caught(() => ix.has(bad as never))).code).toBe('BAD_IDS')
      expect((await caught(() => ix.get(bad as never))).code).toBe('BAD_IDS')
    }
    expect(ix.has(5000n as never)).toBe(true)
    expect(ix.has(5000)).toBe(true)
    expect(ix.has(3n as never)).toBe(true)
    expect(ix.get(5000n as never)?.id).toBe(5000)
    expect(ix.has(4)).toBe(false)
    expect(await ix.delete([5000n as never])).toBe(1)
    expect(ix.has(5000)).toBe(false)
  })
})

describe('after close()', () => {
  it('every getter and method is VqStateError CLOSED (size does not read 0)', async () => {
    const ix = await flatIndex(10)
    await ix.close()
    const q = new Float32Array(d)
    const uses: [string, () => unknown][] = [
      ['size', () => ix.size],
      ['count', () => ix.count()],
      ['isTrained', () => ix.isTrained],
      ['codeSize', () => ix.codeSize],
      ['refineCodeSize', () => ix.refineCodeSize],
      ['quantizer', () => ix.quantizer],
      ['model', () => ix.model],
      ['manifest', () => ix.manifest],
      ['textField', () => ix.textField],
      ['kernelBackend', () => ix.kernelBackend],
      ['memoryUsage', () => ix.memoryUsage()],
      ['integrityCheck', () => ix.integrityCheck()],
      ['storageInfo', () => ix.storageInfo()],
      ['stats', () => ix.stats()],
      ['maxId', () => ix.maxId()],
      ['get', () => ix.get(1)],
      ['has', () => ix.has(1)],
      ['reconstruct', () => ix.reconstruct(1)],
      ['search', () => ix.search(q, 1)],
      ['searchBatch', () => ix.searchBatch(q, 1)],
      ['find', () => ix.find({})],
      ['keywordSearch', () => ix.keywordSearch('x', 1)],
      ['getProperty', () => ix.getProperty('p')],
      ['setProperty', () => ix.setProperty('p', 1)],
      ['add', () => ix.add([100], q)],
      ['upsert', () => ix.upsert([1], q)],
      ['delete', () => ix.delete([1])],
      ['train', () => ix.train(q)],
      ['retrain', () => ix.retrain()],
      ['refresh', () => ix.refresh()],
      ['export', () => ix.export('/tmp/never-written.snap')],
      ['createTextIndex', () => ix.createTextIndex()],
    ]
    const codes: Record<string, string> = {}
    for (const [name, use] of uses) codes[name] = (await caught(use)).code
    expect(codes).toEqual(Object.fromEntries(uses.map(([name]) => [name, 'CLOSED'])))
    await ix.close()
  })
})

describe('properties', () => {
  it('setProperty refuses names and values it cannot store with BAD_ARGUMENT before the write, and stores the others', async () => {
    const ix = VqIndex.create(':memory:', { dim: d })
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    for (const value of [cyclic, () => 1, { f: () => 1 }, Symbol('s'), 2n ** 64n]) {
      const e = await caught(() => ix.setProperty('p', value))
      expect(e.code).toBe('BAD_ARGUMENT')
      expect(e.message).toContain('"p"')
    }
    expect((await caught(() => ix.setProperty('', 1))).code).toBe('BAD_ARGUMENT')
    expect(ix.manifest.generation).toBe(0)
    expect(ix.getProperty('p')).toBeUndefined()
    const shared = { x: 1 }
    const value = { list: [1, 'two', null, true], nested: { a: shared, b: shared }, big: 2n ** 63n - 1n, when: 'now' }
    await ix.setProperty('p', value)
    expect(ix.getProperty('p')).toEqual(value)
  })
})

describe('option refusals the issue lists, with messages naming the option and the value', () => {
  it('train / retrain / create / open / search / delete', async () => {
    const ix = await flatIndex(300, 'IVF2,SQ8', 'float32')
    const cases: [() => unknown, string, string][] = [
      [() => ix.retrain({ iterations: -5 }), 'BAD_OPTION', 'iterations must be an integer from 1 to 100000, got -5'],
      [() => ix.retrain({ ivfIterations: -1 }), 'BAD_OPTION', 'ivfIterations must be an integer from 1 to 100000, got -1'],
      [() => ix.retrain({ iterations: 'many' as never }), 'BAD_OPTION', 'iterations must be an integer from 1 to 100000, got "many"'],
      [() => ix.retrain({ seed: 'abc' as never }), 'BAD_OPTION', 'seed must be a safe integer, got "abc"'],
      [() => ix.retrain({ init: 'bogus' as never }), 'BAD_OPTION', 'init must be one of "kmeans++", "random", got "bogus"'],
      [() => ix.retrain({ onProgress: 5 as never }), 'BAD_OPTION', 'onProgress must be a function, got 5'],
      [() => ix.retrain(null as never), 'BAD_OPTION', 'retrain options must be an object, got null'],
      [() => ix.retrain({ iteratons: 3 } as never), 'UNKNOWN_OPTION', 'unknown retrain option "iteratons"; did you mean "iterations"?'],
      [
        () => ix.add([1000], new Float32Array(d), undefined, { train: { seeed: 1 } as never }),
        'UNKNOWN_OPTION',
        'unknown add train option "seeed"; did you mean "seed"?',
      ],
      [() => ix.search(new Float32Array(d), 1, null as never), 'BAD_OPTION', 'search options must be an object, got null'],
      [() => ix.delete([1], null as never), 'BAD_OPTION', 'delete options must be an object, got null'],
      [() => VqIndex.open('/nonexistent/x.vq', null as never), 'BAD_OPTION', 'open options must be an object, got null'],
      [
        () => VqIndex.create(':memory:', { dim: d, refine: { kind: 'weird' } as never }),
        'BAD_OPTION',
        'refine.kind must be a refine stage { kind: "flat", narrow? } or { kind: "codec", codec }, got "weird"',
      ],
      [
        () => VqIndex.create(':memory:', { dim: d, kernels: 'gpu' as never }),
        'BAD_OPTION',
        'kernels must be one of "wasm", "ts", "reference", got "gpu"',
      ],
      [
        () => VqIndex.create(':memory:', { dim: d, codec: { kind: 'pq' } as never }),
        'BAD_OPTION',
        'codec.m must be an integer from 1 to 65536, got undefined',
      ],
      [() => VqIndex.create(':memory:', { dim: d, ivf: [] as never }), 'BAD_OPTION', 'ivf must be an object, got an array'],
    ]
    for (const [call, code, message] of cases) {
      const e = await caught(call)
      expect({ code: e.code, message: e.message }).toEqual({ code, message })
    }
    expect(ix.size).toBe(300)
    expect(ix.manifest.generation).toBe(2)
  })
})

describe('sizes that would exhaust memory at create', () => {
  it('an OPQ transform over more than MAX_OPQ_DIM dimensions is BAD_OPTION (its rotation is d x dOut floats)', () => {
    expect(() => VqIndex.create(':memory:', { dim: 65_536, description: 'OPQ64,PQ64' })).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringMatching(/at most 4096/) }),
    )
    expect(VqIndex.create(':memory:', { dim: 256, description: 'OPQ16,PQ16' }).dim).toBe(256)
  })

  it("export to ':memory:' is BAD_OPTION, not a file named ':memory:'", async () => {
    const ix = VqIndex.create(':memory:', { dim: 4 })
    await expect(ix.export(':memory:')).rejects.toMatchObject({ code: 'BAD_OPTION' })
  })
})
