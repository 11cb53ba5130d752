/** writeSyntheticMixture writes, block by block, exactly the vectors syntheticMixture returns. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { syntheticMixture, writeSyntheticMixture } from '../../datasets/synthetic.js'
import { readFvecs } from '../../datasets/texmex.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-synth-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it.each([1, 7, 1000, 5000])('blocks of %i rows give the in-memory set', async (blockRows) => {
  const o = { n: 2345, d: 9, nq: 77, seed: 4 }
  const want = syntheticMixture(o)
  const done: number[] = []
  await writeSyntheticMixture(o, join(dir, `b${blockRows}.fvecs`), join(dir, `q${blockRows}.fvecs`), {
    blockRows,
    onBlock: (k) => done.push(k),
  })
  expect((await readFvecs(join(dir, `b${blockRows}.fvecs`))).data).toEqual(want.base)
  expect((await readFvecs(join(dir, `q${blockRows}.fvecs`))).data).toEqual(want.queries)
  expect(done.at(-1)).toBe(2345)
})
