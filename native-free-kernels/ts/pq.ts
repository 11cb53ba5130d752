/**
 * Product-quantizer kernels: distance tables and the ADC scan.
 *
 * The 8-bit scan reads codes 32 bits at a time (four sub-codes per load) when the code
 * size is a multiple of 4 and the code buffer is 4-byte aligned, with bodies unrolled
 * for m = 4, 8, 16, 32 and 64; 4-bit codes read eight sub-codes per 32-bit load. All
 * other shapes take a byte-wise (nbits = 8, 4) or bit-reader (other nbits) path.
 * Layouts: see ../types.ts.
 */
import type { F32 } from '../types.js'
import { innerProduct, l2sqr } from './distance.js'

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

export function pqTableL2(q: F32, qOff: number, centroids: F32, m: number, ksub: number, dsub: number, out: F32): void {
  for (let j = 0; j < m; j++) {
    const qo = qOff + j * dsub
    const base = j * ksub
    for (let c = 0; c < ksub; c++) out[base + c] = l2sqr(q, qo, centroids, (base + c) * dsub, dsub)
  }
}

export function pqTableIP(q: F32, qOff: number, centroids: F32, m: number, ksub: number, dsub: number, out: F32): void {
  for (let j = 0; j < m; j++) {
    const qo = qOff + j * dsub
    const base = j * ksub
    for (let c = 0; c < ksub; c++) out[base + c] = innerProduct(q, qo, centroids, (base + c) * dsub, dsub)
  }
}

/** Sum of the four table entries selected by the four bytes of word w, sub-spaces starting at base/256. */
function word8(t: F32, base: number, w: number): number {
  return (t[base + (w & 255)]! + t[base + 256 + ((w >>> 8) & 255)]!)
    + (t[base + 512 + ((w >>> 16) & 255)]! + t[base + 768 + (w >>> 24)]!)
}

/** Sum of the eight table entries selected by the eight nibbles of word w (16-entry sub-tables). */
function word4(t: F32, base: number, w: number): number {
  return ((t[base + (w & 15)]! + t[base + 16 + ((w >>> 4) & 15)]!)
    + (t[base + 32 + ((w >>> 8) & 15)]! + t[base + 48 + ((w >>> 12) & 15)]!))
    + ((t[base + 64 + ((w >>> 16) & 15)]! + t[base + 80 + ((w >>> 20) & 15)]!)
    + (t[base + 96 + ((w >>> 24) & 15)]! + t[base + 112 + (w >>> 28)]!))
}

function scan8Words(c: Uint32Array, n: number, m: number, t: F32, out: F32): void {
  switch (m) {
    case 4:
      for (let i = 0; i < n; i++) out[i] = word8(t, 0, c[i]!)
      return
    case 8:
      for (let i = 0, o = 0; i < n; i++, o += 2) out[i] = word8(t, 0, c[o]!) + word8(t, 1024, c[o + 1]!)
      return
    case 16:
      for (let i = 0, o = 0; i < n; i++, o += 4) {
        out[i] = (word8(t, 0, c[o]!) + word8(t, 1024, c[o + 1]!)) + (word8(t, 2048, c[o + 2]!) + word8(t, 3072, c[o + 3]!))
      }
      return
    case 32:
      for (let i = 0, o = 0; i < n; i++, o += 8) {
        out[i] = ((word8(t, 0, c[o]!) + word8(t, 1024, c[o + 1]!)) + (word8(t, 2048, c[o + 2]!) + word8(t, 3072, c[o + 3]!)))
          + ((word8(t, 4096, c[o + 4]!) + word8(t, 5120, c[o + 5]!)) + (word8(t, 6144, c[o + 6]!) + word8(t, 7168, c[o + 7]!)))
      }
      return
    case 64:
      for (let i = 0, o = 0; i < n; i++, o += 16) {
        const a = ((word8(t, 0, c[o]!) + word8(t, 1024, c[o + 1]!)) + (word8(t, 2048, c[o + 2]!) + word8(t, 3072, c[o + 3]!)))
          + ((word8(t, 4096, c[o + 4]!) + word8(t, 5120, c[o + 5]!)) + (word8(t, 6144, c[o + 6]!) + word8(t, 7168, c[o + 7]!)))
        const b = ((word8(t, 8192, c[o + 8]!) + word8(t, 9216, c[o + 9]!)) + (word8(t, 10240, c[o + 10]!) + word8(t, 11264, c[o + 11]!)))
          + ((word8(t, 12288, c[o + 12]!) + word8(t, 13312, c[o + 13]!)) + (word8(t, 14336, c[o + 14]!) + word8(t, 15360, c[o + 15]!)))
        out[i] = a + b
      }
      return
    default: {
      const words = m >>> 2
      for (let i = 0, o = 0; i < n; i++) {
        let s = 0
        for (let w = 0, base = 0; w < words; w++, o++, base += 1024) s += word8(t, base, c[o]!)
        out[i] = s
      }
    }
  }
}

function scan8Bytes(codes: Uint8Array, n: number, m: number, t: F32, out: F32): void {
  for (let i = 0, o = 0; i < n; i++) {
    let s = 0
    for (let j = 0, base = 0; j < m; j++, base += 256) s += t[base + codes[o++]!]!
    out[i] = s
  }
}

function scan4Words(c: Uint32Array, n: number, m: number, t: F32, out: F32): void {
  const words = m >>> 3
  switch (words) {
    case 1:
      for (let i = 0; i < n; i++) out[i] = word4(t, 0, c[i]!)
      return
    case 2:
      for (let i = 0, o = 0; i < n; i++, o += 2) out[i] = word4(t, 0, c[o]!) + word4(t, 128, c[o + 1]!)
      return
    case 4:
      for (let i = 0, o = 0; i < n; i++, o += 4) {
        out[i] = (word4(t, 0, c[o]!) + word4(t, 128, c[o + 1]!)) + (word4(t, 256, c[o + 2]!) + word4(t, 384, c[o + 3]!))
      }
      return
    case 8:
      for (let i = 0, o = 0; i < n; i++, o += 8) {
        out[i] = ((word4(t, 0, c[o]!) + word4(t, 128, c[o + 1]!)) + (word4(t, 256, c[o + 2]!) + word4(t, 384, c[o + 3]!)))
          + ((word4(t, 512, c[o + 4]!) + word4(t, 640, c[o + 5]!)) + (word4(t, 768, c[o + 6]!) + word4(t, 896, c[o + 7]!)))
      }
      return
    default:
      for (let i = 0, o = 0; i < n; i++) {
        let s = 0
        for (let w = 0, base = 0; w < words; w++, o++, base += 128) s += word4(t, base, c[o]!)
        out[i] = s
      }
  }
}

function scan4Bytes(codes: Uint8Array, n: number, m: number, t: F32, out: F32): void {
  const pairs = m >>> 1
  const cs = (m + 1) >>> 1
  for (let i = 0, o = 0; i < n; i++, o += cs) {
    let s = 0
    let base = 0
    for (let p = 0; p < pairs; p++, base += 32) {
      const b = codes[o + p]!
      s += t[base + (b & 15)]! + t[base + 16 + (b >>> 4)]!
    }
    if (m & 1) s += t[base + (codes[o + pairs]! & 15)]!
    out[i] = s
  }
}

/** Any nbits in 1..8: a bit reader over LSB-first packed sub-codes. */
function scanBits(codes: Uint8Array, n: number, m: number, nbits: number, t: F32, out: F32): void {
  const ksub = 1 << nbits
  const mask = ksub - 1
  const cs = (m * nbits + 7) >>> 3
  for (let i = 0; i < n; i++) {
    let bit = i * cs * 8
    let s = 0
    for (let j = 0, base = 0; j < m; j++, base += ksub, bit += nbits) {
      const byte = bit >>> 3
      const shift = bit & 7
      let v = codes[byte]! >>> shift
      if (shift + nbits > 8) v |= codes[byte + 1]! << (8 - shift)
      s += t[base + (v & mask)]!
    }
    out[i] = s
  }
}

export function pqScan(codes: Uint8Array, n: number, m: number, nbits: number, table: F32, out: F32): void {
  if (n === 0) return
  const aligned = LITTLE_ENDIAN && (codes.byteOffset & 3) === 0
  if (nbits === 8) {
    if (aligned && (m & 3) === 0) scan8Words(new Uint32Array(codes.buffer, codes.byteOffset, n * (m >>> 2)), n, m, table, out)
    else scan8Bytes(codes, n, m, table, out)
  } else if (nbits === 4) {
    if (aligned && (m & 7) === 0) scan4Words(new Uint32Array(codes.buffer, codes.byteOffset, n * (m >>> 3)), n, m, table, out)
    else scan4Bytes(codes, n, m, table, out)
  } else {
    scanBits(codes, n, m, nbits, table, out)
  }
}
