/**
 * One entry point for every evaluation set: loadDataset(spec) where spec is
 * - a catalogue name (see catalogue.ts): glove100 and minilm384 (npm, offline), an
 *   ann-benchmarks or TEXMEX set (downloaded first with `vqlite datasets download NAME`);
 * - `synthetic:N:D[:NQ[:SEED]]`: a seeded mixture of anisotropic Gaussians;
 * - a path to an ann-benchmarks-layout `.hdf5` file;
 * - a path to a TEXMEX-style base file `X_base.fvecs` / `X_base.bvecs`, with
 *   `X_query.fvecs|bvecs` and optionally `X_groundtruth.ivecs` beside it.
 * Sets without ground truth (or whose base is cut with `limit`) get it computed exactly
 * and cached under <cache>/groundtruth, keyed by the inputs. Distances of the ground
 * truth are always recomputed from the vectors, in vqlite's conventions (types.ts).
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { defaultCacheDir, exactKnn, getKernels, type Metric, normalizedCopy, Rng, VqFormatError, VqOptionError, VqStateError } from 'vqlite'
import { catalogueEntry } from './catalogue.js'
import { downloadedPath, isDownloaded } from './download.js'
import { loadFioriDocs } from './fiori.js'
import type { EvalDataset } from './glove100.js'
import { loadGlove100 } from './glove100.js'
import { readAnnBenchmarks } from './hdf5.js'
import { syntheticMixture } from './synthetic.js'
import { bytesToFloat32, readBvecs, readFvecs, readIvecs, vecsInfo, writeVecs } from './texmex.js'

export interface LoadDatasetOptions {
  readonly cacheDir?: string
  /** Overrides the set's metric (TEXMEX files do not record one; default l2). */
  readonly metric?: Metric
  /** Uses only the first `limit` base vectors (a prefix, as for SIFT1B); ground truth is recomputed. */
  readonly limit?: number
  /** Uses only the first `queries` queries. */
  readonly queries?: number
  /** Neighbours of the computed ground truth. Default 100. */
  readonly gtK?: number
  /** Progress messages (loading, ground truth). */
  readonly onProgress?: (message: string) => void
  /** Ground-truth progress as a fraction (for a progress bar). */
  readonly onGroundTruth?: (done: number, total: number) => void
}

/** Loads an evaluation set (see the module comment for what `spec` may be). */
export async function loadDataset(spec: string, options: LoadDatasetOptions = {}): Promise<EvalDataset> {
  const cacheDir = options.cacheDir ?? defaultCacheDir()
  const synth = /^synthetic:(\d+):(\d+)(?::(\d+))?(?::(\d+))?$/.exec(spec)
  if (synth) {
    const [n, d, nq, seed] = [Number(synth[1]), Number(synth[2]), Number(synth[3] ?? 1000), Number(synth[4] ?? 1)]
    if (n < 1 || d < 1 || nq < 1) throw new VqOptionError('BAD_OPTION', `synthetic sets need N, D, NQ >= 1, got "${spec}"`)
    const s = syntheticMixture({ n, d, nq, seed })
    return finish(
      spec,
      options.metric ?? 'l2',
      s.base,
      s.nb,
      s.queries,
      s.nq,
      s.d,
      null,
      0,
      { ...options, cacheDir },
      `synthetic-${n}-${d}-${nq}-${seed}`,
    )
  }
  if (spec === 'glove100') {
    const g = await loadGlove100({ cacheDir, ...(options.onProgress ? { onProgress: options.onProgress } : {}) })
    return finish(
      'glove100',
      options.metric ?? g.metric,
      g.base,
      g.nb,
      g.queries,
      g.nq,
      g.d,
      g.groundTruth,
      g.gtK,
      { ...options, cacheDir },
      'glove100',
    )
  }
  if (spec === 'minilm384') {
    const docs = await loadFioriDocs()
    // A seeded tenth of the documents are the queries, the rest the base.
    const n = docs.records.length
    const d = docs.d
    const nq = Math.max(1, Math.round(n / 10))
    const isQuery = new Uint8Array(n)
    for (const r of new Rng(384).sample(n, nq)) isQuery[r] = 1
    const base = new Float32Array((n - nq) * d)
    const queries = new Float32Array(nq * d)
    for (let i = 0, b = 0, q = 0; i < n; i++) {
      const v = docs.vectors.subarray(i * d, (i + 1) * d)
      if (isQuery[i]) queries.set(v, q++ * d)
      else base.set(v, b++ * d)
    }
    return finish('minilm384', options.metric ?? 'cosine', base, n - nq, queries, nq, d, null, 0, { ...options, cacheDir }, 'minilm384')
  }
  const entry = catalogueEntry(spec)
  if (entry) {
    if (entry.source.kind === 'npm' || entry.source.kind === 'synthetic') {
      throw new VqOptionError('BAD_OPTION', `${spec}: give the synthetic set as synthetic:N:D[:NQ[:SEED]]`)
    }
    if (!isDownloaded(entry, cacheDir)) {
      throw new VqStateError(
        'NOT_DOWNLOADED',
        `${spec} is not downloaded yet (about ${entry.approxMB} MB): run \`vqlite datasets download ${spec}\``,
      )
    }
    const path = downloadedPath(entry, cacheDir)
    if (entry.source.kind === 'hdf5') return loadHdf5(path, spec, entry.metric, { ...options, cacheDir })
    return loadTexmex(join(path, `${entry.source.prefix}_base.${entry.source.baseFormat}`), spec, entry.metric, { ...options, cacheDir })
  }
  if (/\.(hdf5|h5)$/i.test(spec)) return loadHdf5(spec, basename(spec).replace(/\.(hdf5|h5)$/i, ''), null, { ...options, cacheDir })
  if (/_base\.(fvecs|bvecs)$/i.test(spec))
    return loadTexmex(spec, basename(spec).replace(/_base\.(fvecs|bvecs)$/i, ''), 'l2', { ...options, cacheDir })
  throw new VqOptionError(
    'BAD_OPTION',
    `unknown dataset "${spec}": give a catalogue name (vqlite datasets list), synthetic:N:D[:NQ[:SEED]], an .hdf5 file or an X_base.fvecs / X_base.bvecs file`,
  )
}

async function loadHdf5(
  path: string,
  name: string,
  metric: Metric | null,
  options: LoadDatasetOptions & { cacheDir: string },
): Promise<EvalDataset> {
  options.onProgress?.(`${name}: reading ${path}`)
  const data = await readAnnBenchmarks(path)
  const m = options.metric ?? metric ?? data.metric
  if (!m) throw new VqFormatError('BAD_FILE', `${path}: no "distance" attribute; pass the metric (--metric l2|cosine|ip)`)
  return finish(name, m, data.train, data.nb, data.test, data.nq, data.d, data.neighbors, data.gtK, options, await fileKey(path))
}

async function loadTexmex(
  basePath: string,
  name: string,
  metric: Metric,
  options: LoadDatasetOptions & { cacheDir: string },
): Promise<EvalDataset> {
  const dir = dirname(basePath)
  const prefix = basename(basePath).replace(/_base\.(fvecs|bvecs)$/i, '')
  const queryPath = ['fvecs', 'bvecs'].map((f) => join(dir, `${prefix}_query.${f}`)).find((p) => existsSync(p))
  if (!queryPath) throw new VqFormatError('BAD_FILE', `${basePath}: no ${prefix}_query.fvecs or ${prefix}_query.bvecs beside it`)
  options.onProgress?.(`${name}: reading ${basePath}`)
  const info = await vecsInfo(basePath)
  const count = options.limit !== undefined ? Math.min(options.limit, info.n) : info.n
  const baseF =
    info.format === 'bvecs' ? bytesToFloat32((await readBvecs(basePath, { count })).data) : (await readFvecs(basePath, { count })).data
  const q = queryPath.endsWith('.bvecs') ? await readBvecs(queryPath) : await readFvecs(queryPath)
  const queries = q.data instanceof Uint8Array ? bytesToFloat32(q.data) : q.data
  if (q.d !== info.d) throw new VqFormatError('BAD_FILE', `${queryPath}: queries have d = ${q.d}, the base d = ${info.d}`)
  const gtPath = join(dir, `${prefix}_groundtruth.ivecs`)
  // A cut base invalidates the published ground truth (it indexes the whole base).
  const gt = count === info.n && existsSync(gtPath) ? await readIvecs(gtPath) : null
  if (gt && gt.n !== q.n) throw new VqFormatError('BAD_FILE', `${gtPath}: ${gt.n} rows for ${q.n} queries`)
  return finish(
    name,
    options.metric ?? metric,
    baseF,
    count,
    queries,
    q.n,
    info.d,
    gt?.data ?? null,
    gt?.d ?? 0,
    options,
    `${await fileKey(basePath)}-${count}`,
  )
}

/** A cache key for a file: its path, size and modification time. */
async function fileKey(path: string): Promise<string> {
  const s = await stat(path)
  return `${path}:${s.size}:${s.mtimeMs}`
}

/**
 * Cuts the queries, validates the neighbours, computes (or reads the cached) ground truth
 * when there is none, and recomputes its distances.
 */
async function finish(
  name: string,
  metric: Metric,
  base: Float32Array,
  nb: number,
  queries: Float32Array,
  nqAll: number,
  d: number,
  neighbors: Int32Array | null,
  gtK: number,
  options: LoadDatasetOptions & { cacheDir: string },
  key: string,
): Promise<EvalDataset> {
  const nq = options.queries !== undefined ? Math.min(options.queries, nqAll) : nqAll
  let q = queries.subarray(0, nq * d)
  let gt = neighbors ? neighbors.subarray(0, nq * gtK) : null
  if (gt) {
    for (let i = 0; i < gt.length; i++) {
      if (gt[i]! < -1 || gt[i]! >= nb)
        throw new VqFormatError('BAD_FILE', `${name}: ground-truth neighbour ${gt[i]} is outside the ${nb} base vectors`)
    }
  }
  if (!gt) {
    const k = Math.min(options.gtK ?? 100, nb)
    const file = join(
      options.cacheDir,
      'groundtruth',
      `${createHash('sha1').update(`${key}|${metric}|${nq}|${k}`).digest('hex').slice(0, 16)}.ivecs`,
    )
    if (existsSync(file)) {
      const r = await readIvecs(file)
      gt = r.data
      gtK = r.d
    } else {
      options.onProgress?.(`${name}: exact ${metric} top-${k} of ${nq} queries over ${nb} base vectors (cached afterwards)`)
      const r = exactKnn(base, nb, q, nq, d, k, metric, options.onGroundTruth ? { onProgress: options.onGroundTruth } : {})
      gt = Int32Array.from(r.labels)
      gtK = k
      await mkdir(dirname(file), { recursive: true })
      await writeVecs(file, 'ivecs', gt, nq, k)
    }
  }
  q = Float32Array.from(q)
  return {
    name,
    metric,
    d,
    base,
    nb,
    queries: q,
    nq,
    groundTruth: gt,
    groundTruthDistances: trueDistances(base, q, nq, d, gt, gtK, metric),
    gtK,
  }
}

/** Exact distances (vqlite conventions) of the listed base rows, k per query; Infinity for -1 or out-of-range entries. */
export function trueDistances(
  base: Float32Array,
  queries: Float32Array,
  nq: number,
  d: number,
  ids: ArrayLike<number>,
  k: number,
  metric: Metric,
): Float32Array {
  const K = getKernels()
  const out = new Float32Array(nq * k)
  const q = metric === 'cosine' ? normalizedCopy(queries, nq, d, K) : queries
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < k; j++) {
      const id = ids[i * k + j]!
      if (id < 0 || (id + 1) * d > base.length) {
        out[i * k + j] = Infinity
        continue
      }
      const v = base.subarray(id * d, (id + 1) * d)
      if (metric === 'l2') out[i * k + j] = K.l2sqr(q, i * d, v, 0, d)
      else if (metric === 'ip') out[i * k + j] = -K.innerProduct(q, i * d, v, 0, d)
      else {
        const n = Math.sqrt(K.innerProduct(v, 0, v, 0, d))
        out[i * k + j] = 1 - (n > 0 ? K.innerProduct(q, i * d, v, 0, d) / n : 0)
      }
    }
  }
  return out
}
