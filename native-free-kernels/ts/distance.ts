/**
 * Distance kernels in plain TypeScript, written for V8: several independent
 * accumulators break the floating-point add chain, and the many-to-many kernels work
 * on 4x4 register tiles inside cache blocks so that each loaded value feeds four
 * multiply-adds. Layouts and lengths: see ../types.ts.
 */
import type { F32 } from '../types.js'

/** Squared L2 distance, four accumulators. */
export function l2sqr(a: F32, aOff: number, b: F32, bOff: number, d: number): number {
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  let t = 0
  for (; t + 4 <= d; t += 4) {
    const e0 = a[aOff + t]! - b[bOff + t]!
    const e1 = a[aOff + t + 1]! - b[bOff + t + 1]!
    const e2 = a[aOff + t + 2]! - b[bOff + t + 2]!
    const e3 = a[aOff + t + 3]! - b[bOff + t + 3]!
    s0 += e0 * e0
    s1 += e1 * e1
    s2 += e2 * e2
    s3 += e3 * e3
  }
  for (; t < d; t++) {
    const e = a[aOff + t]! - b[bOff + t]!
    s0 += e * e
  }
  return s0 + s1 + (s2 + s3)
}

/** Inner product, four accumulators. */
export function innerProduct(a: F32, aOff: number, b: F32, bOff: number, d: number): number {
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  let t = 0
  for (; t + 4 <= d; t += 4) {
    s0 += a[aOff + t]! * b[bOff + t]!
    s1 += a[aOff + t + 1]! * b[bOff + t + 1]!
    s2 += a[aOff + t + 2]! * b[bOff + t + 2]!
    s3 += a[aOff + t + 3]! * b[bOff + t + 3]!
  }
  for (; t < d; t++) s0 += a[aOff + t]! * b[bOff + t]!
  return s0 + s1 + (s2 + s3)
}

/** out[i] = l2sqr(q at qOff, row i of x) for i < n; x: n*d; out: length >= n. */
export function l2sqrMany(q: F32, qOff: number, x: F32, n: number, d: number, out: F32): void {
  for (let i = 0; i < n; i++) out[i] = l2sqr(q, qOff, x, i * d, d)
}

/** out[i] = <q at qOff, row i of x> for i < n; x: n*d; out: length >= n. */
export function innerProductMany(q: F32, qOff: number, x: F32, n: number, d: number, out: F32): void {
  for (let i = 0; i < n; i++) out[i] = innerProduct(q, qOff, x, i * d, d)
}

/** out[i] = ||row i of x||^2; x: n*d; out: length >= n. */
export function normsL2sqr(x: F32, n: number, d: number, out: F32 | Float64Array): void {
  for (let i = 0; i < n; i++) out[i] = innerProduct(x, i * d, x, i * d, d)
}

/**
 * Inner products of rows [x0, x0+nx) of x against rows [y0, y0+ny) of y (both with row
 * length d), written to out[outOff + i*outStride + j]. The body is a 4x4 register tile:
 * per step t it loads 4 values of x and 4 of y and does 16 multiply-adds.
 */
// biome-ignore format: 4x4 register tile, hand-packed: one lane group per line
export function dotBlock(
  x: F32, x0: number, nx: number,
  y: F32, y0: number, ny: number,
  d: number, out: F32, outOff: number, outStride: number,
): void {
  const nx4 = nx & ~3
  const ny4 = ny & ~3
  let i = 0
  for (; i < nx4; i += 4) {
    const xa = (x0 + i) * d
    const xb = xa + d
    const xc = xb + d
    const xd = xc + d
    const o = outOff + i * outStride
    let j = 0
    for (; j < ny4; j += 4) {
      const ya = (y0 + j) * d
      const yb = ya + d
      const yc = yb + d
      const yd = yc + d
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0
      let b0 = 0, b1 = 0, b2 = 0, b3 = 0
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0
      for (let t = 0; t < d; t++) {
        const v0 = y[ya + t]!
        const v1 = y[yb + t]!
        const v2 = y[yc + t]!
        const v3 = y[yd + t]!
        let u = x[xa + t]!
        a0 += u * v0; a1 += u * v1; a2 += u * v2; a3 += u * v3
        u = x[xb + t]!
        b0 += u * v0; b1 += u * v1; b2 += u * v2; b3 += u * v3
        u = x[xc + t]!
        c0 += u * v0; c1 += u * v1; c2 += u * v2; c3 += u * v3
        u = x[xd + t]!
        d0 += u * v0; d1 += u * v1; d2 += u * v2; d3 += u * v3
      }
      const p = o + j
      out[p] = a0; out[p + 1] = a1; out[p + 2] = a2; out[p + 3] = a3
      const q = p + outStride
      out[q] = b0; out[q + 1] = b1; out[q + 2] = b2; out[q + 3] = b3
      const r = q + outStride
      out[r] = c0; out[r + 1] = c1; out[r + 2] = c2; out[r + 3] = c3
      const s = r + outStride
      out[s] = d0; out[s + 1] = d1; out[s + 2] = d2; out[s + 3] = d3
    }
    for (; j < ny; j++) {
      const yo = (y0 + j) * d
      const p = o + j
      out[p] = innerProduct(x, xa, y, yo, d)
      out[p + outStride] = innerProduct(x, xb, y, yo, d)
      out[p + 2 * outStride] = innerProduct(x, xc, y, yo, d)
      out[p + 3 * outStride] = innerProduct(x, xd, y, yo, d)
    }
  }
  for (; i < nx; i++) {
    const xo = (x0 + i) * d
    const o = outOff + i * outStride
    for (let j = 0; j < ny; j++) out[o + j] = innerProduct(x, xo, y, (y0 + j) * d, d)
  }
}

/** Rows of x per cache block in the many-to-many kernels. */
const X_BLOCK = 64
/** Rows of y per cache block in the many-to-many kernels. */
const Y_BLOCK = 256

/** out[i*ny + j] = <row i of x, row j of y>; x: nx*d, y: ny*d, out: length >= nx*ny. Cache-blocked dotBlock. */
export function innerProductMatrix(x: F32, nx: number, y: F32, ny: number, d: number, out: F32): void {
  for (let i0 = 0; i0 < nx; i0 += X_BLOCK) {
    const bx = Math.min(X_BLOCK, nx - i0)
    for (let j0 = 0; j0 < ny; j0 += Y_BLOCK) {
      const by = Math.min(Y_BLOCK, ny - j0)
      dotBlock(x, i0, bx, y, j0, by, d, out, i0 * ny + j0, ny)
    }
  }
}

/**
 * Scratch of nearestL2: running minima, second minima and arg-minima of one x block.
 * Module-level on purpose (allocated once, not per call): its content lives only within
 * one nearestL2 call, which never re-enters itself, and each thread has its own copy of
 * this module, so no two calls share it at the same time.
 */
const bestScratch = new Float64Array(X_BLOCK)
const secondScratch = new Float64Array(X_BLOCK)
const argScratch = new Int32Array(X_BLOCK)

/**
 * k-means assignment: ||x - y||^2 = ||x||^2 + ||y||^2 - 2<x, y>, of which only
 * ||y||^2 - 2<x, y> is compared; ||x||^2 is added to the winners at the end. The inner
 * products come from 4x4 register tiles, compared against the four running minima in
 * registers as soon as a tile is done (no tile is stored). Cache blocking: a block of
 * X_BLOCK rows of x meets y in blocks of Y_BLOCK rows, so a y block stays in cache while
 * every x row of the block passes over it, whatever the size of y. With outSecond, the
 * second-smallest distance of each row is tracked too (for k-means bounds).
 */
// biome-ignore format: unrolled kernel, hand-packed: one lane group / one compare-and-swap per line
export function nearestL2(
  x: F32, nx: number, y: F32, ny: number, d: number,
  yNorms: Float64Array | F32, outIdx: Int32Array, outDist: F32, outSecond?: F32,
): void {
  const best = bestScratch
  const second = secondScratch
  const arg = argScratch
  for (let i0 = 0; i0 < nx; i0 += X_BLOCK) {
    const bx = Math.min(X_BLOCK, nx - i0)
    best.fill(Infinity, 0, bx)
    second.fill(Infinity, 0, bx)
    arg.fill(-1, 0, bx)
    for (let j0 = 0; j0 < ny; j0 += Y_BLOCK) {
      const j1 = Math.min(ny, j0 + Y_BLOCK)
      const j4 = j0 + ((j1 - j0) & ~3)
      let i = 0
      for (; i + 4 <= bx; i += 4) {
        const xa = (i0 + i) * d
        const xb = xa + d
        const xc = xb + d
        const xd = xc + d
        let m0 = best[i]!, m1 = best[i + 1]!, m2 = best[i + 2]!, m3 = best[i + 3]!
        let s0 = second[i]!, s1 = second[i + 1]!, s2 = second[i + 2]!, s3 = second[i + 3]!
        let g0 = arg[i]!, g1 = arg[i + 1]!, g2 = arg[i + 2]!, g3 = arg[i + 3]!
        let j = j0
        for (; j < j4; j += 4) {
          const ya = j * d
          const yb = ya + d
          const yc = yb + d
          const yd = yc + d
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0
          let b0 = 0, b1 = 0, b2 = 0, b3 = 0
          let c0 = 0, c1 = 0, c2 = 0, c3 = 0
          let d0 = 0, d1 = 0, d2 = 0, d3 = 0
          for (let t = 0; t < d; t++) {
            const v0 = y[ya + t]!
            const v1 = y[yb + t]!
            const v2 = y[yc + t]!
            const v3 = y[yd + t]!
            let u = x[xa + t]!
            a0 += u * v0; a1 += u * v1; a2 += u * v2; a3 += u * v3
            u = x[xb + t]!
            b0 += u * v0; b1 += u * v1; b2 += u * v2; b3 += u * v3
            u = x[xc + t]!
            c0 += u * v0; c1 += u * v1; c2 += u * v2; c3 += u * v3
            u = x[xd + t]!
            d0 += u * v0; d1 += u * v1; d2 += u * v2; d3 += u * v3
          }
          const n0 = yNorms[j]!, n1 = yNorms[j + 1]!, n2 = yNorms[j + 2]!, n3 = yNorms[j + 3]!
          let s: number
          // Row a: running minimum m0 (index g0) and second minimum s0.
          s = n0 - 2 * a0; if (s < s0) { if (s < m0) { s0 = m0; m0 = s; g0 = j } else s0 = s }
          s = n1 - 2 * a1; if (s < s0) { if (s < m0) { s0 = m0; m0 = s; g0 = j + 1 } else s0 = s }
          s = n2 - 2 * a2; if (s < s0) { if (s < m0) { s0 = m0; m0 = s; g0 = j + 2 } else s0 = s }
          s = n3 - 2 * a3; if (s < s0) { if (s < m0) { s0 = m0; m0 = s; g0 = j + 3 } else s0 = s }
          s = n0 - 2 * b0; if (s < s1) { if (s < m1) { s1 = m1; m1 = s; g1 = j } else s1 = s }
          s = n1 - 2 * b1; if (s < s1) { if (s < m1) { s1 = m1; m1 = s; g1 = j + 1 } else s1 = s }
          s = n2 - 2 * b2; if (s < s1) { if (s < m1) { s1 = m1; m1 = s; g1 = j + 2 } else s1 = s }
          s = n3 - 2 * b3; if (s < s1) { if (s < m1) { s1 = m1; m1 = s; g1 = j + 3 } else s1 = s }
          s = n0 - 2 * c0; if (s < s2) { if (s < m2) { s2 = m2; m2 = s; g2 = j } else s2 = s }
          s = n1 - 2 * c1; if (s < s2) { if (s < m2) { s2 = m2; m2 = s; g2 = j + 1 } else s2 = s }
          s = n2 - 2 * c2; if (s < s2) { if (s < m2) { s2 = m2; m2 = s; g2 = j + 2 } else s2 = s }
          s = n3 - 2 * c3; if (s < s2) { if (s < m2) { s2 = m2; m2 = s; g2 = j + 3 } else s2 = s }
          s = n0 - 2 * d0; if (s < s3) { if (s < m3) { s3 = m3; m3 = s; g3 = j } else s3 = s }
          s = n1 - 2 * d1; if (s < s3) { if (s < m3) { s3 = m3; m3 = s; g3 = j + 1 } else s3 = s }
          s = n2 - 2 * d2; if (s < s3) { if (s < m3) { s3 = m3; m3 = s; g3 = j + 2 } else s3 = s }
          s = n3 - 2 * d3; if (s < s3) { if (s < m3) { s3 = m3; m3 = s; g3 = j + 3 } else s3 = s }
        }
        for (; j < j1; j++) {
          const yo = j * d
          const nj = yNorms[j]!
          let s: number
          s = nj - 2 * innerProduct(x, xa, y, yo, d); if (s < s0) { if (s < m0) { s0 = m0; m0 = s; g0 = j } else s0 = s }
          s = nj - 2 * innerProduct(x, xb, y, yo, d); if (s < s1) { if (s < m1) { s1 = m1; m1 = s; g1 = j } else s1 = s }
          s = nj - 2 * innerProduct(x, xc, y, yo, d); if (s < s2) { if (s < m2) { s2 = m2; m2 = s; g2 = j } else s2 = s }
          s = nj - 2 * innerProduct(x, xd, y, yo, d); if (s < s3) { if (s < m3) { s3 = m3; m3 = s; g3 = j } else s3 = s }
        }
        best[i] = m0; best[i + 1] = m1; best[i + 2] = m2; best[i + 3] = m3
        second[i] = s0; second[i + 1] = s1; second[i + 2] = s2; second[i + 3] = s3
        arg[i] = g0; arg[i + 1] = g1; arg[i + 2] = g2; arg[i + 3] = g3
      }
      for (; i < bx; i++) {
        const xo = (i0 + i) * d
        let m = best[i]!
        let s2 = second[i]!
        let g = arg[i]!
        for (let j = j0; j < j1; j++) {
          const s = yNorms[j]! - 2 * innerProduct(x, xo, y, j * d, d)
          if (s < s2) {
            if (s < m) {
              s2 = m
              m = s
              g = j
            } else s2 = s
          }
        }
        best[i] = m
        second[i] = s2
        arg[i] = g
      }
    }
    for (let i = 0; i < bx; i++) {
      const xo = (i0 + i) * d
      const xn = innerProduct(x, xo, x, xo, d)
      const s = xn + best[i]!
      outIdx[i0 + i] = arg[i]!
      outDist[i0 + i] = s > 0 ? s : 0
      if (outSecond) {
        const s2 = xn + second[i]!
        outSecond[i0 + i] = s2 > 0 ? s2 : 0
      }
    }
  }
}
