/** add(..., { train }): training on the batch and adding it commit together, or not at all. */
import { describe, expect, it } from 'vitest'
import { VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 8

describe('add with { train }', () => {
  it('trains on the batch and adds it in one commit; the same as train then add', async () => {
    const x = clusteredVectors(600, d, 6, 3)
    const ids = Array.from({ length: 600 }, (_, i) => i)
    const a = VqIndex.create(':memory:', { dim: d, description: 'IVF4,PQ4' })
    await a.add(ids, x, undefined, { train: { seed: 7 } })
    const b = VqIndex.create(':memory:', { dim: d, description: 'IVF4,PQ4' })
    await b.train(x, { seed: 7 })
    await b.add(ids, x)
    expect(a.isTrained).toBe(true)
    expect(a.size).toBe(600)
    expect(a.manifest.generation).toBe(1)
    const q = x.subarray(0, d)
    expect(Array.from(a.search(q, 10, { nprobe: 4 }).ids)).toEqual(Array.from(b.search(q, 10, { nprobe: 4 }).ids))
    // Once trained, { train } is ignored: the model stays.
    const before = a.manifest.codesGeneration
    await a.add([1000], x.subarray(0, d), undefined, { train: true })
    expect(a.manifest.codesGeneration).toBe(before)
    expect(a.size).toBe(601)
  })

  it('a refused batch leaves the index untrained and empty', async () => {
    const x = clusteredVectors(300, d, 4, 5)
    const ix = VqIndex.create(':memory:', { dim: d, description: 'IVF4,PQ4' })
    const ids = Array.from({ length: 300 }, (_, i) => i % 299)
    await expect(ix.add(ids, x, undefined, { train: true })).rejects.toMatchObject({ code: 'DUPLICATE_ID' })
    expect(ix.isTrained).toBe(false)
    expect(ix.size).toBe(0)
    await expect(ix.add([1, 2], x.subarray(0, 2 * d), undefined, { train: true })).rejects.toMatchObject({
      code: 'TOO_FEW_TRAINING_POINTS',
    })
    expect(ix.isTrained).toBe(false)
    expect(ix.manifest.generation).toBe(0)
    await expect(ix.add([1], x.subarray(0, d), undefined, { train: { bogus: 1 } as never })).rejects.toMatchObject({
      code: 'UNKNOWN_OPTION',
    })
  })
})
