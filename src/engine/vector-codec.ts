/**
 * The stored-vector codec: how full-precision vectors are kept on disk (storeVectors
 * 'float32' or 'float16', little-endian bytes per vector) and read back, and how the
 * code bytes of a row join an item's code and its refine code.
 */
import { floatToHalf, HALF_TO_FLOAT } from '../../native-free-kernels/index.js'
import type { VectorRows } from '../storage/sqlite-store.js'
import type { VectorStorage } from '../types.js'

/** Bytes per stored full vector. */
export function vectorBytes(s: VectorStorage, dim: number): number {
  return s === 'float32' ? 4 * dim : s === 'float16' ? 2 * dim : 0
}

/** Encodes len floats as stored vector bytes (float32 or float16, little-endian). */
export function encodeVectors(x: Float32Array, len: number, s: VectorStorage): Uint8Array {
  if (s === 'float32') return new Uint8Array(x.buffer, x.byteOffset, len * 4).slice()
  const out = new Uint8Array(len * 2)
  for (let i = 0; i < len; i++) {
    const h = floatToHalf(x[i]!)
    out[2 * i] = h & 255
    out[2 * i + 1] = h >>> 8
  }
  return out
}

/**
 * Decodes the stored vectors of n ids (as readVectors returns them) into out (n*dim
 * floats); returns a flag per id (1 found, 0 missing).
 */
export function fillVectors(rows: VectorRows, ids: Float64Array, n: number, s: VectorStorage, dim: number, out: Float32Array): Uint8Array {
  const found = new Uint8Array(n)
  const have = rows.ids
  const bytes = new Uint8Array(out.buffer, out.byteOffset, n * dim * 4)
  for (let i = 0; i < n; i++) {
    // binary search of ids[i] in the ascending ids found
    const id = ids[i]!
    let lo = 0
    let hi = have.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (have[mid]! < id) lo = mid + 1
      else hi = mid
    }
    if (lo === have.length || have[lo] !== id) continue
    const at = lo * rows.size
    if (s === 'float32') bytes.set(rows.blob.subarray(at, at + dim * 4), i * dim * 4)
    else {
      const b = rows.blob
      for (let t = 0; t < dim; t++) out[i * dim + t] = HALF_TO_FLOAT[b[at + 2 * t]! | (b[at + 2 * t + 1]! << 8)]!
    }
    found[i] = 1
  }
  return found
}

/** Decodes one stored vector (float32 or float16 bytes) into a new Float32Array of dim. */
export function decodeVector(b: Uint8Array, s: VectorStorage, dim: number): Float32Array {
  const out = new Float32Array(dim)
  if (s === 'float32') new Uint8Array(out.buffer).set(b.subarray(0, dim * 4))
  else for (let t = 0; t < dim; t++) out[t] = HALF_TO_FLOAT[b[2 * t]! | (b[2 * t + 1]! << 8)]!
  return out
}

/** Code bytes as stored: each item's code followed by its refine code. */
export function joinCodes(codes: Uint8Array, refine: Uint8Array | null, n: number, cs: number, rs: number): Uint8Array {
  if (!refine || rs === 0) return codes
  const out = new Uint8Array(n * (cs + rs))
  for (let i = 0; i < n; i++) {
    out.set(codes.subarray(i * cs, (i + 1) * cs), i * (cs + rs))
    out.set(refine.subarray(i * rs, (i + 1) * rs), i * (cs + rs) + cs)
  }
  return out
}

/** Inverse of joinCodes. */
export function splitCodes(joined: Uint8Array, n: number, cs: number, rs: number): { codes: Uint8Array; refine: Uint8Array | null } {
  if (rs === 0) return { codes: joined, refine: null }
  const codes = new Uint8Array(n * cs)
  const refine = new Uint8Array(n * rs)
  for (let i = 0; i < n; i++) {
    codes.set(joined.subarray(i * (cs + rs), i * (cs + rs) + cs), i * cs)
    refine.set(joined.subarray(i * (cs + rs) + cs, (i + 1) * (cs + rs)), i * rs)
  }
  return { codes, refine }
}
