/**
 * 4-bit product-quantizer fast-scan: the packed code layout that the SIMD kernel
 * (wasm/assembly/kernels.ts, fsSearch) reads, and the packing of codes and per-item terms
 * into it. The byte lookup tables, the threshold that makes the scan exact and a plain
 * TypeScript scan (the oracles the tests compare the SIMD kernel with) are in
 * reference/fastscan.ts.
 *
 * Packed layout: codes are grouped in blocks of 32. Block b holds, for each sub-quantizer
 * j < m, 16 bytes; byte t of them is code_j(vector 32b + t) | code_j(vector 32b + 16 + t) << 4.
 * A block is m*16 bytes; a partial last block is padded with code 0.
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
export function fastScanPack(
  codes: Uint8Array,
  off: number,
  stride: number,
  n: number,
  m: number,
  out: Uint8Array,
  outOff: number,
  columns = m,
): void {
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
