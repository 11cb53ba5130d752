/**
 * The SIF-GloVe embedder's binary cache, one file next to the converted GloVe vectors
 * (<cacheDir>/glove-6b-100d-<version>/sif-glove-v1.bin), so that creating the embedder
 * neither builds a Map of the 341,479 words nor recomputes the principal component:
 *
 *   header   64 bytes: magic "VQSIFGLV", format version, n, d, hash table size, word bytes,
 *            rows per page, index bytes, total bytes, H_n (the Zipf normaliser), checksum
 *            of the index part, checksum of the header (all little-endian)
 *   index    u (d float64, the removed component), an open-addressing hash table (uint32
 *            row + 1 per slot, 0 empty; FNV-1a of the word's UTF-8 bytes, linear probing),
 *            word offsets (n + 1 uint32 into the word bytes), one checksum per page of
 *            vectors, the words' UTF-8 bytes, padding to 8
 *   vectors  n * d float32, row-major, as loadGlove returns them
 *
 * Opening reads the header and the index part (8 MB) in one read and checks sizes and
 * checksums; the vectors are read by page (PAGE_ROWS rows) when a word of the page is first
 * embedded, each page checked against its checksum, so a query touches a few hundred
 * kilobytes and indexing a corpus reads each page once. Any mismatch (a foreign, truncated
 * or damaged file) is CacheDamaged: the embedder rebuilds the file from the package. The
 * file is written to a temporary name and renamed, so readers never see half a file. Bump
 * FORMAT_VERSION when what the file holds (the component's computation) changes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

const MAGIC = 'VQSIFGLV'
export const FORMAT_VERSION = 2
const HEADER_BYTES = 64
/** Rows per page of vectors (51 kB at d = 100). */
export const PAGE_ROWS = 128
const MAX_DIM = 65_536
/** In a u-flag regex a surrogate pair is one code point: \p{Cs} matches only lone surrogates. */
const LONE_SURROGATE = /\p{Cs}/u

/** The cache file is not one this version wrote (or was damaged since): rebuild it. */
export class CacheDamaged extends Error {
  override name = 'CacheDamaged'
}

/** A word lookup and the vectors, by page. */
export interface SifStore {
  readonly n: number
  readonly d: number
  /** H_n = sum_{r=1..n} 1/r (Zipf's law's normaliser), as harmonicNumber(n) sums it. */
  readonly harmonic: number
  /** The removed component, unit length. */
  readonly u: Float64Array
  /** Row of a word (its first occurrence), or -1. */
  rowOf(word: string): number
  /** The vectors of page p (rows p * PAGE_ROWS ...), checked; throws CacheDamaged. */
  page(p: number): Float32Array
  /** Releases the file (the store can no longer read pages). */
  close(): void
}

/** FNV-1a over bytes [from, to). */
function hashBytes(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
  return h >>> 0
}

/** FNV-1a over 32-bit words. */
function hashWords(w: Uint32Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w[i]!, 0x01000193)
  return h >>> 0
}

interface Layout {
  n: number
  d: number
  tableSize: number
  blobBytes: number
  pages: number
  uOff: number
  tableOff: number
  offsOff: number
  sumsOff: number
  blobOff: number
  vecOff: number
  total: number
}

function layout(n: number, d: number, tableSize: number, blobBytes: number): Layout {
  const pages = Math.ceil(n / PAGE_ROWS)
  const uOff = HEADER_BYTES
  const tableOff = uOff + 8 * d
  const offsOff = tableOff + 4 * tableSize
  const sumsOff = offsOff + 4 * (n + 1)
  const blobOff = sumsOff + 4 * pages
  const vecOff = Math.ceil((blobOff + blobBytes) / 8) * 8
  return { n, d, tableSize, blobBytes, pages, uOff, tableOff, offsOff, sumsOff, blobOff, vecOff, total: vecOff + 4 * n * d }
}

/** Reads through the word table of an index part (bytes [0, vecOff) of the file). */
class WordTable {
  readonly #table: Uint32Array
  readonly #offs: Uint32Array
  readonly #blob: Uint8Array
  readonly #mask: number
  readonly #n: number
  readonly #encoder = new TextEncoder()
  #scratch = new Uint8Array(256)

  constructor(bytes: Uint8Array, l: Layout) {
    const base = bytes.byteOffset
    this.#table = new Uint32Array(bytes.buffer, base + l.tableOff, l.tableSize)
    this.#offs = new Uint32Array(bytes.buffer, base + l.offsOff, l.n + 1)
    this.#blob = new Uint8Array(bytes.buffer, base + l.blobOff, l.blobBytes)
    this.#mask = l.tableSize - 1
    this.#n = l.n
  }

  /** UTF-8 of s into the scratch buffer; its length. */
  #encode(s: string): number {
    if (this.#scratch.length < s.length * 3) this.#scratch = new Uint8Array(s.length * 3)
    return this.#encoder.encodeInto(s, this.#scratch).written
  }

  /** Row of word (first occurrence) or -1; a row outside the table is CacheDamaged. */
  rowOf(word: string): number {
    // A lone surrogate would encode as U+FFFD and could match another word; Map lookups never match it.
    if (LONE_SURROGATE.test(word)) return -1
    const len = this.#encode(word)
    return this.#find(this.#scratch, len)
  }

  #find(key: Uint8Array, len: number): number {
    const table = this.#table
    const offs = this.#offs
    const blob = this.#blob
    let slot = hashBytes(key, 0, len) & this.#mask
    for (let probes = 0; probes <= this.#mask; probes++) {
      const r = table[slot]!
      if (r === 0) return -1
      const row = r - 1
      if (row >= this.#n) throw new CacheDamaged(`row ${row} past ${this.#n}`)
      const start = offs[row]!
      const end = offs[row + 1]!
      if (end - start === len) {
        let same = true
        for (let i = 0; i < len; i++) {
          if (blob[start + i] !== key[i]) {
            same = false
            break
          }
        }
        if (same) return row
      }
      slot = (slot + 1) & this.#mask
    }
    return -1
  }
}

/**
 * Opens a cache file: header and index part read and checked, vectors left on disk.
 * Returns undefined when there is no file; throws CacheDamaged when it is not a valid one.
 */
export function openSifCache(path: string): SifStore | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CacheDamaged(`cannot open: ${(e as Error).message}`)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new CacheDamaged('not a file')
    const size = st.size
    if (size < HEADER_BYTES) throw new CacheDamaged(`${size} bytes, shorter than the header`)
    const head = Buffer.alloc(HEADER_BYTES)
    readFully(fd, head, 0)
    if (head.toString('latin1', 0, 8) !== MAGIC) throw new CacheDamaged('not a SIF-GloVe cache (magic)')
    if (head.readUInt32LE(60) !== hashBytes(head, 0, 60)) throw new CacheDamaged('header checksum')
    const version = head.readUInt32LE(8)
    if (version !== FORMAT_VERSION) throw new CacheDamaged(`format version ${version}, expected ${FORMAT_VERSION}`)
    const n = head.readUInt32LE(12)
    const d = head.readUInt32LE(16)
    const tableSize = head.readUInt32LE(20)
    const blobBytes = head.readUInt32LE(24)
    const pageRows = head.readUInt32LE(28)
    if (n < 1 || d < 1 || d > MAX_DIM || pageRows !== PAGE_ROWS || tableSize <= n || (tableSize & (tableSize - 1)) !== 0)
      throw new CacheDamaged('header values')
    const l = layout(n, d, tableSize, blobBytes)
    if (head.readUInt32LE(32) !== l.vecOff || head.readDoubleLE(40) !== l.total || size !== l.total)
      throw new CacheDamaged(`${size} bytes, expected ${l.total}`)
    // One block for the index part; its own ArrayBuffer, so the typed views are aligned.
    const index = Buffer.allocUnsafeSlow(l.vecOff)
    readFully(fd, index, 0)
    if (
      hashWords(new Uint32Array(index.buffer, index.byteOffset + HEADER_BYTES, (l.vecOff - HEADER_BYTES) >>> 2)) !== head.readUInt32LE(56)
    )
      throw new CacheDamaged('index checksum')
    return fileStore(fd, index, l, head.readDoubleLE(48))
  } catch (e) {
    closeSync(fd)
    if (e instanceof CacheDamaged) throw e
    throw new CacheDamaged(`cannot read: ${(e as Error).message}`)
  }
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0
  while (done < into.length) {
    const got = readSync(fd, into, done, into.length - done, position + done)
    if (got === 0) throw new CacheDamaged('file shorter than its header says')
    done += got
  }
}

function fileStore(fd: number | undefined, index: Uint8Array, l: Layout, harmonic: number, vectors?: Float32Array): SifStore {
  const words = new WordTable(index, l)
  const u = new Float64Array(index.buffer, index.byteOffset + l.uOff, l.d)
  const sums = new Uint32Array(index.buffer, index.byteOffset + l.sumsOff, l.pages)
  const pages: (Float32Array | undefined)[] = new Array(l.pages)
  let open = fd
  const pageBytes = PAGE_ROWS * l.d * 4
  return {
    n: l.n,
    d: l.d,
    harmonic,
    u,
    rowOf: (word) => words.rowOf(word),
    page(p) {
      let v = pages[p]
      if (v !== undefined) return v
      const rows = Math.min(PAGE_ROWS, l.n - p * PAGE_ROWS)
      if (vectors) v = vectors.subarray(p * PAGE_ROWS * l.d, (p * PAGE_ROWS + rows) * l.d)
      else {
        if (open === undefined) throw new CacheDamaged('the cache file was closed')
        const buf = new Uint8Array(rows * l.d * 4)
        readFully(open, buf, l.vecOff + p * pageBytes)
        v = new Float32Array(buf.buffer, 0, rows * l.d)
        if (hashWords(new Uint32Array(buf.buffer)) !== sums[p]) throw new CacheDamaged(`page ${p} checksum`)
      }
      pages[p] = v
      return v
    },
    close() {
      if (open !== undefined) closeSync(open)
      open = undefined
    },
  }
}

/** Builds the cache file's bytes from the vectors, words and component. */
export function buildSifCache(words: readonly string[], vectors: Float32Array, d: number, u: Float64Array, harmonic: number): Uint8Array {
  const n = words.length
  const encoder = new TextEncoder()
  const encoded = words.map((w) => encoder.encode(w))
  const blobBytes = encoded.reduce((s, e) => s + e.length, 0)
  let tableSize = 1
  while (tableSize < 1.5 * n) tableSize *= 2
  const l = layout(n, d, tableSize, blobBytes)
  const out = new Uint8Array(l.total)
  const head = Buffer.from(out.buffer, 0, HEADER_BYTES)
  head.write(MAGIC, 0, 'latin1')
  head.writeUInt32LE(FORMAT_VERSION, 8)
  head.writeUInt32LE(n, 12)
  head.writeUInt32LE(d, 16)
  head.writeUInt32LE(tableSize, 20)
  head.writeUInt32LE(blobBytes, 24)
  head.writeUInt32LE(PAGE_ROWS, 28)
  head.writeUInt32LE(l.vecOff, 32)
  head.writeDoubleLE(l.total, 40)
  head.writeDoubleLE(harmonic, 48)
  new Float64Array(out.buffer, l.uOff, d).set(u)
  const offs = new Uint32Array(out.buffer, l.offsOff, n + 1)
  const blob = new Uint8Array(out.buffer, l.blobOff, blobBytes)
  let at = 0
  encoded.forEach((e, i) => {
    offs[i] = at
    blob.set(e, at)
    at += e.length
  })
  offs[n] = at
  const vec = new Float32Array(out.buffer, l.vecOff, n * d)
  vec.set(vectors.subarray(0, n * d))
  const sums = new Uint32Array(out.buffer, l.sumsOff, l.pages)
  for (let p = 0; p < l.pages; p++) {
    const rows = Math.min(PAGE_ROWS, n - p * PAGE_ROWS)
    sums[p] = hashWords(new Uint32Array(out.buffer, l.vecOff + p * PAGE_ROWS * d * 4, rows * d))
  }
  // the table: first occurrence of each word wins (as the Map of earlier versions)
  const table = new Uint32Array(out.buffer, l.tableOff, tableSize)
  const mask = tableSize - 1
  for (let i = 0; i < n; i++) {
    const e = encoded[i]!
    let slot = hashBytes(e, 0, e.length) & mask
    for (;;) {
      const r = table[slot]!
      if (r === 0) {
        table[slot] = i + 1
        break
      }
      const other = encoded[r - 1]!
      if (other.length === e.length && other.every((b, j) => b === e[j])) break
      slot = (slot + 1) & mask
    }
  }
  head.writeUInt32LE(hashWords(new Uint32Array(out.buffer, HEADER_BYTES, (l.vecOff - HEADER_BYTES) >>> 2)), 56)
  head.writeUInt32LE(hashBytes(head, 0, 60), 60)
  return out
}

/** A store over a cache file's bytes held in memory (just built). */
export function memoryStore(bytes: Uint8Array): SifStore {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES)
  const l = layout(head.readUInt32LE(12), head.readUInt32LE(16), head.readUInt32LE(20), head.readUInt32LE(24))
  return fileStore(undefined, bytes, l, head.readDoubleLE(48), new Float32Array(bytes.buffer, bytes.byteOffset + l.vecOff, l.n * l.d))
}

/** Writes the file under a temporary name, then renames it into place. */
export async function writeSifCache(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
  try {
    await writeFile(tmp, bytes)
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}
