/**
 * The fast-scan oracles: what the SIMD kernel (wasm/assembly/kernels.ts: fsTables, and
 * fsSearch's scan) computes, in plain TypeScript, for the tests to compare it with. No
 * library code calls these. Layout: ../fastscan.ts.
 *
 * Byte tables: the query's float table T (m x 16, as pqTableL2) becomes
 * lut[j][c] = round((T[j][c] - min_j) * a) with a = 255 / max_j (max_j - min_j), so every
 * sum of m entries fits in 16 bits (m <= 257). Since each entry is off by at most 1/2, the
 * float distance S of a code satisfies |sum lut - a (S - sum_j min_j)| <= m/2: a code can
 * be closer than `top` only if its byte sum is <= fastScanThreshold(...). The scan keeps
 * exactly those; their exact distances are then computed with the float tables.
 */

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
// biome-ignore format: one-line signature, as the other FastScan entry points
export function fastScanReference(packed: Uint8Array, off: number, n: number, m: number, lut: Uint8Array, thr: number, out: Int32Array): number {
  let count = 0
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < m; j++) s += lut[j * 16 + fastScanCodeAt(packed, off, m, i, j)]!
    if (s <= thr) out[count++] = i
  }
  return count
}
