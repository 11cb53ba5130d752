/**
 * NumPy .npy files (format versions 1-3): a magic string, a header (a Python dict literal
 * with descr, fortran_order and shape) and the raw array. Reads 2-D (or 1-D, as one row)
 * C-order arrays of float32, float64, int32, int64, uint8 or int8 into float32.
 */
import { readFile } from 'node:fs/promises'
import { VqFormatError } from 'vqlite'

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]) // \x93NUMPY

/** Reads an .npy file as an n x d float32 matrix. */
export async function readNpy(path: string): Promise<{ data: Float32Array; n: number; d: number }> {
  const b = await readFile(path)
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) throw new VqFormatError('BAD_FILE', `${path}: not a NumPy .npy file`)
  const major = b[6]!
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8)
  const start = major === 1 ? 10 : 12
  if (b.length < start + headerLen) throw new VqFormatError('TRUNCATED_FILE', `${path}: the file ends inside its header`)
  const header = b.subarray(start, start + headerLen).toString(major === 3 ? 'utf8' : 'latin1')
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (!descr || !fortran || shapeText === undefined)
    throw new VqFormatError('BAD_FILE', `${path}: unreadable .npy header ${JSON.stringify(header.trim())}`)
  if (fortran === 'True')
    throw new VqFormatError('BAD_FILE', `${path}: Fortran-order arrays are not supported; save with np.ascontiguousarray`)
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number)
  if (shape.length === 0 || shape.length > 2 || shape.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new VqFormatError('BAD_FILE', `${path}: shape (${shapeText}) is not a 1-D or 2-D array`)
  }
  const [n, d] = shape.length === 1 ? [1, shape[0]!] : [shape[0]!, shape[1]!]
  const kinds: Record<string, [number, (dv: DataView, o: number, le: boolean) => number]> = {
    f4: [4, (dv, o, le) => dv.getFloat32(o, le)],
    f8: [8, (dv, o, le) => dv.getFloat64(o, le)],
    i4: [4, (dv, o, le) => dv.getInt32(o, le)],
    i8: [8, (dv, o, le) => Number(dv.getBigInt64(o, le))],
    u1: [1, (dv, o) => dv.getUint8(o)],
    i1: [1, (dv, o) => dv.getInt8(o)],
  }
  const kind = kinds[descr.slice(1)]
  if (!kind) throw new VqFormatError('BAD_FILE', `${path}: dtype ${descr} is not supported (float32/64, int8/32/64, uint8)`)
  const [size, get] = kind
  const le = descr[0] !== '>'
  const body = start + headerLen
  if (b.length < body + n * d * size) {
    throw new VqFormatError(
      'TRUNCATED_FILE',
      `${path}: ${b.length - body} data bytes, the shape (${n}, ${d}) of ${descr} needs ${n * d * size}`,
    )
  }
  const dv = new DataView(b.buffer, b.byteOffset + body, n * d * size)
  const data = new Float32Array(n * d)
  for (let i = 0; i < n * d; i++) data[i] = get(dv, i * size, le)
  return { data, n, d }
}
