import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { exactKnn, VqFormatError } from 'vqlite'
import { fromWink, loadFioriDocs, loadGlove, loadGlove100 } from '../../datasets/index.js'
import { findPackage } from '../../datasets/npm-package.js'
import { expectMissingDependency } from '../helpers/errors.js'

const cacheDir = mkdtempSync(join(tmpdir(), 'vqlite-cache-'))
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }))

describe('npm-installed datasets', () => {
  it('fromWink reads the wink JSON layout in word order', () => {
    const raw = { dimensions: 2, size: 2, words: ['b', 'a'], vectors: { a: [1, 2, 2.2, 1], b: [3, 4, 5, 0] } }
    const { words, vectors } = fromWink(raw)
    expect(words).toEqual(['b', 'a'])
    expect(Array.from(vectors)).toEqual([3, 4, 1, 2])
    expect(() => fromWink({ ...raw, vectors: { a: [1, 2, 0, 1] } })).toThrow(VqFormatError)
  })

  it('a missing data package is a MISSING_DEPENDENCY error that says how to install it', () => {
    expectMissingDependency((name) => findPackage(name, 'this test'))
  })

  it('GloVe: 341,479 x 100 vectors, converted once into the cache', async () => {
    const g = await loadGlove({ cacheDir })
    expect([g.n, g.d, g.words.length]).toEqual([341479, 100, 341479])
    const the = g.words.indexOf('the')
    expect(the).toBe(0)
    // First components of "the" as published in the package.
    expect(g.vectors[0]).toBeCloseTo(-0.038194, 6)
    expect(g.vectors[1]).toBeCloseTo(-0.24487, 6)
    const t0 = performance.now()
    const again = await loadGlove({ cacheDir })
    expect(performance.now() - t0).toBeLessThan(10_000) // no re-parse of the 300 MB JSON
    // Byte comparison: a deep equal over 34 M elements would exhaust the heap.
    expect(Buffer.from(again.vectors.buffer).equals(Buffer.from(g.vectors.buffer))).toBe(true)
  }, 300_000)

  it('glove100: a fixed 1,000-query split with exact cosine top-100 ground truth', async () => {
    const g = await loadGlove100({ cacheDir })
    expect([g.nb, g.nq, g.d, g.gtK]).toEqual([340479, 1000, 100, 100])
    expect(new Set([...g.baseWords, ...g.queryWords]).size).toBe(341479)
    // Spot-check the ground truth of 5 queries against an independent exact search.
    const sub = g.queries.subarray(0, 5 * g.d)
    const check = exactKnn(g.base, g.nb, sub, 5, g.d, 10, 'cosine')
    for (let i = 0; i < 5; i++) {
      expect(Array.from(check.labels.subarray(i * 10, i * 10 + 10))).toEqual(Array.from(g.groundTruth.subarray(i * 100, i * 100 + 10)))
      for (let j = 1; j < 100; j++)
        expect(g.groundTruthDistances[i * 100 + j]!).toBeGreaterThanOrEqual(g.groundTruthDistances[i * 100 + j - 1]!)
    }
    // The split is the same on every load.
    const again = await loadGlove100({ cacheDir })
    expect(again.queryWords).toEqual(g.queryWords)
  }, 300_000)

  it('Fiori docs: 778 x 384 MiniLM embeddings with their text', async () => {
    const f = await loadFioriDocs()
    expect([f.n, f.d, f.records.length]).toEqual([778, 384, 778])
    expect(f.records[0]!.content).toMatch(/TITLE/)
    // all-MiniLM-L6-v2 outputs unit vectors.
    for (let i = 0; i < f.n; i++) {
      let s = 0
      for (let t = 0; t < f.d; t++) s += f.vectors[i * f.d + t]! ** 2
      expect(Math.sqrt(s)).toBeCloseTo(1, 3)
    }
  })
})
