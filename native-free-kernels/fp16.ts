/**
 * IEEE 754 binary16 ("half float") conversions. Node 20 has no Float16Array, so half
 * floats travel as their 16-bit patterns in a Uint16Array.
 */

/**
 * floatToHalf's view of a float32's bits: module-level scratch, written and read within
 * one call only (so sharing it is safe on this thread; every thread has its own).
 */
const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** Decodes one half-float bit pattern (0..65535) to its exact float value. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >>> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24 // zero and subnormals
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/**
 * Encodes a number as the nearest half float (round to nearest, ties to even), from the
 * float32 value of x. Values beyond the half range become +-Infinity; NaN stays NaN.
 */
export function floatToHalf(x: number): number {
  f32[0] = x
  const bits = u32[0]!
  const sign = (bits >>> 16) & 0x8000
  const exp = (bits >>> 23) & 0xff
  let mant = bits & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0) // Inf or NaN
  const e = exp - 127 + 15
  if (e >= 31) return sign | 0x7c00 // overflow to infinity
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa right by (1 - e) + 13.
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    const half = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const mid = 1 << (shift - 1)
    const rounded = rem > mid || (rem === mid && (half & 1) === 1) ? half + 1 : half
    return sign | rounded
  }
  const half = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  // Rounding may carry into the exponent, which is exactly the right result
  // (including the carry into infinity at the top of the range).
  const rounded = rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? half + 1 : half
  return sign | rounded
}

/**
 * HALF_TO_FLOAT[h] is the value of half-float bit pattern h (65,536 entries, 256 KiB).
 * Built once when this module loads and never written afterwards (a constant table). Normal
 * halves, infinities and NaNs are built from their float32 bit patterns (re-biased exponent,
 * mantissa shifted up by 13), which takes well under a millisecond at every process start;
 * zero and subnormals (exponent 0) go through halfToFloat. The tests compare every entry
 * with halfToFloat.
 */
export const HALF_TO_FLOAT: Float32Array = (() => {
  const t = new Float32Array(65536)
  const bits = new Uint32Array(t.buffer)
  for (let h = 0; h < 65536; h++) {
    const exp = (h >>> 10) & 0x1f
    if (exp === 0) {
      t[h] = halfToFloat(h)
      continue
    }
    const sign = (h & 0x8000) << 16
    const frac = (h & 0x3ff) << 13
    bits[h] = (sign | (exp === 31 ? 0x7f800000 : (exp + 112) << 23) | frac) >>> 0
  }
  return t
})()
