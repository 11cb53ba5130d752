/**
 * Product-quantizer kernels: distance tables and the ADC scan.
 *
 * The 8-bit scan reads codes 32 bits at a time (four sub-codes per load) when the code
 * size is a multiple of 4 and the code buffer is 4-byte aligned, with bodies unrolled
 * for m = 4, 8 and 16, a loop over groups of 16 sub-codes for m = 32, 64 (any multiple
 * of 16), and a word loop for other multiples of 4; 4-bit codes read eight sub-codes per
 * 32-bit load likewise (m = 8, 16 unrolled, groups of 16 for m = 32, 64). All other shapes take
 * a byte-wise (nbits = 8, 4) or bit-reader (other nbits) path.
 * Layouts: see ../types.ts.
 */
import type { F32 } from '../types.js'
import { innerProduct, l2sqr } from './distance.js'

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** out[j*ksub + c] = ||q sub-vector j - centroid c of sub-space j||^2; centroids: (m, ksub, dsub); out: m*ksub. */
export function pqTableL2(q: F32, qOff: number, centroids: F32, m: number, ksub: number, dsub: number, out: F32): void {
  if (dsub === 4) {
    pqTableL2d4(q, qOff, centroids, m, ksub, out)
    return
  }
  if (dsub === 2) {
    pqTableL2d2(q, qOff, centroids, m, ksub, out)
    return
  }
  for (let j = 0; j < m; j++) {
    const qo = qOff + j * dsub
    const base = j * ksub
    for (let c = 0; c < ksub; c++) out[base + c] = l2sqr(q, qo, centroids, (base + c) * dsub, dsub)
  }
}

/**
 * pqTableL2 for sub-vectors of 4 and 2 components: the query's components held in locals
 * and no call per entry (the table of a 100-d PQ25 has 6,400 entries), in l2sqr's
 * summation order, so the entries are the same.
 */
function pqTableL2d4(q: F32, qOff: number, centroids: F32, m: number, ksub: number, out: F32): void {
  for (let j = 0; j < m; j++) {
    const qo = qOff + j * 4
    const q0 = q[qo]!
    const q1 = q[qo + 1]!
    const q2 = q[qo + 2]!
    const q3 = q[qo + 3]!
    const base = j * ksub
    for (let c = 0, co = base * 4; c < ksub; c++, co += 4) {
      const e0 = q0 - centroids[co]!
      const e1 = q1 - centroids[co + 1]!
      const e2 = q2 - centroids[co + 2]!
      const e3 = q3 - centroids[co + 3]!
      out[base + c] = e0 * e0 + e1 * e1 + (e2 * e2 + e3 * e3)
    }
  }
}

function pqTableL2d2(q: F32, qOff: number, centroids: F32, m: number, ksub: number, out: F32): void {
  for (let j = 0; j < m; j++) {
    const qo = qOff + j * 2
    const q0 = q[qo]!
    const q1 = q[qo + 1]!
    const base = j * ksub
    for (let c = 0, co = base * 2; c < ksub; c++, co += 2) {
      const e0 = q0 - centroids[co]!
      const e1 = q1 - centroids[co + 1]!
      out[base + c] = e0 * e0 + e1 * e1
    }
  }
}

/** out[j*ksub + c] = <q sub-vector j, centroid c of sub-space j>; centroids: (m, ksub, dsub); out: m*ksub. */
export function pqTableIP(q: F32, qOff: number, centroids: F32, m: number, ksub: number, dsub: number, out: F32): void {
  for (let j = 0; j < m; j++) {
    const qo = qOff + j * dsub
    const base = j * ksub
    for (let c = 0; c < ksub; c++) out[base + c] = innerProduct(q, qo, centroids, (base + c) * dsub, dsub)
  }
}

/** Sum of the four table entries selected by the four bytes of word w, sub-spaces starting at base/256. */
function word8(t: F32, base: number, w: number): number {
  return t[base + (w & 255)]! + t[base + 256 + ((w >>> 8) & 255)]! + (t[base + 512 + ((w >>> 16) & 255)]! + t[base + 768 + (w >>> 24)]!)
}

/** Sum of the eight table entries selected by the eight nibbles of word w (16-entry sub-tables). */
function word4(t: F32, base: number, w: number): number {
  return (
    t[base + (w & 15)]! +
    t[base + 16 + ((w >>> 4) & 15)]! +
    (t[base + 32 + ((w >>> 8) & 15)]! + t[base + 48 + ((w >>> 12) & 15)]!) +
    (t[base + 64 + ((w >>> 16) & 15)]! +
      t[base + 80 + ((w >>> 20) & 15)]! +
      (t[base + 96 + ((w >>> 24) & 15)]! + t[base + 112 + (w >>> 28)]!))
  )
}

// One function per unrolled shape: V8 inlines word8/word4 into each loop only while the
// function stays within its inlining budget, which a single switch over all shapes exceeds.

function scan8m4(c: Uint32Array, n: number, t: F32, out: F32): void {
  for (let i = 0; i < n; i++) out[i] = word8(t, 0, c[i]!)
}

function scan8m8(c: Uint32Array, n: number, t: F32, out: F32): void {
  for (let i = 0, o = 0; i < n; i++, o += 2) out[i] = word8(t, 0, c[o]!) + word8(t, 1024, c[o + 1]!)
}

function scan8m16(c: Uint32Array, n: number, t: F32, out: F32): void {
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    out[i] = word8(t, 0, c[o]!) + word8(t, 1024, c[o + 1]!) + (word8(t, 2048, c[o + 2]!) + word8(t, 3072, c[o + 3]!))
  }
}

/** 16 sub-codes (four words) starting at word o, sub-tables from base. */
function quad8(t: F32, base: number, c: Uint32Array, o: number): number {
  return word8(t, base, c[o]!) + word8(t, base + 1024, c[o + 1]!) + (word8(t, base + 2048, c[o + 2]!) + word8(t, base + 3072, c[o + 3]!))
}

/** Any m divisible by 16 (m = 32, 64, ...): a loop over groups of 16 sub-codes. */
function scan8m16k(c: Uint32Array, n: number, m: number, t: F32, out: F32): void {
  const words = m >>> 2
  for (let i = 0, o = 0; i < n; i++, o += words) {
    let s = 0
    for (let w = 0, base = 0; w < words; w += 4, base += 4096) s += quad8(t, base, c, o + w)
    out[i] = s
  }
}

/** Any m divisible by 4. */
function scan8Words(c: Uint32Array, n: number, m: number, t: F32, out: F32): void {
  const words = m >>> 2
  for (let i = 0, o = 0; i < n; i++) {
    let s = 0
    for (let w = 0, base = 0; w < words; w++, o++, base += 1024) s += word8(t, base, c[o]!)
    out[i] = s
  }
}

function scan8Bytes(codes: Uint8Array, n: number, m: number, t: F32, out: F32): void {
  const m4 = m & ~3
  for (let i = 0, o = 0; i < n; i++, o += m) {
    let s0 = 0
    let s1 = 0
    let j = 0
    for (let base = 0; j < m4; j += 4, base += 1024) {
      s0 += t[base + codes[o + j]!]! + t[base + 256 + codes[o + j + 1]!]!
      s1 += t[base + 512 + codes[o + j + 2]!]! + t[base + 768 + codes[o + j + 3]!]!
    }
    for (; j < m; j++) s0 += t[j * 256 + codes[o + j]!]!
    out[i] = s0 + s1
  }
}

function scan4m8(c: Uint32Array, n: number, t: F32, out: F32): void {
  for (let i = 0; i < n; i++) out[i] = word4(t, 0, c[i]!)
}

function scan4m16(c: Uint32Array, n: number, t: F32, out: F32): void {
  for (let i = 0, o = 0; i < n; i++, o += 2) out[i] = word4(t, 0, c[o]!) + word4(t, 128, c[o + 1]!)
}

/** 16 sub-codes (two words) starting at word o, sub-tables from base. */
function pair4(t: F32, base: number, c: Uint32Array, o: number): number {
  return word4(t, base, c[o]!) + word4(t, base + 128, c[o + 1]!)
}

/** Any m divisible by 16 (m = 32, 64, ...): a loop over groups of 16 sub-codes. */
function scan4m16k(c: Uint32Array, n: number, m: number, t: F32, out: F32): void {
  const words = m >>> 3
  for (let i = 0, o = 0; i < n; i++, o += words) {
    let s = 0
    for (let w = 0, base = 0; w < words; w += 2, base += 256) s += pair4(t, base, c, o + w)
    out[i] = s
  }
}

/** Any m divisible by 8. */
function scan4Words(c: Uint32Array, n: number, m: number, t: F32, out: F32): void {
  const words = m >>> 3
  for (let i = 0, o = 0; i < n; i++) {
    let s = 0
    for (let w = 0, base = 0; w < words; w++, o++, base += 128) s += word4(t, base, c[o]!)
    out[i] = s
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

/**
 * ADC: out[i] = sum_j table[j*2^nbits + sub-code j of code i]; codes: n*ceil(m*nbits/8)
 * bytes packed LSB first; table: m*2^nbits; out: length >= n. Picks the fastest path.
 */
export function pqScan(codes: Uint8Array, n: number, m: number, nbits: number, table: F32, out: F32): void {
  if (n === 0) return
  const aligned = LITTLE_ENDIAN && (codes.byteOffset & 3) === 0
  if (nbits === 8) {
    if (!aligned || (m & 3) !== 0) {
      scan8Bytes(codes, n, m, table, out)
      return
    }
    const c = new Uint32Array(codes.buffer, codes.byteOffset, n * (m >>> 2))
    if (m === 4) scan8m4(c, n, table, out)
    else if (m === 8) scan8m8(c, n, table, out)
    else if (m === 16) scan8m16(c, n, table, out)
    else if ((m & 15) === 0) scan8m16k(c, n, m, table, out)
    else scan8Words(c, n, m, table, out)
  } else if (nbits === 4) {
    if (!aligned || (m & 7) !== 0) {
      scan4Bytes(codes, n, m, table, out)
      return
    }
    const c = new Uint32Array(codes.buffer, codes.byteOffset, n * (m >>> 3))
    if (m === 8) scan4m8(c, n, table, out)
    else if (m === 16) scan4m16(c, n, table, out)
    else if ((m & 15) === 0) scan4m16k(c, n, m, table, out)
    else scan4Words(c, n, m, table, out)
  } else {
    scanBits(codes, n, m, nbits, table, out)
  }
}
