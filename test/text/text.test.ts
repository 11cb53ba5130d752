import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chunkText } from '../../src/text/chunk.js'
import type { Embedder } from '../../src/text/embedder.js'
import { createSifGloveEmbedder } from '../../src/text/sif-glove.js'
import { TextIndex } from '../../src/text/text-index.js'
import { VqIndex } from '../../src/vq-index.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-text-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A toy embedder: counts of a few words (deterministic, no GloVe). */
function toyEmbedder(name = 'toy/v1'): Embedder {
  const vocab = ['deploy', 'cloud', 'pets', 'cats', 'market', 'stock']
  return {
    name,
    dim: vocab.length,
    async embed(texts) {
      const out = new Float32Array(texts.length * vocab.length)
      texts.forEach((t, i) => {
        vocab.forEach((w, j) => {
          out[i * vocab.length + j] = t.toLowerCase().split(w).length - 1
        })
      })
      return out
    },
  }
}

describe('chunkText', () => {
  it('covers the text with overlapping chunks that end at breaks, offsets pointing into the text', () => {
    const text = `${Array.from({ length: 40 }, (_, i) => `Sentence number ${i} talks about topic ${i % 7}.`).join(' ')}\n\nA last paragraph.`
    const chunks = chunkText(text, { size: 200, overlap: 40 })
    expect(chunks.length).toBeGreaterThan(5)
    for (const c of chunks) {
      expect(text.slice(c.start, c.end)).toBe(c.text)
      expect(c.text.length).toBeLessThanOrEqual(200)
    }
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.start).toBeLessThan(chunks[i - 1]!.end) // overlap
      expect(chunks[i]!.start).toBeGreaterThan(chunks[i - 1]!.start)
    }
    expect(chunks[0]!.start).toBe(0)
    expect(chunks.at(-1)!.end).toBe(text.length)
    expect(chunks.slice(0, -1).every((c) => /[.!?]$/.test(c.text))).toBe(true) // sentence ends
    expect(chunkText('   ')).toEqual([])
  })
})

describe('TextIndex', () => {
  it('hybrid, vector and keyword search; filters; the embedder is checked on open', async () => {
    const a = join(dir, 'a.md')
    writeFileSync(a, 'How to deploy to the cloud: deploy with the cloud tools.')
    writeFileSync(join(dir, 'b.txt'), 'Cats are pets. Cats sleep a lot.')
    writeFileSync(join(dir, 'c.txt'), 'The stock market rose; market watchers cheered.')
    const path = join(dir, 't.vqlite')
    const ix = await TextIndex.create(path, toyEmbedder(), { description: 'Flat' })
    const r = await ix.indexFiles([a, join(dir, 'b.txt'), join(dir, 'c.txt')])
    expect(r).toMatchObject({ filesIndexed: 3, chunksAdded: 3, errors: [] })
    for (const mode of ['hybrid', 'vector', 'keyword'] as const) {
      const hits = await ix.search('cats as pets', { k: 2, mode })
      expect(hits[0]!.source.endsWith('b.txt'), mode).toBe(true)
    }
    expect((await ix.search('cats', { k: 3, mode: 'keyword', filter: { source: a } })).length).toBe(0)
    // a snapshot carries the embedder's name and the keyword index
    await ix.index.export(join(dir, 't.snapshot'))
    await ix.close()
    await VqIndex.import(join(dir, 't.snapshot'), join(dir, 'back.vqlite')).close()
    const back = await TextIndex.open(join(dir, 'back.vqlite'), toyEmbedder())
    expect((await back.search('market', { k: 1, mode: 'keyword' }))[0]!.source.endsWith('c.txt')).toBe(true)
    await back.close()
    await expect(TextIndex.open(path, toyEmbedder('other/v2'))).rejects.toThrow(/built with the embedder toy\/v1/)
    const plain = VqIndex.create(join(dir, 'plain.vqlite'), { dim: 2 })
    await plain.close()
    await expect(TextIndex.open(join(dir, 'plain.vqlite'), toyEmbedder())).rejects.toMatchObject({ code: 'BAD_FILE' })
  })

  it('SIF-GloVe: similar sentences are closer than unrelated ones; no known word gives a zero vector', async () => {
    const e = await createSifGloveEmbedder()
    const v = await e.embed(['the cat sat on the mat', 'a kitten rested on the rug', 'stock prices fell sharply', 'qwxzv zzqq'])
    const cos = (i: number, j: number): number => {
      let d = 0,
        ni = 0,
        nj = 0
      for (let t = 0; t < e.dim; t++) {
        d += v[i * e.dim + t]! * v[j * e.dim + t]!
        ni += v[i * e.dim + t]! ** 2
        nj += v[j * e.dim + t]! ** 2
      }
      return d / Math.sqrt(ni * nj)
    }
    expect(cos(0, 1)).toBeGreaterThan(cos(0, 2) + 0.1)
    expect(Array.from(v.subarray(3 * e.dim, 4 * e.dim)).every((x) => x === 0)).toBe(true)
    expect(e.name).toBe('sif-glove-6b-100d/v1')
  }, 120_000)
})
