/**
 * Readers and writers of the TEXMEX vector formats (SIFT1M, GIST1M, SIFT1B):
 * each vector is stored as a little-endian int32 dimension d followed by d components:
 * float32 (.fvecs), int32 (.ivecs, e.g. ground-truth neighbour lists) or uint8 (.bvecs).
 * All vectors of a file share d. Readers stream the file in blocks, check every record's
 * dimension, and throw VqFormatError on a truncated or inconsistent file.
 */
import { open, rename, writeFile } from 'node:fs/promises'
import { VqFormatError } from 'vqlite'

/** The three TEXMEX formats. */
export type VecsFormat = 'fvecs' | 'ivecs' | 'bvecs'

/** Element array type per format. */
export interface VecsArrays {
  fvecs: Float32Array
  ivecs: Int32Array
  bvecs: Uint8Array
}

/** A block of vectors read from a .*vecs file. */
export interface VecsBlock<F extends VecsFormat> {
  /** Dimension. */
  readonly d: number
  /** Vectors in this block. */
  readonly n: number
  /** Index (in the file) of this block's first vector. */
  readonly start: number
  /** Components, row-major n*d. */
  readonly data: VecsArrays[F]
}

/** Shape of a .*vecs file. */
export interface VecsInfo {
  readonly format: VecsFormat
  /** Dimension. */
  readonly d: number
  /** Number of vectors. */
  readonly n: number
}

/** Options for reading a range of vectors. */
export interface ReadVecsOptions {
  /** First vector to read. Default 0. */
  start?: number
  /** Vectors to read. Default: all from start. */
  count?: number
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
const ELEM_BYTES: Record<VecsFormat, number> = { fvecs: 4, ivecs: 4, bvecs: 1 }
/** A dimension beyond this is taken as a sign of a foreign or corrupt file. */
const MAX_DIM = 1 << 20

/** Format implied by a file name's extension. */
export function vecsFormatOf(path: string): VecsFormat {
  const m = /\.(fvecs|ivecs|bvecs)$/i.exec(path)
  if (!m) throw new VqFormatError('BAD_FILE', `${path}: expected a .fvecs, .ivecs or .bvecs file`)
  return m[1]!.toLowerCase() as VecsFormat
}

/** Reads the dimension from the first record and derives the vector count from the file size. */
export async function vecsInfo(path: string, format: VecsFormat = vecsFormatOf(path)): Promise<VecsInfo> {
  const fh = await open(path, 'r')
  try {
    const size = (await fh.stat()).size
    if (size === 0) return { format, d: 0, n: 0 }
    const head = Buffer.alloc(4)
    const { bytesRead } = await fh.read(head, 0, 4, 0)
    if (bytesRead < 4) throw new VqFormatError('TRUNCATED_FILE', `${path}: ${size} bytes is too short for a ${format} header`)
    const d = head.readInt32LE(0)
    if (d < 1 || d > MAX_DIM) throw new VqFormatError('BAD_FILE', `${path}: first record declares dimension ${d}; not a ${format} file?`)
    const rec = 4 + d * ELEM_BYTES[format]
    if (size % rec !== 0) {
      throw new VqFormatError(
        'TRUNCATED_FILE',
        `${path}: ${size} bytes is not a whole number of ${rec}-byte records (d = ${d}); the file is truncated or not ${format}`,
      )
    }
    return { format, d, n: size / rec }
  } finally {
    await fh.close()
  }
}

/**
 * Streams vectors of a .*vecs file in blocks of up to batchSize vectors (default 65,536),
 * each block a fresh array the caller may keep.
 */
export async function* streamVecs<F extends VecsFormat>(
  path: string,
  format: F,
  options: ReadVecsOptions & { batchSize?: number } = {},
): AsyncGenerator<VecsBlock<F>> {
  const info = await vecsInfo(path, format)
  const { d } = info
  const start = options.start ?? 0
  if (!Number.isInteger(start) || start < 0 || start > info.n) {
    throw new VqFormatError('BAD_FILE', `${path}: start ${start} is outside the file's ${info.n} vectors`)
  }
  const end = options.count === undefined ? info.n : Math.min(info.n, start + options.count)
  const batch = Math.max(1, options.batchSize ?? 65536)
  const eb = ELEM_BYTES[format]
  const rec = 4 + d * eb
  const fh = await open(path, 'r')
  try {
    for (let i0 = start; i0 < end; i0 += batch) {
      const n = Math.min(batch, end - i0)
      const buf = Buffer.alloc(n * rec)
      const { bytesRead } = await fh.read(buf, 0, buf.length, i0 * rec)
      if (bytesRead < buf.length)
        throw new VqFormatError('TRUNCATED_FILE', `${path}: file ended inside vector ${i0 + Math.floor(bytesRead / rec)}`)
      const data = (
        format === 'fvecs' ? new Float32Array(n * d) : format === 'ivecs' ? new Int32Array(n * d) : new Uint8Array(n * d)
      ) as VecsArrays[F]
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.length)
      for (let i = 0; i < n; i++) {
        const o = i * rec
        const di = dv.getInt32(o, true)
        if (di !== d) throw new VqFormatError('BAD_FILE', `${path}: vector ${i0 + i} declares dimension ${di}, expected ${d}`)
        if (format === 'bvecs') (data as Uint8Array).set(buf.subarray(o + 4, o + rec), i * d)
        else if (LITTLE_ENDIAN) {
          // Buffer.alloc memory starts 8-byte aligned and records are 4-byte multiples.
          const View = format === 'fvecs' ? Float32Array : Int32Array
          ;(data as Float32Array).set(new View(buf.buffer, buf.byteOffset + o + 4, d), i * d)
        } else if (format === 'fvecs') for (let t = 0; t < d; t++) (data as Float32Array)[i * d + t] = dv.getFloat32(o + 4 + 4 * t, true)
        else for (let t = 0; t < d; t++) (data as Int32Array)[i * d + t] = dv.getInt32(o + 4 + 4 * t, true)
      }
      yield { d, n, start: i0, data }
    }
  } finally {
    await fh.close()
  }
}

async function readAll<F extends VecsFormat>(path: string, format: F, options: ReadVecsOptions): Promise<VecsBlock<F>> {
  const info = await vecsInfo(path, format)
  const start = options.start ?? 0
  const n = Math.max(0, (options.count === undefined ? info.n : Math.min(info.n, start + options.count)) - start)
  const data = (
    format === 'fvecs' ? new Float32Array(n * info.d) : format === 'ivecs' ? new Int32Array(n * info.d) : new Uint8Array(n * info.d)
  ) as VecsArrays[F]
  for await (const b of streamVecs(path, format, options)) (data as Float32Array).set(b.data as Float32Array, (b.start - start) * info.d)
  return { d: info.d, n, start, data }
}

/** Reads float32 vectors from an .fvecs file (all, or a range). */
export function readFvecs(path: string, options: ReadVecsOptions = {}): Promise<VecsBlock<'fvecs'>> {
  return readAll(path, 'fvecs', options)
}

/** Reads int32 vectors (e.g. ground-truth neighbour ids) from an .ivecs file. */
export function readIvecs(path: string, options: ReadVecsOptions = {}): Promise<VecsBlock<'ivecs'>> {
  return readAll(path, 'ivecs', options)
}

/** Reads uint8 vectors from a .bvecs file (SIFT1B); see bytesToFloat32 to search them. */
export function readBvecs(path: string, options: ReadVecsOptions = {}): Promise<VecsBlock<'bvecs'>> {
  return readAll(path, 'bvecs', options)
}

/** Converts uint8 components to float32 (values unchanged). */
export function bytesToFloat32(data: Uint8Array): Float32Array {
  return Float32Array.from(data)
}

/**
 * Writes n vectors of dimension d (data: n*d) in the given format, atomically: to a
 * temporary file first, then renamed over path.
 */
export async function writeVecs(
  path: string,
  format: VecsFormat,
  data: Float32Array | Int32Array | Uint8Array,
  n: number,
  d: number,
): Promise<void> {
  const eb = ELEM_BYTES[format]
  const rec = 4 + d * eb
  const buf = Buffer.alloc(n * rec)
  for (let i = 0; i < n; i++) {
    const o = i * rec
    buf.writeInt32LE(d, o)
    if (LITTLE_ENDIAN && format !== 'bvecs') {
      const View = format === 'fvecs' ? Float32Array : Int32Array
      new View(buf.buffer, buf.byteOffset + o + 4, d).set(data.subarray(i * d, (i + 1) * d))
      continue
    }
    for (let t = 0; t < d; t++) {
      const v = data[i * d + t]!
      if (format === 'fvecs') buf.writeFloatLE(v, o + 4 + 4 * t)
      else if (format === 'ivecs') buf.writeInt32LE(v, o + 4 + 4 * t)
      else buf[o + 4 + t] = v
    }
  }
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, buf)
  await rename(tmp, path)
}
