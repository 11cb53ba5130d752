/**
 * The SIF-GloVe embedder's binary cache (src/text/sif-glove-cache.ts): the embedder read
 * from it gives exactly the vectors of the embedder as it was before the cache (kept here
 * as the reference: a Map of the words, the weights and the component recomputed on every
 * load), on the real GloVe vectors and on a small fake GloVe; a truncated, foreign or
 * damaged cache file is rebuilt, never used.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import WinkTokenizer from 'wink-tokenizer'
import type { Embedder } from '../../src/text/embedder.js'
import { GLOVE_PACKAGE, type GloveVectors, loadGlove, resolveOptionalPackage } from '../../src/text/glove.js'
import { createSifGloveEmbedder, SIF_CACHE_FILE } from '../../src/text/sif-glove.js'
import { CacheDamaged, openSifCache } from '../../src/text/sif-glove-cache.js'

const root = mkdtempSync(join(tmpdir(), 'vqlite-sifcache-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** The embedder before the binary cache (src/text/sif-glove.ts as it was), verbatim but for the loading. */
function referenceEmbedder(glove: GloveVectors, a = 1e-3): (texts: readonly string[]) => Float32Array {
  const { n, d, words, vectors } = glove
  let harmonic = 0
  for (let r = 1; r <= n; r++) harmonic += 1 / r
  const rowOf = new Map<string, number>()
  for (let i = 0; i < n; i++) if (!rowOf.has(words[i]!)) rowOf.set(words[i]!, i)
  const weight = new Float32Array(n)
  const prob = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    prob[i] = 1 / ((i + 1) * harmonic)
    weight[i] = a / (a + prob[i]!)
  }
  const u = firstComponent(vectors, prob, Math.min(n, 50_000), d)
  const tokenizer = new WinkTokenizer()
  const embedOne = (text: string, out: Float32Array, off: number): void => {
    let count = 0
    for (const t of tokenizer.tokenize(text)) {
      if (t.tag !== 'word' && t.tag !== 'number') continue
      const row = rowOf.get(t.value.toLowerCase())
      count++
      if (row === undefined) continue
      const w = weight[row]!
      for (let j = 0; j < d; j++) out[off + j] = out[off + j]! + w * vectors[row * d + j]!
    }
    if (count === 0) return
    let dot = 0
    for (let j = 0; j < d; j++) {
      out[off + j] = out[off + j]! / count
      dot += out[off + j]! * u[j]!
    }
    for (let j = 0; j < d; j++) out[off + j] = out[off + j]! - dot * u[j]!
  }
  return (texts) => {
    const out = new Float32Array(texts.length * d)
    texts.forEach((text, i) => {
      embedOne(text, out, i * d)
    })
    return out
  }
}

function firstComponent(x: Float32Array, w: Float64Array, n: number, d: number): Float64Array {
  let u = new Float64Array(d).fill(1 / Math.sqrt(d))
  const next = new Float64Array(d)
  for (let it = 0; it < 30; it++) {
    next.fill(0)
    for (let i = 0; i < n; i++) {
      let dot = 0
      for (let j = 0; j < d; j++) dot += x[i * d + j]! * u[j]!
      const s = w[i]! * dot
      for (let j = 0; j < d; j++) next[j] = next[j]! + s * x[i * d + j]!
    }
    let norm = 0
    for (let j = 0; j < d; j++) norm += next[j]! * next[j]!
    norm = Math.sqrt(norm)
    let delta = 0
    for (let j = 0; j < d; j++) {
      const v = next[j]! / norm
      delta += Math.abs(v - u[j]!)
      next[j] = v
    }
    u = Float64Array.from(next)
    if (delta < 1e-9) break
  }
  return u
}

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const FIXED = [
  '',
  '   ',
  '!!! ??? ...',
  'the cat sat on the mat',
  'The Cat SAT on THE mat.',
  'a kitten rested on the rug',
  'stock prices fell sharply in 1987 and again in 2008',
  'pi is 3.14159, e is 2.71828; 42 and -7 and 1,000,000',
  'qwxzv zzqq blorptastic',
  'café naïve résumé über Ångström',
  '東京 北京 москва αθήνα',
  'emoji 😀 🎉 and a flag 🇫🇷',
  'lone \ud800 surrogate and \udc00 another',
  "don't can't won't it's o'clock",
  'e-mail someone@example.com or visit https://example.com/path?q=1',
  '#hashtag @mention $100 50% 3rd 21st',
  'ÉCOLE Straße İstanbul',
  'tab\tseparated\nnew line\r\nwindows',
]

/** Texts: the fixed ones, then random mixes of known words (frequent and rare), unknown words, numbers and unicode. */
function texts(words: readonly string[], count: number): string[] {
  const r = rng(7)
  const extra = ['zzqqx', 'ÜBER', 'naïveté', '12345', '3.5', '😀', 'Ωmega', 'xn--bcher', '0', '\u00e9t\u00e9']
  const out = [...FIXED]
  while (out.length < count) {
    const len = 1 + Math.floor(r() * 25)
    const parts: string[] = []
    for (let i = 0; i < len; i++) {
      const c = r()
      if (c < 0.6) parts.push(words[Math.floor(r() ** 3 * words.length)]!)
      else if (c < 0.8) parts.push(words[Math.floor(r() * words.length)]!.toUpperCase())
      else parts.push(extra[Math.floor(r() * extra.length)]!)
    }
    out.push(parts.join(r() < 0.5 ? ' ' : ', '))
  }
  return out
}

async function expectSame(e: Embedder, reference: (t: readonly string[]) => Float32Array, input: string[]): Promise<void> {
  const got = await e.embed(input)
  const want = reference(input)
  expect(got.length).toBe(want.length)
  // bit for bit: Float32Array equality element by element (NaN would fail, as it should)
  let differ = 0
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) differ++
  expect(differ).toBe(0)
}

describe('SIF-GloVe binary cache, real GloVe', () => {
  it('the embedder built from the cache gives the reference vectors bit for bit (first load builds it, the second reads it)', async () => {
    const glove = await loadGlove()
    const reference = referenceEmbedder(glove)
    const input = texts(glove.words, 400)
    const cacheDir = process.env['VQLITE_CACHE_DIR']!
    const file = join(cacheDir, `glove-6b-100d-${resolveOptionalPackage(GLOVE_PACKAGE, 'this test').version}`, SIF_CACHE_FILE)
    rmSync(file, { force: true })
    const built = await createSifGloveEmbedder()
    expect(statSync(file).size).toBeGreaterThan(glove.n * glove.d * 4)
    await expectSame(built, reference, input)
    const read = await createSifGloveEmbedder()
    expect([read.name, read.dim]).toEqual(['sif-glove-6b-100d/v1', 100])
    await expectSame(read, reference, input)
    // and with another a
    await expectSame(await createSifGloveEmbedder({ a: 0.01 }), referenceEmbedder(glove, 0.01), input.slice(0, 50))
  }, 120_000)
})

describe('SIF-GloVe binary cache, fake GloVe', () => {
  const version = resolveOptionalPackage(GLOVE_PACKAGE, 'this test').version
  const WORDS = ['the', 'of', 'and', 'café', '東京', 'the', '42', '3.14', 'cat', 'mat', 'über', '😀', 'dog']

  /** w + i in letters (a = 0): the tokenizer's words. */
  const fakeWord = (i: number): string => `w${i.toString(26).replace(/./g, (c) => String.fromCharCode(97 + Number.parseInt(c, 26)))}`

  /** A converted GloVe (words.txt + vectors.fvecs, as loadGlove writes them) of n words, d = 3. */
  function fakeGlove(name: string, n = 300, d = 3): { cacheDir: string; file: string } {
    const cacheDir = join(root, name)
    const dir = join(cacheDir, `glove-6b-100d-${version}`)
    mkdirSync(dir, { recursive: true })
    const words = Array.from({ length: n }, (_, i) => WORDS[i] ?? fakeWord(i))
    writeFileSync(join(dir, 'words.txt'), words.join('\n'))
    const r = rng(n)
    const buf = Buffer.alloc(n * (d + 1) * 4)
    for (let i = 0; i < n; i++) {
      buf.writeInt32LE(d, i * (d + 1) * 4)
      for (let t = 0; t < d; t++) buf.writeFloatLE(r() * 2 - 1, i * (d + 1) * 4 + 4 + 4 * t)
    }
    writeFileSync(join(dir, 'vectors.fvecs'), buf)
    return { cacheDir, file: join(dir, SIF_CACHE_FILE) }
  }

  it('gives the reference vectors (duplicate words: the first row wins; pages past the first)', async () => {
    const { cacheDir } = fakeGlove('ok')
    const glove = await loadGlove({ cacheDir })
    const input = [...texts(glove.words, 120), [299, 200, 129, 128, 127].map(fakeWord).join(' '), 'the the of 東京 café']
    await expectSame(await createSifGloveEmbedder({ cacheDir }), referenceEmbedder(glove), input)
    await expectSame(await createSifGloveEmbedder({ cacheDir }), referenceEmbedder(glove), input)
  })

  const damages: [string, (bytes: Buffer) => Buffer | string][] = [
    ['truncated', (b) => b.subarray(0, b.length - 7)],
    ['cut in the header', (b) => b.subarray(0, 30)],
    ['empty', () => Buffer.alloc(0)],
    ['foreign', (b) => Buffer.from(b.map((_, i) => (i * 131 + 7) & 255))],
    ['another format version', (b) => Buffer.concat([b.subarray(0, 8), Buffer.from([9, 0, 0, 0]), b.subarray(12)])],
    ['a byte changed in the word table', (b) => flip(b, 64 + 3 * 8 + 40)],
    ['a byte changed in the header', (b) => flip(b, 13)],
    ['longer', (b) => Buffer.concat([b, Buffer.from([1, 2, 3, 4])])],
    ['a folder', () => 'folder'],
  ]
  function flip(b: Buffer, at: number): Buffer {
    const c = Buffer.from(b)
    c[at] = c[at]! ^ 0x5a
    return c
  }

  for (const [what, damage] of damages) {
    it(`a cache file ${what} is detected and rebuilt, the vectors unchanged`, async () => {
      const { cacheDir, file } = fakeGlove(what.replace(/\W/g, '-'))
      const glove = await loadGlove({ cacheDir })
      const input = texts(glove.words, 60)
      await createSifGloveEmbedder({ cacheDir })
      const good = readFileSync(file)
      const bad = damage(good)
      if (bad === 'folder') {
        rmSync(file)
        mkdirSync(join(file, 'x'), { recursive: true })
      } else writeFileSync(file, bad)
      expect(() => openSifCache(file)).toThrow(CacheDamaged)
      const messages: string[] = []
      const e = await createSifGloveEmbedder({ cacheDir, onProgress: (m) => messages.push(m) })
      await expectSame(e, referenceEmbedder(glove), input)
      if (bad === 'folder') {
        // cannot be replaced by a file: the vectors are used from memory, the problem reported
        expect(messages.join('\n')).toMatch(/could not write/)
      } else {
        expect(messages.join('\n')).toMatch(/rebuilding/)
        expect(readFileSync(file).equals(good)).toBe(true)
      }
    })
  }

  it('a damaged page of vectors is found when first read: the file is rebuilt and the texts embedded again', async () => {
    const { cacheDir, file } = fakeGlove('page', 300, 3)
    const glove = await loadGlove({ cacheDir })
    await createSifGloveEmbedder({ cacheDir })
    const good = readFileSync(file)
    const e = await createSifGloveEmbedder({ cacheDir })
    // the last float of the file: the last row's, on the third page
    writeFileSync(file, flip(good, good.length - 2))
    const messages: string[] = []
    const f = await createSifGloveEmbedder({ cacheDir, onProgress: (m) => messages.push(m) })
    expect(messages).toEqual([])
    await expectSame(f, referenceEmbedder(glove), [`the ${fakeWord(299)} cat`, `${fakeWord(20)} ${fakeWord(21)}`])
    expect(messages.join('\n')).toMatch(/rebuilding .*page 2 checksum/)
    expect(readFileSync(file).equals(good)).toBe(true)
    // an embedder opened before the damage (its file since replaced) finds it too and rebuilds
    await expectSame(e, referenceEmbedder(glove), [`${fakeWord(299)} ${fakeWord(298)}`])
  })
})
