/**
 * Scalar-quantizer kernels: distances computed on the codes, with the per-query terms
 * (qShift, w, bias) precomputed by the caller. Four accumulators per row.
 * Layouts: see ../types.ts.
 */
import { HALF_TO_FLOAT } from '../fp16.js'
import type { F32 } from '../types.js'

/** out[i] = sum_t (qShift[t] - step[t]*codes[i*d+t])^2; qShift, step: d; codes: n*d bytes; out: >= n. */
export function sq8L2(qShift: F32, step: F32, codes: Uint8Array, n: number, d: number, out: F32): void {
  const d4 = d & ~3
  for (let i = 0, o = 0; i < n; i++, o += d) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0
    let t = 0
    for (; t < d4; t += 4) {
      const e0 = qShift[t]! - step[t]! * codes[o + t]!
      const e1 = qShift[t + 1]! - step[t + 1]! * codes[o + t + 1]!
      const e2 = qShift[t + 2]! - step[t + 2]! * codes[o + t + 2]!
      const e3 = qShift[t + 3]! - step[t + 3]! * codes[o + t + 3]!
      s0 += e0 * e0
      s1 += e1 * e1
      s2 += e2 * e2
      s3 += e3 * e3
    }
    for (; t < d; t++) {
      const e = qShift[t]! - step[t]! * codes[o + t]!
      s0 += e * e
    }
    out[i] = s0 + s1 + (s2 + s3)
  }
}

/** out[i] = bias + sum_t w[t]*codes[i*d+t]; w: d; codes: n*d bytes; out: >= n. */
export function sq8Dot(w: F32, bias: number, codes: Uint8Array, n: number, d: number, out: F32): void {
  const d4 = d & ~3
  for (let i = 0, o = 0; i < n; i++, o += d) {
    let s0 = bias, s1 = 0, s2 = 0, s3 = 0
    let t = 0
    for (; t < d4; t += 4) {
      s0 += w[t]! * codes[o + t]!
      s1 += w[t + 1]! * codes[o + t + 1]!
      s2 += w[t + 2]! * codes[o + t + 2]!
      s3 += w[t + 3]! * codes[o + t + 3]!
    }
    for (; t < d; t++) s0 += w[t]! * codes[o + t]!
    out[i] = s0 + s1 + (s2 + s3)
  }
}

/** As sq8L2 on 4-bit codes: ceil(d/2) bytes per row, dimension 2t in the low nibble of byte t. */
export function sq4L2(qShift: F32, step: F32, codes: Uint8Array, n: number, d: number, out: F32): void {
  const pairs = d >>> 1
  const cs = (d + 1) >>> 1
  for (let i = 0, o = 0; i < n; i++, o += cs) {
    let s0 = 0, s1 = 0
    let t = 0
    for (let p = 0; p < pairs; p++, t += 2) {
      const b = codes[o + p]!
      const e0 = qShift[t]! - step[t]! * (b & 15)
      const e1 = qShift[t + 1]! - step[t + 1]! * (b >>> 4)
      s0 += e0 * e0
      s1 += e1 * e1
    }
    if (d & 1) {
      const e = qShift[t]! - step[t]! * (codes[o + pairs]! & 15)
      s0 += e * e
    }
    out[i] = s0 + s1
  }
}

/** As sq8Dot on 4-bit codes: ceil(d/2) bytes per row, dimension 2t in the low nibble of byte t. */
export function sq4Dot(w: F32, bias: number, codes: Uint8Array, n: number, d: number, out: F32): void {
  const pairs = d >>> 1
  const cs = (d + 1) >>> 1
  for (let i = 0, o = 0; i < n; i++, o += cs) {
    let s0 = bias, s1 = 0
    let t = 0
    for (let p = 0; p < pairs; p++, t += 2) {
      const b = codes[o + p]!
      s0 += w[t]! * (b & 15)
      s1 += w[t + 1]! * (b >>> 4)
    }
    if (d & 1) s0 += w[t]! * (codes[o + pairs]! & 15)
    out[i] = s0 + s1
  }
}

/** out[i] = ||q at qOff - half-float row i||^2; codes: n*d half-float bit patterns; out: >= n. */
export function fp16L2(q: F32, qOff: number, codes: Uint16Array, n: number, d: number, out: F32): void {
  const h = HALF_TO_FLOAT
  const d4 = d & ~3
  for (let i = 0, o = 0; i < n; i++, o += d) {
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
