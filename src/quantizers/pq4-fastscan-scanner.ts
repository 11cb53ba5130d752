/**
 * 4-bit PQ lists on a SIMD backend: fast-scan (Kernels.createFastScan, see fastscan.ts).
 * Unfiltered searches hand the backend a packed copy of each probed list and scan them all
 * in one call with the heap in its memory: byte tables, a byte threshold following the k-th
 * distance, survivors scored with the float tables (the plain scan's distances up to float32
 * rounding), so the candidates are those of the plain scan. One table serves all lists:
 * residual L2 codes are scored as ||q - c||^2 + term + (-2<q, r>) (residual.ts), each item's
 * term held beside its packed code, the probe distance as the segment's bias. Filtered
 * searches score one list at a time with the plain scanner (CodeListScanner).
 *
 * The packed copies are this scanner's: a list is packed again when its stamp changed, or
 * when the scanner is handed other lists (another uid).
 */
import { type FastScan, fastScanPack, fastScanPackedSize } from '../../native-free-kernels/index.js'
import type { ListsView } from '../ivf/inverted-lists.js'
import type { ListScanner, ListScanSetup, ScanProbedArgs, SeqBits } from './list-scanner.js'
import type { ProductQuantizer } from './pq.js'
import { doubledQuery, residualTerms } from './residual.js'

/** Vectors decoded at a time by the residual terms of a list being packed. */
const TERM_BLOCK = 64

/** True when pq's lists can be fast-scanned under setup (4-bit codes, trained, a backend with fast-scan). */
export function fastScanSupported(pq: ProductQuantizer, setup: ListScanSetup): boolean {
  return pq.nbits === 4 && pq.isTrained && setup.kernels.createFastScan !== undefined
}

export class Pq4FastScanScanner implements ListScanner {
  readonly #pq: ProductQuantizer
  readonly #setup: ListScanSetup
  readonly #fs: FastScan
  /** Filtered searches. */
  readonly #plain: ListScanner
  /** IVF residual L2: segments carry each item's term and the table is an inner-product one for 2q. */
  readonly #terms: boolean
  /** Distances need the list's probe distance added (IVF residual codes). */
  readonly #bias: boolean
  /** 2q for #terms. */
  readonly #q2: Float32Array
  #q: Float32Array = new Float32Array(0)
  #qOff = 0
  /** The plain scanner has the current query. */
  #plainReady = false
  /** Lists uid and per-list stamps of the segments loaded into #fs (-1: none). */
  #uid = -1
  #stamps = new Float64Array(0)
  #packed = new Uint8Array(0)
  #segs = new Int32Array(0)
  #biases = new Float32Array(0)
  /** #listTerms' output and its decoded block (TERM_BLOCK vectors). */
  #termOut = new Float32Array(0)
  readonly #termDecoded: Float32Array

  /** pq: trained, 4-bit (see fastScanSupported); plain: its scanner for filtered searches. */
  constructor(pq: ProductQuantizer, setup: ListScanSetup, plain: ListScanner) {
    this.#pq = pq
    this.#setup = setup
    this.#plain = plain
    const residual = setup.residualOf !== null
    this.#terms = residual && setup.inner === 'l2'
    this.#bias = residual
    this.#fs = setup.kernels.createFastScan!(pq.centroids, pq.m, pq.dsub, this.#terms ? 'ip' : setup.inner, this.#terms)
    this.#q2 = new Float32Array(this.#terms ? pq.dim : 0)
    this.#termDecoded = new Float32Array(this.#terms ? TERM_BLOCK * pq.dim : 0)
  }

  get fastScanBytes(): number {
    return this.#fs.bytes
  }

  get residentBytes(): number {
    return this.#plain.residentBytes
  }

  setQuery(q: Float32Array, qOff: number): void {
    this.#q = q
    this.#qOff = qOff
    this.#plainReady = false
  }

  scanProbed(...[lists, probeLists, probeDist, probed, k, hd, hl]: ScanProbedArgs): number {
    const fs = this.#fs
    if (this.#segs.length < probed) {
      this.#segs = new Int32Array(probed)
      this.#biases = new Float32Array(probed)
    }
    let nl = 0
    for (let pi = 0; pi < probed; pi++) {
      const l = probeLists[pi]!
      const n = lists.size[l]!
      if (n === 0) continue
      this.#sync(lists, l, lists.start[l]!, n)
      this.#segs[nl] = l
      this.#biases[nl++] = this.#bias ? probeDist[pi]! : 0
    }
    if (this.#terms) {
      doubledQuery(this.#q, this.#qOff, this.#q2.length, this.#q2)
      fs.setQuery(this.#q2, 0)
    } else {
      fs.setQuery(this.#q, this.#qOff)
    }
    return fs.search(this.#segs, nl, this.#biases, k, hd, hl)
  }

  /** Loads list l into the engine when its content changed since it was loaded. */
  #sync(lists: ListsView, l: number, start: number, n: number): void {
    if (this.#uid !== lists.uid || this.#stamps.length !== lists.nlist) {
      this.#uid = lists.uid
      this.#stamps = new Float64Array(lists.nlist).fill(-1)
    }
    if (this.#stamps[l] === lists.stamps[l]) return
    const pq = this.#pq
    const columns = this.#fs.columns
    const bytes = fastScanPackedSize(n, columns)
    if (this.#packed.length < bytes) this.#packed = new Uint8Array(Math.max(bytes, this.#packed.length * 2))
    fastScanPack(lists.codes, start * lists.codeSize, lists.codeSize, n, pq.m, this.#packed, 0, columns)
    const terms = this.#terms ? this.#listTerms(lists, l, start, n) : undefined
    this.#fs.setSegment(l, this.#packed, n, terms)
    this.#stamps[l] = lists.stamps[l]!
  }

  /**
   * The residual terms of list l's n items (those of residualTerms, computed alike item by
   * item), in a buffer this scanner reuses: decoding a block at a time into reused scratch
   * (pq.decode keeps its own),
   * so that packing the lists allocates nothing per list (the C allocator kept ~2 MB of such
   * transient arrays over a glove100 workload, bench/memory-attrib.ts).
   */
  #listTerms(lists: ListsView, l: number, start: number, n: number): Float32Array {
    if (this.#termOut.length < n) this.#termOut = new Float32Array(Math.max(n, 2 * this.#termOut.length))
    const codes = lists.codes.subarray(start * lists.codeSize, (start + n) * lists.codeSize)
    const centroids = this.#setup.residualOf!.centroids
    return residualTerms(this.#pq, centroids, this.#setup.kernels, l, codes, n, this.#termOut, this.#termDecoded).subarray(0, n)
  }

  #plainQuery(): ListScanner {
    if (!this.#plainReady) {
      this.#plain.setQuery(this.#q, this.#qOff)
      this.#plainReady = true
    }
    return this.#plain
  }

  scanList(lists: ListsView, l: number, coarseDist: number, bits: SeqBits, k: number, hd: Float32Array, hl: Float64Array): number {
    return this.#plainQuery().scanList(lists, l, coarseDist, bits, k, hd, hl)
  }

  scanAllowed(lists: ListsView, l: number, coarseDist: number, bits: Uint8Array, k: number, hd: Float32Array, hl: Float64Array): number {
    return this.#plainQuery().scanAllowed(lists, l, coarseDist, bits, k, hd, hl)
  }
}
