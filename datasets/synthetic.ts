/**
 * A seeded synthetic dataset: a mixture of anisotropic Gaussians. Each of `clusters`
 * components has a centre drawn from N(0, spread^2 I) and its own per-axis standard
 * deviations, a decaying spectrum (sigma_t = exp(-decay * t / d)) shuffled over the axes,
 * so that components are elongated in different directions, as real embeddings are.
 * Base and query vectors are independent draws from the same mixture. The same
 * (n, d, nq, seed, clusters) gives the same vectors on every platform.
 */
import { Rng } from 'vqlite'

export interface SyntheticOptions {
  /** Base vectors. */
  readonly n: number
  readonly d: number
  /** Query vectors. Default 1,000. */
  readonly nq?: number
  /** Default 1. */
  readonly seed?: number
  /** Mixture components. Default max(1, round(sqrt(n) / 4)). */
  readonly clusters?: number
  /** Standard deviation of the centres. Default 4. */
  readonly spread?: number
  /** Spectrum decay: the largest axis deviation is e^decay times the smallest. Default 3. */
  readonly decay?: number
}

export interface SyntheticData {
  readonly d: number
  readonly base: Float32Array
  readonly nb: number
  readonly queries: Float32Array
  readonly nq: number
}

/** Draws the base and query vectors of a synthetic mixture (see the module comment). */
export function syntheticMixture(options: SyntheticOptions): SyntheticData {
  const { n, d } = options
  const nq = options.nq ?? 1000
  const clusters = options.clusters ?? Math.max(1, Math.round(Math.sqrt(n) / 4))
  const spread = options.spread ?? 4
  const decay = options.decay ?? 3
  const rng = new Rng(options.seed ?? 1)
  const centres = new Float32Array(clusters * d)
  const sigmas = new Float32Array(clusters * d)
  for (let c = 0; c < clusters; c++) {
    for (let t = 0; t < d; t++) centres[c * d + t] = spread * rng.normal()
    const axes = rng.sample(d, d)
    for (let t = 0; t < d; t++) sigmas[c * d + axes[t]!] = Math.exp((-decay * t) / d)
  }
  const draw = (count: number): Float32Array => {
    const out = new Float32Array(count * d)
    for (let i = 0; i < count; i++) {
      const c = rng.int(clusters)
      for (let t = 0; t < d; t++) out[i * d + t] = centres[c * d + t]! + sigmas[c * d + t]! * rng.normal()
    }
    return out
  }
  const base = draw(n)
  return { d, base, nb: n, queries: draw(nq), nq }
}
