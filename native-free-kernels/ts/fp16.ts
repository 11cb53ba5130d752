/**
 * Half-float kernels: distances between a float query and vectors stored as IEEE half
 * floats, decoded through the HALF_TO_FLOAT table. Four accumulators per row.
 * Layouts: see ../types.ts.
 */
import { HALF_TO_FLOAT } from '../fp16.js'
import type { F32 } from '../types.js'

/** out[i] = ||q at qOff - half-float row i||^2; codes: n*d half-float bit patterns; out: >= n. */
export function fp16L2(q: F32, qOff: number, codes: Uint16Array, n: number, d: number, out: F32): void {
  const h = HALF_TO_FLOAT
  const d4 = d & ~3
  for (let i = 0, o = 0; i < n; i++, o += d) {
    // biome-ignore format: unrolled kernel, the four accumulators on one line
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let t = 0
    for (; t < d4; t += 4) {
      const e0 = q[qOff + t]! - h[codes[o + t]!]!
      const e1 = q[qOff + t + 1]! - h[codes[o + t + 1]!]!
      const e2 = q[qOff + t + 2]! - h[codes[o + t + 2]!]!
      const e3 = q[qOff + t + 3]! - h[codes[o + t + 3]!]!
      s0 += e0 * e0
      s1 += e1 * e1
      s2 += e2 * e2
      s3 += e3 * e3
    }
    for (; t < d; t++) {
      const e = q[qOff + t]! - h[codes[o + t]!]!
      s0 += e * e
    }
    out[i] = s0 + s1 + (s2 + s3)
  }
}

/** out[i] = <q at qOff, half-float row i>; codes: n*d half-float bit patterns; out: >= n. */
export function fp16Dot(q: F32, qOff: number, codes: Uint16Array, n: number, d: number, out: F32): void {
  const h = HALF_TO_FLOAT
  const d4 = d & ~3
  for (let i = 0, o = 0; i < n; i++, o += d) {
    // biome-ignore format: unrolled kernel, the four accumulators on one line
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let t = 0
    for (; t < d4; t += 4) {
      s0 += q[qOff + t]! * h[codes[o + t]!]!
      s1 += q[qOff + t + 1]! * h[codes[o + t + 1]!]!
      s2 += q[qOff + t + 2]! * h[codes[o + t + 2]!]!
      s3 += q[qOff + t + 3]! * h[codes[o + t + 3]!]!
    }
    for (; t < d; t++) s0 += q[qOff + t]! * h[codes[o + t]!]!
    out[i] = s0 + s1 + (s2 + s3)
  }
}
