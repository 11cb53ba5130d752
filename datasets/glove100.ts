/**
 * "glove100", the standard evaluation set of this project: the GloVe-6B 100-d vectors
 * split with a fixed seed into 1,000 query words and 340,479 base words (the rest, in
 * vocabulary order), with the exact cosine top-100 of every query among the base as
 * ground truth. Metric: cosine (angular). Split and ground truth are cached as
 * base.fvecs, query.fvecs, groundtruth.ivecs (base row numbers) and
 * groundtruth_distances.fvecs (1 - cos), plus words of both sides.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { defaultCacheDir, exactKnn, Rng } from 'vqlite'
import { loadGlove } from 'vqlite/text'
import { readFvecs, readIvecs, writeVecs } from './texmex.js'

/** Options of the dataset loaders. */
export interface DatasetOptions {
  /** Cache directory. Default: defaultCacheDir(). */
  cacheDir?: string
  /** Progress messages (conversion steps); library code never prints. */
  onProgress?: (message: string) => void
}

/** Seed of the query/base split; changing it changes the dataset. */
export const GLOVE100_SEED = 100
/** Number of query words held out. */
export const GLOVE100_QUERIES = 1000
/** Neighbours per query in the ground truth. */
export const GLOVE100_GT_K = 100

/** An evaluation dataset: base, queries and exact ground truth. */
export interface EvalDataset {
  readonly name: string
  readonly metric: 'cosine' | 'l2' | 'ip'
  readonly d: number
  /** Base vectors, nb*d. */
  readonly base: Float32Array
  readonly nb: number
  /** Query vectors, nq*d. */
  readonly queries: Float32Array
  readonly nq: number
  /** Exact neighbours: nq*gtK base row numbers, nearest first. */
  readonly groundTruth: Int32Array
  /** Their distances (metric conventions of types.ts), nq*gtK. */
  readonly groundTruthDistances: Float32Array
  readonly gtK: number
}

/** glove100 with the words of every row. */
export interface Glove100 extends EvalDataset {
  readonly baseWords: readonly string[]
  readonly queryWords: readonly string[]
}

/** Loads glove100, building and caching the split and ground truth on first use (about a minute). */
export async function loadGlove100(options: DatasetOptions = {}): Promise<Glove100> {
  const dir = join(options.cacheDir ?? defaultCacheDir(), `glove100-seed${GLOVE100_SEED}`)
  const files = ['base.fvecs', 'query.fvecs', 'groundtruth.ivecs', 'groundtruth_distances.fvecs', 'base_words.txt', 'query_words.txt']
  const have = await Promise.all(
    files.map((f) =>
      stat(join(dir, f)).then(
        () => true,
        () => false,
      ),
    ),
  )
  if (!have.every(Boolean)) await build(dir, options)
  const [base, queries, gt, gtd, bw, qw] = await Promise.all([
    readFvecs(join(dir, 'base.fvecs')),
    readFvecs(join(dir, 'query.fvecs')),
    readIvecs(join(dir, 'groundtruth.ivecs')),
    readFvecs(join(dir, 'groundtruth_distances.fvecs')),
    readFile(join(dir, 'base_words.txt'), 'utf8'),
    readFile(join(dir, 'query_words.txt'), 'utf8'),
  ])
  return {
    name: 'glove100',
    metric: 'cosine',
    d: base.d,
    base: base.data,
    nb: base.n,
    queries: queries.data,
    nq: queries.n,
    groundTruth: gt.data,
    groundTruthDistances: gtd.data,
    gtK: gt.d,
    baseWords: bw.split('\n'),
    queryWords: qw.split('\n'),
  }
}

/** The fixed split: sorted row numbers of the query words among the 341,479. */
export function glove100QueryRows(total: number): Int32Array {
  return new Rng(GLOVE100_SEED).sample(total, GLOVE100_QUERIES).sort()
}

async function build(dir: string, options: DatasetOptions): Promise<void> {
  const glove = await loadGlove(options)
  const { n, d, words, vectors } = glove
  const qRows = glove100QueryRows(n)
  const isQuery = new Uint8Array(n)
  for (const r of qRows) isQuery[r] = 1
  const nq = qRows.length
  const nb = n - nq
  const base = new Float32Array(nb * d)
  const queries = new Float32Array(nq * d)
  const baseWords: string[] = []
  const queryWords: string[] = []
  for (let i = 0, bi = 0, qi = 0; i < n; i++) {
    const v = vectors.subarray(i * d, (i + 1) * d)
    if (isQuery[i]) {
      queries.set(v, qi++ * d)
      queryWords.push(words[i]!)
    } else {
      base.set(v, bi++ * d)
      baseWords.push(words[i]!)
    }
  }
  options.onProgress?.(`glove100: exact cosine top-${GLOVE100_GT_K} of ${nq} queries over ${nb} base vectors (once)`)
  const gt = exactKnn(base, nb, queries, nq, d, GLOVE100_GT_K, 'cosine')
  await mkdir(dir, { recursive: true })
  await writeVecs(join(dir, 'base.fvecs'), 'fvecs', base, nb, d)
  await writeVecs(join(dir, 'query.fvecs'), 'fvecs', queries, nq, d)
  await writeVecs(join(dir, 'groundtruth.ivecs'), 'ivecs', gt.labels, nq, GLOVE100_GT_K)
  await writeVecs(join(dir, 'groundtruth_distances.fvecs'), 'fvecs', gt.distances, nq, GLOVE100_GT_K)
  for (const [name, list] of [
    ['base_words.txt', baseWords],
    ['query_words.txt', queryWords],
  ] as const) {
    const tmp = join(dir, `${name}.tmp-${process.pid}`)
    await writeFile(tmp, list.join('\n'))
    await rename(tmp, join(dir, name))
  }
}
