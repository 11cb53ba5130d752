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
