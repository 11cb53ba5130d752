/** Seeded test data. */
import { Rng } from '../../src/util/random.js'

/** n*d floats uniform in [lo, hi), from a seeded generator. */
export function randomVectors(n: number, d: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new Rng(seed)
  const x = new Float32Array(n * d)
  for (let i = 0; i < x.length; i++) x[i] = lo + (hi - lo) * rng.float()
  return x
}

/**
 * A mixture of nc Gaussian clusters (anisotropic: per-dimension scales), n*d floats.
 * Returns the data and each point's generating cluster.
 */
export function clusteredVectors(n: number, d: number, nc: number, seed: number, spread = 0.1): Float32Array {
  const rng = new Rng(seed)
  const centres = new Float32Array(nc * d)
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal()
  const scale = new Float32Array(d)
  for (let t = 0; t < d; t++) scale[t] = spread * (0.5 + rng.float())
  const x = new Float32Array(n * d)
  for (let i = 0; i < n; i++) {
    const c = rng.int(nc)
    for (let t = 0; t < d; t++) x[i * d + t] = centres[c * d + t]! + scale[t]! * rng.normal()
  }
  return x
}

/** Asserts |a[i] - b[i]| <= tol * max(1, |b[i]|) for i < n, returning the worst relative error. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  let worst = 0
  for (let i = 0; i < n; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!))
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e
  }
  return worst
}

/**
 * A search test set: n clustered base vectors x (seed), nq queries from the same clusters
 * (seed + 1), and the ids 0..n-1 of x.
 */
export function clusteredSearchSet(
  n: number,
  nq: number,
  d: number,
  nc: number,
  seed: number,
  spread: number,
): { x: Float32Array; queries: Float32Array; ids: number[] } {
  const x = clusteredVectors(n, d, nc, seed, spread)
  const queries = clusteredVectors(nq, d, nc, seed + 1, spread)
  return { x, queries, ids: Array.from({ length: n }, (_, i) => i) }
}
