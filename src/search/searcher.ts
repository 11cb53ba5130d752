/**
 * The search procedure, one query at a time, over a model and a view of the lists. The
 * same code runs on the main thread and in the worker threads.
 *
 * 1. Rotate the (prepared) query with OPQ when there is one.
 * 2. Probe the nprobe nearest lists. With a filter that allows no more items than an
 *    unfiltered search would scan, every list is visited but only its allowed items are
 *    scored (one bit test per item); with a broader filter, lists are taken nearest first
 *    until at least nprobe are probed and enough allowed items were scanned (see
 *    FILTER_FACTOR). Either way k results come back whenever k allowed items exist.
 * 3. Scan each probed list's codes (ListScanner) and keep the best candidates in a bounded
 *    heap labelled list*2^32 + offset; filtered-out items (a bit per seq) never enter it.
 *    4-bit PQ codes on a SIMD backend go through fast-scan instead (unfiltered searches):
 *    the backend scans a packed copy of each list with byte tables and returns the items
 *    that may beat the current k-th candidate, with their float-table distances (the
 *    plain scan's distances up to float32 rounding), so the candidates are those of the
 *    plain scan. One table serves all lists: residual L2 codes are scored as
 *    ||q - c||^2 + term + (-2<q, r>), with each item's term held beside its packed code.
 * 4. Re-rank when the index has a refine stage: k*refineFactor candidates are rescored with
 *    the refine codec or, for RFlat, exactly on the stored full vectors (fetched by id in
 *    one batch), and the best k are kept.
 * Distances are returned in the public convention (see types.ts).
 */
import {
  type FastScan, fastScanPack, fastScanPackedSize, heapInit, heapPush, heapPushMany, heapSort, type ResidentRef,
} from '../../native-free-kernels/index.js'
import { type ListsView, LIST_STRIDE } from '../ivf/inverted-lists.js'
import { ProductQuantizer } from '../quantizers/pq.js'
import type { CodeScanner } from '../quantizers/quantizer.js'
import { ListScanner } from './list-scanner.js'
import type { IndexModel } from './model.js'

/** Codes scanned per block inside a list. */
const SCAN_BLOCK = 16384
/**
 * A filtered search keeps probing lists (nearest first, beyond nprobe) until it has
 * scanned at least FILTER_FACTOR * (candidates wanted) allowed items.
 */
export const FILTER_FACTOR = 4

/** Allowed items, as one bit per seq (bit seq & 7 of byte seq >> 3), and how many there are. */
export interface FilterBits {
  readonly bits: Uint8Array
  readonly count: number
}

/** Per-query search parameters, resolved. */
export interface SearchParams {
  readonly k: number
  readonly nprobe: number
  /** Candidates re-ranked = k * refineFactor (only with a refine stage). */
  readonly refineFactor: number
  readonly filter: FilterBits | null
}

/** Fetches the stored vectors of n ids into out (n*dim floats, as added); returns a flag per id (1 found, 0 missing). */
export type FetchVectors = (ids: Float64Array, n: number, out: Float32Array) => Uint8Array

/** Search statistics of the last query (for benches and tests). */
export interface QueryStats {
  listsProbed: number
  codesScanned: number
  allowedScanned: number
}

export class Searcher {
  readonly #model: IndexModel
  readonly #fetch: FetchVectors | null
  readonly #scanner: ListScanner
  readonly #refineScanner: CodeScanner | null
  #qt: Float32Array
  #probeList = new Float64Array(0)
  #probeDist = new Float32Array(0)
  #dist = new Float32Array(SCAN_BLOCK)
  #heapDist = new Float32Array(0)
  #heapLabel = new Float64Array(0)
  /** Gather buffers for scoring only allowed items. */
  #gCodes = new Uint8Array(0)
  #gTerms = new Float32Array(0)
  #gOffsets = new Int32Array(0)
  /** Re-ranking buffers (RFlat): candidate ids, their vectors, scores and norms. */
  #rIds = new Float64Array(0)
  #rVecs = new Float32Array(0)
  #rScores = new Float32Array(0)
  #rNorms = new Float64Array(0)
  /** Stats of the last query. */
  readonly stats: QueryStats = { listsProbed: 0, codesScanned: 0, allowedScanned: 0 }
  /** The fast-scan engine (4-bit PQ on a SIMD backend), or null. */
  readonly #fs: FastScan | null = null
  /**
   * IVF residual L2: fast-scan segments carry each item's term and the query's table is an
   * inner-product one for 2q (see FastScan), so no table is built per list.
   */
  readonly #fsTerms: boolean = false
  /** Fast-scan distances need the list's probe distance added (IVF residual codes). */
  readonly #fsBias: boolean = false
  /** 2q for #fsTerms. */
  #fsQuery = new Float32Array(0)
  /** Lists uid and per-list stamps of the segments loaded into #fs (-1: none). */
  #fsUid = -1
  #fsStamps = new Float64Array(0)
  #fsPacked = new Uint8Array(0)
  #fsSegs = new Int32Array(0)
  #fsBiases = new Float32Array(0)
  /**
   * The kernels' resident copies of the lists' codes (backends with memory of their own),
   * one per list block, versioned by the lists' uid and the list's stamp; undefined otherwise.
   */
  readonly #resident: ResidentRef | undefined

  /** fetchVectors: how RFlat reads stored vectors (null when the index has no RFlat stage). */
  constructor(model: IndexModel, fetchVectors: FetchVectors | null) {
    this.#model = model
    this.#fetch = fetchVectors
    this.#scanner = new ListScanner(model)
    this.#refineScanner = model.refineCodec ? model.refineCodec.scanner(model.inner) : null
    this.#qt = new Float32Array(model.dCoded)
    const store = model.kernels.createResidentCodes?.()
    this.#resident = store ? { store, key: 0, version: 0 } : undefined
    const codec = model.codec
    if (codec instanceof ProductQuantizer && codec.nbits === 4 && model.kernels.createFastScan && codec.isTrained) {
      this.#fsTerms = model.byResidual && model.inner === 'l2'
      this.#fsBias = model.byResidual
      this.#fs = model.kernels.createFastScan(codec.centroids, codec.m, codec.dsub, this.#fsTerms ? 'ip' : model.inner, this.#fsTerms)
      this.#fsQuery = new Float32Array(this.#fsTerms ? model.dCoded : 0)
    }
  }

  /** Bytes of the fast-scan copies of the lists held by the kernel backend (0 without fast-scan). */
  get fastScanBytes(): number {
    return this.#fs?.bytes ?? 0
  }

  /** Bytes of the other codes' copies held by the kernel backend (see Kernels.pqScan). */
  get residentBytes(): number {
    return this.#resident?.store.bytes ?? 0
  }

  /**
   * Searches one prepared query q[qOff..qOff+dim) over the lists; writes k ids (-1 padded)
   * and public distances (Infinity padded) to outIds / outDist.
   */
  search(lists: ListsView, q: Float32Array, qOff: number, p: SearchParams, outIds: Float64Array, outDist: Float32Array): void {
    const model = this.#model
    const { k } = p
    const refine = model.spec.refine
    const kc = refine ? k * Math.max(1, p.refineFactor) : k
    if (this.#heapDist.length < kc) {
      this.#heapDist = new Float32Array(kc)
      this.#heapLabel = new Float64Array(kc)
    }
    const hd = this.#heapDist.subarray(0, kc)
    const hl = this.#heapLabel.subarray(0, kc)

    // 1. Query in the coded space.
    let qt = q
    let qtOff = qOff
    if (model.transform) {
      model.transform.apply(q.subarray(qOff, qOff + model.dim), 1, this.#qt)
      qt = this.#qt
      qtOff = 0
    }

    // 2. Probe.
    const nlist = model.coarse.nlist
    const filter = p.filter
    const want = filter ? nlist : Math.min(p.nprobe, nlist)
    if (this.#probeList.length < want) {
      this.#probeList = new Float64Array(want)
      this.#probeDist = new Float32Array(want)
    }
    const probed = model.coarse.probe(qt, qtOff, want, this.#probeList, this.#probeDist)

    // 3. Scan.
    const fast = this.#fs !== null && filter === null
    heapInit(kc, hd, hl)
    const stats = this.stats
    stats.listsProbed = 0
    stats.codesScanned = 0
    stats.allowedScanned = 0
    if (fast) this.#searchFast(lists, qt, qtOff, probed, kc, hd, hl)
    else this.#scanner.setQuery(qt, qtOff)
    // A selective filter (no more allowed items than an unfiltered search would scan) is
    // served by scoring exactly the allowed items of every list: as accurate as probing
    // every list, for the cost of one bit test per item. Otherwise lists are probed nearest
    // first until enough allowed items were seen.
    const unfilteredScan = (Math.min(p.nprobe, nlist) * lists.count) / nlist
    const allowedOnly = filter !== null && filter.count <= unfilteredScan
    const minAllowed = filter ? Math.min(filter.count, FILTER_FACTOR * kc) : 0
    for (let pi = 0; !fast && pi < probed; pi++) {
      if (filter && !allowedOnly && pi >= p.nprobe && stats.allowedScanned >= minAllowed) break
      const l = this.#probeList[pi]!
      const n = lists.size[l]!
      stats.listsProbed++
      if (n === 0) continue
      const start = lists.start[l]!
      this.#scanner.setList(this.#probeDist[pi]!, l)
      if (allowedOnly) {
        stats.allowedScanned += this.#scanAllowed(lists, l, start, n, filter!.bits, kc, hd, hl)
        continue
      }
      for (let o = 0; o < n; o += SCAN_BLOCK) {
        const b = Math.min(SCAN_BLOCK, n - o)
        const s0 = start + o
        const resident = this.#resident
        if (resident) {
          resident.key = l * LIST_STRIDE + o
          resident.version = lists.uid * LIST_STRIDE + lists.stamps[l]!
        }
        this.#scanner.scan(lists.codes.subarray(s0 * lists.codeSize, (s0 + b) * lists.codeSize), b, this.#dist,
          lists.terms ? lists.terms.subarray(s0, s0 + b) : null, resident)
        stats.codesScanned += b
        if (filter) stats.allowedScanned += pushFiltered(kc, hd, hl, this.#dist, b, l * LIST_STRIDE + o, lists.seqs, s0, filter.bits)
        else heapPushMany(kc, hd, hl, this.#dist, b, l * LIST_STRIDE + o)
      }
    }
    heapSort(kc, hd, hl)

    // 4. Re-rank, or map the candidates straight to the output.
    if (refine && kc > 0) {
      if (refine.kind === 'flat') this.#refineFlat(lists, q, qOff, kc, hd, hl)
      else this.#refineCodec(lists, q, qOff, kc, hd, hl)
    }
    const cosineHalf = model.metric === 'cosine' && refine?.kind !== 'flat'
    for (let j = 0; j < k; j++) {
      const label = j < kc ? hl[j]! : -1
      if (label < 0) {
        outIds[j] = -1
        outDist[j] = Infinity
        continue
      }
      outIds[j] = lists.ids[slotOf(lists, label)]!
      outDist[j] = cosineHalf ? hd[j]! / 2 : hd[j]!
    }
  }

  /**
   * Scores only the allowed items of list l (slots start..start+n) and offers them to the
   * heap. Returns how many there were.
   */
  #scanAllowed(lists: ListsView, l: number, start: number, n: number, bits: Uint8Array, kc: number, hd: Float32Array, hl: Float64Array): number {
    let count = 0
    for (let o = 0; o < n; o++) {
      const seq = lists.seqs[start + o]!
      if ((bits[seq >>> 3]! & (1 << (seq & 7))) === 0) continue
      if (count === this.#gOffsets.length) this.#growGather()
      this.#gOffsets[count++] = o
    }
    this.#scoreSelected(lists, l, start, this.#gOffsets, count, kc, hd, hl)
    return count
  }

  /**
   * Fast-scan of the probed lists: brings their packed copies up to date, then lets the
   * backend scan them all in one call with the heap in its memory (tables per list, byte
   * threshold following the k-th distance, survivors scored with the float tables).
   */
  #searchFast(lists: ListsView, qt: Float32Array, qtOff: number, probed: number, kc: number, hd: Float32Array, hl: Float64Array): void {
    const fs = this.#fs!
    if (this.#fsSegs.length < probed) {
      this.#fsSegs = new Int32Array(probed)
      this.#fsBiases = new Float32Array(probed)
    }
    let nl = 0
    for (let pi = 0; pi < probed; pi++) {
      const l = this.#probeList[pi]!
      const n = lists.size[l]!
      this.stats.listsProbed++
      if (n === 0) continue
      this.#syncSegment(lists, l, lists.start[l]!, n)
      this.#fsSegs[nl] = l
      this.#fsBiases[nl++] = this.#fsBias ? this.#probeDist[pi]! : 0
    }
    if (this.#fsTerms) {
      const q2 = this.#fsQuery
      for (let t = 0; t < q2.length; t++) q2[t] = 2 * qt[qtOff + t]!
      fs.setQuery(q2, 0)
    } else {
      fs.setQuery(qt, qtOff)
    }
    this.stats.codesScanned += fs.search(this.#fsSegs, nl, this.#fsBiases, kc, hd, hl)
  }

  /** Loads list l into the fast-scan engine when its content changed since it was loaded. */
  #syncSegment(lists: ListsView, l: number, start: number, n: number): void {
    if (this.#fsUid !== lists.uid || this.#fsStamps.length !== lists.nlist) {
      this.#fsUid = lists.uid
      this.#fsStamps = new Float64Array(lists.nlist).fill(-1)
    }
    if (this.#fsStamps[l] === lists.stamps[l]) return
    const codec = this.#model.codec as ProductQuantizer
    const columns = this.#fs!.columns
    const bytes = fastScanPackedSize(n, columns)
    if (this.#fsPacked.length < bytes) this.#fsPacked = new Uint8Array(Math.max(bytes, this.#fsPacked.length * 2))
    fastScanPack(lists.codes, start * lists.codeSize, lists.codeSize, n, codec.m, this.#fsPacked, 0, columns)
    const terms = this.#fsTerms
      ? this.#model.residualTerms(new Int32Array(n).fill(l), lists.codes.subarray(start * lists.codeSize, (start + n) * lists.codeSize), n)
      : undefined
    this.#fs!.setSegment(l, this.#fsPacked, n, terms)
    this.#fsStamps[l] = lists.stamps[l]!
  }

  /**
   * Scores the items at positions offsets[0..count) of list l (slots from start) with the
   * ListScanner (gathering their codes and terms) and offers them to the heap.
   */
  #scoreSelected(lists: ListsView, l: number, start: number, offsets: Int32Array, count: number, kc: number, hd: Float32Array, hl: Float64Array): void {
    if (count === 0) return
    const cs = lists.codeSize
    while (this.#gOffsets.length < count) this.#growGather()
    for (let i = 0; i < count; i++) {
      const o = offsets[i]!
      this.#gCodes.set(lists.codes.subarray((start + o) * cs, (start + o + 1) * cs), i * cs)
      if (lists.terms) this.#gTerms[i] = lists.terms[start + o]!
    }
    if (this.#dist.length < count) this.#dist = new Float32Array(count)
    this.#scanner.scan(this.#gCodes.subarray(0, count * cs), count, this.#dist, lists.terms ? this.#gTerms : null)
    this.stats.codesScanned += count
    let top = hd[0]!
    for (let i = 0; i < count; i++) {
      const d = this.#dist[i]!
      if (d > top) continue
      if (heapPush(kc, hd, hl, d, l * LIST_STRIDE + offsets[i]!)) top = hd[0]!
    }
  }

  /** Doubles the gather buffers of #scanAllowed. */
  #growGather(): void {
    const cap = Math.max(256, this.#gOffsets.length * 2)
    const cs = this.#model.scanCodeSize
    const codes = new Uint8Array(cap * cs)
    codes.set(this.#gCodes)
    const terms = new Float32Array(cap)
    terms.set(this.#gTerms)
    const offsets = new Int32Array(cap)
    offsets.set(this.#gOffsets)
    this.#gCodes = codes
    this.#gTerms = terms
    this.#gOffsets = offsets
  }

  /** Rescores the kc candidates with the refine codec (on the prepared query) and keeps them sorted. */
  #refineCodec(lists: ListsView, q: Float32Array, qOff: number, kc: number, hd: Float32Array, hl: Float64Array): void {
    const rs = lists.refineSize
    const stride = this.#model.refineCodec!.scanCodeSize
    const codes = new Uint8Array(kc * stride)
    let n = 0
    for (let j = 0; j < kc && hl[j]! >= 0; j++, n++) {
      const slot = slotOf(lists, hl[j]!)
      codes.set(lists.refine!.subarray(slot * rs, (slot + 1) * rs), j * stride)
    }
    const scores = new Float32Array(n)
    this.#refineScanner!.setQuery(q, qOff)
    this.#refineScanner!.scan(codes, n, scores)
    rerank(kc, n, scores, hd, hl)
  }

  /** Rescores the kc candidates exactly on their stored vectors (as added) and keeps them sorted. */
  #refineFlat(lists: ListsView, q: Float32Array, qOff: number, kc: number, hd: Float32Array, hl: Float64Array): void {
    const model = this.#model
    const d = model.dim
    let n = 0
    while (n < kc && hl[n]! >= 0) n++
    if (this.#rIds.length < n) {
      this.#rIds = new Float64Array(n)
      this.#rVecs = new Float32Array(n * d)
      this.#rScores = new Float32Array(n)
      this.#rNorms = new Float64Array(n)
    }
    const ids = this.#rIds
    const vecs = this.#rVecs
    const scores = this.#rScores
    for (let j = 0; j < n; j++) ids[j] = lists.ids[slotOf(lists, hl[j]!)]!
    const found = this.#fetch!(ids, n, vecs)
    const K = model.kernels
    // One one-to-many kernel call for all candidates.
    if (model.metric === 'l2') {
      K.l2sqrMany(q, qOff, vecs, n, d, scores)
    } else {
      K.innerProductMany(q, qOff, vecs, n, d, scores)
      if (model.metric === 'ip') {
        for (let j = 0; j < n; j++) scores[j] = -scores[j]!
      } else {
        const norms = this.#rNorms
        K.normsL2sqr(vecs, n, d, norms)
        const qn = Math.sqrt(K.innerProduct(q, qOff, q, qOff, d))
        for (let j = 0; j < n; j++) {
          const den = qn * Math.sqrt(norms[j]!)
          scores[j] = 1 - (den > 0 ? scores[j]! / den : 0)
        }
      }
    }
    for (let j = 0; j < n; j++) if (!found[j]) scores[j] = Infinity
    rerank(kc, n, scores, hd, hl)
  }
}

/** Arena slot of a candidate label (list * 2^32 + offset). */
function slotOf(lists: ListsView, label: number): number {
  const l = Math.floor(label / LIST_STRIDE)
  return lists.start[l]! + (label - l * LIST_STRIDE)
}

/**
 * Offers n candidates like heapPushMany, but only those whose seq has its bit set in
 * `bits`; seqs of the candidates are seqs[s0 .. s0+n). Returns how many were allowed.
 */
function pushFiltered(
  k: number, hd: Float32Array, hl: Float64Array, cand: Float32Array, n: number, labelOffset: number,
  seqs: Uint32Array, s0: number, bits: Uint8Array,
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

/**
 * Replaces the first n sorted candidates' distances by `scores` and re-sorts them by
 * (score, label); the remaining kc - n slots stay empty.
 */
function rerank(kc: number, n: number, scores: Float32Array, hd: Float32Array, hl: Float64Array): void {
  const labels = hl.slice(0, n)
  heapInit(kc, hd, hl)
  for (let j = 0; j < n; j++) heapPush(kc, hd, hl, scores[j]!, labels[j]!)
  heapSort(kc, hd, hl)
}
