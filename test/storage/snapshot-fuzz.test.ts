/**
 * Seeded fuzzing of a real snapshot (IVF-PQ + RFlat, float32 vectors, metadata, a text
 * index and a property): random byte changes and truncations. Every variant is refused
 * with a typed snapshot error and leaves its target folder empty, or is imported with
 * every item, the manifest, the properties and the text index identical to the original.
 * VQLITE_FUZZ_RUNS raises the run count (default 100; every fifth variant is imported into a file, the others into memory).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { randomVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-snapfuzz-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 8
const n = 300
const x = randomVectors(n, d, 21)
const ids = Array.from({ length: n }, (_, i) => 5 * i)
const queries = randomVectors(4, d, 22)
const RUNS = Number(process.env['VQLITE_FUZZ_RUNS'] ?? 100)
const FILE_EVERY = 5
/** Per-test timeout: room for larger VQLITE_FUZZ_RUNS. */
const TIMEOUT = Math.max(10_000, RUNS * 80)
const REFUSALS = new Set(['BAD_FILE', 'CORRUPT_FILE', 'TRUNCATED_FILE', 'NEWER_FORMAT'])
let bytes: Buffer
let original: VqIndex

beforeAll(async () => {
  original = VqIndex.create(join(dir, 'orig.vqlite'), { dim: d, description: 'IVF4,PQ4,RFlat', storeVectors: 'float32', threads: 0 })
  await original.train(x, { seed: 9 })
  await original.add(
    ids,
    x,
    ids.map((id) => (id % 3 === 0 ? null : { text: `word${id % 7} item ${id}`, id, tags: [id % 2, 'x'] })),
  )
  await original.delete([10, 20])
  await original.createTextIndex('text')
  await original.setProperty('embedder', { name: 'fuzz', dim: d })
  await original.export(join(dir, 'orig.snapshot'))
  bytes = readFileSync(join(dir, 'orig.snapshot'))
})
afterAll(() => original.close())

/** The imported copy equals the original in every item and everything the snapshot carries. */
function expectIdentical(copy: VqIndex): void {
  expect(copy.size).toBe(original.size)
  expect(copy.manifest).toEqual(original.manifest)
  expect(copy.textField).toBe(original.textField)
  expect(copy.getProperty('embedder')).toEqual(original.getProperty('embedder'))
  for (const id of ids) expect(copy.get(id)).toEqual(original.get(id))
  for (let q = 0; q < 4; q++) {
    const qv = queries.subarray(q * d, (q + 1) * d)
    const a = original.search(qv, 10, { nprobe: 4, refineFactor: 5 })
    const b = copy.search(qv, 10, { nprobe: 4, refineFactor: 5 })
    expect(b.ids).toEqual(a.ids)
    expect(b.distances).toEqual(a.distances)
  }
  expect(copy.keywordSearch('word3', 20)).toEqual(original.keywordSearch('word3', 20))
}

let run = 0
const outcomes = { refused: new Map<string, number>(), imported: 0 }

/** Imports a variant: into a file in an empty folder every FILE_EVERY-th run (which a refusal must leave empty), else into memory. */
function tryVariant(variant: Buffer): void {
  const here = join(dir, `run-${run}`)
  const toFile = run++ % FILE_EVERY === 0
  mkdirSync(here)
  const file = `${here}.snapshot`
  writeFileSync(file, variant)
  let copy: VqIndex | undefined
  try {
    copy = VqIndex.import(file, toFile ? join(here, 'copy.vqlite') : ':memory:', { threads: 0, durability: 'normal' })
  } catch (e) {
    if (!(e instanceof VqError) || !REFUSALS.has(e.code)) throw e
    expect(readdirSync(here)).toEqual([])
    outcomes.refused.set(e.code, (outcomes.refused.get(e.code) ?? 0) + 1)
    rmSync(file)
    return
  }
  try {
    expectIdentical(copy)
    outcomes.imported++
  } finally {
    copy.close()
    rmSync(here, { recursive: true, force: true })
    rmSync(file)
  }
}

describe('snapshot fuzzing', () => {
  it(
    'byte changes (1 to 4, anywhere) are refused or change nothing',
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
          (flips) => {
            const v = Buffer.from(bytes)
            for (const [at, xor] of flips) v[at]! ^= xor
            tryVariant(v)
          },
        ),
        { seed: 1401, numRuns: RUNS },
      )
    },
    TIMEOUT,
  )

  it(
    'truncations anywhere are refused',
    () => {
      fc.assert(
        fc.property(fc.nat({ max: bytes.length - 1 }), (len) => {
          tryVariant(bytes.subarray(0, len))
        }),
        { seed: 1402, numRuns: Math.ceil(RUNS / 3) },
      )
    },
    TIMEOUT,
  )

  it(
    'a byte change plus a truncation, and changes within the header',
    () => {
      fc.assert(
        fc.property(fc.nat({ max: 400 }), fc.integer({ min: 1, max: 255 }), fc.nat({ max: bytes.length }), (at, xor, len) => {
          const v = Buffer.from(bytes.subarray(0, Math.max(len, at + 1)))
          v[at]! ^= xor
          tryVariant(v)
        }),
        { seed: 1403, numRuns: Math.ceil(RUNS / 3) },
      )
      // Every variant so far was either refused or identical; most must have been refused.
      const refused = [...outcomes.refused.values()].reduce((a, b) => a + b, 0)
      expect(refused).toBeGreaterThan(outcomes.imported)
    },
    TIMEOUT,
  )
})
