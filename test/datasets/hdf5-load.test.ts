import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { exactKnn, VqFormatError, VqStateError, VqStorageError } from 'vqlite'
import { CATALOGUE, catalogueEntry } from '../../datasets/catalogue.js'
import { downloadDataset, downloadUrl } from '../../datasets/download.js'
import { readAnnBenchmarks, readAnnBenchmarksShape, writeAnnBenchmarks } from '../../datasets/hdf5.js'
import { loadDataset } from '../../datasets/load.js'
import { syntheticMixture } from '../../datasets/synthetic.js'
import { writeVecs } from '../../datasets/texmex.js'
import { randomVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-hdf5-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A small ann-benchmarks-layout set with exact neighbours. */
function smallSet(
  nb: number,
  nq: number,
  d: number,
  seed: number,
): { train: Float32Array; test: Float32Array; neighbors: Int32Array; gtK: number } {
  const train = randomVectors(nb, d, seed)
  const test = randomVectors(nq, d, seed + 1)
  const gtK = 10
  const knn = exactKnn(train, nb, test, nq, d, gtK, 'l2')
  return { train, test, neighbors: Int32Array.from(knn.labels), gtK }
}

describe('ann-benchmarks HDF5 files', () => {
  it('round-trip: what writeAnnBenchmarks writes, readAnnBenchmarks reads back exactly', async () => {
    const s = smallSet(300, 20, 8, 1)
    const path = join(dir, 'small-8-euclidean.hdf5')
    await writeAnnBenchmarks(path, { d: 8, nb: 300, nq: 20, ...s, distances: new Float32Array(20 * s.gtK), distance: 'euclidean' })
    const r = await readAnnBenchmarks(path)
    expect([r.d, r.nb, r.nq, r.gtK, r.metric]).toEqual([8, 300, 20, 10, 'l2'])
    expect(Array.from(r.train)).toEqual(Array.from(s.train))
    expect(Array.from(r.test)).toEqual(Array.from(s.test))
    expect(Array.from(r.neighbors!)).toEqual(Array.from(s.neighbors))
    expect(await readAnnBenchmarksShape(path)).toEqual({ d: 8, nb: 300, nq: 20, gtK: 10, metric: 'l2' })
    // read in blocks of 7 rows (large sets are read block by block)
    const blocked = await readAnnBenchmarks(path, { blockRows: 7 })
    expect(Array.from(blocked.train)).toEqual(Array.from(s.train))
    expect(Array.from(blocked.neighbors!)).toEqual(Array.from(s.neighbors))
  })

  it('the distance attribute maps to a metric (angular -> cosine, dot -> ip)', async () => {
    for (const [distance, metric] of [
      ['angular', 'cosine'],
      ['dot', 'ip'],
    ] as const) {
      const path = join(dir, `m-${distance}.hdf5`)
      await writeAnnBenchmarks(path, { d: 4, nb: 10, nq: 2, train: randomVectors(10, 4, 3), test: randomVectors(2, 4, 4), distance })
      expect((await readAnnBenchmarks(path)).metric).toBe(metric)
    }
  })

  it('a truncated file is a TRUNCATED_FILE error; a foreign file and a file without train are BAD_FILE', async () => {
    const s = smallSet(2000, 10, 16, 5)
    const whole = join(dir, 'whole.hdf5')
    await writeAnnBenchmarks(whole, { d: 16, nb: 2000, nq: 10, ...s, distance: 'euclidean' })
    const cut = join(dir, 'cut.hdf5')
    copyFileSync(whole, cut)
    truncateSync(cut, Math.floor(statSync(whole).size * 0.6))
    const err = await readAnnBenchmarks(cut).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VqFormatError)
    expect((err as VqFormatError).code).toBe('TRUNCATED_FILE')
    expect((err as Error).message).toContain('cut.hdf5')

    const foreign = join(dir, 'foreign.hdf5')
    writeFileSync(foreign, 'this is not an HDF5 file at all')
    await expect(readAnnBenchmarks(foreign)).rejects.toMatchObject({ code: 'BAD_FILE' })
    // Only the first 8 bytes (the signature) of a real file.
    const stub = join(dir, 'stub.hdf5')
    writeFileSync(stub, readFileSync(whole).subarray(0, 8))
    await expect(readAnnBenchmarks(stub)).rejects.toBeInstanceOf(VqFormatError)
  })

  it('loadDataset reads an .hdf5 path, keeps its neighbours and recomputes their distances', async () => {
    const s = smallSet(500, 30, 6, 7)
    const path = join(dir, 'load-6-euclidean.hdf5')
    await writeAnnBenchmarks(path, { d: 6, nb: 500, nq: 30, ...s, distance: 'euclidean' })
    const ds = await loadDataset(path, { cacheDir: join(dir, 'cache') })
    expect([ds.name, ds.metric, ds.nb, ds.nq, ds.d, ds.gtK]).toEqual(['load-6-euclidean', 'l2', 500, 30, 6, 10])
    expect(Array.from(ds.groundTruth)).toEqual(Array.from(s.neighbors))
    // distances ascending per query, and equal to squared L2 of the listed neighbour
    for (let i = 0; i < ds.nq; i++) {
      const id = ds.groundTruth[i * 10]!
      let e = 0
      for (let t = 0; t < 6; t++) e += (ds.queries[i * 6 + t]! - ds.base[id * 6 + t]!) ** 2
      expect(ds.groundTruthDistances[i * 10]).toBeCloseTo(e, 4)
      for (let j = 1; j < 10; j++)
        expect(ds.groundTruthDistances[i * 10 + j]!).toBeGreaterThanOrEqual(ds.groundTruthDistances[i * 10 + j - 1]! - 1e-6)
    }
  })
})

describe('loadDataset on TEXMEX files and generated sets', () => {
  it('X_base.fvecs with X_query.fvecs and no ground truth: computed, cached, and equal to exact search', async () => {
    const tdir = join(dir, 'tx')
    mkdirSync(tdir)
    const base = randomVectors(400, 5, 11)
    const q = randomVectors(12, 5, 12)
    await writeVecs(join(tdir, 'mini_base.fvecs'), 'fvecs', base, 400, 5)
    await writeVecs(join(tdir, 'mini_query.fvecs'), 'fvecs', q, 12, 5)
    const cacheDir = join(dir, 'cache-tx')
    const ds = await loadDataset(join(tdir, 'mini_base.fvecs'), { cacheDir, gtK: 20 })
    expect([ds.name, ds.metric, ds.nb, ds.nq, ds.gtK]).toEqual(['mini', 'l2', 400, 12, 20])
    const want = exactKnn(base, 400, q, 12, 5, 20, 'l2')
    expect(Array.from(ds.groundTruth)).toEqual(Array.from(want.labels))
    const again = await loadDataset(join(tdir, 'mini_base.fvecs'), { cacheDir, gtK: 20 })
    expect(Array.from(again.groundTruth)).toEqual(Array.from(want.labels))
    // A prefix of the base (limit) gets its own ground truth over that prefix.
    const cut = await loadDataset(join(tdir, 'mini_base.fvecs'), { cacheDir, gtK: 20, limit: 100 })
    expect(cut.nb).toBe(100)
    expect(Array.from(cut.groundTruth)).toEqual(Array.from(exactKnn(base, 100, q, 12, 5, 20, 'l2').labels))
  })

  it('X_base.bvecs with a published ground truth beside it', async () => {
    const tdir = join(dir, 'tb')
    mkdirSync(tdir)
    const bytes = Uint8Array.from(randomVectors(300 * 4, 1, 21, 0, 256), (v) => Math.floor(v))
    const qb = Uint8Array.from(randomVectors(5 * 4, 1, 22, 0, 256), (v) => Math.floor(v))
    await writeVecs(join(tdir, 'b_base.bvecs'), 'bvecs', bytes, 300, 4)
    await writeVecs(join(tdir, 'b_query.bvecs'), 'bvecs', qb, 5, 4)
    const gt = exactKnn(Float32Array.from(bytes), 300, Float32Array.from(qb), 5, 4, 7, 'l2')
    await writeVecs(join(tdir, 'b_groundtruth.ivecs'), 'ivecs', Int32Array.from(gt.labels), 5, 7)
    const ds = await loadDataset(join(tdir, 'b_base.bvecs'), { cacheDir: join(dir, 'cache-tb') })
    expect([ds.nb, ds.nq, ds.d, ds.gtK]).toEqual([300, 5, 4, 7])
    expect(ds.base[5]).toBe(bytes[5])
    expect(Array.from(ds.groundTruth)).toEqual(Array.from(gt.labels))
  })

  it('a missing query file, out-of-range neighbours and unknown names are typed errors', async () => {
    const tdir = join(dir, 'tm')
    mkdirSync(tdir)
    await writeVecs(join(tdir, 'lone_base.fvecs'), 'fvecs', randomVectors(10, 3, 1), 10, 3)
    await expect(loadDataset(join(tdir, 'lone_base.fvecs'))).rejects.toMatchObject({ code: 'BAD_FILE' })
    const path = join(dir, 'badnb.hdf5')
    await writeAnnBenchmarks(path, {
      d: 2,
      nb: 5,
      nq: 1,
      train: randomVectors(5, 2, 1),
      test: randomVectors(1, 2, 2),
      neighbors: Int32Array.from([0, 9]),
      gtK: 2,
      distance: 'euclidean',
    })
    await expect(loadDataset(path, { cacheDir: join(dir, 'c2') })).rejects.toMatchObject({ code: 'BAD_FILE' })
    await expect(loadDataset('no-such-set')).rejects.toMatchObject({ code: 'BAD_OPTION' })
    const notYet = await loadDataset('sift-128-euclidean', { cacheDir: join(dir, 'empty-cache') }).catch((e: unknown) => e)
    expect(notYet).toBeInstanceOf(VqStateError)
    expect((notYet as Error).message).toContain('vqlite datasets download sift-128-euclidean')
  })

  it('synthetic:N:D:NQ:SEED is reproducible and anisotropic', async () => {
    const a = syntheticMixture({ n: 2000, d: 16, nq: 10, seed: 3, clusters: 4 })
    const b = syntheticMixture({ n: 2000, d: 16, nq: 10, seed: 3, clusters: 4 })
    expect(Array.from(a.base)).toEqual(Array.from(b.base))
    expect(Array.from(syntheticMixture({ n: 2000, d: 16, nq: 10, seed: 4, clusters: 4 }).base)).not.toEqual(Array.from(a.base))
    // Per-axis variance around the overall mean differs widely between axes of one cluster:
    // with a single component the spread of axis deviations is e^3 between extremes.
    const one = syntheticMixture({ n: 4000, d: 8, nq: 1, seed: 5, clusters: 1 })
    const sd = Array.from({ length: 8 }, (_, t) => {
      let m = 0
      let s = 0
      for (let i = 0; i < 4000; i++) m += one.base[i * 8 + t]!
      m /= 4000
      for (let i = 0; i < 4000; i++) s += (one.base[i * 8 + t]! - m) ** 2
      return Math.sqrt(s / 4000)
    })
    expect(Math.max(...sd) / Math.min(...sd)).toBeGreaterThan(8)
    const ds = await loadDataset('synthetic:500:8:20:2', { cacheDir: join(dir, 'c3') })
    expect([ds.nb, ds.d, ds.nq, ds.gtK, ds.metric]).toEqual([500, 8, 20, 100, 'l2'])
  })
})

describe('catalogue and download', () => {
  it('every ann-benchmarks and TEXMEX entry has a source address, metric and dimension', () => {
    for (const name of [
      'sift-128-euclidean',
      'gist-960-euclidean',
      'glove-25-angular',
      'glove-50-angular',
      'glove-100-angular',
      'glove-200-angular',
      'fashion-mnist-784-euclidean',
      'mnist-784-euclidean',
      'nytimes-256-angular',
      'deep-image-96-angular',
      'lastfm-64-dot',
      'sift1m',
      'gist1m',
    ]) {
      const e = catalogueEntry(name)!
      expect(e, name).toBeDefined()
      expect('url' in e.source && /^(https?|ftp):\/\//.test(e.source.url), name).toBe(true)
      expect(e.d).toBeGreaterThan(0)
      expect(['l2', 'cosine', 'ip']).toContain(e.metric)
    }
    expect(new Set(CATALOGUE.map((e) => e.name)).size).toBe(CATALOGUE.length)
  })

  it('without a network a download is a NETWORK error that says so', async () => {
    // Port 9 (discard) on localhost refuses the connection at once.
    const err = await downloadUrl('http://127.0.0.1:9/glove-25-angular.hdf5', join(dir, 'x.part'), () => {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VqStorageError)
    expect((err as VqStorageError).code).toBe('NETWORK')
    expect((err as Error).message).toMatch(/network connection/)
    await expect(downloadDataset('glove100')).rejects.toMatchObject({ code: 'BAD_OPTION' })
  })

  it('an interrupted HTTP download resumes from its part file with a Range request', async () => {
    const payload = Buffer.from(randomVectors(5000, 1, 9).buffer)
    const ranges: string[] = []
    const server = createServer((req, res) => {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
      ranges.push(req.headers.range ?? '')
      if (m) {
        const from = Number(m[1])
        res.writeHead(206, {
          'content-length': payload.length - from,
          'content-range': `bytes ${from}-${payload.length - 1}/${payload.length}`,
        })
        res.end(payload.subarray(from))
      } else {
        res.writeHead(200, { 'content-length': payload.length })
        res.end(payload)
      }
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const port = (server.address() as AddressInfo).port
      const part = join(dir, 'resume.part')
      writeFileSync(part, payload.subarray(0, 7000))
      let last = 0
      await downloadUrl(`http://127.0.0.1:${port}/f`, part, (done, total) => {
        last = done
        expect(total).toBe(payload.length)
      })
      expect(ranges).toEqual(['bytes=7000-'])
      expect(last).toBe(payload.length)
      expect(readFileSync(part).equals(payload)).toBe(true)
    } finally {
      server.close()
    }
  })
})
