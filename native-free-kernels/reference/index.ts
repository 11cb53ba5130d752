/**
 * The reference backend: the plainest loops that compute each kernel's definition.
 * It is the truth the fast backends are tested against, not a production path.
 * Array layouts and lengths are documented on the Kernels interface (../types.ts).
 *
 * Beside the Kernels contract it carries the test oracles that no fast backend has to
 * implement: cosineSimilarity here (ReferenceKernels), and the fast-scan reference
 * (byte tables, threshold, scan) in ./fastscan.ts.
 */
import { halfToFloat } from '../fp16.js'
import type { F32, Kernels } from '../types.js'

function l2sqr(a: F32, aOff: number, b: F32, bOff: number, d: number): number {
  let s = 0
  for (let t = 0; t < d; t++) {
    const diff = a[aOff + t]! - b[bOff + t]!
    s += diff * diff
  }
  return s
}

function innerProduct(a: F32, aOff: number, b: F32, bOff: number, d: number): number {
  let s = 0
  for (let t = 0; t < d; t++) s += a[aOff + t]! * b[bOff + t]!
  return s
}

/**
 * Cosine similarity of a[aOff..aOff+d) and b[bOff..bOff+d); 0 when either vector has zero
 * norm. A test oracle: the library computes cosine as the inner product of normalized
 * vectors, so no backend implements it.
 */
export function cosineSimilarity(a: F32, aOff: number, b: F32, bOff: number, d: number): number {
  const na = innerProduct(a, aOff, a, aOff, d)
  const nb = innerProduct(b, bOff, b, bOff, d)
  if (na === 0 || nb === 0) return 0
  return innerProduct(a, aOff, b, bOff, d) / Math.sqrt(na * nb)
}

/** Reads sub-code j (nbits wide, packed LSB first) of the code starting at byte off. */
function readSubCode(codes: Uint8Array, off: number, j: number, nbits: number): number {
  let v = 0
  for (let b = 0; b < nbits; b++) {
    const bit = j * nbits + b
    v |= ((codes[off + (bit >>> 3)]! >>> (bit & 7)) & 1) << b
  }
  return v
}

/** The reference backend: the Kernels contract plus the cosineSimilarity oracle. */
export interface ReferenceKernels extends Kernels {
  /** See cosineSimilarity above (an oracle, not part of Kernels). */
  cosineSimilarity(a: F32, aOff: number, b: F32, bOff: number, d: number): number
}

/** The reference backend (plain loops; layouts as documented on Kernels in ../types.ts). */
export const referenceKernels: ReferenceKernels = {
  name: 'reference',
  l2sqr,
  innerProduct,
  cosineSimilarity,
  l2sqrMany(q, qOff, x, n, d, out) {
    for (let i = 0; i < n; i++) out[i] = l2sqr(q, qOff, x, i * d, d)
  },
  innerProductMany(q, qOff, x, n, d, out) {
    for (let i = 0; i < n; i++) out[i] = innerProduct(q, qOff, x, i * d, d)
  },
  normsL2sqr(x, n, d, out) {
    for (let i = 0; i < n; i++) out[i] = innerProduct(x, i * d, x, i * d, d)
  },
  nearestRows(q, qOff, x, n, d, mode, p, outDist, outRow) {
    // Every row's float32 distance, sorted by (distance, row): the first p.
    const rows = Array.from({ length: n }, (_, i) => {
      const v = mode === 'l2' ? l2sqr(q, qOff, x, i * d, d) : -innerProduct(q, qOff, x, i * d, d)
      return { i, v: Math.fround(v) }
    })
    rows.sort((a, b) => a.v - b.v || a.i - b.i)
    for (let j = 0; j < p; j++) {
      outDist[j] = rows[j]!.v
      outRow[j] = rows[j]!.i
    }
  },
  innerProductMatrix(x, nx, y, ny, d, out) {
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < ny; j++) out[i * ny + j] = innerProduct(x, i * d, y, j * d, d)
    }
  },
  nearestL2(x, nx, y, ny, d, _yNorms, outIdx, outDist, outSecond) {
    for (let i = 0; i < nx; i++) {
      let best = Infinity
      let second = Infinity
      let arg = -1
      for (let j = 0; j < ny; j++) {
        const s = l2sqr(x, i * d, y, j * d, d)
        if (s < best) {
          second = best
          best = s
          arg = j
        } else if (s < second) {
          second = s
        }
      }
      outIdx[i] = arg
      outDist[i] = best
      if (outSecond) outSecond[i] = second
    }
  },
  pqTableL2(q, qOff, centroids, m, ksub, dsub, out) {
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < ksub; c++) {
        out[j * ksub + c] = l2sqr(q, qOff + j * dsub, centroids, (j * ksub + c) * dsub, dsub)
      }
    }
  },
  pqTableIP(q, qOff, centroids, m, ksub, dsub, out) {
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < ksub; c++) {
        out[j * ksub + c] = innerProduct(q, qOff + j * dsub, centroids, (j * ksub + c) * dsub, dsub)
      }
    }
  },
  pqScan(codes, n, m, nbits, table, out) {
    const ksub = 1 << nbits
    const codeSize = Math.ceil((m * nbits) / 8)
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let j = 0; j < m; j++) s += table[j * ksub + readSubCode(codes, i * codeSize, j, nbits)]!
      out[i] = s
    }
  },
  fp16L2(q, qOff, codes, n, d, out) {
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let t = 0; t < d; t++) {
        const diff = q[qOff + t]! - halfToFloat(codes[i * d + t]!)
        s += diff * diff
      }
      out[i] = s
    }
  },
  fp16Dot(q, qOff, codes, n, d, out) {
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let t = 0; t < d; t++) s += q[qOff + t]! * halfToFloat(codes[i * d + t]!)
      out[i] = s
    }
  },
}
