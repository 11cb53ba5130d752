import { afterEach, describe, expect, it } from 'vitest'
import { referenceKernels as ref } from '../../native-free-kernels/index.js'
import { formatIndexDescription, normalizeIndexSpec } from '../../src/factory/parse.js'
import { type CreateOptions, type Metric, parseIndexDescription, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 16
const n = 8000
const nq = 40
const x = clusteredVectors(n, d, 60, 21, 0.35)
const queries = clusteredVectors(nq, d, 60, 22, 0.35)
const ids = Array.from({ length: n }, (_, i) => i)

/** Indexes opened by the running test, closed after it. */
const opened: VqIndex[] = []
afterEach(async () => {
  for (const index of opened.splice(0)) await index.close()
})

/** A new in-memory index, closed after the test. */
function create(options: CreateOptions & { ids?: 'integer' }): VqIndex {
  const index = VqIndex.create(':memory:', options)
  opened.push(index)
  return index
}

async function build(description: string, metric: Metric = 'l2', extra: Record<string, unknown> = {}): Promise<VqIndex> {
  const index = create({ dim: d, metric, description, threads: 0, ...extra })
  await index.train(x, { seed: 7 })
  await index.add(ids, x)
  return index
}

function recall(found: Float64Array, truth: Float64Array, k: number): number {
  let hit = 0
  for (let i = 0; i < nq; i++) {
    const t = new Set(truth.subarray(i * k, (i + 1) * k))
    for (const id of found.subarray(i * k, (i + 1) * k)) if (t.has(id)) hit++
  }
  return hit / (nq * k)
}

describe('description grammar', () => {
  it('parses, normalises and formats every stage', () => {
    for (const [s, canonical] of [
      ['IVF1024,PQ16', 'IVF1024,PQ16'],
      ['IVF4k,PQ32x4', 'IVF4096,PQ32x4'],
      ['OPQ16,IVF1024,PQ16', 'OPQ16,IVF1024,PQ16'],
      ['OPQ8_64,IVF256,PQ8', 'OPQ8_64,IVF256,PQ8'],
      ['IVF256,SQ4,RFlat', 'IVF256,SQ4,RFlat'],
      ['IVF4096,PQ16,Refine(SQ8)', 'IVF4096,PQ16,Refine(SQ8)'],
      ['PQ8,Refine(Flat)', 'PQ8,RFlat'],
      ['IVF256,Flat', 'IVF256,Flat'],
      ['Flat', 'Flat'],
      ['RaBitQ', 'RaBitQ'],
      ['RaBitQ1', 'RaBitQ'],
      ['RaBitQ4', 'RaBitQ4'],
      ['IVF1024,RaBitQ,RFlat', 'IVF1024,RaBitQ,RFlat'],
      ['IVF4096,RaBitQ4,RFlat', 'IVF4096,RaBitQ4,RFlat'],
      ['IVF1024,RaBitQfs', 'IVF1024,RaBitQ'],
      ['RaBitQfs9', 'RaBitQ9'],
      ['IVF64,PQ8,Refine(RaBitQ6)', 'IVF64,PQ8,Refine(RaBitQ6)'],
    ] as const) {
      expect(formatIndexDescription(normalizeIndexSpec(parseIndexDescription(s), 128), 128)).toBe(canonical)
    }
    expect(normalizeIndexSpec(parseIndexDescription('OPQ16,IVF1024,PQ16'), 128)).toEqual({
      transform: { kind: 'opq', m: 16, dOut: 128 },
      ivf: { nlist: 1024, byResidual: true },
      codec: { kind: 'pq', m: 16, nbits: 8 },
    })
    expect(normalizeIndexSpec(parseIndexDescription('IVF1024,RaBitQ'), 128)).toEqual({
      ivf: { nlist: 1024, byResidual: true },
      codec: { kind: 'rabitq', nbits: 1 },
    })
    for (const bad of [
      'IVF,PQ8',
      'PQ8,IVF16',
      'OPQ8,SQ8',
      'IVF16,PQ8,RFlat,RFlat',
      'IVF16,Refine(PQ8)',
      'HNSW32',
      'RaBitQ0',
      'RaBitQ10',
      'RaBitQfs_64',
      'OPQ8,RaBitQ',
    ]) {
      expect(() => parseIndexDescription(bad)).toThrow(/invalid index description/)
    }
  })

  it('the typed options object is equivalent to the string', async () => {
    const a = create({ dim: d, description: 'IVF32,PQ4,Refine(SQ8)' })
    const b = create({ dim: d, ivf: { nlist: 32 }, codec: { kind: 'pq', m: 4 }, refine: { kind: 'codec', codec: { kind: 'sq8' } } })
    expect(b.description).toBe('IVF32,PQ4,Refine(SQ8)')
    expect(b.spec).toEqual(a.spec)
    expect(() => VqIndex.create(':memory:', { dim: d, description: 'IVF32,PQ4', ivf: { nlist: 64 }, codec: { kind: 'pq', m: 4 } })).toThrow(
      /disagree/,
    )
    expect(() => VqIndex.create(':memory:', { dim: d, description: 'IVF32,SQ8,RFlat' })).toThrow(/storeVectors/)
    expect(() => VqIndex.create(':memory:', { dim: d, description: 'IVF0,SQ8' })).toThrow(/nlist/)
    expect(() => VqIndex.create(':memory:', { dim: d, description: 'OPQ4_32,PQ4' })).toThrow(/OPQ output dimension/)
  })
})

describe('IVF', () => {
  it('IVF-Flat at nprobe = nlist is exact search', async () => {
    const exact = await build('Flat')
    const ivf = await build('IVF64,Flat')
    const a = await exact.searchBatch(queries, 10)
    const b = await ivf.searchBatch(queries, 10, { nprobe: 64 })
    expect(b.ids).toEqual(a.ids)
    for (let i = 0; i < a.distances.length; i++) expect(b.distances[i]).toBeCloseTo(a.distances[i]!, 4)
  })

  it('without residuals, IVF-PQ at nprobe = nlist ranks exactly like exhaustive PQ with the same codes', async () => {
    const pq = await build('PQ8')
    const ivf = create({ dim: d, ivf: { nlist: 32, byResidual: false }, codec: { kind: 'pq', m: 8 }, threads: 0 })
    await ivf.train(x, { seed: 7 })
    await ivf.add(ids, x)
    // Same PQ training (same data, same seed) gives the same codebooks and codes.
    expect(ivf.quantizer.exportState().arrays['centroids']!.data).toEqual(pq.quantizer.exportState().arrays['centroids']!.data)
    const a = await pq.searchBatch(queries, 10)
    const b = await ivf.searchBatch(queries, 10, { nprobe: 32 })
    expect(b.ids).toEqual(a.ids)
    expect(b.distances).toEqual(a.distances)
  })

  for (const [metric, description] of [
    ['l2', 'IVF32,PQ8'],
    ['ip', 'IVF32,PQ8'],
    ['cosine', 'IVF32,PQ8'],
    ['l2', 'IVF32,PQ2'],
    ['cosine', 'PQ2'],
  ] as const) {
    it(`${metric}, ${description}: at nprobe = nlist equals brute-force ADC over the same codes`, async () => {
      // PQ2 has 2-byte codes that are scanned padded to 4 bytes.
      const ivf = await build(description, metric)
      const k = 10
      const got = await ivf.searchBatch(queries, k, { nprobe: 32 })
      // Reference: decode every item (centroid + residual reconstruction) and rank by the exact
      // distance to that reconstruction, which is what ADC computes.
      const recon = new Float32Array(n * d)
      for (let i = 0; i < n; i++) recon.set(ivf.reconstruct(i), i * d)
      let agree = 0
      for (let qi = 0; qi < nq; qi++) {
        let q = queries.subarray(qi * d, (qi + 1) * d)
        if (metric === 'cosine') {
          const norm = Math.sqrt(ref.innerProduct(q, 0, q, 0, d))
          q = q.map((v) => v / norm)
        }
        const scored = ids
          .map((id) => {
            const dist = metric === 'ip' ? -ref.innerProduct(q, 0, recon, id * d, d) : ref.l2sqr(q, 0, recon, id * d, d)
            return { id, dist: metric === 'cosine' ? dist / 2 : dist }
          })
          .sort((a, b) => a.dist - b.dist || a.id - b.id)
        for (let j = 0; j < k; j++) {
          expect(got.distances[qi * k + j]).toBeCloseTo(scored[j]!.dist, 3)
          if (got.ids[qi * k + j] === scored[j]!.id) agree++
        }
      }
      // Ids agree except where float rounding swaps near-ties.
      expect(agree / (nq * k)).toBeGreaterThan(0.97)
    })
  }

  it('recall grows with nprobe', async () => {
    const exact = await build('Flat')
    const ivf = await build('IVF64,PQ8')
    const truth = (await exact.searchBatch(queries, 10)).ids
    let prev = -1
    const seen: number[] = []
    for (const nprobe of [1, 4, 16, 64]) {
      const r = recall((await ivf.searchBatch(queries, 10, { nprobe })).ids, truth, 10)
      seen.push(r)
      expect(r).toBeGreaterThanOrEqual(prev - 0.01)
      prev = r
    }
    expect(seen[3]!).toBeGreaterThan(seen[0]! + 0.1)
  })

  it('RFlat returns exact distances and recall at least that of the codes alone', async () => {
    const exact = await build('Flat', 'cosine')
    const plain = await build('IVF32,PQ4', 'cosine')
    const refined = await build('IVF32,PQ4,RFlat', 'cosine', { storeVectors: 'float32' })
    const truth = await exact.searchBatch(queries, 10)
    const a = await plain.searchBatch(queries, 10, { nprobe: 8 })
    const b = await refined.searchBatch(queries, 10, { nprobe: 8, refineFactor: 8 })
    expect(recall(b.ids, truth.ids, 10)).toBeGreaterThan(recall(a.ids, truth.ids, 10) + 0.1)
    for (let i = 0; i < nq * 10; i++) {
      const id = b.ids[i]!
      const q = queries.subarray(Math.floor(i / 10) * d, (Math.floor(i / 10) + 1) * d)
      expect(b.distances[i]).toBeCloseTo(1 - ref.cosineSimilarity(q, 0, x, id * d, d), 5)
    }
  })

  it('Refine(SQ8) re-ranks on in-memory SQ8 codes', async () => {
    const exact = await build('Flat')
    const plain = await build('IVF32,PQ4')
    const refined = await build('IVF32,PQ4,Refine(SQ8)')
    expect(refined.refineCodeSize).toBe(d)
    const truth = await exact.searchBatch(queries, 10)
    const a = await plain.searchBatch(queries, 10, { nprobe: 8 })
    const b = await refined.searchBatch(queries, 10, { nprobe: 8, refineFactor: 8 })
    expect(recall(b.ids, truth.ids, 10)).toBeGreaterThan(recall(a.ids, truth.ids, 10) + 0.1)
  })

  it('OPQ does not lose recall against plain PQ on correlated data', async () => {
    // Correlated dimensions: a random linear mix of clustered data.
    const mix = clusteredVectors(d, d, d, 5, 1)
    const y = new Float32Array(n * d)
    const q2 = new Float32Array(nq * d)
    for (const [src, dst, count] of [
      [x, y, n],
      [queries, q2, nq],
    ] as const) {
      for (let i = 0; i < count; i++) for (let a = 0; a < d; a++) dst[i * d + a] = ref.innerProduct(src, i * d, mix, a * d, d)
    }
    const run = async (description: string): Promise<Float64Array> => {
      const index = create({ dim: d, description, threads: 0 })
      await index.train(y, { seed: 3, opqIterations: 8 })
      await index.add(ids, y)
      return (await index.searchBatch(q2, 10)).ids
    }
    const truth = await run('Flat')
    const rPq = recall(await run('PQ4'), truth, 10)
    const rOpq = recall(await run('OPQ4,PQ4'), truth, 10)
    expect(rOpq).toBeGreaterThanOrEqual(rPq - 0.01)
  })

  it('vectors added after training go to their nearest list; stats() reports the balance', async () => {
    const ivf = await build('IVF16,SQ8')
    const s = ivf.stats()
    expect(s.nlist).toBe(16)
    expect(s.count).toBe(n)
    expect(Array.from(s.listSizes).reduce((a, b) => a + b, 0)).toBe(n)
    expect(s.imbalance).toBeGreaterThanOrEqual(1)
    // Pile new vectors near one existing point: they all land in its list.
    const near = new Float32Array(200 * d)
    for (let i = 0; i < 200; i++) for (let t = 0; t < d; t++) near[i * d + t] = x[t]! + 1e-4 * i
    await ivf.add(
      Array.from({ length: 200 }, (_, i) => n + i),
      near,
    )
    const after = ivf.stats()
    expect(after.count).toBe(n + 200)
    const grew = Array.from(after.listSizes).map((v, l) => v - s.listSizes[l]!)
    expect(grew.filter((g) => g > 0)).toEqual([200])
    expect(after.imbalance).toBeGreaterThan(s.imbalance)
  })

  it('IVF indexes persist: reopening gives identical results', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'vqlite-ivf-'))
    try {
      for (const description of ['IVF32,PQ8', 'OPQ4,IVF16,PQ4x4', 'IVF16,SQ4,RFlat', 'IVF16,PQ4,Refine(SQ8)']) {
        const path = join(dir, `${description.replace(/[^A-Za-z0-9]/g, '_')}.vqlite`)
        const a = VqIndex.create(path, { dim: d, metric: 'cosine', description, storeVectors: 'float32', threads: 0 })
        await a.train(x, { seed: 2, opqIterations: 3 })
        await a.add(ids, x)
        await a.delete([5, 6, 7])
        const before = await a.searchBatch(queries, 10, { nprobe: 4, refineFactor: 3 })
        await a.close()
        const b = VqIndex.open(path, { threads: 0 })
        const after = await b.searchBatch(queries, 10, { nprobe: 4, refineFactor: 3 })
        expect(after.ids).toEqual(before.ids)
        expect(after.distances).toEqual(before.distances)
        await b.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
