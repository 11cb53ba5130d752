/**
 * Seeded pseudo-random numbers for everything vqlite samples (k-means initialisation,
 * training subsets, dataset splits), on pure-rand's xoroshiro128+. The same seed gives
 * the same sequence on every platform.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'

/** A seeded generator with the draws vqlite needs (integers, floats, normals, samples without replacement). */
export class Rng {
  readonly #gen: RandomGenerator
  #spare: number | undefined

  /** seed: any 32-bit integer. */
  constructor(seed: number) {
    this.#gen = xoroshiro128plus(seed | 0)
  }

  /** Uniform integer in [0, n), n >= 1 (n up to 2^32; unbiased). */
  int(n: number): number {
    return uniformInt(this.#gen, 0, n - 1)
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.#gen.next() >>> 5 // 27 bits
    const lo = this.#gen.next() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** Standard normal deviate (Marsaglia polar method). */
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare
      this.#spare = undefined
      return s
    }
    for (;;) {
      const u = 2 * this.float() - 1
      const v = 2 * this.float() - 1
      const s = u * u + v * v
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s)
        this.#spare = v * f
        return u * f
      }
    }
  }

  /**
   * k distinct integers from [0, n), in random order (partial Fisher-Yates over an
   * index array when k is a large share of n, rejection with a Set otherwise).
   */
  sample(n: number, k: number): Int32Array {
    const out = new Int32Array(k)
    if (k * 4 >= n) {
      const perm = new Int32Array(n)
      for (let i = 0; i < n; i++) perm[i] = i
      for (let i = 0; i < k; i++) {
        const j = i + this.int(n - i)
        const t = perm[i]!
        perm[i] = perm[j]!
        perm[j] = t
        out[i] = perm[i]!
      }
      return out
    }
    const seen = new Set<number>()
    for (let i = 0; i < k; ) {
      const v = this.int(n)
      if (!seen.has(v)) {
        seen.add(v)
        out[i++] = v
      }
    }
    return out
  }
}
