/**
 * A writer whose file another writer changed refuses every write with READ_ONLY ("reopen
 * it") before it reads or computes anything, and changes neither its memory nor the file.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 8
const x = clusteredVectors(80, d, 4, 21)
let dir: string
let serial = 0

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vq-stale-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function twoWriters(trained: boolean): Promise<{ a: VqIndex; b: VqIndex; path: string }> {
  const path = join(dir, `s${serial++}.vq`)
  const a = VqIndex.create(path, { dim: d, description: 'IVF4,SQ8', storeVectors: 'float32', threads: 0 })
  if (trained) {
    const ids = Array.from({ length: 40 }, (_, i) => i)
    await a.add(
      ids,
      x.subarray(0, 40 * d),
      ids.map((i) => ({ text: `word${i}` })),
      { train: { seed: 1 } },
    )
  }
  const b = VqIndex.open(path, { threads: 0 })
  // b commits: a's view of the file is stale from now on.
  await b.setProperty('owner', 'b')
  return { a, b, path }
}

function view(ix: VqIndex): unknown {
  return {
    size: ix.size,
    manifest: ix.manifest,
    search: ix.isTrained ? Array.from(ix.search(x.subarray(0, d), 5, { nprobe: 4 }).ids) : null,
    textField: ix.textField,
  }
}

const WRITES: { name: string; trained: boolean; call: (ix: VqIndex, progress: () => void) => Promise<unknown> }[] = [
  { name: 'train', trained: false, call: (ix, progress) => ix.train(x, { seed: 2, onProgress: progress }) },
  {
    name: 'add with { train }',
    trained: false,
    call: (ix, progress) =>
      ix.add(
        Array.from({ length: 80 }, (_, i) => i),
        x,
        undefined,
        { train: { seed: 2, onProgress: progress } },
      ),
  },
  { name: 'add', trained: true, call: (ix) => ix.add([100, 101], x.subarray(0, 2 * d)) },
  { name: 'upsert', trained: true, call: (ix) => ix.upsert([1, 102], x.subarray(0, 2 * d)) },
  { name: 'delete', trained: true, call: (ix) => ix.delete([1, 2]) },
  { name: 'delete strict', trained: true, call: (ix) => ix.delete([1, 2], { strict: true }) },
  { name: 'retrain', trained: true, call: (ix, progress) => ix.retrain({ seed: 3, onProgress: progress }) },
  { name: 'setProperty', trained: true, call: (ix) => ix.setProperty('owner', 'a') },
  { name: 'createTextIndex', trained: true, call: (ix) => ix.createTextIndex('text') },
]

describe('a stale writer', () => {
  for (const w of WRITES) {
    it(`${w.name}: refused with READ_ONLY before doing anything; nothing changes`, async () => {
      const { a, b, path } = await twoWriters(w.trained)
      const mine = view(a)
      const theirs = view(b)
      let progressed = 0
      await expect(w.call(a, () => progressed++)).rejects.toMatchObject({ code: 'READ_ONLY', message: expect.stringMatching(/reopen it/) })
      expect(progressed).toBe(0)
      expect(view(a)).toEqual(mine)
      expect(view(b)).toEqual(theirs)
      await a.close()
      await b.close()
      const again = VqIndex.open(path, { threads: 0 })
      expect(view(again)).toEqual(theirs)
      expect(again.getProperty('owner')).toBe('b')
      // Reopened, the same write goes through.
      await w.call(again, () => undefined)
      await again.close()
    })
  }

  it('retrain after another writer added items: READ_ONLY, not CORRUPT_FILE', async () => {
    const { a, b } = await twoWriters(true)
    await b.add([200, 201, 202], x.subarray(0, 3 * d))
    await expect(a.retrain({ seed: 4 })).rejects.toMatchObject({ code: 'READ_ONLY' })
    await a.close()
    await b.close()
  })
})
