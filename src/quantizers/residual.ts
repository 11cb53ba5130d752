/**
 * IVF residual codes: the one place where their distance is decomposed.
 *
 * With IVF by residual, an item of list l is coded as r = x - c_l (c_l its list centroid),
 * and decodes to c_l + r^. For a query q:
 *
 *   inner product:  -<q, c + r> = -<q, c> + (-<q, r>)
 *                   = probe distance of the list + an inner-product scan of r;
 *   L2:             ||q - c - r||^2 = ||q - c||^2 + (||r||^2 + 2<c, r>) + (-2<q, r>)
 *                   = probe distance + the item's term + an inner-product scan for 2q.
 *
 * The L2 middle term depends on the item only: it is computed once per item (residualTerms,
 * when items are encoded or loaded, or when a fast-scan segment is packed) and kept as one
 * float per item, so a query needs one inner-product table for 2q for every list and no
 * table per list (FAISS tabulates this term per list and sub-code instead:
 * nlist*m*ksub floats). A codec may instead scan against q - c_l with one table per probed
 * list and keep no terms (ResidualMode 'table', see list-scanner.ts).
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import type { Quantizer } from './quantizer.js'

/**
 * The query-independent term ||r||^2 + 2<c, r> of each of n residual-coded items: lists (n
 * list numbers, or one list number for all), codes (n*codec.codeSize bytes), centroids
 * (nlist*d, d = codec.dim). out and scratch (a whole number of decoded vectors) let a caller
 * that computes terms often reuse its buffers (the fast-scan packing, per list); by default
 * both are new.
 */
export function residualTerms(
  codec: Quantizer,
  centroids: Float32Array,
  kernels: Kernels,
  lists: ArrayLike<number> | number,
  codes: Uint8Array,
  n: number,
  out: Float32Array = new Float32Array(n),
  scratch?: Float32Array,
): Float32Array {
  const d = codec.dim
  const cs = codec.codeSize
  const block = scratch ? Math.floor(scratch.length / d) : 4096
  const r = scratch ?? new Float32Array(Math.min(block, n) * d)
  for (let i0 = 0; i0 < n; i0 += block) {
    const b = Math.min(block, n - i0)
    codec.decode(codes.subarray(i0 * cs, (i0 + b) * cs), b, r)
    for (let i = 0; i < b; i++) {
      const c = (typeof lists === 'number' ? lists : lists[i0 + i]!) * d
      out[i0 + i] = kernels.innerProduct(r, i * d, r, i * d, d) + 2 * kernels.innerProduct(centroids, c, r, i * d, d)
    }
  }
  return out
}

/** out[0..d) = 2 * q[qOff..qOff+d): the query of the inner-product scan of the L2 decomposition. */
export function doubledQuery(q: Float32Array, qOff: number, d: number, out: Float32Array): void {
  for (let t = 0; t < d; t++) out[t] = 2 * q[qOff + t]!
}

/** out[0..d) = q[qOff..qOff+d) - c_l: the query of a per-list L2 table (ResidualMode 'table'). */
export function queryMinusCentroid(q: Float32Array, qOff: number, centroids: Float32Array, l: number, d: number, out: Float32Array): void {
  for (let t = 0; t < d; t++) out[t] = q[qOff + t]! - centroids[l * d + t]!
}

/**
 * out[i] += terms[i] + bias for i < n: the L2 decomposition's item terms and probe distance
 * added to the inner-product scan of 2q.
 */
export function addTermsAndBias(out: Float32Array, n: number, terms: Float32Array, bias: number): void {
  for (let i = 0; i < n; i++) out[i] = out[i]! + terms[i]! + bias
}
