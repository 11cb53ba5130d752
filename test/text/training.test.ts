/**
 * TextIndex training on the corpus: a new index is exact (Flat) and switches to its target
 * description once it holds enough chunks; options on an existing index are applied or
 * refused; keyword search never makes the embedder.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Embedder } from '../../src/text/embedder.js'
import { TextIndex } from '../../src/text/text-index.js'
import { VqIndex } from '../../src/vq-index.js'
import { hashEmbedder } from '../helpers/hash-embedder.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-train-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const TOPICS = [
  ['river', 'boat', 'water', 'bridge', 'fish', 'bank', 'current', 'shore'],
  ['engine', 'piston', 'fuel', 'gear', 'torque', 'cylinder', 'exhaust', 'valve'],
  ['garden', 'tomato', 'soil', 'seed', 'compost', 'weed', 'harvest', 'shovel'],
  ['market', 'stock', 'price', 'trader', 'bond', 'yield', 'broker', 'dividend'],
  ['violin', 'melody', 'concert', 'chord', 'rhythm', 'tempo', 'orchestra', 'sonata'],
]

/** Deterministic pseudo-random words. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/** n files of about `sentences` sentences each; file 17 holds the phrase "quantum marmalade protocol". */
function corpus(name: string, n: number, sentences: number): string {
  const root = join(dir, name)
  mkdirSync(root, { recursive: true })
  const r = rng(n * 7 + sentences)
  for (let f = 0; f < n; f++) {
    const topic = TOPICS[f % TOPICS.length]!
    const lines: string[] = []
    for (let s = 0; s < sentences; s++) {
      const words = Array.from({ length: 8 }, () => (r() < 0.8 ? topic[Math.floor(r() * topic.length)]! : 'the'))
      lines.push(`${words.join(' ')}.`)
    }
    if (f === 17) lines.splice(2, 0, 'This file describes the quantum marmalade protocol in detail.')
    writeFileSync(join(root, `doc${String(f).padStart(2, '0')}.txt`), lines.join(' '))
  }
  return root
}

const CHUNK = { size: 200, overlap: 20 }

describe('TextIndex training on the corpus', () => {
  const root = corpus('c50', 50, 30)

  for (const description of ['IVF64,PQ16,RFlat', 'IVF256,SQ8']) {
    it(`${description}: starts Flat, switches once the index holds enough chunks, searches well`, async () => {
      const path = join(dir, `${description.replace(/,/g, '_')}.vqlite`)
      const ix = await TextIndex.create(path, hashEmbedder(), { description, chunk: CHUNK })
      expect(ix.description).toBe('Flat')
      expect(ix.targetDescription).toBe(description)
      expect(ix.minimumChunks).toBe(256)
      // the first files: too few chunks, exact
      const files = readdirSync(root).map((f) => join(root, f))
      const first = await ix.indexFiles(files.slice(0, 5), { root })
      expect(first.chunks).toBeLessThan(256)
      expect(first).toMatchObject({ switched: false, description: 'Flat', targetDescription: description })
      expect((await ix.search('quantum marmalade', { k: 1, mode: 'keyword' })).length).toBe(0)
      const exactBefore = await ix.search('river boat water', { k: 3, mode: 'vector' })
      expect(exactBefore.length).toBe(3)
      // the rest: enough, switched (trained on every stored chunk)
      const rest = await ix.indexFiles(files.slice(5), { root })
      expect(rest.chunks).toBeGreaterThanOrEqual(256)
      expect(rest).toMatchObject({ switched: true, description, targetDescription: description })
      expect(ix.description).toBe(description)
      expect(ix.index.isTrained).toBe(true)
      expect(ix.index.manifest.training?.vectors).toBe(rest.chunks)
      for (const mode of ['keyword', 'hybrid'] as const) {
        const hits = await ix.search('quantum marmalade protocol', { k: 5, mode })
        expect(hits[0]!.source, mode).toBe('doc17.txt')
      }
      // recall of vector search against an exact index of the same corpus
      const flat = await TextIndex.create(`${path}.flat`, hashEmbedder(), { description: 'Flat', chunk: CHUNK })
      await flat.indexFiles([root], { root })
      expect(flat.description).toBe('Flat')
      let found = 0
      let total = 0
      const queries = TOPICS.flatMap((t) => [`${t[0]} ${t[1]} ${t[2]}`, `${t[3]} ${t[5]}`, `${t[6]} ${t[7]} ${t[4]}`])
      for (const q of queries) {
        const truth = new Set((await flat.search(q, { k: 10, mode: 'vector' })).map((h) => `${h.source}:${h.start}`))
        const got = await ix.search(q, { k: 10, mode: 'vector', nprobe: 16 })
        found += got.filter((h) => truth.has(`${h.source}:${h.start}`)).length
        total += truth.size
      }
      expect(found / total).toBeGreaterThan(0.8) // measured: 0.99 (IVF64,PQ16,RFlat), 0.95 (IVF256,SQ8)
      await flat.close()
      await ix.close()
      // reopened: the description is the trained one
      const back = await TextIndex.open(path, hashEmbedder())
      expect(back.description).toBe(description)
      await back.close()
    }, 120_000)
  }

  it('a corpus too small for the target stays Flat and searches exactly', async () => {
    const small = corpus('c3', 3, 4)
    const path = join(dir, 'small.vqlite')
    const ix = await TextIndex.create(path, hashEmbedder(), { description: 'IVF64,PQ16,RFlat', chunk: CHUNK })
    const r = await ix.indexFiles([small], { root: small })
    expect(r.errors).toEqual([])
    expect(r).toMatchObject({ switched: false, description: 'Flat', targetDescription: 'IVF64,PQ16,RFlat', minimumChunks: 256 })
    expect(r.chunks).toBeGreaterThan(0)
    await ix.close()
    // a valid Flat file, reopened and searched
    const back = await TextIndex.open(path, hashEmbedder())
    expect(back.index.isTrained).toBe(true)
    const hits = await back.search('river boat', { k: 2, mode: 'hybrid' })
    expect(hits[0]!.source).toBe('doc00.txt')
    await back.close()
  })

  it('the default target SQ8 is reached on the first indexing', async () => {
    const small = corpus('c3b', 3, 4)
    const ix = await TextIndex.create(join(dir, 'sq8.vqlite'), hashEmbedder())
    expect(ix.targetDescription).toBe('SQ8')
    const r = await ix.indexFiles([small], { root: small })
    expect(r).toMatchObject({ switched: true, description: 'SQ8' })
    await ix.close()
  })

  it('a bad description is refused before any file is made', async () => {
    const path = join(dir, 'bad.vqlite')
    // a refine PQ works on the vectors as given: its m must divide the dimension
    await expect(TextIndex.create(path, hashEmbedder(), { description: 'IVF64,SQ8,Refine(PQ5)' })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    })
    await expect(TextIndex.create(path, hashEmbedder(), { description: 'Nope' })).rejects.toMatchObject({ code: 'BAD_DESCRIPTION' })
    expect(readdirSync(dir).filter((f) => f.startsWith('bad.vqlite'))).toEqual([])
  })

  it('a description change on an existing index is applied (now when enough chunks, else as the new target)', async () => {
    const path = join(dir, 'change.vqlite')
    const ix = await TextIndex.create(path, hashEmbedder(), { description: 'Flat', chunk: CHUNK })
    await ix.indexFiles([root], { root })
    const n = ix.index.size
    expect(n).toBeGreaterThanOrEqual(256)
    await ix.close()
    // enough chunks: applied at open
    const a = await TextIndex.open(path, hashEmbedder(), { description: 'IVF64,PQ16,RFlat' })
    expect(a.description).toBe('IVF64,PQ16,RFlat')
    expect(a.targetDescription).toBe('IVF64,PQ16,RFlat')
    expect(a.index.size).toBe(n)
    expect((await a.search('quantum marmalade protocol', { k: 1 }))[0]!.source).toBe('doc17.txt')
    // too few chunks for this one: recorded as the target, the index keeps its description
    expect(await a.setTargetDescription(`IVF${2 * n},SQ8`)).toBe(false)
    expect(a.targetDescription).toBe(`IVF${2 * n},SQ8`)
    expect(a.description).toBe('IVF64,PQ16,RFlat')
    // the same again: nothing to do
    expect(await a.setTargetDescription('SQ8')).toBe(true)
    expect(a.description).toBe('SQ8')
    expect(await a.setTargetDescription('SQ8')).toBe(false)
    await a.close()
    const b = await TextIndex.open(path, hashEmbedder())
    expect([b.description, b.targetDescription]).toEqual(['SQ8', 'SQ8'])
    await b.close()
  }, 60_000)

  it('a chunking change on an existing index is refused, and nothing stored changes', async () => {
    const small = corpus('c3c', 3, 4)
    const path = join(dir, 'chunk.vqlite')
    const ix = await TextIndex.create(path, hashEmbedder(), { chunk: CHUNK })
    await ix.indexFiles([small], { root: small })
    const before = { size: ix.index.size, props: ix.index.getProperty('text-index'), d: ix.description }
    await ix.close()
    const err = await TextIndex.open(path, hashEmbedder(), { chunk: { size: 300, overlap: 20 } }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'BAD_OPTION', name: 'VqOptionError' })
    expect((err as Error).message).toMatch(/chunk size 200 and overlap 20.*chunk size 300 and overlap 20.*re-indexing/)
    // equal chunking is fine; a different one in indexFiles is refused too
    const same = await TextIndex.open(path, hashEmbedder(), { chunk: { size: 200, overlap: 20 } })
    expect(same.chunk).toEqual(CHUNK)
    writeFileSync(join(small, 'new.txt'), 'garden tomato soil seed compost.')
    await expect(same.indexFiles([small], { root: small, chunk: { size: 200, overlap: 50 } })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    })
    expect({ size: same.index.size, props: same.index.getProperty('text-index'), d: same.description }).toEqual(before)
    // without chunk options, the recorded chunking is used
    const r = await same.indexFiles([small], { root: small })
    expect(r.filesIndexed).toBe(1)
    await same.close()
  })

  it('keyword search never makes the embedder; vector search makes it once and checks it', async () => {
    const small = corpus('c3d', 3, 4)
    const path = join(dir, 'lazy.vqlite')
    const ix = await TextIndex.create(path, hashEmbedder(), { chunk: CHUNK })
    await ix.indexFiles([small], { root: small })
    await ix.close()
    let made = 0
    const throwing = async (): Promise<Embedder> => {
      made++
      throw new Error('the embedder must not be made for keyword search')
    }
    const k = await TextIndex.open(path, throwing, { readonly: true })
    const hits = await k.search('garden tomato', { k: 2, mode: 'keyword' })
    expect(hits[0]!.source).toBe('doc02.txt')
    expect(made).toBe(0)
    expect(k.embedder).toBeUndefined()
    await expect(k.search('garden tomato', { mode: 'hybrid' })).rejects.toThrow(/must not be made/)
    expect(made).toBe(1)
    await k.close()
    // a factory is called once, and its embedder checked against the index's
    const calls = { n: 0 }
    let factoryCalls = 0
    const lazy = await TextIndex.open(path, async () => {
      factoryCalls++
      return hashEmbedder('hash-bow/v1', calls)
    })
    await lazy.search('garden', { mode: 'vector' })
    await lazy.search('river', { mode: 'hybrid' })
    expect([factoryCalls, calls.n]).toEqual([1, 2])
    expect(lazy.embedder?.name).toBe('hash-bow/v1')
    await lazy.close()
    const other = await TextIndex.open(path, async () => hashEmbedder('other/v2'))
    expect((await other.search('garden', { mode: 'keyword' })).length).toBeGreaterThan(0)
    await expect(other.search('garden', { mode: 'vector' })).rejects.toMatchObject({ code: 'EMBEDDER_MISMATCH' })
    await other.close()
    await expect(TextIndex.open(path, hashEmbedder('other/v2'))).rejects.toMatchObject({ code: 'EMBEDDER_MISMATCH' })
    // no spec recorded for this embedder: keyword search works, the stored one cannot be made
    const nospec = await TextIndex.openWithStoredEmbedder(path)
    expect((await nospec.search('garden', { mode: 'keyword' })).length).toBeGreaterThan(0)
    await expect(nospec.search('garden', { mode: 'vector' })).rejects.toMatchObject({ code: 'UNSUPPORTED' })
    await nospec.close()
    // a plain vqlite index is not a text index
    await VqIndex.create(join(dir, 'plain.vqlite'), { dim: 2 }).close()
    await expect(TextIndex.open(join(dir, 'plain.vqlite'), throwing)).rejects.toMatchObject({ code: 'BAD_FILE' })
  })
})
