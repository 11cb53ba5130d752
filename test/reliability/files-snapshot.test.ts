/**
 * Snapshot fuzzing: the original index (support/corpus.ts) exported, then seeded byte
 * flips, zeroed ranges, truncations and appended bytes, and targeted damage to the records
 * (decoded, one value changed, re-encoded), each imported into a new path. The contract:
 * refused with a typed file error (CORRUPT_FILE, TRUNCATED_FILE, BAD_FILE...) leaving no
 * target (and no temporary file) behind, or imported with every item identical to the
 * original: the same ids, vectors, metadata, keyword index and property.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { packValue, unpackMultiple } from '../../src/storage/msgpack.js'
import { Rng } from '../../src/util/random.js'
import { buildOriginal, FILE_CODES, type Original, type ProbeResult, probe, scratchDir, Tally } from './support/corpus.js'

const SEED = 0x5a4b_5407
const dir = scratchDir('vqlite-files-snapshot-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let original: Original
let snapshot: Buffer
beforeAll(async () => {
  original = await buildOriginal(join(dir, 'original.vqlite'), SEED)
  const index = VqIndex.open(original.path, { readonly: true, threads: 0 })
  await index.export(join(dir, 'original.vqs'))
  await index.close()
  snapshot = readFileSync(join(dir, 'original.vqs'))
})

type Rec = Record<string, unknown>
/** The snapshot's records, decoded. */
function records(b: Buffer): Rec[] {
  const out: Rec[] = []
  unpackMultiple(b, (v) => out.push(v as Rec))
  return out
}
const encode = (recs: readonly unknown[]): Buffer => Buffer.concat(recs.map((r) => packValue(r)))
/** A copy of the records with change applied to the first record of the kind. */
function edit(kind: string, change: (r: Rec) => void): (recs: Rec[]) => unknown[] {
  return (recs) => {
    const copy = recs.map((r) => structuredClone(r))
    const r = copy.find((x) => x.kind === kind)!
    change(r)
    return copy
  }
}
const items = (r: Rec) =>
  r as {
    seqs: Float64Array
    ids: Float64Array
    lists: Int32Array
    codes: Uint8Array
    vectors: Uint8Array | null
    metadata: (string | null)[]
  }

/** label and a change of the decoded records (the result is re-encoded). */
const TARGETED: [string, (recs: Rec[]) => unknown[]][] = [
  ['header: kind changed', edit('vqlite-snapshot', (r) => (r.kind = 'other-snapshot'))],
  ['header: version 999', edit('vqlite-snapshot', (r) => (r.version = 999))],
  ['header: manifest count 2^40', edit('vqlite-snapshot', (r) => ((r.manifest as Rec).count = 2 ** 40))],
  ['header: manifest count -1', edit('vqlite-snapshot', (r) => ((r.manifest as Rec).count = -1))],
  ['header: manifest dim 2^31', edit('vqlite-snapshot', (r) => ((r.manifest as Rec).dim = 2 ** 31))],
  ['header: manifest missing', edit('vqlite-snapshot', (r) => delete r.manifest)],
  ['header: textField a name createTextIndex refuses', edit('vqlite-snapshot', (r) => (r.textField = "x'); DROP TABLE vq_codes; --"))],
  ['header: textField a number', edit('vqlite-snapshot', (r) => (r.textField = 42))],
  ['arrays: shape not JSON', edit('arrays', (r) => (((r.arrays as Rec)['codec.centroids'] as Rec).shape = 'not json'))],
  [
    'arrays: data shortened',
    edit('arrays', (r) => {
      const a = (r.arrays as Rec)['codec.centroids'] as Rec
      a.data = (a.data as Uint8Array).subarray(0, 12)
    }),
  ],
  ['arrays: record missing', (recs) => recs.filter((r) => r.kind !== 'arrays')],
  ['items: a negative id', edit('items', (r) => (items(r).ids[3] = -5))],
  ['items: a fractional id', edit('items', (r) => (items(r).ids[3] = 2.5))],
  ['items: an id past 2^53', edit('items', (r) => (items(r).ids[3] = 2 ** 60))],
  ['items: a duplicated id', edit('items', (r) => (items(r).ids[3] = items(r).ids[4]!))],
  ['items: a duplicated seq', edit('items', (r) => (items(r).seqs[3] = items(r).seqs[4]!))],
  ['items: a negative seq', edit('items', (r) => (items(r).seqs[0] = -1))],
  ['items: a list out of range', edit('items', (r) => (items(r).lists[3] = 99))],
  ['items: codes short', edit('items', (r) => (r.codes = items(r).codes.subarray(0, items(r).codes.length - 1)))],
  ['items: vectors short', edit('items', (r) => (r.vectors = items(r).vectors!.subarray(0, items(r).vectors!.length - 4)))],
  ['items: vectors missing', edit('items', (r) => (r.vectors = null))],
  [
    'items: a NaN vector component',
    edit('items', (r) => new DataView(items(r).vectors!.buffer, items(r).vectors!.byteOffset).setFloat32(8, Number.NaN, true)),
  ],
  ['items: metadata malformed JSON', edit('items', (r) => (items(r).metadata[3] = '{"i": 1,'))],
  ['items: metadata nested 2,000 deep', edit('items', (r) => (items(r).metadata[3] = `${'['.repeat(2000)}${']'.repeat(2000)}`))],
  ['items: metadata a number, not text', edit('items', (r) => ((items(r).metadata as unknown[])[3] = 17))],
  ['items: metadata list short', edit('items', (r) => items(r).metadata.pop())],
  ['items: ids list long', edit('items', (r) => (r.ids = Float64Array.from([...items(r).ids, 99999])))],
  [
    'items: record duplicated',
    (recs) => {
      const i = recs.findIndex((r) => r.kind === 'items')
      return [...recs.slice(0, i + 1), recs[i], ...recs.slice(i + 1)]
    },
  ],
  ['end: count one more', edit('end', (r) => (r.count = (r.count as number) + 1))],
  ['end: count 2^40', edit('end', (r) => (r.count = 2 ** 40))],
  ['end: record missing', (recs) => recs.filter((r) => r.kind !== 'end')],
  ['end: a record after the end', (recs) => [...recs, recs.find((r) => r.kind === 'items')]],
  ['a record of an unknown kind', (recs) => [recs[0], { kind: 'surprise', data: 1 }, ...recs.slice(1)]],
  ['a record that is not a map', (recs) => [recs[0], 'hello', ...recs.slice(1)]],
]

/** Imports bytes (written to a snapshot file) into a new path and checks the contract. */
async function tryImport(n: number, bytes: Buffer): Promise<ProbeResult> {
  const sub = join(dir, `case${n}`)
  mkdirSync(sub)
  const snap = join(sub, 'in.vqs')
  writeFileSync(snap, bytes)
  const target = join(sub, 'out.vqlite')
  const problems: string[] = []
  const silent: string[] = []
  let index: VqIndex
  try {
    index = VqIndex.import(snap, target, { threads: 0 })
  } catch (e) {
    if (!(e instanceof VqError) || !FILE_CODES.has(e.code))
      problems.push(
        `import refused with ${e instanceof VqError ? `${e.code}: ${e.message.slice(0, 160)}` : `raw ${(e as Error).constructor?.name}: ${(e as Error).message?.slice(0, 160)}`}`,
      )
    const left = readdirSync(sub).filter((f) => f !== 'in.vqs')
    if (left.length > 0) problems.push(`refused import left ${left.join(', ')} behind`)
    rmSync(sub, { recursive: true, force: true })
    return { outcome: `refused:${e instanceof VqError ? e.code : 'raw'}`, problems, silent, damaged: new Set() }
  }
  try {
    if (index.size !== original.items.size) silent.push(`imported ${index.size} items, the original has ${original.items.size}`)
    for (const id of original.items.keys()) if (!index.has(id)) silent.push(`imported index lacks id ${id}`)
    if (index.textField !== 'text') silent.push(`imported textField ${String(index.textField)}`)
  } catch (e) {
    problems.push(`imported index: ${e instanceof VqError ? e.code : 'raw'} ${(e as Error).message.slice(0, 160)}`)
  }
  await index.close()
  const r = await probe(target, original, true)
  rmSync(sub, { recursive: true, force: true })
  return { outcome: 'imported', problems: [...problems, ...r.problems], silent: [...silent, ...r.silent], damaged: r.damaged }
}

describe(`snapshot fuzzing (seed ${SEED})`, () => {
  const fuzz = new Tally()
  beforeAll(async () => {
    const rng = new Rng(SEED)
    const b = snapshot
    let n = 0
    for (let i = 0; i < 40; i++) {
      const m = Buffer.from(b)
      const at: string[] = []
      for (let j = 0, count = 1 + rng.int(3); j < count; j++) {
        const off = rng.int(b.length)
        const mask = 1 + rng.int(255)
        m[off]! ^= mask
        at.push(`${off}^${mask}`)
      }
      fuzz.add(`flip [${at.join(' ')}]`, await tryImport(n++, m))
    }
    for (let i = 0; i < 8; i++) {
      const m = Buffer.from(b)
      const off = rng.int(b.length)
      const len = 1 + rng.int(64)
      m.fill(0, off, off + len)
      fuzz.add(`zeroed ${len} bytes at ${off}`, await tryImport(n++, m))
    }
    for (let i = 0; i < 25; i++) {
      const at = rng.int(b.length)
      fuzz.add(`truncated at ${at}`, await tryImport(n++, b.subarray(0, at)))
    }
    fuzz.add('empty', await tryImport(n++, Buffer.alloc(0)))
    fuzz.add('garbage appended', await tryImport(n++, Buffer.concat([b, Buffer.from([0xc1, 0x00, 0xff])])))
    fuzz.add('a second copy appended', await tryImport(n++, Buffer.concat([b, b])))
    process.stdout.write(fuzz.summary(`file fuzz (snapshot), seed ${SEED}`))
  }, 60_000)

  it('the corpus has its cases', () => {
    expect(fuzz.cases).toBeGreaterThanOrEqual(75)
  })
  it('every damaged snapshot is refused with a typed error leaving nothing behind, or imported without a raw error', () => {
    expect(fuzz.problems.slice(0, 40)).toEqual([])
  })
  it('no damaged snapshot is imported with data that differs from the original', () => {
    expect(fuzz.silent.slice(0, 40)).toEqual([])
  })
  it('the undamaged snapshot imports identical (the check can pass)', async () => {
    const r = await tryImport(10_000, snapshot)
    expect({ outcome: r.outcome, problems: r.problems, silent: r.silent }).toEqual({ outcome: 'imported', problems: [], silent: [] })
  })
})

describe('targeted damage to snapshot records', () => {
  const tally = new Tally()
  afterAll(() => {
    process.stdout.write(tally.summary('targeted snapshot damage'))
  })
  TARGETED.forEach(([label, change], i) => {
    it(label, async () => {
      const r = await tryImport(20_000 + i, encode(change(records(snapshot))))
      tally.add(label, r)
      expect([...r.problems, ...r.silent.map((s) => `(silent) ${s}`)]).toEqual([])
    })
  })
})
