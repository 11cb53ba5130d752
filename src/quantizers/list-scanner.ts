/**
 * The seam between the searcher and each codec's hot loop, per list (FAISS's
 * InvertedListScanner). A codec says, through Quantizer.listScanPlan, how its lists are laid
 * out (whether they keep a residual term per item) and makes ListScanners: setQuery once per
 * query, then either scanProbed (every probed list, unfiltered) or scanList / scanAllowed
 * (one list at a time, for filtered searches). Candidates go to a bounded heap (topk.ts)
 * labelled list*2^32 + offset; filtered-out items never enter it.
 *
 * CodeListScanner is the scanner of every codec whose distances come from a CodeScanner
 * (Flat, SQ, fp16, PQ): it scans each list in blocks, lets backends with memory of their own
 * keep resident copies of the lists' codes, and handles residual codes (see residual.ts):
 *
 * - 'direct': codes are of the vectors themselves (no IVF, or byResidual off): the codec's
 *   scanner for the metric, set on q;
 * - 'ip': the codec's inner-product scanner set on q, plus the list's probe distance;
 * - 'terms' (L2): the codec's inner-product scanner set on 2q, plus each item's term (kept
 *   by the lists) and the list's probe distance; no table per list;
 * - 'table' (L2): the codec's L2 scanner set on q - c_l for each probed list; no terms.
 */
import { heapPush, heapPushMany, type Kernels, type ResidentRef } from '../../native-free-kernels/index.js'
import type { CoarseQuantizer } from '../ivf/coarse.js'
import { LIST_STRIDE, type ListsView } from '../ivf/inverted-lists.js'
import type { CodeScanner, InnerMetric, Quantizer } from './quantizer.js'
import { addTermsAndBias, doubledQuery, queryMinusCentroid } from './residual.js'

/** Codes scanned per block inside a list. */
const SCAN_BLOCK = 16384

/** What a codec's lists are scanned under. */
export interface ListScanSetup {
  readonly kernels: Kernels
  /** Metric as codecs see it. */
  readonly inner: InnerMetric
  /** The coarse quantizer whose centroids the codes are residuals of (IVF by residual), or null. */
  readonly residualOf: CoarseQuantizer | null
}

/** A codec's list layout and its scanners. */
export interface ListScanPlan {
  /** The lists keep one float32 per item: its residual term (residual.ts). */
  readonly terms: boolean
  /** A new scanner; one per thread of queries, reused across queries. */
  create(): ListScanner
}

/** Scans lists of one codec for one query at a time (see the module comment). */
export interface ListScanner {
  /** Bytes of fast-scan copies of the lists held by the kernel backend. */
  readonly fastScanBytes: number
  /** Bytes of other resident copies of codes held by the kernel backend (see Kernels.pqScan). */
  readonly residentBytes: number
  /** Sets the query, in the coded space (after OPQ): q[qOff..qOff+d). q must not change until the query is done. */
  setQuery(q: Float32Array, qOff: number): void
  /**
   * Scans the n probed lists probeLists[0..n) (probe distances probeDist, internal
   * convention), every item, offering candidates to the heap (k entries hd / hl). Returns
   * the number of codes scanned.
   */
  scanProbed(...args: ScanProbedArgs): number
  /**
   * Scans every item of the non-empty list l (probe distance coarseDist) and offers those
   * whose seq bit is set in bits (all when bits is null) to the heap. Returns how many were
   * offered.
   */
  scanList(lists: ListsView, l: number, coarseDist: number, bits: SeqBits, k: number, hd: Float32Array, hl: Float64Array): number
  /** Scores only the items of list l whose seq bit is set in bits and offers them to the heap. Returns how many there were. */
  scanAllowed(lists: ListsView, l: number, coarseDist: number, bits: Uint8Array, k: number, hd: Float32Array, hl: Float64Array): number
  /** Optional (codecs with a query-side quantization, RaBitQ): bits per query component for the next setQuery (0: float query). */
  setQueryBits?(qb: number): void
  /**
   * Optional (codecs whose estimates come with an error bound, RaBitQ): for the n
   * candidates hl[0..n) of the current query (labels list*2^32 + offset) with estimated
   * distances hd[0..n), writes a lower and an upper bound of each one's true distance
   * (internal convention) to lower / upper. The searcher reads from disk only candidates
   * whose lower bound is within the k-th smallest upper bound.
   */
  bounds?(lists: ListsView, hd: Float32Array, hl: Float64Array, n: number, lower: Float32Array, upper: Float32Array): void
}

/**
 * The parameters of ListScanner.scanProbed (called once per query), named once for the
 * interface and its implementations; the last three are the candidate heap (k entries,
 * distances hd, labels hl). The per-list scans take plain parameters: they run once per
 * probed list, and a rest parameter would allocate an array per call.
 */
export type ScanProbedArgs = [
  lists: ListsView,
  probeLists: Float64Array,
  probeDist: Float32Array,
  n: number,
  k: number,
  hd: Float32Array,
  hl: Float64Array,
]

/** The seq bits that select the items a list scan offers (bit seq & 7 of byte seq >> 3); null: all. */
export type SeqBits = Uint8Array | null

/** How residual codes are scored (see the module comment). */
export type ResidualMode = 'direct' | 'ip' | 'terms' | 'table'

/** The residual mode of a codec under setup; perListTables: L2 residual codes are scanned with one table per list, without terms. */
export function residualMode(setup: ListScanSetup, perListTables: boolean): ResidualMode {
  if (!setup.residualOf) return 'direct'
  if (setup.inner === 'ip') return 'ip'
  return perListTables ? 'table' : 'terms'
}

/** The plan of a codec scanned by CodeListScanner. */
export function codeListPlan(codec: Quantizer, setup: ListScanSetup, perListTables = false): ListScanPlan {
  const mode = residualMode(setup, perListTables)
  return { terms: mode === 'terms', create: () => new CodeListScanner(codec, setup, mode) }
}

/** List scanning over a codec's CodeScanner (see the module comment). */
export class CodeListScanner implements ListScanner {
  readonly #mode: ResidualMode
  readonly #inner: CodeScanner
  readonly #d: number
  readonly #scanCodeSize: number
  readonly #residualOf: CoarseQuantizer | null
  /** 2q ('terms') or q - c_l ('table'). */
  readonly #qx: Float32Array
  #q: Float32Array = new Float32Array(0)
  #qOff = 0
  #dist = new Float32Array(SCAN_BLOCK)
  /** Gather buffers for scoring only allowed items. */
  #gCodes = new Uint8Array(0)
  #gTerms = new Float32Array(0)
  #gOffsets = new Int32Array(0)
  /**
   * The kernels' resident copies of the lists' codes (backends with memory of their own),
   * one per list block (key list*2^32 + offset); undefined otherwise. A list's copies are
   * versioned by this scanner: a new version whenever it sees other lists, or the list's
   * stamp changed.
   */
  readonly #resident: ResidentRef | undefined
  #seenUid = -1
  /** The lists view #codeViews are of, and per list the view of its codes when it fits one block (made once per view, not per query). */
  #viewsOf: ListsView | null = null
  #codeViews: (Uint8Array | undefined)[] = []
  #seenStamps = new Float64Array(0)
  #versions = new Float64Array(0)
  #nextVersion = 0

  /** A scanner of codec's codes in the given residual mode. */
  constructor(codec: Quantizer, setup: ListScanSetup, mode: ResidualMode) {
    this.#mode = mode
    this.#d = codec.dim
    this.#scanCodeSize = codec.scanCodeSize
    this.#residualOf = setup.residualOf
    this.#qx = new Float32Array(codec.dim)
    this.#inner = codec.scanner(mode === 'direct' || mode === 'table' ? setup.inner : 'ip')
    const store = setup.kernels.createResidentCodes?.()
    this.#resident = store ? { store, key: 0, version: 0 } : undefined
  }

  get fastScanBytes(): number {
    return 0
  }

  get residentBytes(): number {
    return this.#resident?.store.bytes ?? 0
  }

  setQuery(q: Float32Array, qOff: number): void {
    if (this.#mode === 'table') {
      this.#q = q
      this.#qOff = qOff
    } else if (this.#mode === 'terms') {
      doubledQuery(q, qOff, this.#d, this.#qx)
      this.#inner.setQuery(this.#qx, 0)
    } else {
      this.#inner.setQuery(q, qOff)
    }
  }

  scanProbed(...[lists, probeLists, probeDist, n, k, hd, hl]: ScanProbedArgs): number {
    // The unfiltered scan of every probed list, with the per-list work inline (the hot loop
    // of 8-bit ADC and SQ searches; scanList is the same for one list, with a filter).
    const cs = lists.codeSize
    const resident = this.#resident
    const addTerms = this.#mode === 'terms' && lists.terms !== null
    const out = this.#dist
    let scanned = 0
    for (let pi = 0; pi < n; pi++) {
      const l = probeLists[pi]!
      const size = lists.size[l]!
      if (size === 0) continue
      const bias = this.#setList(l, probeDist[pi]!)
      const start = lists.start[l]!
      if (resident) resident.version = this.#versionOf(lists, l)
      for (let o = 0; o < size; o += SCAN_BLOCK) {
        const b = Math.min(SCAN_BLOCK, size - o)
        const s0 = start + o
        if (resident) resident.key = l * LIST_STRIDE + o
        const codes = size <= SCAN_BLOCK ? this.#listCodes(lists, l, start, size) : lists.codes.subarray(s0 * cs, (s0 + b) * cs)
        this.#inner.scan(codes, b, out, resident)
        if (addTerms) {
          const terms = lists.terms!
          for (let i = 0; i < b; i++) out[i] = out[i]! + terms[s0 + i]! + bias
        } else if (bias !== 0) {
          for (let i = 0; i < b; i++) out[i] = out[i]! + bias
        }
        heapPushMany(k, hd, hl, out, b, l * LIST_STRIDE + o)
      }
      scanned += size
    }
    return scanned
  }

  /** The codes of list l (start, size: of lists), a view kept until the lists change (a view per scan would allocate). */
  #listCodes(lists: ListsView, l: number, start: number, size: number): Uint8Array {
    if (this.#viewsOf !== lists) {
      this.#viewsOf = lists
      this.#codeViews = new Array<Uint8Array | undefined>(lists.nlist)
    }
    let v = this.#codeViews[l]
    if (v === undefined) {
      const cs = lists.codeSize
      v = lists.codes.subarray(start * cs, (start + size) * cs)
      this.#codeViews[l] = v
    }
    return v
  }

  /** Prepares for list l; returns the bias its distances get. */
  #setList(l: number, coarseDist: number): number {
    if (this.#mode === 'table') {
      queryMinusCentroid(this.#q, this.#qOff, this.#residualOf!.centroids, l, this.#d, this.#qx)
      this.#inner.setQuery(this.#qx, 0)
      return 0
    }
    return this.#mode === 'direct' ? 0 : coarseDist
  }

  /** out[i] = distance to code i: the codec's scan plus terms and bias. */
  #scan(codes: Uint8Array, n: number, out: Float32Array, terms: Float32Array | null, bias: number, resident?: ResidentRef): void {
    this.#inner.scan(codes, n, out, resident)
    if (this.#mode === 'terms' && terms) addTermsAndBias(out, n, terms, bias)
    else if (bias !== 0) for (let i = 0; i < n; i++) out[i] = out[i]! + bias
  }

  scanList(lists: ListsView, l: number, coarseDist: number, bits: SeqBits, k: number, hd: Float32Array, hl: Float64Array): number {
    const bias = this.#setList(l, coarseDist)
    const n = lists.size[l]!
    const start = lists.start[l]!
    const cs = lists.codeSize
    const resident = this.#resident
    if (resident) resident.version = this.#versionOf(lists, l)
    let offered = 0
    for (let o = 0; o < n; o += SCAN_BLOCK) {
      const b = Math.min(SCAN_BLOCK, n - o)
      const s0 = start + o
      if (resident) resident.key = l * LIST_STRIDE + o
      this.#scan(
        lists.codes.subarray(s0 * cs, (s0 + b) * cs),
        b,
        this.#dist,
        lists.terms ? lists.terms.subarray(s0, s0 + b) : null,
        bias,
        resident,
      )
      if (bits) {
        offered += pushFiltered(k, hd, hl, this.#dist, b, l * LIST_STRIDE + o, lists.seqs, s0, bits)
      } else {
        heapPushMany(k, hd, hl, this.#dist, b, l * LIST_STRIDE + o)
        offered += b
      }
    }
    return offered
  }

  /** The resident-copy version of list l of these lists (see #resident). */
  #versionOf(lists: ListsView, l: number): number {
    if (this.#seenUid !== lists.uid || this.#seenStamps.length !== lists.nlist) {
      this.#seenUid = lists.uid
      this.#seenStamps = new Float64Array(lists.nlist).fill(-1)
      this.#versions = new Float64Array(lists.nlist)
    }
    if (this.#seenStamps[l] !== lists.stamps[l]) {
      this.#seenStamps[l] = lists.stamps[l]!
      this.#versions[l] = ++this.#nextVersion
    }
    return this.#versions[l]!
  }

  scanAllowed(lists: ListsView, l: number, coarseDist: number, bits: Uint8Array, k: number, hd: Float32Array, hl: Float64Array): number {
    const n = lists.size[l]!
    const start = lists.start[l]!
    let count = 0
    for (let o = 0; o < n; o++) {
      const seq = lists.seqs[start + o]!
      if ((bits[seq >>> 3]! & (1 << (seq & 7))) === 0) continue
      if (count === this.#gOffsets.length) this.#growGather()
      this.#gOffsets[count++] = o
    }
    if (count === 0) return 0
    const bias = this.#setList(l, coarseDist)
    const cs = lists.codeSize
    const offsets = this.#gOffsets
    for (let i = 0; i < count; i++) {
      const o = offsets[i]!
      this.#gCodes.set(lists.codes.subarray((start + o) * cs, (start + o + 1) * cs), i * cs)
      if (lists.terms) this.#gTerms[i] = lists.terms[start + o]!
    }
    if (this.#dist.length < count) this.#dist = new Float32Array(count)
    this.#scan(this.#gCodes.subarray(0, count * cs), count, this.#dist, lists.terms ? this.#gTerms : null, bias)
    let top = hd[0]!
    for (let i = 0; i < count; i++) {
      const d = this.#dist[i]!
      if (d > top) continue
      if (heapPush(k, hd, hl, d, l * LIST_STRIDE + offsets[i]!)) top = hd[0]!
    }
    return count
  }

  /** Doubles the gather buffers of scanAllowed. */
  #growGather(): void {
    const cap = Math.max(256, this.#gOffsets.length * 2)
    const codes = new Uint8Array(cap * this.#scanCodeSize)
    codes.set(this.#gCodes)
    const terms = new Float32Array(cap)
    terms.set(this.#gTerms)
    const offsets = new Int32Array(cap)
    offsets.set(this.#gOffsets)
    this.#gCodes = codes
    this.#gTerms = terms
    this.#gOffsets = offsets
  }
}

/**
 * Offers n candidates like heapPushMany, but only those whose seq has its bit set in
 * `bits`; seqs of the candidates are seqs[s0 .. s0+n). Returns how many were allowed.
 */
function pushFiltered(
  k: number,
  hd: Float32Array,
  hl: Float64Array,
  cand: Float32Array,
  n: number,
  labelOffset: number,
  seqs: Uint32Array,
  s0: number,
  bits: Uint8Array,
): number {
  let allowed = 0
  let top = hd[0]!
  for (let i = 0; i < n; i++) {
    const s = seqs[s0 + i]!
    if ((bits[s >>> 3]! & (1 << (s & 7))) === 0) continue
    allowed++
    const d = cand[i]!
    if (d > top) continue
    if (heapPush(k, hd, hl, d, labelOffset + i)) top = hd[0]!
  }
  return allowed
}
