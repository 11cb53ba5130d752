/** A fake deterministic embedder for text-index tests (no model to load). */
import type { Embedder } from '../../src/text/embedder.js'

const DIM = 32

/** Hashed bag of words (FNV-1a into 32 buckets, signed): deterministic, no model. */
export function hashEmbedder(name = 'hash-bow/v1', calls = { n: 0 }): Embedder {
  return {
    name,
    dim: DIM,
    async embed(texts) {
      calls.n++
      const out = new Float32Array(texts.length * DIM)
      texts.forEach((t, i) => {
        for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) {
          let h = 2166136261
          for (let c = 0; c < w.length; c++) h = Math.imul(h ^ w.charCodeAt(c), 16777619) >>> 0
          out[i * DIM + (h % DIM)]! += h & 0x100 ? 1 : -1
        }
      })
      return out
    },
  }
}

/** Counts of six words (deploy, cloud, pets, cats, market, stock), the first nudged so no text is all zero. */
export function toyEmbedder(): Embedder {
  const vocab = ['deploy', 'cloud', 'pets', 'cats', 'market', 'stock']
  return {
    name: 'toy/v1',
    dim: vocab.length,
    async embed(texts) {
      const out = new Float32Array(texts.length * vocab.length)
      texts.forEach((t, i) => {
        vocab.forEach((w, j) => {
          out[i * vocab.length + j] = t.toLowerCase().split(w).length - 1 + (j === 0 ? 0.01 : 0)
        })
      })
      return out
    },
  }
}
