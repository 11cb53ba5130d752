/**
 * The kernel contract shared by every backend (plain TypeScript and WebAssembly SIMD; the
 * reference backend is the truth both are tested against).
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

/** How a fast-scan table scores a sub-vector: squared L2, or negated inner product. */
export type FastScanMode = 'l2' | 'ip'

/**
 * 4-bit PQ fast-scan over codes held by a SIMD backend (layout: fastscan.ts; byte tables
 * and the survivor guarantee: reference/fastscan.ts). Codes live in the backend's memory as segments (an
 * IVF list, or all codes), each packed by fastScanPack and replaced as a whole when it
 * changes. A search builds one table for the query and scans whole segments, keeping the
 * codes that may beat the current k-th distance, scored with the float table (the same
 * ADC distance a plain scan computes, up to float32 rounding).
 *
 * An engine created with terms holds a float per item beside its codes, added to the
 * item's distance. This is how IVF residual codes are searched under L2 without a table
 * per list: ||q - c - r||^2 = ||q - c||^2 + (||r||^2 + 2<c, r>) + (-2<q, r>), with the
 * probe distance ||q - c||^2 as the segment's bias, the middle term per item, and the last
 * from an inner-product table for 2q (see IndexModel.residualTerms).
 */
export interface FastScan {
  /** Columns of the packed layout this engine reads: m, or m + 1 with terms (their 4-bit levels). */
  readonly columns: number
  /**
   * Stores segment seg: n codes packed by fastScanPack with `columns` columns
   * (fastScanPackedSize(n, columns) bytes), and, for an engine with terms, their n terms
   * (the engine writes their levels into the last column, see fastScanPackTerms).
   */
  setSegment(seg: number, packed: Uint8Array, n: number, terms?: F32): void
  /** Sets the query, q[qOff..qOff + m*dsub) in the coded space. */
  setQuery(q: F32, qOff: number): void
  /**
   * Scans whole segments in one call, with one table built against the query: segments
   * segs[0..nl) (their numbers are the IVF list numbers), distances plus bias[s] (plus each
   * item's term), candidates offered to the heap hd / hl of k entries (the heap of
   * topk.ts, labels seg*2^32 + position), the byte threshold following its k-th distance.
   * Returns the number of codes scanned.
   */
  search(segs: Int32Array, nl: number, bias: F32, k: number, hd: F32, hl: Float64Array): number
  /** Bytes held in the backend's memory. */
  readonly bytes: number
  /** Releases the backend memory. */
  free(): void
}

/**
 * A scan of 4-bit sub-codes through per-query byte tables, with a per-item affine map: the
 * RaBitQ estimator (a 1-bit code of d dimensions read as m = ceil(d/4) sub-codes, bit t of
 * sub-code j being dimension 4j + t, i.e. the code bytes themselves in fastScanPack's
 * per-vector layout; with the query quantized to few bits, the table entries are small
 * integers and byte tables are exact). Held by a SIMD backend as segments, as FastScan.
 *
 * For item i of a segment with table T (m x 16 bytes, entry [j*16 + c] for sub-code j with
 * value c) and constants alpha, beta, gamma:
 *   raw_i = sum over j < m of T[j*16 + c_ij]   (an exact integer, < 2^24)
 *   est_i = ((a_i + b_i * ((alpha * raw_i) + beta)) + gamma)
 * evaluated in float32 in exactly that order, each multiplication and addition rounded to
 * float32 on its own (no fused multiply-add), so that estimates are the same bits as
 * reference/lutscan.ts lutScanEstimate computes.
 */
export interface LutScan {
  /** Sub-codes per item (columns of the packed layout). */
  readonly m: number
  /**
   * Stores segment seg: n codes packed by fastScanPack with m columns
   * (fastScanPackedSize(n, m) bytes of packed), and the items' a[0..n) and b[0..n).
   * Replaces what the segment held; a segment never set holds no items.
   */
  setSegment(seg: number, packed: Uint8Array, n: number, a: F32, b: F32): void
  /**
   * Scans segments segs[0..nl) in one call: segment segs[t] with its own byte table
   * tables[t*m*16 .. (t+1)*m*16) and constants alpha = consts[3t], beta = consts[3t + 1],
   * gamma = consts[3t + 2]. Each item whose est is <= the heap's k-th distance is offered
   * to the heap hd / hl of k entries (heapPush of topk.ts: ties by label), labelled
   * segs[t]*2^32 + position; the heap's content after the call is that of offering every
   * item in turn. Returns the number of codes scanned (every item of every segment).
   */
  search(segs: Int32Array, nl: number, tables: Uint8Array, consts: F32, k: number, hd: F32, hl: Float64Array): number
  /**
   * Writes est of every item of segment seg into out[0..n) (alpha, beta, gamma rounded
   * to float32 first, as consts is), with table as one of search's tables.
   */
  estimates(seg: number, table: Uint8Array, alpha: number, beta: number, gamma: number, out: F32): void
  /** Bytes held in the backend's memory. */
  readonly bytes: number
  /** Releases the backend memory. */
  free(): void
}

/**
 * Codes that a backend with memory of its own keeps between calls, so that an IVF list
 * searched again is not copied again (Kernels.createResidentCodes). One per searcher; its
 * copies are freed by free() or when it is garbage collected.
 */
export interface ResidentCodes {
  /** Bytes held in the backend's memory. */
  readonly bytes: number
  /** Releases them. */
  free(): void
}

/** Names the resident copy of the codes of one call (see Kernels.pqScan). */
export interface ResidentRef {
  readonly store: ResidentCodes
  /** A slot of the caller's choosing (e.g. an IVF list). */
  key: number
  /** Changes whenever the codes of that slot change. */
  version: number
}

/**
 * Stateless math over typed arrays: exactly the kernels the library calls. Every backend
 * implements all of it; the tests compare each implementation against the naive reference
 * backend. Oracles that only the tests use (cosine similarity, the fast-scan reference
 * scan) live beside that backend in reference/, not here.
 */
export interface Kernels {
  /** Name of the backend, e.g. "reference" or "ts". */
  readonly name: string
  /** Bytes of the backend's own memory on this thread (the WebAssembly linear memory); absent for backends without one. */
  readonly memoryBytes?: number

  /** Squared Euclidean distance between a[aOff..aOff+d) and b[bOff..bOff+d). */
  l2sqr(a: F32, aOff: number, b: F32, bOff: number, d: number): number
  /** Inner product of a[aOff..aOff+d) and b[bOff..bOff+d). */
  innerProduct(a: F32, aOff: number, b: F32, bOff: number, d: number): number

  /** out[i] = l2sqr(q[qOff..], x row i) for i < n. x: n*d; out: length >= n. */
  l2sqrMany(q: F32, qOff: number, x: F32, n: number, d: number, out: F32): void
  /** out[i] = innerProduct(q[qOff..], x row i) for i < n. x: n*d; out: length >= n. */
  innerProductMany(q: F32, qOff: number, x: F32, n: number, d: number, out: F32): void

  /**
   * The p rows of x (n*d) nearest to q[qOff..qOff+d), nearest first (an IVF probe):
   * mode 'l2' by l2sqrMany's distances, 'ip' by largest inner product, as distances
   * -innerProductMany. Writes their distances to outDist and row numbers to outRow
   * (length >= p), ties to the smaller row; 1 <= p <= n. The rows are usually pinned.
   */
  nearestRows(q: F32, qOff: number, x: F32, n: number, d: number, mode: FastScanMode, p: number, outDist: F32, outRow: Float64Array): void

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
  // biome-ignore format: parameters grouped as in the kernel (inputs, norms, outputs)
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
   * out: length >= n. tableVersion (optional): a caller that passes the same table array
   * with the same version promises the same contents as in its previous call, so a
   * backend may reuse its copy of the table (a query's table serves every IVF list).
   * resident (optional): a caller that passes the same key and version again promises the
   * same codes, so a backend may keep its copy of them in resident.store and skip copying.
   */
  pqScan(codes: Uint8Array, n: number, m: number, nbits: number, table: F32, out: F32, tableVersion?: number, resident?: ResidentRef): void

  /**
   * Squared L2 between q[qOff..qOff+d) and n vectors stored as IEEE half floats.
   * codes: n*d half-float bit patterns (Uint16Array, little-endian values); out: >= n.
   */
  fp16L2(q: F32, qOff: number, codes: Uint16Array, n: number, d: number, out: F32): void
  /** Inner product between q[qOff..qOff+d) and n half-float vectors (layout as fp16L2). */
  fp16Dot(q: F32, qOff: number, codes: Uint16Array, n: number, d: number, out: F32): void

  /**
   * Optional: keeps a copy of `a` where this backend reads fastest, so that later calls
   * passing the same array object skip copying it. The caller must never change `a`
   * afterwards. Backends that read typed arrays in place do not define it.
   */
  pin?(a: F32 | Uint8Array): void
  /**
   * Optional (SIMD backends): a fast-scan engine for 4-bit PQ codes of m sub-quantizers of
   * dimension dsub; centroids: layout (m, 16, dsub). terms: segments carry a term per item.
   */
  createFastScan?(centroids: F32, m: number, dsub: number, mode: FastScanMode, terms?: boolean): FastScan
  /**
   * Optional (SIMD backends): a lookup-table scan of m 4-bit sub-codes per item with the
   * per-item affine map of LutScan (the RaBitQ fast-scan), 1 <= m <= 65793 (so that m * 255 < 2^24).
   */
  createLutScan?(m: number): LutScan
  /** Optional (backends with memory of their own): a store for pqScan's resident copies. */
  createResidentCodes?(): ResidentCodes
}
