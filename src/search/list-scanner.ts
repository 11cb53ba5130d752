/**
 * The seam between the index and the per-codec hot loop, per list (FAISS's
 * InvertedListScanner): setQuery once per query, setList once per probed list, then scan
 * that list's codes. It hides how residual codes are handled:
 *
 * - direct: codes are of the vectors themselves (no IVF, or byResidual off): the codec's
 *   scanner, set up once per query;
 * - residual, inner product: <q, c + r> = <q, c> + <q, r>: the query's table once, plus the
 *   list's coarse term -<q, c_l> (the probe distance) as a bias;
 * - residual, L2, precomputed (IVF-PQ): table_l = T2[l] + T3 with T3 = -2<q_j, r_jc> once per
 *   query and T2 from the model, plus ||q - c_l||^2 (the probe distance) as a bias;
 * - residual, L2, generic: the codec's scanner set on q - c_l for each list.
 */
import type { CodeScanner } from '../quantizers/quantizer.js'
import { ProductQuantizer } from '../quantizers/pq.js'
import type { IndexModel } from './model.js'

type Mode = 'direct' | 'residual-ip' | 'residual-precomputed' | 'residual-generic'

export class ListScanner {
  readonly #model: IndexModel
  readonly #mode: Mode
  readonly #inner: CodeScanner
  /** The query in the coded space. */
  readonly #q: Float32Array
  /** q - c_l for the generic residual mode. */
  readonly #qr: Float32Array
  /** T3 and the per-list table for the precomputed mode. */
  readonly #t3: Float32Array
  readonly #table: Float32Array
  #bias = 0

  /** A scanner for the model's codec and metric. */
  constructor(model: IndexModel) {
    this.#model = model
    const d = model.dCoded
    this.#q = new Float32Array(d)
    this.#qr = new Float32Array(d)
    if (!model.byResidual) this.#mode = 'direct'
    else if (model.inner === 'ip') this.#mode = 'residual-ip'
    else if (model.precomputed && model.codec instanceof ProductQuantizer) this.#mode = 'residual-precomputed'
    else this.#mode = 'residual-generic'
    this.#inner = model.codec.scanner(model.inner)
    const pq = model.codec instanceof ProductQuantizer ? model.codec : null
    const tableSize = this.#mode === 'residual-precomputed' && pq ? pq.m * pq.ksub : 0
    this.#t3 = new Float32Array(tableSize)
    this.#table = new Float32Array(tableSize)
  }

  /** Sets the query (already in the coded space: after OPQ), q[qOff..qOff+dCoded). */
  setQuery(q: Float32Array, qOff: number): void {
    this.#q.set(q.subarray(qOff, qOff + this.#model.dCoded))
    if (this.#mode === 'direct' || this.#mode === 'residual-ip') this.#inner.setQuery(this.#q, 0)
    else if (this.#mode === 'residual-precomputed') {
      const pq = this.#model.codec as ProductQuantizer
      pq.computeTable('ip', this.#q, 0, this.#t3) // -<q_j, r_jc>
      for (let i = 0; i < this.#t3.length; i++) this.#t3[i] = 2 * this.#t3[i]!
    }
  }

  /** Prepares for list l, whose probe distance (internal convention) is coarseDist. */
  setList(l: number, coarseDist: number): void {
    switch (this.#mode) {
      case 'direct':
        this.#bias = 0
        return
      case 'residual-ip':
        this.#bias = coarseDist
        return
      case 'residual-precomputed': {
        const n = this.#t3.length
        const base = l * n
        const pre = this.#model.precomputed!
        for (let i = 0; i < n; i++) this.#table[i] = pre[base + i]! + this.#t3[i]!
        this.#bias = coarseDist
        return
      }
      case 'residual-generic': {
        const d = this.#model.dCoded
        const c = this.#model.coarse.centroids
        for (let t = 0; t < d; t++) this.#qr[t] = this.#q[t]! - c[l * d + t]!
        this.#inner.setQuery(this.#qr, 0)
        this.#bias = 0
      }
    }
  }

  /** out[i] = distance to code i of the current list; codes: n*codeSize bytes. */
  scan(codes: Uint8Array, n: number, out: Float32Array): void {
    if (this.#mode === 'residual-precomputed') {
      const pq = this.#model.codec as ProductQuantizer
      this.#model.kernels.pqScan(codes, n, pq.m, pq.nbits, this.#table, out)
    } else {
      this.#inner.scan(codes, n, out)
    }
    const b = this.#bias
    if (b !== 0) for (let i = 0; i < n; i++) out[i] = out[i]! + b
  }
}
