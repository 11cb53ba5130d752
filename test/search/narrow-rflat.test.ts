/**
 * Narrowed RFlat ("RFlat(<codec>)"): an in-memory codec of each vector's first-stage error
 * narrows the k * refineFactor candidates to the k * exactFactor read exactly.
 * - The searcher against a plain float64 pipeline written here: first-stage distances of
 *   every item (decoded code plus centroid), the k * refineFactor nearest, their
 *   reconstruction with the decoded error, the k * exactFactor nearest of those, then the
 *   exact k nearest: the same ids, on the reference, ts and wasm backends, l2 and ip,
 *   with and without IVF residuals, PQ and scalar codecs on either side.
 * - With exactFactor >= refineFactor nothing is narrowed: the same results as plain RFlat.
 * - Through the public API: descriptions and typed specs, refusals, rows read, recall
 *   against plain RFlat reading as many rows, persistence and searchBatch on workers.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type Kernels, referenceKernels } from '../../native-free-kernels/index.js'
import { formatIndexDescription, normalizeIndexSpec, parseIndexDescription } from '../../src/factory/parse.js'
import { type CreateOptions, exactKnn, VqIndex, VqOptionError } from '../../src/index.js'
import { InvertedLists } from '../../src/ivf/inverted-lists.js'
import { IndexModel, NARROW_TERM_BYTES } from '../../src/search/model.js'
import { Searcher, type SearchParams } from '../../src/search/searcher.js'
import { fastBackends } from '../helpers/backends.js'
import { clusteredSearchSet } from '../helpers/data.js'
import { expectVqError } from '../helpers/errors.js'

const d = 16
const n = 600
const nq = 12
const { x, queries } = clusteredSearchSet(n, nq, d, 10, 21, 0.4)
const backends: { name: string; kernels: Kernels }[] = [{ name: 'reference', kernels: referenceKernels }, ...fastBackends]

function params(k: number, refineFactor: number, exactFactor: number, nprobe: number): SearchParams {
  return { k, nprobe, refineFactor, qb: 4, errorBounds: true, exactFactor, filter: null }
}

/** A trained model, its lists (ids = rows) and a searcher whose fetch reads rows of x. */
async function build(description: string, metric: 'l2' | 'ip', kernels: Kernels) {
  const spec = normalizeIndexSpec(parseIndexDescription(description), d)
  const model = new IndexModel(spec, d, metric, kernels)
  await model.train(x, n, { seed: 5 })
  const enc = model.encode(x, n)
  const ids = Array.from({ length: n }, (_, i) => i)
  const lists = InvertedLists.build(
    model.coarse.nlist,
    model.scanCodeSize,
    model.refineSize,
    enc.lists,
    ids,
    ids,
    model.padCodes(enc.codes, n),
    enc.refine,
    enc.terms,
  )
  let read = 0
  const searcher = new Searcher(model, (fetchIds, count, out) => {
    read += count
    for (let j = 0; j < count; j++) out.set(x.subarray(fetchIds[j]! * d, (fetchIds[j]! + 1) * d), j * d)
    return new Uint8Array(count).fill(1)
  })
  return { model, enc, lists, searcher, rows: () => read }
}

/** The plain pipeline (float64) of the module comment: the k ids, nearest first. */
function referenceIds(
  model: IndexModel,
  enc: { lists: Int32Array; codes: Uint8Array; refine: Uint8Array | null },
  q: Float32Array,
  k: number,
  kc: number,
  m: number,
): number[] {
  const first = new Float32Array(n * d)
  model.codec.decode(enc.codes, n, first)
  const narrow = model.refineCodec!
  const cs = narrow.codeSize
  const rs = model.refineSize
  const errCodes = new Uint8Array(n * cs)
  for (let i = 0; i < n; i++) errCodes.set(enc.refine!.subarray(i * rs, i * rs + cs), i * cs)
  const err = new Float32Array(n * d)
  narrow.decode(errCodes, n, err)
  const dist = (v: (t: number) => number): number => {
    let s = 0
    for (let t = 0; t < d; t++) s += model.inner === 'l2' ? (q[t]! - v(t)) ** 2 : -q[t]! * v(t)
    return s
  }
  const centre = (i: number, t: number): number => (model.byResidual ? model.coarse.centroids[enc.lists[i]! * d + t]! : 0)
  const rows = Array.from({ length: n }, (_, i) => i)
  const x1 = (i: number) => (t: number) => first[i * d + t]! + centre(i, t)
  const x2 = (i: number) => (t: number) => first[i * d + t]! + centre(i, t) + err[i * d + t]!
  const exact = (i: number) => (t: number) => x[i * d + t]!
  const byScore = (score: (i: number) => number, from: number[], count: number): number[] =>
    from
      .map((i) => [score(i), i] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .slice(0, count)
      .map((e) => e[1])
  const pool = byScore((i) => dist(x1(i)), rows, kc)
  const narrowed = byScore((i) => dist(x2(i)), pool, m)
  return byScore((i) => dist(exact(i)), narrowed, k)
}

describe('narrowed RFlat: the searcher against a plain pipeline', () => {
  // 8-bit PQ and scalar first stages: their scans are exact float ADC, as the reference.
  const descriptions = ['PQ4,RFlat(PQ8)', 'IVF6,PQ8,RFlat(PQ4)', 'IVF6,SQ8,RFlat(PQ8x4)', 'PQ8,RFlat(SQ8)', 'IVF6,PQ4,RFlat(SQ4)']
  for (const b of backends) {
    for (const metric of ['l2', 'ip'] as const) {
      it(`${b.name} ${metric}: the same ids as the plain pipeline, k * exactFactor rows read (${descriptions.join(' ')})`, async () => {
        for (const description of descriptions) {
          const { model, enc, lists, searcher, rows } = await build(description, metric, b.kernels)
          const view = lists.view()
          const nprobe = model.coarse.nlist // every list: the reference scores every item
          for (const [k, r, e] of [
            [5, 8, 2],
            [3, 10, 3],
            [1, 6, 1],
          ] as const) {
            const ids = new Float64Array(k)
            const dist = new Float32Array(k)
            let mismatched = 0
            const before = rows()
            for (let qi = 0; qi < nq; qi++) {
              const q = queries.subarray(qi * d, (qi + 1) * d)
              searcher.search(view, q, 0, params(k, r, e, nprobe), ids, dist)
              const want = referenceIds(model, enc, q, k, k * r, k * e)
              if (Array.from(ids).join() !== want.join()) mismatched++
            }
            expect(mismatched, `${description} k ${k} refine ${r} exact ${e}`).toBe(0)
            expect(rows() - before).toBe(nq * k * e)
          }
        }
      })
    }
  }

  it('nothing is narrowed when exactFactor >= refineFactor: the same ids and distances as plain RFlat, every candidate read', async () => {
    for (const b of backends) {
      for (const [narrowed, plain] of [
        ['IVF6,PQ8x4,RFlat(PQ8)', 'IVF6,PQ8x4,RFlat'],
        ['IVF6,PQ4,RFlat(SQ8)', 'IVF6,PQ4,RFlat'],
      ] as const) {
        const a = await build(narrowed, 'l2', b.kernels)
        const p = await build(plain, 'l2', b.kernels)
        for (let qi = 0; qi < nq; qi++) {
          const q = queries.subarray(qi * d, (qi + 1) * d)
          const out = [new Float64Array(5), new Float32Array(5), new Float64Array(5), new Float32Array(5)] as const
          a.searcher.search(a.lists.view(), q, 0, params(5, 4, 4, 3), out[0], out[1])
          p.searcher.search(p.lists.view(), q, 0, params(5, 4, 4, 3), out[2], out[3])
          expect([...out[0]], `${b.name} ${narrowed}`).toEqual([...out[2]])
          expect([...out[1]]).toEqual([...out[3]])
        }
        expect(a.rows()).toBe(p.rows())
      }
    }
  })

  it("the refine code is the error codec's code then a float32 term", async () => {
    const { model } = await build('IVF6,PQ8,RFlat(PQ4)', 'l2', referenceKernels)
    expect(model.narrows).toBe(true)
    expect(model.refineSize).toBe(model.refineCodec!.codeSize + NARROW_TERM_BYTES)
  })
})

describe('narrowed RFlat through the public API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vqlite-narrow-'))
  const opened: VqIndex[] = []
  afterAll(async () => {
    await Promise.all(opened.map((ix) => ix.close()))
    rmSync(dir, { recursive: true, force: true })
  })
  const big = clusteredSearchSet(3000, 40, 32, 24, 7, 0.6)
  const ids = Array.from({ length: 3000 }, (_, i) => 2 * i + 1)
  const truth = exactKnn(big.x, 3000, big.queries, 40, 32, 10, 'l2')
  const recall = (ix: VqIndex, o: { nprobe: number; refineFactor: number; exactFactor?: number }): number => {
    let hit = 0
    for (let qi = 0; qi < 40; qi++) {
      const r = ix.search(big.queries.subarray(qi * 32, (qi + 1) * 32), 10, o)
      const want = new Set(Array.from(truth.labels.subarray(qi * 10, (qi + 1) * 10), (row) => 2 * row + 1))
      for (const id of r.ids) if (want.has(id)) hit++
    }
    return hit / 400
  }
  async function create(name: string, options: CreateOptions & { ids?: 'integer' }): Promise<VqIndex> {
    const ix = VqIndex.create(join(dir, name), options)
    opened.push(ix)
    await ix.add(ids, big.x, undefined, { train: { seed: 3 } })
    return ix
  }

  it('descriptions, typed specs and their canonical form', () => {
    const spec = parseIndexDescription('IVF64,PQ16x4,RFlat(PQ8)')
    expect(spec.refine).toEqual({ kind: 'flat', narrow: { kind: 'pq', m: 8, nbits: 8 } })
    expect(formatIndexDescription(normalizeIndexSpec(spec, 32), 32)).toBe('IVF64,PQ16x4,RFlat(PQ8)')
    expect(formatIndexDescription(normalizeIndexSpec(parseIndexDescription('PQ8,RFlat(SQ4)'), 32), 32)).toBe('PQ8,RFlat(SQ4)')
    const ix = VqIndex.create(':memory:', {
      dim: 32,
      codec: { kind: 'pq', m: 16, nbits: 4 },
      ivf: { nlist: 4 },
      refine: { kind: 'flat', narrow: { kind: 'sq8' } },
      storeVectors: 'float32',
    })
    expect(ix.description).toBe('IVF4,PQ16x4,RFlat(SQ8)')
    ix.close()
  })

  it('refuses narrowing codecs that cannot serve, naming them', () => {
    for (const [description, what] of [
      ['IVF8,RaBitQ,RFlat(PQ8)', 'reconstructs vectors \\(PQ, SQ8, SQ4, SQfp16\\), not RaBitQ;'],
      ['Flat,RFlat(PQ8)', 'reconstructs vectors \\(PQ, SQ8, SQ4, SQfp16\\), not Flat;'],
      ['PQ8,RFlat(RaBitQ)', 'must be PQ, SQ8, SQ4 or SQfp16, not RaBitQ;'],
      ['PQ8,RFlat(Flat)', 'must be PQ, SQ8, SQ4 or SQfp16, not Flat;'],
      ['PQ8,RFlat(XYZ)', 'unknown narrowing codec "XYZ" in "RFlat\\(XYZ\\)"'],
    ] as const) {
      expectVqError(
        () => VqIndex.create(':memory:', { dim: 32, description, storeVectors: 'float32' }),
        VqOptionError,
        'BAD_DESCRIPTION',
        new RegExp(what),
      )
    }
    expectVqError(
      () =>
        VqIndex.create(':memory:', {
          dim: 32,
          codec: { kind: 'rabitq' },
          refine: { kind: 'flat', narrow: { kind: 'pq', m: 8 } },
          storeVectors: 'float32',
        }),
      VqOptionError,
      'BAD_OPTION',
      /^refine: a narrowed RFlat needs a first codec .* not RaBitQ$/,
    )
    // A narrowing codec must fit the dimension like any codec.
    expect(() => VqIndex.create(':memory:', { dim: 32, description: 'PQ8,RFlat(PQ7)', storeVectors: 'float32' })).toThrow(VqOptionError)
    expectVqError(() => VqIndex.create(':memory:', { dim: 32, description: 'PQ8,RFlat(PQ8)' }), VqOptionError, 'BAD_OPTION', /storeVectors/)
  })

  it('reads k * exactFactor rows and finds more than plain RFlat reading as many', async () => {
    const narrowed = await create('narrowed.vqlite', { dim: 32, description: 'IVF16,PQ16x4,RFlat(PQ16x4)', storeVectors: 'float32' })
    const plain = await create('plain.vqlite', { dim: 32, description: 'IVF16,PQ16x4,RFlat', storeVectors: 'float32' })
    narrowed.search(big.queries.subarray(0, 32), 10, { nprobe: 8, refineFactor: 8, exactFactor: 2 })
    expect(narrowed.lastSearchStats().rowsRead).toBe(20)
    narrowed.search(big.queries.subarray(0, 32), 10, { nprobe: 8, refineFactor: 8 })
    expect(narrowed.lastSearchStats().rowsRead).toBe(20) // exactFactor 2 by default
    const rNarrow = recall(narrowed, { nprobe: 8, refineFactor: 8, exactFactor: 2 })
    const rPlainSame = recall(plain, { nprobe: 8, refineFactor: 2 })
    const rPlainAll = recall(plain, { nprobe: 8, refineFactor: 8 })
    expect(rNarrow).toBeGreaterThan(rPlainSame + 0.05)
    expect(rNarrow).toBeGreaterThan(rPlainAll - 0.03)
    // exactFactor >= refineFactor: every candidate read, as plain RFlat.
    expect(recall(narrowed, { nprobe: 8, refineFactor: 4, exactFactor: 4 })).toBe(recall(plain, { nprobe: 8, refineFactor: 4 }))
  })

  it('survives reopening and gives the same results on worker threads', async () => {
    const path = join(dir, 'reopen.vqlite')
    const ix = VqIndex.create(path, { dim: 32, description: 'IVF16,PQ8,RFlat(PQ8x4)', storeVectors: 'float32', threads: 2 })
    await ix.add(ids, big.x, undefined, { train: { seed: 3 } })
    const o = { nprobe: 6, refineFactor: 6, exactFactor: 2 }
    const before = Array.from({ length: 40 }, (_, qi) => ix.search(big.queries.subarray(qi * 32, (qi + 1) * 32), 10, o))
    const batch = await ix.searchBatch(big.queries, 10, o)
    for (let qi = 0; qi < 40; qi++) expect(Array.from(batch.ids.subarray(qi * 10, (qi + 1) * 10))).toEqual(Array.from(before[qi]!.ids))
    await ix.close()
    const again = VqIndex.open(path, { readonly: true })
    opened.push(again)
    expect(again.description).toBe('IVF16,PQ8,RFlat(PQ8x4)')
    for (let qi = 0; qi < 40; qi++) expect(again.search(big.queries.subarray(qi * 32, (qi + 1) * 32), 10, o)).toEqual(before[qi])
  })

  it('refuses bad exactFactor values with BAD_OPTION naming it', async () => {
    const ix = VqIndex.create(':memory:', { dim: 32, description: 'PQ8,RFlat(PQ8)', storeVectors: 'float32' })
    await ix.add(ids.slice(0, 300), big.x.subarray(0, 300 * 32), undefined, { train: true })
    for (const bad of [0, -1, 1.5, Number.NaN, '2', 1e9]) {
      expectVqError(
        () => ix.search(big.queries.subarray(0, 32), 5, { refineFactor: 4, exactFactor: bad as number }),
        VqOptionError,
        'BAD_OPTION',
        /exactFactor/,
      )
    }
    await ix.close()
  })
})
