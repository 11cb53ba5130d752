/**
 * The stored-vector codec: how full-precision vectors are kept on disk (storeVectors
 * 'float32' or 'float16', little-endian bytes per vector) and read back, and how the
 * code bytes of a row join an item's code and its refine code.
 */
import { floatToHalf, HALF_TO_FLOAT } from '../../native-free-kernels/index.js'
import { VqFormatError } from '../errors.js'
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

/** The CORRUPT_FILE error of a stored vector that is not what the index stores. */
function damagedVector(what: string, got: number, s: VectorStorage, dim: number): VqFormatError {
  const len = got < 0 ? 'not a blob' : `${got} bytes`
  return new VqFormatError(
    'CORRUPT_FILE',
    `the stored vector of ${what} is damaged: ${len}, but ${s} vectors of dim ${dim} are ${vectorBytes(s, dim)} bytes`,
  )
}

/** A half float with exponent 31 (infinity or NaN): what no stored float16 vector holds. */
function nonFiniteStored(what: string, t: number, s: VectorStorage, dim: number): VqFormatError {
  return new VqFormatError(
    'CORRUPT_FILE',
    `the stored vector of ${what} is damaged: component ${t} of ${dim} is not finite (${s}); vectors are stored finite`,
  )
}

/**
 * Decodes the stored vectors of n ids (as readVectors returns them) into out (n*dim
 * floats); returns a flag per id (1 found, 0 missing). Every row found is length-checked
 * against the index's vector size (and float16 rows for non-finite values): a damaged
 * row is VqFormatError('CORRUPT_FILE') naming its id, never shifted into another's place
 * nor silently dropped.
 */
export function fillVectors(rows: VectorRows, ids: Float64Array, n: number, s: VectorStorage, dim: number, out: Float32Array): Uint8Array {
  const found = new Uint8Array(n)
  const have = rows.ids
  const expected = vectorBytes(s, dim)
  const lengths = rows.lengths
  if (lengths === null && have.length > 0 && rows.size !== expected) {
    throw damagedVector(`id ${have[0]} (and every other id of this batch)`, rows.size, s, dim)
  }
  // Byte offset of each row when lengths differ (only then can a row be damaged).
  let offsets: Float64Array | null = null
  if (lengths !== null) {
    offsets = new Float64Array(have.length)
    let o = 0
    for (let r = 0; r < have.length; r++) {
      offsets[r] = o
      if (lengths[r]! > 0) o += lengths[r]!
    }
  }
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
    let at = lo * expected
    if (lengths !== null) {
      if (lengths[lo] !== expected) throw damagedVector(`id ${id}`, lengths[lo]!, s, dim)
      at = offsets![lo]!
    }
    if (s === 'float32') bytes.set(rows.blob.subarray(at, at + dim * 4), i * dim * 4)
    else {
      const b = rows.blob
      for (let t = 0; t < dim; t++) {
        const h = b[at + 2 * t]! | (b[at + 2 * t + 1]! << 8)
        if ((h & 0x7c00) === 0x7c00) throw nonFiniteStored(`id ${id}`, t, s, dim)
        out[i * dim + t] = HALF_TO_FLOAT[h]!
      }
    }
    found[i] = 1
  }
  return found
}

/**
 * Decodes one stored vector (float32 or float16 bytes) into a new Float32Array of dim.
 * A blob of another length, or a float16 component that is not finite, is
 * VqFormatError('CORRUPT_FILE'); `what` names the vector in the message (e.g. "id 42").
 */
export function decodeVector(b: Uint8Array, s: VectorStorage, dim: number, what = 'an item'): Float32Array {
  if (!(b instanceof Uint8Array)) throw damagedVector(what, -1, s, dim)
  if (b.length !== vectorBytes(s, dim)) throw damagedVector(what, b.length, s, dim)
  const out = new Float32Array(dim)
  if (s === 'float32') {
    new Uint8Array(out.buffer).set(b)
    for (let t = 0; t < dim; t++) {
      const v = out[t]!
      if (v - v !== 0) throw nonFiniteStored(what, t, s, dim)
    }
  } else {
    for (let t = 0; t < dim; t++) {
      const h = b[2 * t]! | (b[2 * t + 1]! << 8)
      if ((h & 0x7c00) === 0x7c00) throw nonFiniteStored(what, t, s, dim)
      out[t] = HALF_TO_FLOAT[h]!
    }
  }
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
