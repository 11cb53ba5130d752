import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { type Metric, type VqError, VqIndex } from '../../src/index.js'
import { APPLICATION_ID, FORMAT_VERSION } from '../../src/storage/sqlite-store.js'
import { clusteredVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-persist-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let fileNo = 0
const newPath = (): string => join(dir, `index-${fileNo++}.vqlite`)
const seq = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

const d = 16
const x = clusteredVectors(3000, d, 40, 11, 0.3)
const queries = clusteredVectors(30, d, 40, 12, 0.3)

async function codeOf(e: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof e === 'function' ? e() : e)
  } catch (err) {
    return (err as VqError).code
  }
  return undefined
}

describe('one SQLite file per index', () => {
  it.each([
    ['Flat', 'l2'],
    ['PQ8', 'cosine'],
    ['PQ16x4', 'ip'],
    ['SQ8', 'l2'],
    ['SQ4', 'cosine'],
    ['SQfp16', 'ip'],
  ] as const)('%s / %s: reopening gives identical ids and distances', async (description, metric: Metric) => {
    const path = newPath()
    const a = VqIndex.create(path, { dim: d, metric, description })
    await a.train(x, { seed: 5 })
    await a.add(seq(2000), x.subarray(0, 2000 * d))
    await a.add(seq(1000, 5000), x.subarray(2000 * d))
    await a.delete([3, 5000, 77])
    const before = await a.searchBatch(queries, 10, { threads: 0 })
    a.close()
    const b = VqIndex.open(path)
    expect([b.size, b.description, b.metric, b.dim]).toEqual([2997, description, metric, d])
    const after = await b.searchBatch(queries, 10, { threads: 0 })
    expect(after.ids).toEqual(before.ids)
    expect(after.distances).toEqual(before.distances)
    b.close()
  })

  it('marks the file as a vqlite index of the current format', async () => {
    const path = newPath()
    VqIndex.create(path, { dim: 4 }).close()
    const db = new Database(path, { readonly: true })
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID)
    expect(db.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION)
    // At rest the file is in rollback-journal mode: one file, no -wal / -shm beside it.
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete')
    expect(existsSync(`${path}-wal`) || existsSync(`${path}-shm`)).toBe(false)
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]
    expect(tables).toEqual([
      'sqlite_sequence',
      'vq_arrays',
      'vq_codes',
      'vq_keys',
      'vq_manifest',
      'vq_metadata',
      'vq_tombstones',
      'vq_vectors',
    ])
    db.close()
  })

  it('stores trained arrays with dtype and shape, and the manifest with the training parameters', async () => {
    const path = newPath()
    const a = VqIndex.create(path, { dim: d, description: 'PQ4x6' })
    await a.train(x, { seed: 9, iterations: 7 })
    a.close()
    const db = new Database(path, { readonly: true })
    const arr = db.prepare('SELECT name, dtype, shape, length(data) AS bytes FROM vq_arrays').all()
    expect(arr).toEqual([{ name: 'codec.centroids', dtype: 'float32', shape: '[4,64,4]', bytes: 4 * 64 * 4 * 4 }])
    db.close()
    const b = VqIndex.open(path)
    expect(b.manifest.training).toMatchObject({ seed: 9, iterations: 7, vectors: 3000 })
    expect(b.manifest.trained).toBe(true)
    b.close()
  })

  it('get() returns the vector as added (float32 exactly, float16 rounded) and the metadata', async () => {
    for (const storeVectors of ['float32', 'float16'] as const) {
      const path = newPath()
      const a = VqIndex.create(path, { dim: d, metric: 'cosine', description: 'SQ8', storeVectors })
      await a.train(x)
      await a.add([10, 11, 12], x.subarray(0, 3 * d), [{ title: 'ten', tags: ['a'] }, null, 'plain string'])
      a.close()
      const b = VqIndex.open(path, { readonly: true })
      const item = b.get(10)!
      expect(item.metadata).toEqual({ title: 'ten', tags: ['a'] })
      expect(b.get(11)!.metadata).toBeNull()
      expect(b.get(12)!.metadata).toBe('plain string')
      expect(b.get(999)).toBeUndefined()
      for (let t = 0; t < d; t++) {
        if (storeVectors === 'float32') expect(item.vector![t]).toBe(x[t])
        else expect(Math.abs(item.vector![t]! - x[t]!)).toBeLessThanOrEqual(Math.abs(x[t]!) * 2 ** -11 + 2 ** -24)
      }
      b.close()
    }
    const none = VqIndex.create(':memory:', { dim: d })
    await none.add([1], x.subarray(0, d))
    expect(none.get(1)).toEqual({ id: 1, vector: null, metadata: null })
  })

  it('keeps only codes, ids and trained arrays in RAM', async () => {
    const path = newPath()
    const a = VqIndex.create(path, { dim: d, description: 'PQ4', storeVectors: 'float32' })
    await a.train(x)
    await a.add(
      seq(3000),
      x,
      seq(3000).map((i) => ({ text: 'x'.repeat(200), i })),
    )
    a.close()
    const b = VqIndex.open(path)
    const mem = b.memoryUsage()
    // 3000 items * (4-byte code + 8-byte id + 4-byte seq), plus up to ~25% room to grow,
    // plus 4*256*4 floats of centroids.
    expect(mem.codes).toBeGreaterThanOrEqual(3000 * 4)
    expect(mem.codes).toBeLessThanOrEqual(3000 * 4 * 1.25)
    expect(mem.ids).toBeGreaterThanOrEqual(3000 * 12)
    expect(mem.ids).toBeLessThanOrEqual(3000 * 12 * 1.25 + 64)
    expect(mem.trained).toBe(4 * 256 * 4 * 4)
    // The vectors (192 KB) and metadata (~630 KB) stay on disk.
    expect(mem.total).toBeLessThan((3000 * d * 4) / 2)
    b.close()
  })

  it('adding after training never retrains; retrain() re-encodes from the stored vectors', async () => {
    const path = newPath()
    const a = VqIndex.create(path, { dim: d, description: 'PQ4', storeVectors: 'float32' })
    await a.train(x.subarray(0, 500 * d), { seed: 1 })
    const cb = a.quantizer.exportState().arrays['centroids']!.data.slice()
    await a.add(seq(3000), x)
    expect(a.quantizer.exportState().arrays['centroids']!.data).toEqual(cb)
    const before = await a.searchBatch(queries, 10, { threads: 0 })
    await a.retrain({ seed: 2 })
    expect(a.quantizer.exportState().arrays['centroids']!.data).not.toEqual(cb)
    const after = await a.searchBatch(queries, 10, { threads: 0 })
    expect(after.ids).not.toEqual(before.ids)
    expect(a.manifest.training).toMatchObject({ seed: 2, vectors: 3000 })
    a.close()
    // The retrained codes and codebooks are what a reopened index uses.
    const b = VqIndex.open(path)
    expect((await b.searchBatch(queries, 10, { threads: 0 })).ids).toEqual(after.ids)
    b.close()
    // The same result as training on all vectors from the start.
    const c = VqIndex.create(':memory:', { dim: d, description: 'PQ4' })
    await c.train(x, { seed: 2 })
    await c.add(seq(3000), x)
    expect((await c.searchBatch(queries, 10, { threads: 0 })).ids).toEqual(after.ids)
  })

  it('retrain() needs stored vectors; train() refuses a non-empty index', async () => {
    const a = VqIndex.create(':memory:', { dim: d, description: 'SQ8' })
    await a.train(x)
    await a.add([1, 2], x.subarray(0, 2 * d))
    expect(await codeOf(a.retrain())).toBe('NO_VECTORS')
    expect(await codeOf(a.train(x))).toBe('NOT_EMPTY')
  })

  it('upsert replaces existing ids and adds new ones; delete removes; both persist', async () => {
    const path = newPath()
    const a = VqIndex.create(path, { dim: d, storeVectors: 'float32' })
    await a.add([1, 2, 3], x.subarray(0, 3 * d), [{ v: 1 }, { v: 2 }, { v: 3 }])
    await a.upsert([2, 4], x.subarray(10 * d, 12 * d), [{ v: 'two' }, { v: 4 }])
    expect(a.size).toBe(4)
    expect(a.get(2)!.metadata).toEqual({ v: 'two' })
    expect(a.get(2)!.vector).toEqual(x.slice(10 * d, 11 * d))
    expect(Array.from(a.search(x.subarray(10 * d, 11 * d), 1).ids)).toEqual([2])
    expect(await a.delete([1, 99])).toBe(1)
    expect(a.has(1)).toBe(false)
    a.close()
    const b = VqIndex.open(path)
    expect(b.size).toBe(3)
    expect(b.get(1)).toBeUndefined()
    expect(b.get(4)!.metadata).toEqual({ v: 4 })
    expect(b.search(x.subarray(10 * d, 11 * d), 1).ids[0]).toBe(2)
    b.close()
  })

  it('delete { strict: true } rejects unknown ids and deletes nothing', async () => {
    const a = VqIndex.create(':memory:', { dim: d })
    await a.add([1, 2, 3], x.subarray(0, 3 * d))
    expect(await codeOf(a.delete([2, 42], { strict: true }))).toBe('UNKNOWN_ID')
    expect(a.size).toBe(3)
    expect(a.has(2)).toBe(true)
    expect(await a.delete([2], { strict: true })).toBe(1)
  })

  it('rejected writes change neither memory nor the file', async () => {
    const path = newPath()
    const a = VqIndex.create(path, { dim: d, storeVectors: 'float32' })
    await a.add(seq(10), x.subarray(0, 10 * d))
    const gen = a.manifest.generation
    const nan = x.slice(0, 2 * d)
    nan[3] = NaN
    const attempts: [string, Promise<unknown>][] = [
      ['DIMENSION_MISMATCH', a.add([20], x.subarray(0, d - 1))],
      ['NON_FINITE_VALUE', a.add([20, 21], nan)],
      ['DUPLICATE_ID', a.add([20, 20], x.subarray(0, 2 * d))],
      ['ID_EXISTS', a.add([20, 5], x.subarray(0, 2 * d))],
      ['BAD_METADATA', a.add([20], x.subarray(0, d), [{ big: 1n }])],
      ['BAD_METADATA', a.add([20, 21], x.subarray(0, 2 * d), [{}])],
      ['DUPLICATE_ID', a.upsert([3, 3], x.subarray(0, 2 * d))],
      ['UNKNOWN_ID', a.delete([3, 404], { strict: true })],
    ]
    for (const [want, p] of attempts) expect(await codeOf(p)).toBe(want)
    expect(a.size).toBe(10)
    expect(a.manifest.generation).toBe(gen)
    a.close()
    const b = VqIndex.open(path)
    expect([b.size, b.manifest.generation, b.has(20), b.has(3)]).toEqual([10, gen, false, true])
    expect(b.integrityCheck()).toBe('ok')
    b.close()
  })

  it('read-only opens refuse writes', async () => {
    const path = newPath()
    VqIndex.create(path, { dim: d }).close()
    const r = VqIndex.open(path, { readonly: true })
    expect(await codeOf(r.add([1], x.subarray(0, d)))).toBe('READ_ONLY')
    expect(await codeOf(r.delete([1]))).toBe('READ_ONLY')
    r.close()
  })

  it('durability maps to synchronous FULL / NORMAL, in WAL mode', () => {
    for (const [durability, want] of [
      ['full', 'full'],
      ['normal', 'normal'],
      [undefined, 'full'],
    ] as const) {
      const path = newPath()
      const a = VqIndex.create(path, { dim: 4, ...(durability ? { durability } : {}) })
      expect(a.storageInfo()).toMatchObject({ journalMode: 'wal', synchronous: want, formatVersion: FORMAT_VERSION })
      a.close()
      const b = VqIndex.open(path, durability ? { durability } : {})
      expect(b.storageInfo().synchronous).toBe(want)
      b.close()
    }
  })
})
