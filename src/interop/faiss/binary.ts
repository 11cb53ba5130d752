/**
 * Bounds-checked little-endian reads and growable writes of FAISS's serialisation
 * (faiss/impl/io_macros.h): scalars as their C types (int32 `int`, int64 `idx_t`, uint64
 * `size_t`, 1-byte `bool`, float32), vectors as a uint64 element count then the elements.
 *
 * Every read checks the bytes it needs against what is left, and every count read from the
 * file is checked against the remaining bytes before anything is allocated for it: a
 * truncated file is VqFormatError('TRUNCATED_FILE'), a value that cannot be right (a count
 * past the end, a negative size) VqFormatError('CORRUPT_FILE'), never a RangeError.
 */
import { VqFormatError, VqInputError } from '../../errors.js'

/** The four characters of a fourcc as FAISS stores it (first character in the lowest byte). */
export function fourccName(h: number): string {
  let s = ''
  for (let i = 0; i < 4; i++) {
    const c = (h >>> (8 * i)) & 255
    s += c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`
  }
  return s
}

/** The fourcc of a 4-character name. */
export function fourcc(name: string): number {
  return (name.charCodeAt(0) | (name.charCodeAt(1) << 8) | (name.charCodeAt(2) << 16) | (name.charCodeAt(3) << 24)) >>> 0
}

/** Sequential reader over the bytes of a FAISS file. */
export class ByteReader {
  readonly #b: Uint8Array
  readonly #v: DataView
  readonly #file: string
  #at = 0

  /** bytes: the whole file; file: its name, for messages. */
  constructor(bytes: Uint8Array, file: string) {
    this.#b = bytes
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#file = file
  }

  /** Offset of the next byte. */
  get offset(): number {
    return this.#at
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#b.length - this.#at
  }

  /** CORRUPT_FILE naming the file and the offset. */
  corrupt(what: string): VqFormatError {
    return new VqFormatError('CORRUPT_FILE', `${this.#file}: damaged FAISS index file at byte ${this.#at}: ${what}`)
  }

  /** Throws TRUNCATED_FILE unless n more bytes are there. */
  #need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new VqFormatError(
        'TRUNCATED_FILE',
        `${this.#file}: truncated FAISS index file: ${what} needs ${n} bytes at byte ${this.#at}, only ${this.remaining} left`,
      )
    }
  }

  u8(what: string): number {
    this.#need(1, what)
    return this.#b[this.#at++]!
  }

  /** A C++ bool: one byte, 0 or 1. */
  bool(what: string): boolean {
    const b = this.u8(what)
    if (b > 1) throw this.corrupt(`${what} is a bool but holds ${b}`)
    return b === 1
  }

  i32(what: string): number {
    this.#need(4, what)
    const x = this.#v.getInt32(this.#at, true)
    this.#at += 4
    return x
  }

  u32(what: string): number {
    this.#need(4, what)
    const x = this.#v.getUint32(this.#at, true)
    this.#at += 4
    return x
  }

  f32(what: string): number {
    this.#need(4, what)
    const x = this.#v.getFloat32(this.#at, true)
    this.#at += 4
    return x
  }

  /** A 64-bit integer (int64 when signed, else size_t), as a number; CORRUPT_FILE past 2^53 or below 0 (sizes). */
  i64(what: string, signed = true): number {
    this.#need(8, what)
    const x = signed ? this.#v.getBigInt64(this.#at, true) : this.#v.getBigUint64(this.#at, true)
    this.#at += 8
    if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)) throw this.corrupt(`${what} = ${x} is out of range`)
    return Number(x)
  }

  /** A size_t (uint64). */
  size(what: string): number {
    return this.i64(what, false)
  }

  /**
   * The element count of a vector of elements of `elemBytes` bytes, checked against the
   * bytes left (so the caller may allocate it).
   */
  #count(elemBytes: number, what: string): number {
    const n = this.size(`${what} (length)`)
    if (n * elemBytes > this.remaining) {
      throw new VqFormatError(
        'TRUNCATED_FILE',
        `${this.#file}: truncated or damaged FAISS index file: ${what} says ${n} elements (${n * elemBytes} bytes) at byte ${this.#at}, only ${this.remaining} bytes left`,
      )
    }
    return n
  }

  /** n raw bytes (a copy). */
  bytes(n: number, what: string): Uint8Array {
    this.#need(n, what)
    const out = this.#b.slice(this.#at, this.#at + n)
    this.#at += n
    return out
  }

  /** n float32 (a copy). */
  floats(n: number, what: string): Float32Array {
    this.#need(n * 4, what)
    const out = new Float32Array(n)
    new Uint8Array(out.buffer).set(this.#b.subarray(this.#at, this.#at + n * 4))
    this.#at += n * 4
    return out
  }

  /**
   * n int64, as numbers: CORRUPT_FILE past 2^53, or for ids (labels) BAD_IDS, as vqlite ids
   * are at most 2^53 - 1.
   */
  int64s(n: number, what: string, ids = false): Float64Array {
    this.#need(n * 8, what)
    const out = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const x = this.#v.getBigInt64(this.#at, true)
      if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)) {
        if (ids)
          throw new VqInputError('BAD_IDS', `${this.#file}: ${what}: id ${x}; vqlite ids are integers from 0 to ${Number.MAX_SAFE_INTEGER}`)
        throw this.corrupt(`${what} = ${x} is out of range`)
      }
      out[i] = Number(x)
      this.#at += 8
    }
    return out
  }

  /** n uint64 sizes, as numbers. */
  sizes(n: number, what: string): Float64Array {
    this.#need(n * 8, what)
    const out = new Float64Array(n)
    for (let i = 0; i < n; i++) out[i] = this.size(what)
    return out
  }

  /** A std::vector<uint8_t>. */
  byteVector(what: string): Uint8Array {
    return this.bytes(this.#count(1, what), what)
  }

  /** A std::vector<float>. */
  floatVector(what: string): Float32Array {
    return this.floats(this.#count(4, what), what)
  }

  /** A std::vector<int64_t> (ids: see int64s). */
  int64Vector(what: string, ids = false): Float64Array {
    return this.int64s(this.#count(8, what), what, ids)
  }

  /** A std::vector<size_t>. */
  sizeVector(what: string): Float64Array {
    return this.sizes(this.#count(8, what), what)
  }

  /** Skips a vector of elemBytes-byte elements. */
  skipVector(elemBytes: number, what: string): void {
    const n = this.#count(elemBytes, what)
    this.#at += n * elemBytes
  }

  /** FAISS's "xb" vector of floats: a count of 4-byte units, then the bytes. */
  xbVector(what: string): Float32Array {
    return this.floats(this.#count(4, what), what)
  }
}

/** Appends little-endian values to a growing buffer. */
export class ByteWriter {
  #b = new Uint8Array(1024)
  #v = new DataView(this.#b.buffer)
  #at = 0

  #room(n: number): void {
    if (this.#at + n <= this.#b.length) return
    let cap = this.#b.length * 2
    while (cap < this.#at + n) cap *= 2
    const b = new Uint8Array(cap)
    b.set(this.#b.subarray(0, this.#at))
    this.#b = b
    this.#v = new DataView(b.buffer)
  }

  fourcc(name: string): void {
    this.u32(fourcc(name))
  }

  u8(x: number): void {
    this.#room(1)
    this.#b[this.#at++] = x
  }

  bool(x: boolean): void {
    this.u8(x ? 1 : 0)
  }

  i32(x: number): void {
    this.#room(4)
    this.#v.setInt32(this.#at, x, true)
    this.#at += 4
  }

  u32(x: number): void {
    this.#room(4)
    this.#v.setUint32(this.#at, x, true)
    this.#at += 4
  }

  f32(x: number): void {
    this.#room(4)
    this.#v.setFloat32(this.#at, x, true)
    this.#at += 4
  }

  /** An int64 (or size_t: the same bytes for the values written here). */
  i64(x: number): void {
    this.#room(8)
    this.#v.setBigInt64(this.#at, BigInt(x), true)
    this.#at += 8
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length)
    this.#b.set(b, this.#at)
    this.#at += b.length
  }

  floats(x: Float32Array): void {
    this.bytes(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
  }

  int64s(x: ArrayLike<number>): void {
    this.#room(8 * x.length)
    for (let i = 0; i < x.length; i++) this.i64(x[i]!)
  }

  byteVector(b: Uint8Array): void {
    this.i64(b.length)
    this.bytes(b)
  }

  floatVector(x: Float32Array): void {
    this.i64(x.length)
    this.floats(x)
  }

  int64Vector(x: ArrayLike<number>): void {
    this.i64(x.length)
    this.int64s(x)
  }

  /** The bytes written (a view). */
  result(): Uint8Array {
    return this.#b.subarray(0, this.#at)
  }
}
