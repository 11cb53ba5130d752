/**
 * FAISS index files without FAISS: vqlite -> FAISS file -> vqlite round trips (the same
 * results, bit for bit), the refusals of what FAISS cannot express, and damaged, truncated
 * and hostile files, which must give typed errors (never a RangeError, never a huge
 * allocation) and create nothing. test/interop/faiss-roundtrip.int.test.ts checks the same
 * files against FAISS itself.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqError, VqFormatError, VqOptionError, VqStateError, VqStorageError } from '../../src/errors.js'
import { readFaiss } from '../../src/interop/faiss/reader.js'
import { Rng } from '../../src/util/random.js'
import { VqIndex } from '../../src/vq-index.js'
import { clusteredVectors, maxRelErr } from '../helpers/data.js'
import { expectVqError } from '../helpers/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-faiss-files-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const d = 16
const n = 600
const x = clusteredVectors(n, d, 12, 21, 0.3)
const queries = clusteredVectors(8, d, 12, 22, 0.3)
let fileNo = 0
const fresh = (name: string): string => join(dir, `${fileNo++}-${name.replace(/[^\w]/g, '_')}.faiss`)

/** A trained index of description over x, with ids (default 7 + 3i: not FAISS's positions). */
async function build(
  description: string,
  metric: 'l2' | 'ip' | 'cosine' = 'l2',
  ids?: number[],
  storeVectors?: 'float32' | 'float16',
): Promise<VqIndex> {
  const ix = VqIndex.create(':memory:', { dim: d, description, metric, ...(storeVectors ? { storeVectors } : {}) })
  await ix.add(ids ?? Array.from({ length: n }, (_, i) => 7 + 3 * i), x, undefined, { train: { seed: 3 } })
  return ix
}

const CASES: [description: string, metric: 'l2' | 'ip'][] = [
  ['Flat', 'l2'],
  ['Flat', 'ip'],
  ['PQ4', 'l2'],
  ['PQ8x4', 'l2'],
  ['SQ8', 'ip'],
  ['SQ4', 'l2'],
  ['SQfp16', 'l2'],
  ['IVF8,Flat', 'l2'],
  ['IVF8,PQ4', 'l2'],
  ['IVF8,PQ4', 'ip'],
  ['IVF8,PQ8x4', 'l2'],
  ['IVF8,SQ8', 'l2'],
  ['IVF8,SQ4', 'ip'],
  ['IVF8,SQfp16', 'l2'],
  ['OPQ4,PQ4', 'l2'],
  ['OPQ4,IVF8,PQ4', 'l2'],
]

describe('vqlite -> FAISS file -> vqlite', () => {
  it.each(CASES)('%s (%s): the same description, ids and distances (bit for bit but SQ ranges)', async (description, metric) => {
    const a = await build(description, metric)
    const file = fresh(description)
    expect(await a.toFaiss(file)).toBe(n)
    const b = VqIndex.fromFaiss(file, ':memory:')
    expect(b.description).toBe(a.description)
    expect(b.metric).toBe(metric)
    expect(b.size).toBe(n)
    for (let i = 0; i < 8; i++) {
      const q = queries.subarray(i * d, (i + 1) * d)
      const ra = a.search(q, 10, { nprobe: 3 })
      const rb = b.search(q, 10, { nprobe: 3 })
      expect(Array.from(rb.ids)).toEqual(Array.from(ra.ids))
      if (!/SQ[84]/.test(description)) expect(Array.from(rb.distances)).toEqual(Array.from(ra.distances))
      // SQ ranges go through FAISS's (vmin, vdiff) and back: offset and step to float32 rounding.
      else expect(maxRelErr(rb.distances, ra.distances, 10)).toBeLessThan(1e-5)
    }
    await a.close()
    await b.close()
  })

  it.each([
    ['IVF8,PQ4,RFlat', 'float32'],
    ['PQ8x4,RFlat', 'float16'],
    ['OPQ4,IVF8,PQ4,RFlat', 'float32'],
  ] as const)('%s (%s vectors): written as IndexRefineFlat, read back with the vectors', async (description, storeVectors) => {
    const a = await build(description, 'l2', undefined, storeVectors)
    const file = fresh(description)
    await a.toFaiss(file)
    expect(readFileSync(file).subarray(0, 4).toString('latin1')).toBe('IxMp')
    // The IDMap's header ends where its metric_type does: the IndexRefineFlat follows.
    expect(
      readFileSync(file)
        .subarray(METRIC_AT + 4, METRIC_AT + 8)
        .toString('latin1'),
    ).toBe('IxRF')
    const b = VqIndex.fromFaiss(file, ':memory:')
    expect(b.description).toBe(a.description)
    expect(b.storeVectors).toBe('float32')
    expect(b.get(7 + 3 * 11)!.vector).toEqual(a.get(7 + 3 * 11)!.vector)
    for (let i = 0; i < 8; i++) {
      const q = queries.subarray(i * d, (i + 1) * d)
      const ra = a.search(q, 10, { nprobe: 3, refineFactor: 4 })
      const rb = b.search(q, 10, { nprobe: 3, refineFactor: 4 })
      expect(Array.from(rb.ids)).toEqual(Array.from(ra.ids))
      expect(Array.from(rb.distances)).toEqual(Array.from(ra.distances))
    }
    await a.close()
    await b.close()
  })

  it('the older IndexIVFPQ form (IvPQ: ids in the IVF header) reads as IwPQ does', async () => {
    const a = await build('IVF8,PQ4')
    const file = fresh('iwpq')
    await a.toFaiss(file)
    const b = readFileSync(file)
    // IwPQ: fourcc, header (33), nlist, nprobe, the coarse IxF2 (fourcc, header, count, nlist*d
    // floats), direct map (type byte, empty vector), by_residual, code_size, the PQ (d, M,
    // nbits, centroids), then "ilar" lists (nlist, code_size, "full", sizes, codes + ids per list).
    const nlist = 8
    const cs = 4
    const ivfEnd = 4 + 33 + 16 + (4 + 33 + 8 + nlist * d * 4)
    const mapEnd = ivfEnd + 1 + 8
    const pqEnd = mapEnd + 1 + 8 + 24 + 8 + 256 * d * 4
    let at = pqEnd + 4 + 8 + 8 + 4 + 8
    const sizes = Array.from({ length: nlist }, (_, l) => Number(b.readBigUInt64LE(at + 8 * l)))
    at += 8 * nlist
    const idParts: Buffer[] = []
    const codeParts: Buffer[] = []
    for (const size of sizes) {
      const len = Buffer.alloc(8)
      len.writeBigUInt64LE(BigInt(size))
      const clen = Buffer.alloc(8)
      clen.writeBigUInt64LE(BigInt(size * cs))
      codeParts.push(clen, b.subarray(at, at + size * cs))
      at += size * cs
      idParts.push(len, b.subarray(at, at + size * 8))
      at += size * 8
    }
    expect(at).toBe(b.length)
    const legacy = Buffer.concat([
      Buffer.from('IvPQ', 'latin1'),
      b.subarray(4, ivfEnd),
      ...idParts,
      b.subarray(ivfEnd, pqEnd),
      ...codeParts,
    ])
    const file2 = fresh('ivpq')
    writeFileSync(file2, legacy)
    const c = VqIndex.fromFaiss(file2, ':memory:')
    expect(c.description).toBe('IVF8,PQ4')
    const q = queries.subarray(0, d)
    expect(Array.from(c.search(q, 10, { nprobe: 3 }).ids)).toEqual(Array.from(a.search(q, 10, { nprobe: 3 }).ids))
    await a.close()
    await c.close()
  })

  it('an IVF of one list is written with a zero centroid and reads back as the exhaustive index it is', async () => {
    const a = await build('IVF1,PQ4')
    const file = fresh('ivf1')
    await a.toFaiss(file)
    expect(readFileSync(file).subarray(0, 4).toString('latin1')).toBe('IwPQ')
    const b = VqIndex.fromFaiss(file, ':memory:')
    expect(b.description).toBe('PQ4')
    const q = queries.subarray(0, d)
    expect(Array.from(b.search(q, 10).ids)).toEqual(Array.from(a.search(q, 10).ids))
    expect(Array.from(b.search(q, 10).distances)).toEqual(Array.from(a.search(q, 10).distances))
    await a.close()
    await b.close()
  })

  it('IVF scalar codes by residual keep the flag', async () => {
    const a = VqIndex.create(':memory:', { dim: d, ivf: { nlist: 8, byResidual: true }, codec: { kind: 'sq8' } })
    await a.add(
      Array.from({ length: n }, (_, i) => i),
      x,
      undefined,
      { train: { seed: 3 } },
    )
    const file = fresh('ivfsq8-res')
    await a.toFaiss(file)
    const b = VqIndex.fromFaiss(file, join(dir, 'ivfsq8-res.vqlite'))
    expect(b.spec.ivf?.byResidual).toBe(true)
    const q = queries.subarray(0, d)
    expect(Array.from(b.search(q, 5, { nprobe: 8 }).ids)).toEqual(Array.from(a.search(q, 5, { nprobe: 8 }).ids))
    await b.close()
    // The file index is an ordinary index: it reopens.
    const c = VqIndex.open(join(dir, 'ivfsq8-res.vqlite'))
    expect(c.size).toBe(n)
    expect(Array.from(c.search(q, 5, { nprobe: 8 }).ids)).toEqual(Array.from(a.search(q, 5, { nprobe: 8 }).ids))
    await c.close()
    await a.close()
  })

  it('ids: positions 0..n-1 need no IDMap, others are kept in one (and in IVF lists as they are)', async () => {
    const seq = await build(
      'Flat',
      'l2',
      Array.from({ length: n }, (_, i) => i),
    )
    const f1 = fresh('seq')
    await seq.toFaiss(f1)
    expect(readFileSync(f1).subarray(0, 4).toString('latin1')).toBe('IxF2')
    const other = await build('PQ4')
    const f2 = fresh('ids')
    await other.toFaiss(f2)
    expect(readFileSync(f2).subarray(0, 4).toString('latin1')).toBe('IxMp')
    const back = VqIndex.fromFaiss(f2, ':memory:')
    expect(back.has(7 + 3 * (n - 1))).toBe(true)
    const ivf = await build(
      'IVF8,Flat',
      'l2',
      Array.from({ length: n }, (_, i) => 2 ** 40 + i * 5),
    )
    const f3 = fresh('ivf-ids')
    await ivf.toFaiss(f3)
    expect(readFileSync(f3).subarray(0, 4).toString('latin1')).toBe('IwFl')
    const back3 = VqIndex.fromFaiss(f3, ':memory:')
    const q = x.subarray(5 * d, 6 * d)
    expect(back3.search(q, 1, { nprobe: 8 }).ids[0]).toBe(2 ** 40 + 25)
    for (const ix of [seq, other, back, ivf, back3]) await ix.close()
  })
})

describe('what FAISS cannot express is refused, naming it', () => {
  it.each([
    ['RaBitQ', 'l2', undefined, /RaBitQ/],
    ['IVF8,RaBitQ4', 'l2', undefined, /RaBitQ/],
    ['IVF8,PQ4,RFlat(SQ8)', 'l2', 'float32', /RFlat\(SQ8\)/],
    ['PQ4,Refine(SQ8)', 'l2', undefined, /Refine\(SQ8\)/],
    ['Flat', 'cosine', undefined, /cosine/],
  ] as const)('%s (%s)', async (description, metric, store, message) => {
    const ix = await build(description, metric, undefined, store)
    const file = fresh(`refused-${description}`)
    await expect(ix.toFaiss(file)).rejects.toSatisfy(
      (e: unknown) => e instanceof VqStateError && e.code === 'UNSUPPORTED_FAISS_INDEX' && message.test(e.message),
    )
    expect(existsSync(file)).toBe(false)
    await ix.close()
  })

  it('string ids (FAISS labels are int64), both ways', async () => {
    const ix = VqIndex.create(':memory:', { dim: d, description: 'Flat', ids: 'string' })
    await ix.add(
      Array.from({ length: 20 }, (_, i) => `doc-${i}`),
      x.subarray(0, 20 * d),
    )
    const file = fresh('string-ids')
    await expect(ix.toFaiss(file)).rejects.toSatisfy(
      (e: unknown) => e instanceof VqStateError && e.code === 'UNSUPPORTED_FAISS_INDEX' && /string ids/.test(e.message),
    )
    expect(existsSync(file)).toBe(false)
    await ix.close()
    const good = await build('Flat')
    const f2 = fresh('int-ids')
    await good.toFaiss(f2)
    expectVqError(() => VqIndex.fromFaiss(f2, ':memory:', { ids: 'string' } as never), VqOptionError, 'ID_KIND')
    await good.close()
  })

  it('an existing file is never overwritten (FILE_EXISTS), nor an existing index path', async () => {
    const ix = await build('SQ8')
    const file = fresh('exists')
    writeFileSync(file, 'keep me')
    await expect(ix.toFaiss(file)).rejects.toSatisfy((e: unknown) => e instanceof VqStorageError && e.code === 'FILE_EXISTS')
    expect(readFileSync(file, 'utf8')).toBe('keep me')
    const good = fresh('good')
    await ix.toFaiss(good)
    const target = join(dir, 'exists.vqlite')
    writeFileSync(target, 'keep me too')
    expectVqError(() => VqIndex.fromFaiss(good, target), VqStorageError, 'FILE_EXISTS')
    expect(readFileSync(target, 'utf8')).toBe('keep me too')
    expectVqError(() => VqIndex.fromFaiss(join(dir, 'no-such.faiss'), ':memory:'), VqStorageError, 'NOT_FOUND')
    await ix.close()
  })
})

/** A FAISS file of description written by vqlite (ids 0..n-1: no IDMap wrapper unless asked). */
async function faissBytes(description: string, ids?: number[]): Promise<Buffer> {
  const ix = await build(description, 'l2', ids ?? Array.from({ length: n }, (_, i) => i))
  const file = fresh(description)
  await ix.toFaiss(file)
  await ix.close()
  return readFileSync(file)
}

/** Writes bytes to a new file and imports it into a new index path; returns the error, checking nothing was created. */
function importError(bytes: Uint8Array): VqError {
  const file = fresh('damaged')
  writeFileSync(file, bytes)
  const target = join(dir, `target-${fileNo++}.vqlite`)
  let caught: unknown
  try {
    VqIndex.fromFaiss(file, target)
  } catch (e) {
    caught = e
  }
  expect(caught, `${(caught as Error)?.name}: ${(caught as Error)?.message}`).toBeInstanceOf(VqError)
  expect(existsSync(target)).toBe(false)
  return caught as VqError
}

/** Offset of the first metric_type after a fourcc at 0 (d 4, ntotal 8, two unused 8, is_trained 1). */
const METRIC_AT = 4 + 4 + 8 + 8 + 8 + 1

describe('damaged, truncated and foreign FAISS files', () => {
  it('another fourcc is UNSUPPORTED_FAISS_INDEX naming it', async () => {
    const b = Buffer.from(await faissBytes('Flat'))
    b.write('IHNf', 0, 'latin1')
    const e = importError(b)
    expect(e).toBeInstanceOf(VqFormatError)
    expect(e.code).toBe('UNSUPPORTED_FAISS_INDEX')
    expect(e.message).toMatch(/IHNf/)
    b.writeUInt32LE(0xdeadbeef, 0)
    expect(importError(b).message).toMatch(/\\xef\\xbe\\xad\\xde/)
  })

  it('an unsupported metric and an unsupported scalar quantizer type are named', async () => {
    const flat = Buffer.from(await faissBytes('Flat'))
    flat.writeInt32LE(2, METRIC_AT) // METRIC_L1
    const e1 = importError(flat)
    expect(e1.code).toBe('UNSUPPORTED_FAISS_INDEX')
    expect(e1.message).toMatch(/metric_type 2/)
    const sq = Buffer.from(await faissBytes('SQ8'))
    sq.writeInt32LE(6, METRIC_AT + 4) // qtype QT_6bit
    const e2 = importError(sq)
    expect(e2.code).toBe('UNSUPPORTED_FAISS_INDEX')
    expect(e2.message).toMatch(/IxSQ.*QT_6bit/)
  })

  it('a hostile size is refused before anything is allocated for it', async () => {
    const pq = Buffer.from(await faissBytes('PQ4'))
    // IxPq: header, then pq.d, pq.M, pq.nbits (size_t), then the centroids' length.
    const at = METRIC_AT + 4 + 24
    pq.writeBigUInt64LE(2n ** 50n, at)
    const e = importError(pq)
    expect(e.code).toBe('TRUNCATED_FILE')
    expect(e.message).toMatch(/pq\.centroids/)
    pq.writeBigUInt64LE(2n ** 63n, at)
    expect(importError(pq).code).toBe('CORRUPT_FILE')
    const flat = Buffer.from(await faissBytes('Flat'))
    flat.writeBigInt64LE(-5n, 8) // ntotal
    expect(importError(flat).code).toBe('CORRUPT_FILE')
  })

  it('every truncation of an IVF-PQ file is TRUNCATED_FILE (or CORRUPT_FILE), never a raw error', async () => {
    const ix = VqIndex.create(':memory:', { dim: 8, description: 'OPQ2,IVF4,PQ2' })
    const small = clusteredVectors(300, 8, 6, 5, 0.3)
    await ix.add(
      Array.from({ length: 300 }, (_, i) => i),
      small,
      undefined,
      { train: { seed: 1 } },
    )
    const file = fresh('trunc')
    await ix.toFaiss(file)
    const bytes = readFileSync(file)
    const codes = new Set<string>()
    for (let cut = 0; cut < bytes.length; cut += 7) {
      let caught: unknown
      try {
        readFaiss(bytes.subarray(0, cut), 'cut')
      } catch (e) {
        caught = e
      }
      expect(caught, `cut at ${cut} of ${bytes.length}`).toBeInstanceOf(VqFormatError)
      codes.add((caught as VqError).code)
    }
    expect([...codes].sort()).toEqual(['TRUNCATED_FILE'])
    // Bytes after the end are damage too.
    expect(() => readFaiss(Buffer.concat([bytes, Buffer.from([0])]), 'long')).toThrow(/follow the end/)
    await ix.close()
  })

  it('random byte flips give a typed error or a valid index, never a raw one', async () => {
    const files = [
      await faissBytes('IVF8,SQ4'),
      await faissBytes(
        'PQ4',
        Array.from({ length: n }, (_, i) => 100 + i),
      ),
    ]
    const rng = new Rng(99)
    for (const original of files) {
      for (let trial = 0; trial < 150; trial++) {
        const b = Buffer.from(original)
        // Flips in the first 400 bytes hit the headers and sizes; a few anywhere.
        const at = trial % 5 === 0 ? rng.int(b.length) : rng.int(Math.min(400, b.length))
        b[at] = b[at]! ^ (1 << rng.int(8))
        try {
          const f = readFaiss(b, 'flipped')
          expect(f.ids.length).toBeGreaterThan(0)
        } catch (e) {
          expect(e, `flip at byte ${at}: ${(e as Error).message}`).toBeInstanceOf(VqError)
        }
      }
    }
  })

  it('ids vqlite cannot hold (negative, repeated) are typed errors', async () => {
    const b = Buffer.from(
      await faissBytes(
        'Flat',
        Array.from({ length: n }, (_, i) => 1000 + i),
      ),
    )
    // IxMp ends with its id_map: n int64.
    const mapAt = b.length - 8 * n
    b.writeBigInt64LE(-1n, mapAt)
    expect(importError(b).code).toBe('BAD_IDS')
    b.writeBigInt64LE(2n ** 60n, mapAt)
    expect(importError(b).code).toBe('BAD_IDS')
    b.writeBigInt64LE(1001n, mapAt)
    const e = importError(b)
    expect(e.code).toBe('DUPLICATE_ID')
    expect(e.message).toMatch(/1001/)
  })
})
