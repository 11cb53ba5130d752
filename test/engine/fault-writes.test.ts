/**
 * A failed write call leaves memory and file exactly as they were: for every write call
 * (train, add, add with { train }, upsert, delete, retrain, setProperty, createTextIndex,
 * close) and every N, the Nth SQLite step of the call fails (SQLITE_FULL, as a full disk
 * would); the call rejects with a typed error (IO_ERROR), the handle (size, manifest,
 * search results, get, textField, properties, keyword search) and the file (reopened
 * read-only) equal the state before the call, and the next valid call succeeds.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'
import { armFault, disarmFault, installFaults, uninstallFaults } from '../helpers/faults.js'

const d = 8
const N0 = 40
const x = clusteredVectors(N0 + 20, d, 4, 11)
const queries = clusteredVectors(3, d, 4, 12)
let dir: string
let serial = 0

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vq-fault-'))
  installFaults()
})
afterAll(() => {
  uninstallFaults()
  rmSync(dir, { recursive: true, force: true })
})

/** Everything a caller can observe of an index. */
function observe(ix: VqIndex): unknown {
  const manifest = ix.manifest as unknown as Record<string, unknown>
  const searches = ix.isTrained
    ? Array.from({ length: 3 }, (_, i) => {
        const r = ix.search(queries.subarray(i * d, (i + 1) * d), 5, { nprobe: 4 })
        return { ids: Array.from(r.ids), distances: Array.from(r.distances) }
      })
    : null
  const items = [0, 1, 5, N0 - 1, N0, N0 + 1, N0 + 5].map((id) => {
    const it = ix.get(id)
    return it === undefined ? null : { vector: it.vector ? Array.from(it.vector) : null, metadata: it.metadata }
  })
  const textField = ix.textField
  return {
    size: ix.size,
    trained: ix.isTrained,
    manifest,
    searches,
    items,
    textField,
    properties: { p: ix.getProperty('p'), q: ix.getProperty('q') },
    keywords: textField ? Array.from(ix.keywordSearch('alpha beta', 10).ids) : null,
  }
}

/** What the file holds, through a read-only handle of its own. */
function observeFile(path: string): unknown {
  const ro = VqIndex.open(path, { readonly: true })
  try {
    return observe(ro)
  } finally {
    void ro.close()
  }
}

const meta = (i: number) => ({ text: i % 2 === 0 ? `alpha word${i}` : `beta word${i}`, i })

type Setup = 'empty' | 'filled' | 'filledNoText'

async function make(setup: Setup): Promise<{ ix: VqIndex; path: string }> {
  const path = join(dir, `f${serial++}.vq`)
  const ix = VqIndex.create(path, { dim: d, description: 'IVF4,SQ8', storeVectors: 'float32', threads: 0 })
  if (setup !== 'empty') {
    const ids = Array.from({ length: N0 }, (_, i) => i)
    await ix.add(ids, x.subarray(0, N0 * d), ids.map(meta), { train: { seed: 3 } })
    await ix.setProperty('p', { a: 1 })
    if (setup === 'filled') await ix.createTextIndex('text')
  }
  return { ix, path }
}

interface WriteCase {
  readonly name: string
  readonly setup: Setup
  readonly call: (ix: VqIndex) => Promise<unknown>
}

const batch = (ids: number[]) => ({ ids, v: x.subarray(ids[0]! * d, (ids[0]! + ids.length) * d), meta: ids.map(meta) })

const CASES: WriteCase[] = [
  { name: 'train', setup: 'empty', call: (ix) => ix.train(x.subarray(0, N0 * d), { seed: 1 }) },
  {
    name: 'add with { train }',
    setup: 'empty',
    call: (ix) => {
      const b = batch(Array.from({ length: N0 }, (_, i) => i))
      return ix.add(b.ids, b.v, b.meta, { train: { seed: 2 } })
    },
  },
  {
    name: 'upsert with { train }',
    setup: 'empty',
    call: (ix) => {
      const b = batch(Array.from({ length: N0 }, (_, i) => i))
      return ix.upsert(b.ids, b.v, b.meta, { train: { seed: 4 } })
    },
  },
  {
    name: 'add',
    setup: 'filled',
    call: (ix) => {
      const b = batch([N0, N0 + 1, N0 + 2, N0 + 3, N0 + 4, N0 + 5])
      return ix.add(b.ids, b.v, b.meta)
    },
  },
  {
    name: 'upsert',
    setup: 'filled',
    call: (ix) => ix.upsert([1, 5, N0 + 1], x.subarray((N0 + 10) * d, (N0 + 13) * d), [meta(100), null, meta(101)]),
  },
  { name: 'delete', setup: 'filled', call: (ix) => ix.delete([0, 5, 7, 999]) },
  { name: 'delete strict', setup: 'filled', call: (ix) => ix.delete([0, 5, 7], { strict: true }) },
  { name: 'retrain', setup: 'filled', call: (ix) => ix.retrain({ seed: 9 }) },
  { name: 'setProperty', setup: 'filled', call: (ix) => ix.setProperty('q', { big: 'x'.repeat(100), n: [1, 2, 3] }) },
  { name: 'createTextIndex', setup: 'filledNoText', call: (ix) => ix.createTextIndex('text') },
]

/** SQLite's code for the fault, and the message the typed error must carry. */
const FAULTS: { code: string; message: RegExp; cases: (c: WriteCase) => boolean }[] = [
  { code: 'SQLITE_FULL', message: /disk full/, cases: () => true },
  {
    code: 'SQLITE_IOERR_WRITE',
    message: /I\/O error \(SQLITE_IOERR_WRITE\)/,
    cases: (c) => ['add', 'retrain', 'createTextIndex'].includes(c.name),
  },
]

describe('a write whose Nth SQLite step fails changes nothing', () => {
  for (const fault of FAULTS)
    for (const c of CASES.filter(fault.cases)) {
      it(`${c.name}: every N (${fault.code})`, async () => {
        const { ix, path } = await make(c.setup)
        const before = observe(ix)
        expect(observeFile(path)).toEqual(before)
        let failures = 0
        for (let n = 1; n < 10_000; n++) {
          armFault(n, fault.code)
          let error: unknown
          try {
            await c.call(ix)
          } catch (e) {
            error = e
          }
          const { fired } = disarmFault()
          if (!fired) {
            // The call ran all its steps without the fault: it must have succeeded, and is the next valid call.
            expect(error).toBeUndefined()
            break
          }
          failures++
          expect(error, `${c.name}, step ${n}`).toBeInstanceOf(VqError)
          expect((error as VqError).code, `${c.name}, step ${n}: ${(error as Error).message}`).toBe('IO_ERROR')
          expect((error as Error).message).toMatch(fault.message)
          expect(observe(ix), `${c.name}: memory after a fault at step ${n}`).toEqual(before)
          expect(observeFile(path), `${c.name}: file after a fault at step ${n}`).toEqual(before)
        }
        expect(failures).toBeGreaterThan(2)
        // The successful call changed the index as it should, in memory and in the file alike.
        const after = observe(ix)
        expect(after).not.toEqual(before)
        expect(observeFile(path)).toEqual(after)
        // And the handle goes on working: another write commits.
        await ix.setProperty('p', { after: c.name })
        expect(ix.getProperty('p')).toEqual({ after: c.name })
        await ix.close()
      })
    }

  it('close: a fault at any step leaves the handle closed and the file as committed', async () => {
    for (let n = 1; n < 1000; n++) {
      const { ix, path } = await make('filled')
      const before = observe(ix)
      armFault(n)
      let error: unknown
      try {
        await ix.close()
      } catch (e) {
        error = e
      }
      const { fired } = disarmFault()
      if (error !== undefined) expect(error).toBeInstanceOf(VqError)
      expect(() => ix.search(queries.subarray(0, d), 1)).toThrow(expect.objectContaining({ code: 'CLOSED' }))
      await expect(ix.add([999], x.subarray(0, d))).rejects.toMatchObject({ code: 'CLOSED' })
      await ix.close()
      expect(observeFile(path)).toEqual(before)
      const again = VqIndex.open(path)
      expect(observe(again)).toEqual(before)
      await again.close()
      if (!fired) break
    }
  })
})
