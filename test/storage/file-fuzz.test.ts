/**
 * Seeded file fuzzing over a real index: random byte flips (in any page) and truncations.
 * Each damaged copy is either refused by open() with a typed VqError and left byte for
 * byte as it was, or opened; an opened one answers get(), find() and search() for every
 * item with the item or a typed error (CORRUPT_FILE), never a raw error.
 */
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-fuzz-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const d = 8
const N = 300
const x = clusteredVectors(N, d, 4, 5)
const good = join(dir, 'good.vqlite')
let size = 0
beforeAll(async () => {
  const a = VqIndex.create(good, { dim: d, description: 'IVF2,PQ4x4', storeVectors: 'float32' })
  await a.train(x)
  await a.add(
    Array.from({ length: N }, (_, i) => i),
    x,
    Array.from({ length: N }, (_, i) => ({ i, tag: i % 3 })),
  )
  a.close()
  size = readFileSync(good).length
})

function fingerprint(p: string): string {
  return ['', '-wal', '-shm', '-journal']
    .map((s) =>
      existsSync(p + s)
        ? createHash('sha256')
            .update(readFileSync(p + s))
            .digest('hex')
        : '-',
    )
    .join(' ')
}

/** Runs fn; a thrown error must be a VqError (returned), anything else fails the test. */
function typed(fn: () => unknown, what: string): VqError | undefined {
  try {
    fn()
    return undefined
  } catch (e) {
    if (!(e instanceof VqError)) throw new Error(`${what}: an untyped error escaped: ${String(e)}`, { cause: e })
    return e
  }
}

/** Runs per property: VQLITE_FUZZ_SCALE multiplies them (default 1), VQLITE_FUZZ_SEED shifts the seeds. */
const scale = Number(process.env['VQLITE_FUZZ_SCALE'] ?? 1)
const shift = Number(process.env['VQLITE_FUZZ_SEED'] ?? 0)
const runs = (k: number): number => Math.max(1, Math.round(k * scale))

let n = 0
function tryFile(p: string): void {
  for (const readonly of [true, false]) {
    const before = fingerprint(p)
    let index: VqIndex | undefined
    const refused = typed(() => {
      index = VqIndex.open(p, { readonly })
    }, `open(readonly ${readonly})`)
    if (refused) {
      expect(fingerprint(p), `${refused.code}: ${refused.message}`).toBe(before)
      continue
    }
    const a = index!
    for (let id = 0; id < N; id += 7) {
      const e = typed(() => a.get(id), `get(${id})`)
      if (e) expect(e.code, e.message).toBe('CORRUPT_FILE')
    }
    for (const call of [
      () => a.find({ tag: 1 }),
      () => a.search(x.subarray(0, d), 5),
      () => a.search(x.subarray(0, d), 5, { filter: { tag: 2 } }),
    ]) {
      const e = typed(call, 'a read')
      if (e) expect(['CORRUPT_FILE', 'NOT_TRAINED']).toContain(e.code)
    }
    a.close()
  }
}

describe('fuzzed index files: refused untouched, or read with typed errors only', () => {
  it('random byte flips anywhere in the file', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 12 }), (flips) => {
        const p = join(dir, `flip-${n++}.vqlite`)
        const b = readFileSync(good)
        for (const [at, xor] of flips) b[at % size] = b[at % size]! ^ xor
        writeFileSync(p, b)
        tryFile(p)
        rmSync(p)
      }),
      { seed: 1414 + shift, numRuns: runs(80) },
    )
  })

  it('random byte flips inside the first page (header and schema)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 4095 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const p = join(dir, `head-${n++}.vqlite`)
        const b = readFileSync(good)
        for (const [at, xor] of flips) b[at] = b[at]! ^ xor
        writeFileSync(p, b)
        tryFile(p)
        rmSync(p)
      }),
      { seed: 2828 + shift, numRuns: runs(60) },
    )
  })

  it('truncations at random lengths', () => {
    fc.assert(
      fc.property(fc.nat(), (cut) => {
        const p = join(dir, `cut-${n++}.vqlite`)
        copyFileSync(good, p)
        truncateSync(p, cut % size)
        tryFile(p)
        rmSync(p)
      }),
      { seed: 4242 + shift, numRuns: runs(30) },
    )
  })
})
