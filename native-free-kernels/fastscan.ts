/**
 * 4-bit product-quantizer fast-scan: the packed code layout, the byte lookup tables and
 * the plain TypeScript version of the scan (the reference for the SIMD kernel in
 * wasm/assembly/kernels.ts, and what tests compare it with).
 *
 * Packed layout: codes are grouped in blocks of 32. Block b holds, for each sub-quantizer
 * j < m, 16 bytes; byte t of them is code_j(vector 32b + t) | code_j(vector 32b + 16 + t) << 4.
 * A block is m*16 bytes; a partial last block is padded with code 0.
 *
 * Byte tables: the query's float table T (m x 16, as pqTableL2) becomes
 * lut[j][c] = round((T[j][c] - min_j) * a) with a = 255 / max_j (max_j - min_j), so every
 * sum of m entries fits in 16 bits (m <= 257). Since each entry is off by at most 1/2, the
 * float distance S of a code satisfies |sum lut - a (S - sum_j min_j)| <= m/2: a code can
 * be closer than `top` only if its byte sum is <= fastScanThreshold(...). The scan keeps
 * exactly those; their exact distances are then computed with the float tables.
 */

/** Bytes of the packed layout for n codes of m sub-quantizers. */
export function fastScanPackedSize(n: number, m: number): number {
  return Math.ceil(n / 32) * m * 16
}

/**
 * Packs n 4-bit PQ codes (per-vector layout: sub-code 2t in the low nibble of byte t, 2t+1
 * in the high nibble; `stride` bytes per code starting at codes[off]) into the blocked
 * layout at out[outOff..), with `columns` >= m sub-codes per block (the columns after the
 * m-th are left zero, for fastScanPackTerms). Unused bytes of a partial block are zero.
 */
export function fastScanPack(codes: Uint8Array, off: number, stride: number, n: number, m: number, out: Uint8Array, outOff: number, columns = m): void {
  const blocks = Math.ceil(n / 32)
  out.fill(0, outOff, outOff + blocks * columns * 16)
  for (let i = 0; i < n; i++) {
    const b = i >>> 5
    const r = i & 31
    const t = r & 15
    const shift = r < 16 ? 0 : 4
    const base = outOff + b * columns * 16 + t
    const c = off + i * stride
    for (let j = 0; j < m; j++) {
      const byte = codes[c + (j >>> 1)]!
      const sub = (j & 1) === 0 ? byte & 15 : byte >>> 4
      out[base + j * 16] = out[base + j * 16]! | (sub << shift)
    }
  }
}

/** How fastScanPackTerms quantized a segment's terms: level v stands for low + v * step. */
export interface TermLevels {
  low: number
  step: number
}

/**
 * Writes a 4-bit level of each of n per-item terms into the last of `columns` columns of
 * packed blocks at out[outOff..) (laid out by fastScanPack with that many columns): level
 * floor((term - low) / step) of 16 over [min, max] of the terms, so that low + level * step
 * never exceeds the term. A search adds the levels through a 16-entry byte row (a lower
 * bound of each item's term), which keeps the byte sums a bound on the full distance.
 */
export function fastScanPackTerms(terms: Float32Array, n: number, columns: number, out: Uint8Array, outOff: number): TermLevels {
  let low = Infinity
  let high = -Infinity
  for (let i = 0; i < n; i++) {
    const v = terms[i]!
    if (v < low) low = v
    if (v > high) high = v
  }
  if (n === 0) return { low: 0, step: 0 }
  const step = high > low ? (high - low) / 15 : 0
  const j = columns - 1
  for (let i = 0; i < n; i++) {
    const level = step > 0 ? Math.max(0, Math.min(15, Math.floor((terms[i]! - low) / step))) : 0
    const at = outOff + (i >>> 5) * columns * 16 + j * 16 + (i & 15)
    out[at] = out[at]! | (level << ((i & 31) < 16 ? 0 : 4))
  }
  return { low, step }
}

/** Sub-code j of packed code i (the inverse of fastScanPack for one entry); m: the columns per block. */
export function fastScanCodeAt(packed: Uint8Array, off: number, m: number, i: number, j: number): number {
  const r = i & 31
  const byte = packed[off + (i >>> 5) * m * 16 + j * 16 + (r & 15)]!
  return r < 16 ? byte & 15 : byte >>> 4
}

/** Scale and offset of a byte table. */
export interface LutScale {
  /** Sum over sub-quantizers of the minimum entry. */
  sumMin: number
  /** Bytes per distance unit (0 when every sub-table is constant). */
  a: number
}

/** Quantizes the float table (m*16) into lut (m*16 bytes) as described above. */
export function fastScanQuantize(table: Float32Array, m: number, lut: Uint8Array): LutScale {
  let sumMin = 0
  let range = 0
  const mins = new Float64Array(m)
  for (let j = 0; j < m; j++) {
    let mn = Infinity
    let mx = -Infinity
    for (let c = 0; c < 16; c++) {
      const v = table[j * 16 + c]!
      if (v < mn) mn = v
      if (v > mx) mx = v
    }
    mins[j] = mn
    sumMin += mn
    if (mx - mn > range) range = mx - mn
  }
  const a = range > 0 ? 255 / range : 0
  for (let j = 0; j < m; j++) {
    for (let c = 0; c < 16; c++) lut[j * 16 + c] = Math.min(255, Math.round((table[j * 16 + c]! - mins[j]!) * a))
  }
  return { sumMin, a }
}

/**
 * The byte-sum threshold for a list: codes whose float distance plus `bias` may be <= top
 * have byte sums <= the returned value; -1 means no code can qualify; 65535 admits all.
 * A small relative slack covers float rounding between the table computations.
 */
export function fastScanThreshold(top: number, bias: number, scale: LutScale, m: number): number {
  if (top === Infinity) return 65535
  const slack = 1 + 1e-5 * scale.a * (Math.abs(top) + Math.abs(bias) + Math.abs(scale.sumMin))
  const x = (top - bias - scale.sumMin) * scale.a + m / 2 + slack
  if (Number.isNaN(x)) return 65535
  if (x < 0) return -1
  return x >= 65535 ? 65535 : Math.floor(x)
}

/**
 * Reference scan: writes the positions i < n whose byte sum is <= thr to out; returns how
 * many. packed: the blocked layout from packed[off]; lut: m*16 bytes.
 */
export function fastScanReference(packed: Uint8Array, off: number, n: number, m: number, lut: Uint8Array, thr: number, out: Int32Array): number {
  let count = 0
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < m; j++) s += lut[j * 16 + fastScanCodeAt(packed, off, m, i, j)]!
    if (s <= thr) out[count++] = i
  }
  return count
}
