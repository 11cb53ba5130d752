/**
 * Import trusts nothing: one targeted case per way a snapshot can lie. Each crafted
 * snapshot (decoded from a real export, changed, re-encoded) must be refused with a typed
 * error naming the record and field, leaving no file behind; version-1 snapshots (no
 * checks) exercise the record checks themselves, version-2 ones the checks.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Packr } from 'msgpackr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type VqError, VqFormatError, VqIndex } from '../../src/index.js'
import { SNAPSHOT_VERSION } from '../../src/storage/snapshot.js'
import { randomVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-snapimp-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const codec = new Packr({ moreTypes: true, useRecords: false })
const d = 8
const n = 300
const x = randomVectors(n, d, 5)
const ids = Array.from({ length: n }, (_, i) => 2 * i + 1)
const snap = join(dir, 'orig.snapshot')
// biome-ignore lint/suspicious/noExplicitAny: records are edited freely here
type Rec = Record<string, any>

beforeAll(async () => {
  const ix = VqIndex.create(join(dir, 'orig.vqlite'), { dim: d, description: 'IVF4,PQ4,RFlat', storeVectors: 'float32', threads: 0 })
  await ix.train(x, { seed: 2 })
  await ix.add(
    ids,
    x,
    ids.map((id) => ({ text: `item number ${id}`, n: id })),
  )
  await ix.createTextIndex('text')
  await ix.setProperty('embedder', 'test-embedder')
  await ix.export(snap)
  await ix.close()
})

/** The records of the real snapshot, decoded afresh (free to edit). */
function records(): Rec[] {
  return codec.unpackMultiple(readFileSync(snap)) as Rec[]
}

/** Version-1 bytes of records (no checks), which only the record checks guard. */
function v1(recs: Rec[]): Buffer {
  return Buffer.concat(
    recs.map((r, i) => {
      const { check: _drop, ...rest } = r
      return codec.pack(i === 0 ? { ...rest, version: 1 } : rest)
    }),
  )
}

let caseNo = 0
/** Imports bytes into a fresh folder: the error, after checking that the folder is left empty. */
function importError(bytes: Buffer): VqError {
  const here = join(dir, `case-${caseNo++}`)
  mkdirSync(here)
  const file = join(dir, `case-${caseNo}.snapshot`)
  writeFileSync(file, bytes)
  let err: unknown
  try {
    VqIndex.import(file, join(here, 'target.vqlite')).close()
  } catch (e) {
    err = e
  }
  expect(readdirSync(here)).toEqual([])
  if (err === undefined) throw new Error('the import was accepted')
  return err as VqError
}

function expectCorrupt(bytes: Buffer, pattern: RegExp): void {
  const e = importError(bytes)
  expect(e).toBeInstanceOf(VqFormatError)
  expect(e.code).toBe('CORRUPT_FILE')
  expect(e.message).toMatch(pattern)
}

/** Edits the first items record. */
function withItems(edit: (r: Rec) => void): Buffer {
  const recs = records()
  edit(recs[2]!)
  return v1(recs)
}

describe('import refuses a snapshot that lies', () => {
  it('an unchanged version-1 snapshot (no checks) still imports, identical', async () => {
    const file = join(dir, 'v1.snapshot')
    writeFileSync(file, v1(records()))
    const copy = VqIndex.import(file, join(dir, 'v1.vqlite'))
    const orig = VqIndex.open(join(dir, 'orig.vqlite'), { readonly: true })
    expect(copy.size).toBe(n)
    for (const id of [1, 77, 2 * n - 1]) expect(copy.get(id)).toEqual(orig.get(id))
    expect(copy.keywordSearch('number 77', 3).ids[0]).toBe(77)
    expect(copy.getProperty('embedder')).toBe('test-embedder')
    copy.close()
    orig.close()
  })

  it('every kind of index round-trips through the checks: empty, untrained, Flat, SQ, Refine, float16, no vectors', async () => {
    const kinds: [string, 'none' | 'float32' | 'float16', boolean, number][] = [
      ['Flat', 'none', false, 0],
      ['IVF4,PQ4', 'none', false, 0],
      ['Flat', 'float16', false, 50],
      ['IVF4,SQ8', 'none', true, 300],
      ['IVF2,PQ4,Refine(SQ8)', 'float16', true, 300],
      ['PQ4x4,RFlat', 'float32', true, 300],
    ]
    for (const [description, storeVectors, train, count] of kinds) {
      const tag = `${description}-${storeVectors}`.replace(/\W/g, '_')
      const ix = VqIndex.create(join(dir, `${tag}.vqlite`), { dim: d, description, storeVectors, threads: 0 })
      if (train) await ix.train(x, { seed: 1 })
      if (count > 0) await ix.add(ids.slice(0, count), x.subarray(0, count * d))
      await ix.export(join(dir, `${tag}.snapshot`))
      const copy = VqIndex.import(join(dir, `${tag}.snapshot`), ':memory:', { threads: 0 })
      expect(copy.manifest).toEqual(ix.manifest)
      expect(copy.size).toBe(count)
      if (count > 0) expect(copy.search(x.subarray(0, d), 5)).toEqual(ix.search(x.subarray(0, d), 5))
      for (const id of ids.slice(0, 3)) expect(copy.get(id)).toEqual(ix.get(id))
      copy.close()
      await ix.close()
    }
  })

  it('a negative id', () => {
    expectCorrupt(
      withItems((r) => (r.ids[5] = -1)),
      /record 2 .*item 5: id -1 is not a non-negative safe integer/,
    )
  })
  it('a fractional and an unsafe id', () => {
    expectCorrupt(
      withItems((r) => (r.ids[0] = 1.5)),
      /id 1.5 is not/,
    )
    expectCorrupt(
      withItems((r) => (r.ids[0] = 2 ** 53)),
      /id 9007199254740992 is not/,
    )
  })
  it('an id twice, across two records', () => {
    const recs = records()
    const r = recs[2]!
    const half = (a: Rec, from: number, to: number): Rec =>
      ({
        kind: 'items',
        seqs: a.seqs.slice(from, to),
        ids: a.ids.slice(from, to),
        lists: a.lists.slice(from, to),
        codes: a.codes.slice((from * a.codes.length) / n, (to * a.codes.length) / n),
        vectors: a.vectors.slice((from * a.vectors.length) / n, (to * a.vectors.length) / n),
        metadata: a.metadata.slice(from, to),
      }) as Rec
    const first = half(r, 0, 60)
    const second = half(r, 60, n)
    second.ids[3] = first.ids[10]
    recs.splice(2, 1, first, second)
    expectCorrupt(v1(recs), /record 3 .*item 3: id 21 appears twice/)
  })
  it('seqs that do not increase, or reach the manifest nextSeq', () => {
    expectCorrupt(
      withItems((r) => (r.seqs[4] = r.seqs[3])),
      /item 4 .*seq \d+ does not follow/,
    )
    expectCorrupt(
      withItems((r) => (r.seqs[n - 1] = 10_000)),
      /seq 10000 is not below the manifest's nextSeq/,
    )
  })
  it('malformed metadata JSON, and metadata nested too deep', () => {
    expectCorrupt(
      withItems((r) => (r.metadata[7] = '{"text": "x"')),
      /item 7 \(id 15\): metadata: .*not valid JSON/,
    )
    expectCorrupt(
      withItems((r) => (r.metadata[7] = `${'['.repeat(100)}${']'.repeat(100)}`)),
      /item 7 .*nested deeper than 64/,
    )
    expectCorrupt(
      withItems((r) => (r.metadata[7] = 42)),
      /metadata of item 7 is a number/,
    )
  })
  it('a text field createTextIndex refuses', () => {
    const recs = records()
    recs[0]!.textField = "text') --"
    expectCorrupt(v1(recs), /record 0 .*textField: text field must be a dotted path/)
    const r2 = records()
    r2[0]!.textField = 7
    expectCorrupt(v1(r2), /textField is a number/)
  })
  it('a manifest count of 2^40 fails fast as CORRUPT_FILE, without allocating', () => {
    const recs = records()
    recs[0]!.manifest.count = 2 ** 40
    const t = performance.now()
    expectCorrupt(v1(recs), /record 0 .*count 1099511627776/)
    expect(performance.now() - t).toBeLessThan(2000)
    const r2 = records()
    r2[0]!.manifest.count = 2 ** 40
    r2[0]!.manifest.nextSeq = 2 ** 40 + 1
    expectCorrupt(v1(r2), /record 0 .*nextSeq 1099511627777, outside/)
  })
  it('a manifest count the file cannot hold (version 1: unchecked) is CORRUPT_FILE; the count and items disagreeing too', () => {
    const recs = records()
    recs[0]!.manifest.count = n + 1000
    recs[0]!.manifest.nextSeq = n + 2000
    expectCorrupt(v1(recs), /manifest declares 1300 items, but a snapshot of \d+ bytes holds at most/)
    const r2 = records()
    r2[0]!.manifest.count = n - 1
    expectCorrupt(v1(r2), /more than the manifest's count of 299/)
  })
  it('an end record whose count disagrees', () => {
    const recs = records()
    recs[3]!.count = n + 1
    expectCorrupt(v1(recs), /record 3 .*end: it declares 301 items, the snapshot holds 300/)
  })
  it('a list number outside 0..nlist-1', () => {
    expectCorrupt(
      withItems((r) => (r.lists[9] = 4)),
      /item 9 \(id 19\): list 4 outside 0..3/,
    )
    expectCorrupt(
      withItems((r) => (r.lists[9] = -1)),
      /list -1 outside/,
    )
  })
  it('codes or vectors of the wrong length', () => {
    expectCorrupt(
      withItems((r) => (r.codes = r.codes.slice(1))),
      /codes: \d+ bytes for 300 items/,
    )
    expectCorrupt(
      withItems((r) => (r.vectors = r.vectors.slice(4))),
      /vectors: \d+ bytes for 300 float32 vectors of dim 8/,
    )
    expectCorrupt(
      withItems((r) => (r.vectors = null)),
      /vectors: no bytes/,
    )
  })
  it('a stored vector that is not finite or too large', () => {
    const nan = withItems((r) => {
      const f = new Float32Array(r.vectors.buffer.slice(r.vectors.byteOffset, r.vectors.byteOffset + r.vectors.length))
      f[3 * d + 2] = Number.NaN
      r.vectors = new Uint8Array(f.buffer)
    })
    expectCorrupt(nan, /item 3 \(id 7\): vector component 2 is NaN/)
    const big = withItems((r) => {
      const f = new Float32Array(r.vectors.buffer.slice(r.vectors.byteOffset, r.vectors.byteOffset + r.vectors.length))
      f[3 * d] = 3e38
      r.vectors = new Uint8Array(f.buffer)
    })
    expectCorrupt(big, /item 3 .*squared norm .* exceeds/)
  })
  it('trained arrays: wrong shape, non-finite value, missing, extra, wrong dtype', () => {
    const edit = (f: (a: Rec) => void): Buffer => {
      const recs = records()
      f(recs[1]!.arrays)
      return v1(recs)
    }
    const names = Object.keys(records()[1]!.arrays)
    const name = names.find((k) => k.startsWith('codec.'))!
    expectCorrupt(
      edit((a) => (a[name].shape = [a[name].data.length])),
      /record 1 .*arrays: the model refuses them|has shape/,
    )
    expectCorrupt(
      edit((a) => (a[name].data[0] = Number.POSITIVE_INFINITY)),
      /record 1 .*value 0 is Infinity/,
    )
    expectCorrupt(
      edit((a) => delete a[name]),
      /record 1 .*arrays: (the model refuses them|missing array)/,
    )
    expectCorrupt(
      edit((a) => (a['codec.extra'] = { dtype: 'float32', shape: [1], data: new Float32Array(1) })),
      /unexpected array "codec.extra"/,
    )
    expectCorrupt(
      edit((a) => (a[name].dtype = 'float64')),
      /dtype "float64"/,
    )
    expectCorrupt(
      edit((a) => (a[name].data = a[name].data.slice(1))),
      /holds \d+ values, data \d+/,
    )
  })
  it('a damaged manifest, properties that are not a map, a bad property name', () => {
    const recs = records()
    recs[0]!.manifest.dim = 'eight'
    expectCorrupt(v1(recs), /record 0 .*manifest: .*dim/)
    const r2 = records()
    r2[0]!.properties = [1, 2]
    expectCorrupt(v1(r2), /properties is not a map/)
    const r3 = records()
    r3[0]!.properties = { '': 1 }
    expectCorrupt(v1(r3), /properties: a name of 0 characters/)
  })
  it('unknown record kinds, unknown fields, data after the end record', () => {
    const recs = records()
    recs.splice(2, 0, { kind: 'mystery' })
    expectCorrupt(v1(recs), /record 2 .*unknown record kind "mystery"/)
    const r2 = records()
    r2[2]!.extra = 1
    expectCorrupt(v1(r2), /unknown field "extra" in the items record/)
    const r3 = records()
    r3.push({ kind: 'end', count: n })
    expectCorrupt(v1(r3), /record 4 .*data after the end record/)
  })
  it('version 2: a record changed without its check is refused', () => {
    const recs = records()
    recs[2]!.codes[17] ^= 1
    expectCorrupt(Buffer.concat(recs.map((r) => codec.pack(r))), /record 2 .*items: the content does not match its check/)
    const r2 = records()
    r2[0]!.version = 1
    expectCorrupt(Buffer.concat(r2.map((r) => codec.pack(r))), /version-1 header record with a check field/)
  })
  it('not a snapshot: BAD_FILE (an index file, JSON, an empty file)', () => {
    for (const bytes of [readFileSync(join(dir, 'orig.vqlite')), Buffer.from('{"kind":"vqlite-snapshot"}'), Buffer.alloc(0)]) {
      const e = importError(bytes)
      expect(e).toBeInstanceOf(VqFormatError)
      expect(e.code).toBe('BAD_FILE')
      expect(e.message).toMatch(/not a vqlite snapshot/)
    }
  })
  it('a folder or a FIFO as the snapshot is BAD_FILE at once (never waits on the FIFO)', (ctx) => {
    for (const p of [dir, join(dir, 'fifo')]) {
      if (p !== dir) {
        try {
          execFileSync('mkfifo', [p])
        } catch {
          ctx.skip('mkfifo is not available here')
        }
      }
      let e: unknown
      try {
        VqIndex.import(p, join(dir, 'from-special.vqlite'))
      } catch (err) {
        e = err
      }
      expect((e as VqError).code).toBe('BAD_FILE')
      expect((e as VqError).message).toMatch(/not a regular file/)
    }
  })
  it('a newer snapshot version is NEWER_FORMAT', () => {
    const recs = records()
    recs[0]!.version = SNAPSHOT_VERSION + 1
    const e = importError(Buffer.concat(recs.map((r) => codec.pack(r))))
    expect(e.code).toBe('NEWER_FORMAT')
  })
  it('a missing snapshot is NOT_FOUND', () => {
    let e: unknown
    try {
      VqIndex.import(join(dir, 'nope.snapshot'), join(dir, 'nope.vqlite'))
    } catch (err) {
      e = err
    }
    expect((e as VqError).code).toBe('NOT_FOUND')
  })
})
