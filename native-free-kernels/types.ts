/**
 * The kernel contract shared by every backend (plain TypeScript today; WebAssembly SIMD later).
 *
 * Conventions, stated once for the whole module:
 * - Vectors are row-major: vector i of a set of n vectors of dimension d occupies
 *   elements [i*d, (i+1)*d) of a Float32Array of length at least n*d.
 * - "One-to-one" kernels take (array, offset) pairs so that a single row of a larger
 *   buffer can be used without creating a view.
 * - Output arrays are allocated by the caller and are written from index 0.
 * - Kernels validate nothing: callers check sizes at the API door.
 * - Kernels accumulate in float64 (JavaScript numbers) and round once when storing
 *   into a Float32Array output.
 */

/** Any typed array of 32-bit floats that a kernel reads. */
export type F32 = Float32Array

/**
 * Stateless math over typed arrays. Every backend implements all of it; the tests
 * compare each implementation against the naive reference backend.
 */
export interface Kernels {
  /** Name of the backend, e.g. "reference" or "ts". */
  readonly name: string

  /** Squared Euclidean distance between a[aOff..aOff+d) and b[bOff..bOff+d). */
  l2sqr(a: F32, aOff: number, b: F32, bOff: number, d: number): number
  /** Inner product of a[aOff..aOff+d) and b[bOff..bOff+d). */
  innerProduct(a: F32, aOff: number, b: F32, bOff: number, d: number): number
  /**
   * Cosine similarity of a[aOff..aOff+d) and b[bOff..bOff+d); 0 when either vector
   * has zero norm.
   */
  cosineSimilarity(a: F32, aOff: number, b: F32, bOff: number, d: number): number

  /** out[i] = l2sqr(q[qOff..], x row i) for i < n. x: n*d; out: length >= n. */
  l2sqrMany(q: F32, qOff: number, x: F32, n: number, d: number, out: F32): void
  /** out[i] = innerProduct(q[qOff..], x row i) for i < n. x: n*d; out: length >= n. */
  innerProductMany(q: F32, qOff: number, x: F32, n: number, d: number, out: F32): void
  /** out[i] = cosineSimilarity(q[qOff..], x row i) for i < n. x: n*d; out: length >= n. */
  cosineSimilarityMany(q: F32, qOff: number, x: F32, n: number, d: number, out: F32): void

  /** out[i] = squared norm of row i of x (n*d); out: length >= n. */
  normsL2sqr(x: F32, n: number, d: number, out: F32 | Float64Array): void

  /**
   * Many-to-many inner products, blocked: out[i*ny + j] = <x row i, y row j>.
   * x: nx*d, y: ny*d, out: length >= nx*ny.
   */
  innerProductMatrix(x: F32, nx: number, y: F32, ny: number, d: number, out: F32): void

  /**
   * Many-to-many nearest neighbour under squared L2 (the k-means assignment step).
   * For each row i of x (nx*d) finds the row j of y (ny*d) that minimises the squared
   * distance; ties go to the smaller j. yNorms: squared norms of the rows of y (length
   * ny), as produced by normsL2sqr. Writes outIdx[i] = j and outDist[i] = the squared
   * distance (clamped at 0), and with outSecond the second-smallest squared distance of
   * row i (Infinity when ny = 1). Uses memory O(d + block), never nx*ny.
   */
  nearestL2(
    x: F32, nx: number, y: F32, ny: number, d: number,
    yNorms: Float64Array | F32, outIdx: Int32Array, outDist: F32, outSecond?: F32,
  ): void

  /**
   * Product-quantizer distance table for squared L2:
   * out[j*ksub + c] = || q[qOff + j*dsub ..+dsub) - centroids[(j*ksub + c)*dsub ..+dsub) ||^2.
   * centroids: layout (m, ksub, dsub), length m*ksub*dsub; out: length >= m*ksub.
   */
  pqTableL2(q: F32, qOff: number, centroids: F32, m: number, ksub: number, dsub: number, out: F32): void
  /** As pqTableL2, with the inner product <q sub-vector j, centroid c of sub-space j>. */
  pqTableIP(q: F32, qOff: number, centroids: F32, m: number, ksub: number, dsub: number, out: F32): void

  /**
   * Asymmetric distance computation (ADC) over n product-quantized codes:
   * out[i] = sum over j < m of table[j*ksub + code_j(i)], with ksub = 2^nbits.
   * codes: n*codeSize bytes, codeSize = ceil(m*nbits/8); sub-codes are packed
   * least-significant bit first (nbits = 8: one byte each; nbits = 4: sub-code 2t in
   * the low nibble of byte t, 2t+1 in the high nibble). table: length m*ksub.
   * out: length >= n.
   */
  pqScan(codes: Uint8Array, n: number, m: number, nbits: number, table: F32, out: F32): void

  /**
   * Scalar-quantizer squared L2 on 8-bit codes, without decoding to a buffer.
   * Dimension t of code row i decodes to x_t = offset[t] + step[t] * codes[i*d + t].
   * qShift[t] = q[t] - offset[t] is precomputed by the caller. codes: n*d bytes.
   * out[i] = sum_t (qShift[t] - step[t]*code)^2.
   */
  sq8L2(qShift: F32, step: F32, codes: Uint8Array, n: number, d: number, out: F32): void
  /**
   * Weighted sum on 8-bit codes: out[i] = bias + sum_t w[t] * codes[i*d + t].
   * With w[t] = q[t]*step[t] and bias = sum_t q[t]*offset[t] this is <q, decoded x>.
   */
  sq8Dot(w: F32, bias: number, codes: Uint8Array, n: number, d: number, out: F32): void
  /**
   * As sq8L2 on 4-bit codes, two per byte: dimension 2t in the low nibble of byte t,
   * 2t+1 in the high nibble; codeSize = ceil(d/2) bytes per row.
   */
  sq4L2(qShift: F32, step: F32, codes: Uint8Array, n: number, d: number, out: F32): void
  /** As sq8Dot on 4-bit codes (layout as in sq4L2). */
  sq4Dot(w: F32, bias: number, codes: Uint8Array, n: number, d: number, out: F32): void
  /**
   * Squared L2 between q[qOff..qOff+d) and n vectors stored as IEEE half floats.
   * codes: n*d half-float bit patterns (Uint16Array, little-endian values); out: >= n.
   */
  fp16L2(q: F32, qOff: number, codes: Uint16Array, n: number, d: number, out: F32): void
  /** Inner product between q[qOff..qOff+d) and n half-float vectors (layout as fp16L2). */
  fp16Dot(q: F32, qOff: number, codes: Uint16Array, n: number, d: number, out: F32): void
}
