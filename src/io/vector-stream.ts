/**
 * Vector files read in blocks, for adding sets larger than memory: TEXMEX .fvecs / .bvecs
 * (a little-endian int32 dimension, then d float32 or uint8 components, per record) and
 * NumPy .npy (2-D, C order; float32/64, int8/32/64, uint8). Only the records asked for are
 * read, with positioned reads; nothing else of the file is held. Components become float32.
 *
 * A missing path is NOT_FOUND and anything but a regular file CANNOT_OPEN (VqStorageError);
 * an unknown extension, a bad header or a record of another dimension BAD_FILE, a file that
 * is not a whole number of records TRUNCATED_FILE (VqFormatError). Values are not checked
 * here: add() checks them as it checks any vectors.
 */
import { type FileHandle, open, stat } from 'node:fs/promises'
import { VqFormatError, VqStorageError } from '../errors.js'
import { MAX_DIM } from '../limits.js'

/** The layout of a vector file. */
export interface VectorFileInfo {
  readonly path: string
  readonly format: 'fvecs' | 'bvecs' | 'npy'
  /** Number of vectors. */
  readonly n: number
  /** Dimension. */
  readonly d: number
}

/** A block of consecutive vectors of a file: rows start .. start + n - 1, x row-major n*d. */
export interface VectorBlock {
  readonly start: number
  readonly n: number
  readonly x: Float32Array
}

interface Layout extends VectorFileInfo {
  /** Byte offset of record 0, bytes per record, bytes before the components in a record. */
  readonly base: number
  readonly rec: number
  readonly skip: number
  /** Decodes n records of buf (rec bytes each) into out at row 0; checks TEXMEX dimensions. */
  readonly decode: (buf: Buffer, n: number, out: Float32Array, firstRow: number) => void
}

async function fileSize(path: string): Promise<number> {
  let st: Awaited<ReturnType<typeof stat>>
  try {
    st = await stat(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VqStorageError('NOT_FOUND', `${path}: no such file`, { cause: e })
    throw new VqStorageError('CANNOT_OPEN', `${path}: cannot read it (${code ?? (e as Error).message})`, { cause: e })
  }
  if (!st.isFile()) throw new VqStorageError('CANNOT_OPEN', `${path} is not a regular file`)
  return st.size
}

async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r')
  } catch (e) {
    throw new VqStorageError('CANNOT_OPEN', `${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      cause: e,
    })
  }
}

async function readAt(fh: FileHandle, path: string, bytes: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(bytes)
  let got = 0
  while (got < bytes) {
    const { bytesRead } = await fh.read(buf, got, bytes - got, position + got)
    if (bytesRead === 0) throw new VqFormatError('TRUNCATED_FILE', `${path}: the file ended at byte ${position + got}, inside its vectors`)
    got += bytesRead
  }
  return buf
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])
const NPY_TYPES: Record<string, [bytes: number, get: (dv: DataView, o: number, le: boolean) => number]> = {
  f4: [4, (dv, o, le) => dv.getFloat32(o, le)],
  f8: [8, (dv, o, le) => dv.getFloat64(o, le)],
  i4: [4, (dv, o, le) => dv.getInt32(o, le)],
  i8: [8, (dv, o, le) => Number(dv.getBigInt64(o, le))],
  u1: [1, (dv, o) => dv.getUint8(o)],
  i1: [1, (dv, o) => dv.getInt8(o)],
}

async function layoutOf(path: string): Promise<Layout> {
  const m = /\.(fvecs|bvecs|npy)$/i.exec(path)
  if (!m) throw new VqFormatError('BAD_FILE', `${path}: expected a .fvecs, .bvecs or .npy file`)
  const format = m[1]!.toLowerCase() as 'fvecs' | 'bvecs' | 'npy'
  const size = await fileSize(path)
  const fh = await openFile(path)
  try {
    if (format === 'npy') return await npyLayout(fh, path, size)
    if (size === 0) return { path, format, n: 0, d: 0, base: 0, rec: 4, skip: 4, decode: () => undefined }
    if (size < 4) throw new VqFormatError('TRUNCATED_FILE', `${path}: ${size} bytes is too short for a ${format} header`)
    const d = (await readAt(fh, path, 4, 0)).readInt32LE(0)
    if (d < 1 || d > MAX_DIM)
      throw new VqFormatError('BAD_FILE', `${path}: the first record declares dimension ${d}; not a ${format} file?`)
    const eb = format === 'fvecs' ? 4 : 1
    const rec = 4 + d * eb
    if (size % rec !== 0) {
      throw new VqFormatError(
        'TRUNCATED_FILE',
        `${path}: ${size} bytes is not a whole number of ${rec}-byte records (d = ${d}); the file is truncated or not ${format}`,
      )
    }
    const decode = (buf: Buffer, n: number, out: Float32Array, firstRow: number): void => {
      for (let i = 0; i < n; i++) {
        const o = i * rec
        const di = buf.readInt32LE(o)
        if (di !== d) throw new VqFormatError('BAD_FILE', `${path}: vector ${firstRow + i} declares dimension ${di}, expected ${d}`)
        if (eb === 1) for (let t = 0; t < d; t++) out[i * d + t] = buf[o + 4 + t]!
        else for (let t = 0; t < d; t++) out[i * d + t] = buf.readFloatLE(o + 4 + 4 * t)
      }
    }
    return { path, format, n: size / rec, d, base: 0, rec, skip: 4, decode }
  } finally {
    await fh.close()
  }
}

async function npyLayout(fh: FileHandle, path: string, size: number): Promise<Layout> {
  if (size < 10) throw new VqFormatError('BAD_FILE', `${path}: not a NumPy .npy file`)
  const head = await readAt(fh, path, Math.min(size, 12), 0)
  if (!head.subarray(0, 6).equals(NPY_MAGIC)) throw new VqFormatError('BAD_FILE', `${path}: not a NumPy .npy file`)
  const major = head[6]!
  const headerLen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8)
  const start = major === 1 ? 10 : 12
  if (size < start + headerLen) throw new VqFormatError('TRUNCATED_FILE', `${path}: the file ends inside its header`)
  if (headerLen > 1 << 20) throw new VqFormatError('BAD_FILE', `${path}: a header of ${headerLen} bytes; not a NumPy .npy file?`)
  const header = (await readAt(fh, path, headerLen, start)).toString(major === 3 ? 'utf8' : 'latin1')
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (!descr || !fortran || shapeText === undefined) {
    throw new VqFormatError('BAD_FILE', `${path}: unreadable .npy header ${JSON.stringify(header.trim().slice(0, 80))}`)
  }
  if (fortran === 'True')
    throw new VqFormatError('BAD_FILE', `${path}: Fortran-order arrays are not supported; save with np.ascontiguousarray`)
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number)
  if (shape.length === 0 || shape.length > 2 || shape.some((v) => !Number.isSafeInteger(v) || v < 0)) {
    throw new VqFormatError('BAD_FILE', `${path}: shape (${shapeText}) is not a 1-D or 2-D array`)
  }
  const [n, d] = shape.length === 1 ? [1, shape[0]!] : [shape[0]!, shape[1]!]
  if (d < 1 || d > MAX_DIM) throw new VqFormatError('BAD_FILE', `${path}: rows of ${d} values; the dimension must be 1 to ${MAX_DIM}`)
  const kind = NPY_TYPES[descr.slice(1)]
  if (!kind) throw new VqFormatError('BAD_FILE', `${path}: dtype ${descr} is not supported (float32/64, int8/32/64, uint8)`)
  const [eb, get] = kind
  const le = descr[0] !== '>'
  const base = start + headerLen
  const rec = d * eb
  if (size < base + n * rec) {
    throw new VqFormatError('TRUNCATED_FILE', `${path}: ${size - base} data bytes, the shape (${n}, ${d}) of ${descr} needs ${n * rec}`)
  }
  const decode = (buf: Buffer, rows: number, out: Float32Array): void => {
    const dv = new DataView(buf.buffer, buf.byteOffset, rows * rec)
    for (let i = 0; i < rows * d; i++) out[i] = get(dv, i * eb, le)
  }
  return { path, format: 'npy', n, d, base, rec, skip: 0, decode }
}

/** The format, count and dimension of a vector file (reads its header only). */
export async function vectorFileInfo(path: string): Promise<VectorFileInfo> {
  const { format, n, d } = await layoutOf(path)
  return { path, format, n, d }
}

/**
 * Reads rows start .. end - 1 of a vector file (default: all) in blocks of up to
 * blockRows vectors (default 65,536); each block is a fresh array the caller may keep.
 */
export async function* readVectorBlocks(
  path: string,
  options: { start?: number; end?: number; blockRows?: number } = {},
): AsyncGenerator<VectorBlock> {
  const L = await layoutOf(path)
  const start = options.start ?? 0
  const end = Math.min(L.n, options.end ?? L.n)
  if (!Number.isSafeInteger(start) || start < 0 || start > L.n) {
    throw new VqFormatError('BAD_FILE', `${path}: start row ${start} is outside the file's ${L.n} vectors`)
  }
  const block = Math.max(1, Math.floor(options.blockRows ?? 65536))
  const fh = await openFile(path)
  try {
    for (let r = start; r < end; r += block) {
      const n = Math.min(block, end - r)
      const buf = await readAt(fh, path, n * L.rec, L.base + r * L.rec)
      const x = new Float32Array(n * L.d)
      L.decode(buf, n, x, r)
      yield { start: r, n, x }
    }
  } finally {
    await fh.close()
  }
}

/**
 * Reads the given rows (any order, each 0 .. n - 1) of a vector file into one rows.length*d
 * array, in that order. Nearby rows are read together (spans of up to 4 MB with gaps under
 * 64 KB), so a sample of a large file costs about one pass over the parts it touches.
 */
export async function readVectorRows(path: string, rows: ArrayLike<number>): Promise<Float32Array> {
  const L = await layoutOf(path)
  const m = rows.length
  const order = Array.from({ length: m }, (_, i) => i)
  for (let i = 0; i < m; i++) {
    const r = rows[i]!
    if (!Number.isSafeInteger(r) || r < 0 || r >= L.n)
      throw new VqFormatError('BAD_FILE', `${path}: row ${r} is outside the file's ${L.n} vectors`)
  }
  order.sort((a, b) => rows[a]! - rows[b]!)
  const out = new Float32Array(m * L.d)
  const gap = Math.max(1, Math.floor((64 << 10) / L.rec))
  const span = Math.max(1, Math.floor((4 << 20) / L.rec))
  const fh = await openFile(path)
  try {
    for (let i = 0; i < m; ) {
      const first = rows[order[i]!]!
      let j = i + 1
      while (j < m && rows[order[j]!]! - rows[order[j - 1]!]! <= gap && rows[order[j]!]! - first < span) j++
      const last = rows[order[j - 1]!]!
      const count = last - first + 1
      const buf = await readAt(fh, path, count * L.rec, L.base + first * L.rec)
      const one = new Float32Array(L.d)
      for (let t = i; t < j; t++) {
        const r = rows[order[t]!]!
        L.decode(buf.subarray((r - first) * L.rec, (r - first + 1) * L.rec), 1, one, r)
        out.set(one, order[t]! * L.d)
      }
      i = j
    }
  } finally {
    await fh.close()
  }
  return out
}
