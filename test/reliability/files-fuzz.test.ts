/**
 * File fuzzing of an index file: seeded byte flips, zeroed pages and truncations of a
 * small real index (IVF lists, PQ codes, RFlat over stored vectors, metadata, tombstones,
 * FTS5, a property), each opened writable and read-only. A mutant is refused with a typed
 * file error and left byte-for-byte as it was, or opened with no raw error, only valid ids,
 * and every readable item identical to the original (support/corpus.ts), except the one
 * stored value a flipped byte lies in: SQLite keeps no per-row checksum, so a flip inside a
 * float or a metadata string reads back as another value; it must never reach other items.
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Rng } from '../../src/util/random.js'
import { buildOriginal, type Original, probe, scratchDir, Tally } from './support/corpus.js'

const SEED = 0x5eed_f11e
const dir = scratchDir('vqlite-files-fuzz-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let original: Original
beforeAll(async () => {
  original = await buildOriginal(join(dir, 'original.vqlite'), SEED)
})

interface Mutant {
  readonly label: string
  readonly bytes: Buffer
  /** Bytes changed in place (a flip); 0 for zeroed pages, truncations and appended garbage. */
  readonly flips: number
}

/** The seeded mutants: byte flips anywhere, in the 100-byte header, zeroed pages, truncations. */
function mutants(bytes: Buffer, seed: number): Mutant[] {
  const rng = new Rng(seed)
  const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16)
  const pages = Math.ceil(bytes.length / pageSize)
  const out: Mutant[] = []
  const flip = (label: string, count: number, lo: number, hi: number): void => {
    const b = Buffer.from(bytes)
    const at: string[] = []
    for (let j = 0; j < count; j++) {
      const off = lo + rng.int(hi - lo)
      const mask = 1 + rng.int(255)
      b[off]! ^= mask
      at.push(`${off}^${mask}`)
    }
    out.push({ label: `${label} [${at.join(' ')}]`, bytes: b, flips: count })
  }
  for (let i = 0; i < 50; i++) flip('flip', 1 + rng.int(4), 0, bytes.length)
  for (let i = 0; i < 10; i++) flip('header flip', 1, 0, 100)
  // Each page gets a byte flipped somewhere in it (every table's b-tree pages, the freelist, the FTS shadow tables).
  for (let p = 0; p < pages; p++) flip(`page ${p + 1} flip`, 1, p * pageSize, Math.min(bytes.length, (p + 1) * pageSize))
  for (let i = 0; i < 10; i++) {
    const p = rng.int(pages)
    const b = Buffer.from(bytes)
    b.fill(0, p * pageSize, Math.min(b.length, (p + 1) * pageSize))
    out.push({ label: `page ${p + 1} zeroed`, bytes: b, flips: 0 })
  }
  for (let i = 0; i < 20; i++) {
    const at = rng.int(bytes.length)
    out.push({ label: `truncated at ${at}`, bytes: bytes.subarray(0, at), flips: 0 })
  }
  for (let i = 0; i < 6; i++) {
    const at = (1 + rng.int(pages - 1)) * pageSize
    out.push({ label: `truncated at page boundary ${at}`, bytes: bytes.subarray(0, at), flips: 0 })
  }
  {
    const b = Buffer.concat([bytes, Buffer.alloc(pageSize, 0xa5)])
    out.push({ label: 'a page of garbage appended', bytes: b, flips: 0 })
  }
  return out
}

describe(`file fuzzing of an index (seed ${SEED})`, () => {
  let tally: Tally
  beforeAll(async () => {
    tally = new Tally()
    let n = 0
    for (const m of mutants(original.bytes, SEED)) {
      for (const readonly of [false, true]) {
        // A fresh copy per mode: a writable open may legitimately change a file it accepts.
        const path = join(dir, `m${n++}.vqlite`)
        writeFileSync(path, m.bytes)
        tally.add(`${m.label} ${readonly ? 'read-only' : 'writable'}`, await probe(path, original, readonly), m.flips)
        for (const s of ['', '-wal', '-shm', '-journal']) rmSync(path + s, { force: true })
      }
    }
    process.stdout.write(tally.summary(`file fuzz (index), seed ${SEED}`))
  }, 60_000)

  it('the corpus has its cases (at least 100 mutants, each opened writable and read-only)', () => {
    expect(tally.cases).toBeGreaterThanOrEqual(200)
    // Both outcomes occur: the corpus reaches past the header.
    expect(tally.outcomes.get('opened') ?? 0).toBeGreaterThan(0)
  })

  it('every mutant is refused with a typed file error and left untouched, or opened with no raw error and only valid ids', () => {
    expect(tally.problems.slice(0, 40)).toEqual([])
  })

  it('damage stays local: a changed byte changes at most the one stored value it is in, never other items (no shifted or dropped rows); zeroed pages, truncations and garbage change no answer silently', () => {
    // SQLite keeps no per-row checksum: a byte flipped inside a stored float or metadata
    // string reads back as another value (README, Guarantees). Everything else is detected.
    expect(tally.spread.slice(0, 40)).toEqual([])
  })
})
