/**
 * The seam between the index and the per-codec hot loop, per list (FAISS's
 * InvertedListScanner): setQuery once per query, setList once per probed list, then scan
 * that list's codes. It hides how residual codes are handled:
 *
 * - direct: codes are of the vectors themselves (no IVF, or byResidual off): the codec's
 *   scanner, set up once per query;
 * - residual, inner product: <q, c + r> = <q, c> + <q, r>: the codec's inner-product scanner
 *   set on q once, plus the list's coarse term -<q, c_l> (its probe distance);
 * - residual, L2: ||q - c - r||^2 = ||q - c||^2 + term + (-2<q, r>): the codec's
 *   inner-product scanner set on 2q once, plus each item's term (IndexModel.residualTerms)
 *   and the list's probe distance. No table is built per list.
 * - residual, L2, per-list tables (4-bit PQ: IndexModel.perListTables): the codec's L2
 *   scanner set on q - c for each probed list; no terms.
 */
import type { ResidentRef } from '../../native-free-kernels/index.js'
import type { CodeScanner } from '../quantizers/quantizer.js'
import type { IndexModel } from './model.js'

type Mode = 'direct' | 'residual-ip' | 'residual-l2' | 'residual-table'

export class ListScanner {
  readonly #mode: Mode
  readonly #inner: CodeScanner
  /** 2q for the residual L2 mode. */
  readonly #q2: Float32Array
  readonly #d: number
  readonly #model: IndexModel
  #q: Float32Array = new Float32Array(0)
  #qOff = 0
  #bias = 0

  /** A scanner for the model's codec and metric. */
  constructor(model: IndexModel) {
    this.#d = model.dCoded
    this.#q2 = new Float32Array(model.dCoded)
    this.#model = model
    this.#mode = !model.byResidual ? 'direct' : model.inner === 'ip' ? 'residual-ip' : model.perListTables ? 'residual-table' : 'residual-l2'
    this.#inner = model.codec.scanner(this.#mode === 'direct' || this.#mode === 'residual-table' ? model.inner : 'ip')
  }

  /** Sets the query (already in the coded space: after OPQ), q[qOff..qOff+dCoded). */
  setQuery(q: Float32Array, qOff: number): void {
    if (this.#mode === 'residual-table') {
      this.#q = q
      this.#qOff = qOff
      return
    }
    if (this.#mode !== 'residual-l2') {
      this.#inner.setQuery(q, qOff)
      return
    }
    for (let t = 0; t < this.#d; t++) this.#q2[t] = 2 * q[qOff + t]!
    this.#inner.setQuery(this.#q2, 0)
  }

  /** Prepares for list l, whose probe distance (internal convention) is coarseDist. */
  setList(coarseDist: number, l: number): void {
    if (this.#mode === 'residual-table') {
      const d = this.#d
      const c = this.#model.coarse.centroids
      for (let t = 0; t < d; t++) this.#q2[t] = this.#q[this.#qOff + t]! - c[l * d + t]!
      this.#inner.setQuery(this.#q2, 0)
      this.#bias = 0
      return
    }
    this.#bias = this.#mode === 'direct' ? 0 : coarseDist
  }

  /**
   * out[i] = distance to code i of the current list; codes: n*codeSize bytes; terms: the
   * items' terms (residual L2); resident: see Kernels.pqScan.
   */
  scan(codes: Uint8Array, n: number, out: Float32Array, terms: Float32Array | null, resident?: ResidentRef): void {
    this.#inner.scan(codes, n, out, resident)
    const b = this.#bias
    if (this.#mode === 'residual-l2' && terms) {
      for (let i = 0; i < n; i++) out[i] = out[i]! + terms[i]! + b
    } else if (b !== 0) {
      for (let i = 0; i < n; i++) out[i] = out[i]! + b
    }
  }
}
