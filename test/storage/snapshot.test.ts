import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Unpackr } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type VqError, VqFormatError, VqIndex } from '../../src/index.js'
import { SNAPSHOT_VERSION } from '../../src/storage/snapshot.js'
import { clusteredVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-snap-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 12
const n = 9000 // more than two 4,096-item records
const x = clusteredVectors(n, d, 30, 8)
const queries = clusteredVectors(20, d, 30, 9)
const src = join(dir, 'src.vqlite')
const snap = join(dir, 'src.snapshot')
let original: VqIndex

beforeAll(async () => {
  original = VqIndex.create(src, { dim: d, metric: 'cosine', description: 'PQ6x5', storeVectors: 'float16' })
  await original.train(x, { seed: 4 })
  await original.add(
    Array.from({ length: n }, (_, i) => 3 * i),
    x,
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : { i })),
  )
  await original.delete([0, 300, 303])
  await original.upsert([6], x.subarray(0, d), [{ replaced: true }])
  expect(await original.export(snap)).toBe(n - 3)
})

describe('export / import', () => {
  it('round-trips to an identical index', async () => {
    const copy = VqIndex.import(snap, join(dir, 'copy.vqlite'))
    expect(copy.size).toBe(original.size)
    expect(copy.manifest).toEqual(original.manifest)
    const a = await original.searchBatch(queries, 20, { threads: 0 })
    const b = await copy.searchBatch(queries, 20, { threads: 0 })
    expect(b.ids).toEqual(a.ids)
    expect(b.distances).toEqual(a.distances)
    for (const id of [3, 6, 9, 600, 3 * (n - 1)]) expect(copy.get(id)).toEqual(original.get(id))
    expect(copy.get(300)).toBeUndefined()
    // Exporting the copy gives the same bytes.
    await copy.export(join(dir, 'copy.snapshot'))
    expect(readFileSync(join(dir, 'copy.snapshot')).equals(readFileSync(snap))).toBe(true)
    copy.close()
    // And into memory.
    const mem = VqIndex.import(snap, ':memory:')
    expect((await mem.searchBatch(queries, 20, { threads: 0 })).ids).toEqual(a.ids)
  })

  it('is a stream of plain msgpack records: header, arrays, items..., end', () => {
    const records = new Unpackr({ moreTypes: true, useRecords: false }).unpackMultiple(readFileSync(snap)) as { kind: string }[]
    expect(records.map((r) => r.kind)).toEqual(['vqlite-snapshot', 'arrays', 'items', 'items', 'items', 'end'])
    expect(records[0]).toMatchObject({ version: SNAPSHOT_VERSION, manifest: { description: 'PQ6x5', dim: d } })
  })

  it('refuses to overwrite: export to an existing path is FILE_EXISTS', async () => {
    const e = await original.export(snap).catch((err: VqError) => err)
    expect((e as VqError).code).toBe('FILE_EXISTS')
  })

  it('a truncated snapshot is TRUNCATED_FILE and leaves no half-imported index', () => {
    const cut = join(dir, 'cut.snapshot')
    writeFileSync(cut, readFileSync(snap))
    truncateSync(cut, Math.floor(readFileSync(snap).length * 0.6))
    const target = join(dir, 'from-cut.vqlite')
    let e: unknown
    try {
      VqIndex.import(cut, target)
    } catch (err) {
      e = err
    }
    expect(e).toBeInstanceOf(VqFormatError)
    expect((e as VqError).code).toBe('TRUNCATED_FILE')
    expect(existsSync(target)).toBe(false)
  })

  it('a file that is not a snapshot is BAD_FILE', () => {
    const junk = join(dir, 'junk.snapshot')
    writeFileSync(junk, JSON.stringify({ hello: 'world' }))
    let e: unknown
    try {
      VqIndex.import(junk, join(dir, 'from-junk.vqlite'))
    } catch (err) {
      e = err
    }
    expect((e as VqError).code).toBe('BAD_FILE')
    expect(existsSync(join(dir, 'from-junk.vqlite'))).toBe(false)
    let f: unknown
    try {
      VqIndex.import(src, join(dir, 'from-index.vqlite'))
    } catch (err) {
      f = err
    }
    expect((f as VqError).code).toBe('BAD_FILE')
  })

  it('import into an existing path is FILE_EXISTS and the file is untouched', () => {
    const before = readFileSync(src)
    let e: unknown
    try {
      VqIndex.import(snap, src)
    } catch (err) {
      e = err
    }
    expect((e as VqError).code).toBe('FILE_EXISTS')
    expect(readFileSync(src).equals(before)).toBe(true)
  })
})
