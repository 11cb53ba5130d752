/**
 * A seeded synthetic dataset: a mixture of anisotropic Gaussians. Each of `clusters`
 * components has a centre drawn from N(0, spread^2 I) and its own per-axis standard
 * deviations, a decaying spectrum (sigma_t = exp(-decay * t / d)) shuffled over the axes,
 * so that components are elongated in different directions, as real embeddings are.
 * Base and query vectors are independent draws from the same mixture. The same
 * (n, d, nq, seed, clusters) gives the same vectors on every platform.
 *
 * writeSyntheticMixture draws the same vectors block by block into .fvecs files, so that a
 * set larger than memory (10M x 96 is 3.84 GB) is never held whole.
 */
import { open, rename } from 'node:fs/promises'
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

/** The mixture's components and its one random stream; draw() continues the stream. */
function mixture(options: SyntheticOptions): { draw: (count: number) => Float32Array; nq: number } {
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
  return { draw, nq }
}

/** Draws the base and query vectors of a synthetic mixture (see the module comment). */
export function syntheticMixture(options: SyntheticOptions): SyntheticData {
  const { n, d } = options
  const { draw, nq } = mixture(options)
  const base = draw(n)
  return { d, base, nb: n, queries: draw(nq), nq }
}

/**
 * Writes the vectors syntheticMixture(options) would return to two .fvecs files, base then
 * queries, drawing blockRows vectors at a time (default 65,536); each file is written to a
 * temporary name and renamed when complete. onBlock reports base vectors written.
 */
export async function writeSyntheticMixture(
  options: SyntheticOptions,
  basePath: string,
  queryPath: string,
  more: { blockRows?: number; onBlock?: (done: number, total: number) => void } = {},
): Promise<void> {
  const { n, d } = options
  const { draw, nq } = mixture(options)
  const block = Math.max(1, more.blockRows ?? 65536)
  const write = async (path: string, count: number, report: boolean): Promise<void> => {
    const tmp = `${path}.tmp-${process.pid}`
    const fh = await open(tmp, 'w')
    try {
      const rec = 4 + 4 * d
      for (let i0 = 0; i0 < count; i0 += block) {
        const m = Math.min(block, count - i0)
        const x = draw(m)
        const buf = Buffer.alloc(m * rec)
        for (let i = 0; i < m; i++) {
          buf.writeInt32LE(d, i * rec)
          new Float32Array(buf.buffer, buf.byteOffset + i * rec + 4, d).set(x.subarray(i * d, (i + 1) * d))
        }
        await fh.write(buf, 0, buf.length)
        if (report) more.onBlock?.(i0 + m, count)
      }
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  }
  await write(basePath, n, true)
  await write(queryPath, nq, false)
}
