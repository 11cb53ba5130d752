/**
 * The search procedure, one query at a time, over a model and a view of the lists. The
 * same code runs on the main thread and in the worker threads: probe -> scan -> top-k ->
 * refine. How a list's codes are scored belongs to the codec (its ListScanner, see
 * quantizers/list-scanner.ts); this file knows no codec.
 *
 * 1. Rotate the (prepared) query with OPQ when there is one.
 * 2. Probe the nprobe nearest lists. With a filter that allows no more items than an
 *    unfiltered search would scan, every list is visited but only its allowed items are
 *    scored (one bit test per item); with a broader filter, lists are taken nearest first
 *    until at least nprobe are probed and enough allowed items were scanned (see
 *    FILTER_FACTOR). Either way k results come back whenever k allowed items exist.
 * 3. Scan the probed lists with the codec's list scanner, keeping the best candidates in a
 *    bounded heap labelled list*2^32 + offset; filtered-out items (a bit per seq) never
 *    enter it.
 * 4. Re-rank when the index has a refine stage: k*refineFactor candidates are rescored with
 *    the refine codec or, for RFlat, exactly on the stored full vectors (fetched by id in
 *    one batch), and the best k are kept. With a codec whose estimates carry an error bound
 *    (RaBitQ), RFlat reads them in batches in estimate order and skips those whose lower
 *    bound exceeds the k-th exact distance read so far.
 * Distances are returned in the public convention (see types.ts).
 */
import { heapInit, heapPush, heapSort } from '../../native-free-kernels/index.js'
import { VqFormatError } from '../errors.js'
import { LIST_STRIDE, type ListsView } from '../ivf/inverted-lists.js'
import type { ListScanner } from '../quantizers/list-scanner.js'
import type { CodeScanner } from '../quantizers/quantizer.js'
import type { IndexModel } from './model.js'

/**
 * A filtered search keeps probing lists (nearest first, beyond nprobe) until it has
 * scanned at least FILTER_FACTOR * (candidates wanted) allowed items.
 */
export const FILTER_FACTOR = 4

/** Bound-driven re-ranking reads candidates in batches of BOUND_BATCH * k (see Searcher.#refineFlat). */
export const BOUND_BATCH = 2

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
  /** Query bits of RaBitQ codecs (0: float query); other codecs ignore it. */
  readonly qb: number
  /** With a bounded codec and RFlat: skip the candidates the bounds rule out. */
  readonly errorBounds: boolean
  /** Narrowed RFlat: candidates read exactly = k * exactFactor (of k * refineFactor). */
  readonly exactFactor: number
  readonly filter: FilterBits | null
  /**
   * 'candidates' (sharded search, phase 1): stop before re-ranking and write the k nearest
   * candidates by the first stage, their labels (list * 2^32 + offset, not ids) and
   * internal distances. Re-rank them with Searcher.exactOf (phase 2).
   */
  readonly stage?: 'candidates'
}

/** Fetches the stored vectors of n ids into out (n*dim floats, as added); returns a flag per id (1 found, 0 missing). */
export type FetchVectors = (ids: Float64Array, n: number, out: Float32Array) => Uint8Array

/** Search statistics of the last query (for benches and tests; never read by the search). */
export interface QueryStats {
  listsProbed: number
  codesScanned: number
  allowedScanned: number
  /** Candidates re-ranked (RFlat: stored vectors read; refine codec: codes rescored). */
  rowsRead: number
}

export class Searcher {
  readonly #model: IndexModel
  readonly #fetch: FetchVectors | null
  readonly #scanner: ListScanner
  readonly #refineScanner: CodeScanner | null
  #qt: Float32Array
  #probeList = new Float64Array(0)
  #probeDist = new Float32Array(0)
  #heapDist = new Float32Array(0)
  #heapLabel = new Float64Array(0)
  /** Views of the heap buffers for the last candidate count (#heapK): a query of the same count makes none. */
  #heapK = -1
  #hd = new Float32Array(0)
  #hl = new Float64Array(0)
  /** Candidate labels kept while they are re-ranked. */
  #rLabels = new Float64Array(0)
  /** Re-ranking buffers (refine codec): the candidates' refine codes. */
  #rCodes = new Uint8Array(0)
  /** Re-ranking buffers (RFlat): candidate ids, their vectors, scores and norms. */
  #rIds = new Float64Array(0)
  #rVecs = new Float32Array(0)
  #rScores = new Float32Array(0)
  #rNorms = new Float64Array(0)
  /** Stats of the last query: an observation only. */
  readonly stats: QueryStats = { listsProbed: 0, codesScanned: 0, allowedScanned: 0, rowsRead: 0 }
  /** Bound-driven re-ranking scratch: the candidates' distance bounds (codecs with ListScanner.bounds). */
  #lower = new Float32Array(0)
  #upper = new Float32Array(0)
  /** Narrowed RFlat: the error codec's scanner (tables of the index's inner metric), the candidates' error codes, scores, terms and the kept ones. */
  readonly #narrowScanner: CodeScanner | null
  #nCodes = new Uint8Array(0)
  #nScore = new Float32Array(0)
  #nTerm = new Float32Array(0)
  /** The candidates' byte offsets in the lists' refine arena. */
  #nFrom = new Float64Array(0)
  /** The sums of the bytes gatherCodes touched first, folded in (kept, so the loads are not dropped). */
  #touched = 0
  #nd = new Float32Array(0)
  #nl = new Float64Array(0)
  /** Little-endian float32 reads of the narrowing terms. */
  readonly #fb = new Uint8Array(4)
  readonly #ff = new Float32Array(this.#fb.buffer)
  /** Exact distances of one read batch. */
  #rExact = new Float32Array(0)
  /** The k best exact distances read so far (a heap), for bound-driven re-ranking. */
  #kd = new Float32Array(0)
  #kl = new Float64Array(0)

  /** fetchVectors: how RFlat reads stored vectors (null when the index has no RFlat stage). */
  constructor(model: IndexModel, fetchVectors: FetchVectors | null) {
    this.#model = model
    this.#fetch = fetchVectors
    this.#scanner = model.scan.create()
    this.#refineScanner = model.refineCodec && !model.narrows ? model.refineCodec.scanner(model.inner) : null
    this.#narrowScanner = model.narrows ? model.refineCodec!.scanner(model.inner) : null
    this.#qt = new Float32Array(model.dCoded)
  }

  /** Bytes of the fast-scan copies of the lists held by the kernel backend (0 without fast-scan). */
  get fastScanBytes(): number {
    return this.#scanner.fastScanBytes
  }

  /** Bytes of the other codes' copies held by the kernel backend (see Kernels.pqScan). */
  get residentBytes(): number {
    return this.#scanner.residentBytes
  }

  /**
   * Searches one prepared query q[qOff..qOff+dim) over the lists; writes k ids (-1 padded)
   * and public distances (Infinity padded) to outIds / outDist.
   */
  search(lists: ListsView, q: Float32Array, qOff: number, p: SearchParams, outIds: Float64Array, outDist: Float32Array): void {
    const model = this.#model
    const { k } = p
    const candidates = p.stage === 'candidates'
    const refine = candidates ? undefined : model.spec.refine
    const kc = refine ? k * Math.max(1, p.refineFactor) : k
    if (kc !== this.#heapK) this.#heapFor(kc)
    const hd = this.#hd
    const hl = this.#hl

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
    heapInit(kc, hd, hl)
    const scanner = this.#scanner
    scanner.setQueryBits?.(p.qb)
    scanner.setQuery(qt, qtOff)
    if (filter === null) {
      const scanned = scanner.scanProbed(lists, this.#probeList, this.#probeDist, probed, kc, hd, hl)
      this.#observe(probed, scanned, 0)
    } else {
      this.#scanFiltered(lists, probed, filter, p.nprobe, kc, hd, hl)
    }
    heapSort(kc, hd, hl)

    // 4. Re-rank, or map the candidates straight to the output.
    this.stats.rowsRead = 0
    if (refine && kc > 0) {
      if (refine.kind === 'flat') this.#refineFlat(lists, q, qOff, qt, qtOff, k, kc, hd, hl, p)
      else this.#refineCodec(lists, q, qOff, kc, hd, hl)
    }
    if (candidates) {
      for (let j = 0; j < k; j++) {
        outIds[j] = hl[j]!
        outDist[j] = hl[j]! < 0 ? Infinity : hd[j]!
      }
      return
    }
    // kc >= k: the heap holds at least the k slots published.
    publish(lists, hl, hd, k, model.metric === 'cosine' && refine?.kind !== 'flat', outIds, outDist)
  }

  /**
   * Sharded search, phase 2: the exact (RFlat) distances of n candidates labels[0..n) of a
   * 'candidates' search on the same lists view, in the public convention, into out; their
   * ids into outIds. Stored vectors are read and scored as the re-ranking of search() does.
   */
  exactOf(lists: ListsView, q: Float32Array, qOff: number, labels: Float64Array, n: number, out: Float32Array, outIds: Float64Array): void {
    this.#ensure(n)
    for (let j = 0; j < n; j++) outIds[j] = lists.ids[slotOf(lists, labels[j]!)]!
    this.#exact(lists, q, qOff, labels, 0, n)
    out.set(this.#rScores.subarray(0, n))
    this.stats.rowsRead = n
  }

  /** Public ids and distances of the first-stage candidates of a 'candidates' search (an index without a refine stage). */
  finishCandidates(
    lists: ListsView,
    labels: Float64Array,
    dist: Float32Array,
    n: number,
    outIds: Float64Array,
    outDist: Float32Array,
  ): void {
    publish(lists, labels, dist, n, this.#model.metric === 'cosine', outIds, outDist)
  }

  /** Heap buffers (and their views) for kc candidates. */
  #heapFor(kc: number): void {
    if (this.#heapDist.length < kc) {
      this.#heapDist = new Float32Array(kc)
      this.#heapLabel = new Float64Array(kc)
      this.#rLabels = new Float64Array(kc)
    }
    this.#hd = this.#heapDist.subarray(0, kc)
    this.#hl = this.#heapLabel.subarray(0, kc)
    this.#heapK = kc
  }

  /**
   * The filtered scan of the probed lists (every list, nearest first). A selective filter
   * (no more allowed items than an unfiltered search would scan) is served by scoring
   * exactly the allowed items of every list: as accurate as probing every list, for the cost
   * of one bit test per item. Otherwise lists are probed nearest first until at least nprobe
   * are probed and enough allowed items were seen.
   */
  #scanFiltered(
    lists: ListsView,
    probed: number,
    filter: FilterBits,
    nprobe: number,
    kc: number,
    hd: Float32Array,
    hl: Float64Array,
  ): void {
    const scanner = this.#scanner
    const nlist = lists.nlist
    const unfilteredScan = (Math.min(nprobe, nlist) * lists.count) / nlist
    const allowedOnly = filter.count <= unfilteredScan
    const minAllowed = Math.min(filter.count, FILTER_FACTOR * kc)
    let allowed = 0
    let scanned = 0
    let pi = 0
    for (; pi < probed; pi++) {
      if (!allowedOnly && pi >= nprobe && allowed >= minAllowed) break
      const l = this.#probeList[pi]!
      const n = lists.size[l]!
      if (n === 0) continue
      if (allowedOnly) {
        const a = scanner.scanAllowed(lists, l, this.#probeDist[pi]!, filter.bits, kc, hd, hl)
        allowed += a
        scanned += a
      } else {
        allowed += scanner.scanList(lists, l, this.#probeDist[pi]!, filter.bits, kc, hd, hl)
        scanned += n
      }
    }
    this.#observe(pi, scanned, allowed)
  }

  #observe(listsProbed: number, codesScanned: number, allowedScanned: number): void {
    const stats = this.stats
    stats.listsProbed = listsProbed
    stats.codesScanned = codesScanned
    stats.allowedScanned = allowedScanned
  }

  /** Rescores the kc candidates with the refine codec (on the prepared query) and keeps them sorted. */
  #refineCodec(lists: ListsView, q: Float32Array, qOff: number, kc: number, hd: Float32Array, hl: Float64Array): void {
    const rs = lists.refineSize
    const stride = this.#model.refineCodec!.scanCodeSize
    if (this.#rCodes.length < kc * stride) this.#rCodes = new Uint8Array(kc * stride)
    if (this.#rScores.length < kc) this.#rScores = new Float32Array(kc)
    const codes = this.#rCodes
    let n = 0
    while (n < kc && hl[n]! >= 0) n++
    if (this.#nFrom.length < n) this.#nFrom = new Float64Array(kc)
    this.#touched ^= gatherCodes(lists, hl, n, rs, stride, this.#nFrom, codes)
    const scores = this.#rScores
    this.#refineScanner!.setQuery(q, qOff)
    this.#refineScanner!.scan(codes, n, scores)
    this.stats.rowsRead = n
    rerank(kc, n, scores, hd, hl, this.#rLabels)
  }

  /** Re-ranking buffers for n candidates. */
  #ensure(n: number): void {
    if (this.#rIds.length >= n) return
    const d = this.#model.dim
    this.#rIds = new Float64Array(n)
    this.#rVecs = new Float32Array(n * d)
    this.#rScores = new Float32Array(n)
    this.#rExact = new Float32Array(n)
    this.#rNorms = new Float64Array(n)
    this.#lower = new Float32Array(n)
    this.#upper = new Float32Array(n)
  }

  /** The k-entry heap of bound-driven re-ranking. */
  #kHeap(k: number): void {
    if (this.#kd.length !== k) {
      this.#kd = new Float32Array(k)
      this.#kl = new Float64Array(k)
    }
  }

  /**
   * Rescores the candidates exactly on their stored vectors (as added) and keeps them
   * sorted. With a codec whose scanner gives distance bounds (RaBitQ), only the candidates
   * that can still be among the k nearest are read: in estimate order, BOUND_BATCH * k at a
   * time, dropping after each batch the unread candidates whose lower bound exceeds the
   * k-th exact distance read so far (while the bounds hold, none of those can beat it).
   */
  #refineFlat(
    lists: ListsView,
    q: Float32Array,
    qOff: number,
    qt: Float32Array,
    qtOff: number,
    k: number,
    kc: number,
    hd: Float32Array,
    hl: Float64Array,
    p: SearchParams,
  ): void {
    let n = 0
    while (n < kc && hl[n]! >= 0) n++
    if (this.#narrowScanner !== null) {
      const m = Math.min(n, k * Math.max(1, p.exactFactor))
      if (m < n) this.#narrow(lists, qt, qtOff, n, m, hd, hl)
      n = m
    }
    this.#ensure(n)
    const scores = this.#rScores
    const scanner = this.#scanner
    if (!p.errorBounds || scanner.bounds === undefined || n <= k) {
      this.#exact(lists, q, qOff, hl, 0, n)
    } else {
      const lower = this.#lower
      scanner.bounds(lists, hd, hl, n, lower, this.#upper)
      // The k-th exact distance read so far, in the scan's convention (cosine: 2 (1 - cos)).
      const toInner = this.#model.metric === 'cosine' ? 2 : 1
      this.#kHeap(k)
      const kd = this.#kd
      const kl = this.#kl
      heapInit(k, kd, kl)
      let read = 0
      while (read < n) {
        const batch = Math.min(BOUND_BATCH * k, n - read)
        this.#exact(lists, q, qOff, hl, read, batch)
        for (let j = read; j < read + batch; j++) heapPush(k, kd, kl, scores[j]! * toInner, j)
        read += batch
        const kth = kd[0]!
        let m = read
        for (let j = read; j < n; j++) {
          if (lower[j]! <= kth) {
            hl[m] = hl[j]!
            lower[m++] = lower[j]!
          }
        }
        n = m
      }
    }
    this.stats.rowsRead = n
    rerank(kc, n, scores, hd, hl, this.#rLabels)
  }

  /**
   * Narrowed RFlat: keeps in hl[0..m) the m of the n candidates hl[0..n) (first-stage
   * estimates hd[0..n)) nearest to the coded query qt when each is the first stage's
   * reconstruction x1 plus its decoded error e^: ||q - x1 - e^||^2 = hd + ||q - e^||^2 + term
   * - ||q||^2 (L2, cosine; see IndexModel.refineSize; the constant ||q||^2 is left out, it
   * ranks nothing), -<q, x1 + e^> = hd - <q, e^> (IP). The error codec's part comes from one
   * lookup table per query over the candidates' error codes; nearest first.
   */
  #narrow(lists: ListsView, qt: Float32Array, qtOff: number, n: number, m: number, hd: Float32Array, hl: Float64Array): void {
    const model = this.#model
    const narrow = model.refineCodec!
    const cs = narrow.codeSize
    const stride = narrow.scanCodeSize
    if (this.#nScore.length < n) {
      this.#nCodes = new Uint8Array(n * stride)
      this.#nScore = new Float32Array(n)
      this.#nTerm = new Float32Array(n)
      this.#nFrom = new Float64Array(n)
    }
    if (this.#nd.length < m) {
      this.#nd = new Float32Array(m)
      this.#nl = new Float64Array(m)
    }
    const refine = lists.refine!
    const codes = this.#nCodes
    const term = this.#nTerm
    const fb = this.#fb
    const froms = this.#nFrom
    this.#touched ^= gatherCodes(lists, hl, n, cs, stride, froms, codes)
    for (let j = 0; j < n; j++) {
      const from = froms[j]! + cs
      // The little-endian float32 term after the code.
      fb[0] = refine[from]!
      fb[1] = refine[from + 1]!
      fb[2] = refine[from + 2]!
      fb[3] = refine[from + 3]!
      term[j] = this.#ff[0]!
    }
    const score = this.#nScore
    const scanner = this.#narrowScanner!
    scanner.setQuery(qt, qtOff)
    scanner.scan(codes, n, score) // ||q - e^||^2 (L2), -<q, e^> (IP)
    const nd = this.#nd
    const nl = this.#nl
    // The heap functions take m explicitly: the buffers may be longer. The term is 0 under IP.
    heapInit(m, nd, nl)
    for (let j = 0; j < n; j++) heapPush(m, nd, nl, hd[j]! + score[j]! + term[j]!, hl[j]!)
    heapSort(m, nd, nl)
    for (let j = 0; j < m; j++) hl[j] = nl[j]!
  }

  /** The exact distances (public convention) of the count candidates hl[from..) into #rScores[from..), read in one batch. */
  #exact(lists: ListsView, q: Float32Array, qOff: number, hl: Float64Array, from: number, count: number): void {
    if (count <= 0) return
    const model = this.#model
    const d = model.dim
    const ids = this.#rIds
    const vecs = this.#rVecs
    const out = this.#rExact
    for (let j = 0; j < count; j++) ids[j] = lists.ids[slotOf(lists, hl[from + j]!)]!
    const found = this.#fetch!(ids, count, vecs)
    const K = model.kernels
    // One one-to-many kernel call for all candidates.
    if (model.metric === 'l2') {
      K.l2sqrMany(q, qOff, vecs, count, d, out)
    } else {
      K.innerProductMany(q, qOff, vecs, count, d, out)
      if (model.metric === 'ip') {
        for (let j = 0; j < count; j++) out[j] = -out[j]!
      } else {
        const norms = this.#rNorms
        K.normsL2sqr(vecs, count, d, norms)
        const qn = Math.sqrt(K.innerProduct(q, qOff, q, qOff, d))
        for (let j = 0; j < count; j++) {
          const den = qn * Math.sqrt(norms[j]!)
          out[j] = 1 - (den > 0 ? out[j]! / den : 0)
        }
      }
    }
    const scores = this.#rScores
    for (let j = 0; j < count; j++) {
      if (!found[j])
        out[j] = Infinity // deleted since this handle's state (a reader)
      else if (out[j]! - out[j]! !== 0) {
        // Queries and stored vectors are finite and within MAX_SQUARED_NORM, so every exact
        // distance is finite: a non-finite one means the stored vector is damaged.
        throw new VqFormatError('CORRUPT_FILE', `the stored vector of id ${ids[j]} is damaged: its distance to the query is ${out[j]}`)
      }
      scores[from + j] = out[j]!
    }
  }
}

/**
 * Copies the first cs bytes of the refine codes of the n candidates hl[0..n) into out
 * (stride bytes each, zero padded), and their byte offsets in lists.refine into froms.
 * The codes lie at random places of the arena: a first pass only touches each code's
 * first and last byte, so the CPU fetches them all at once (independent loads) instead of
 * one cache miss after another in the copy loop (2x faster on glove100's 80 candidates).
 * Returns the sum of the bytes touched, for the caller to keep (the loads must not be
 * dropped). Bytes are copied one by one: a subarray per candidate would allocate.
 */
function gatherCodes(
  lists: ListsView,
  hl: Float64Array,
  n: number,
  cs: number,
  stride: number,
  froms: Float64Array,
  out: Uint8Array,
): number {
  const refine = lists.refine!
  const last = lists.refineSize - 1
  let touch = 0
  for (let j = 0; j < n; j++) {
    const from = slotOf(lists, hl[j]!) * lists.refineSize
    froms[j] = from
    touch += refine[from]! + refine[from + last]!
  }
  for (let j = 0; j < n; j++) {
    const from = froms[j]!
    const to = j * stride
    for (let b = 0; b < cs; b++) out[to + b] = refine[from + b]!
    for (let b = cs; b < stride; b++) out[to + b] = 0
  }
  return touch
}

/**
 * The public ids and distances of n sorted candidates (labels, internal distances): -1 /
 * Infinity for empty slots, cosine's internal 2 (1 - cos) halved when half.
 */
function publish(
  lists: ListsView,
  labels: Float64Array,
  dist: Float32Array,
  n: number,
  half: boolean,
  outIds: Float64Array,
  outDist: Float32Array,
): void {
  for (let j = 0; j < n; j++) {
    const label = labels[j]!
    if (label < 0) {
      outIds[j] = -1
      outDist[j] = Infinity
    } else {
      outIds[j] = lists.ids[slotOf(lists, label)]!
      outDist[j] = half ? dist[j]! / 2 : dist[j]!
    }
  }
}

/** Arena slot of a candidate label (list * 2^32 + offset). */
function slotOf(lists: ListsView, label: number): number {
  const l = Math.floor(label / LIST_STRIDE)
  return lists.start[l]! + (label - l * LIST_STRIDE)
}

/**
 * Replaces the first n sorted candidates' distances by `scores` and re-sorts them by
 * (score, label); the remaining kc - n slots stay empty. labels: scratch of length >= n.
 */
function rerank(kc: number, n: number, scores: Float32Array, hd: Float32Array, hl: Float64Array, labels: Float64Array): void {
  for (let j = 0; j < n; j++) labels[j] = hl[j]!
  heapInit(kc, hd, hl)
  for (let j = 0; j < n; j++) heapPush(kc, hd, hl, scores[j]!, labels[j]!)
  heapSort(kc, hd, hl)
}
