/**
 * 1-bit RaBitQ lists on the lookup-table scan (Kernels.createLutScan: WebAssembly SIMD, or
 * its plain TypeScript engine on the ts backend and any backend without one, with the same
 * float32 operations, so both give the same estimates bit for bit), as FAISS's IndexIVFRaBitQFastScan: the d sign
 * bits of a code are m = ceil(d/4) 4-bit sub-codes, scanned with one 16-entry byte table
 * per sub-code built from the query.
 *
 * Per probed list l the query is y = P(q - c), P the codec's rotation and c the centre the
 * codes are relative to: the list centroid (IVF by residual under L2), the codec's centroid
 * (exhaustive, or IVF without residuals), or zero (IVF residuals under IP, where the list's
 * probe distance -<q, c_l> is added). Pq is computed once per query and P c once per list
 * (kept), so a probed list costs O(d) before its scan. y is quantized to qb bits on a grid
 * anchored at zero, y_t ~ delta * qq_t with integers |qq_t| <= L = max(1, 2^(qb-1) - 1) and
 * delta = max |y_t| / L (FAISS's grid runs from min y to max y instead; anchoring at zero
 * keeps every table entry an exact small integer without a per-code popcount term). qb is
 * 1..7 here (0, a float query, and 8 are served at 7). Then, with raw = <qq, bits>,
 *
 *   <o, y> ~ (delta / sqrt(d)) (2 raw - sum qq)     (o: the code's unit vector (2b - 1)/sqrt(d))
 *   L2: est = A + ||y||^2 - 2 dpm <o, y>            IP: est = A/2 - dpm <o, y> + (||y||^2 - ||q||^2)/2 + bias
 *
 * with the code's factors A and dpm (rabitq.ts), i.e. est = a + b (alpha raw + beta) + gamma
 * per item (a, b from the code, held beside the packed sub-codes), per list alpha, beta,
 * gamma. Table entries are shifted by each sub-table's minimum so that they are bytes
 * (beta takes the shift back): exact for qb <= 7.
 *
 * Extended codes (nbits >= 2) are scanned by their sign bits first (the same tables), one
 * probed list at a time in probe order: every 1-bit estimate of the list, then each code
 * whose 1-bit lower bound (est minus the bound below) is below the k-th extended estimate
 * so far is rescored with every bit (the extended estimate, on the float query y):
 * FAISS's two-stage multi-bit search, in one pass. The threshold only falls, so every code
 * whose lower bound is below the final k-th extended estimate has been rescored.
 *
 * bounds() gives each candidate est -/+ (f_error ||y|| + |b| EPS0 ||y - delta qq|| / sqrt(d)):
 * the paper's bound on the float query (RABITQ_EPS0 = 1.9) plus the query quantization's
 * share at the same confidence, for the searcher's bound-driven re-ranking.
 */
import {
  fastScanPack,
  fastScanPackedSize,
  heapInit,
  heapPush,
  heapPushMany,
  heapSort,
  type Kernels,
  type LutScan,
} from '../../native-free-kernels/index.js'
import { createReferenceLutScan } from '../../native-free-kernels/reference/lutscan.js'
import type { CoarseQuantizer } from '../ivf/coarse.js'
import { LIST_STRIDE, type ListsView } from '../ivf/inverted-lists.js'
import type { ListScanner, ListScanSetup, ScanProbedArgs, SeqBits } from './list-scanner.js'
import type { RaBitQuantizer } from './rabitq.js'

/** The confidence constant of RaBitQ's error bound (the paper's epsilon_0, FAISS's kConstEpsilon; rabitq.ts's RABITQ_EPS0). */
const RABITQ_EPS0 = 1.9

/** Largest qb whose byte tables are exact (4 sub-code bits times 2^(qb-1) - 1 below 256). */
export const LUT_MAX_QB = 7

/** Extended codes: the codes of the best 1-bit estimates rescored first (per result slot), to lower the rescoring threshold early. */
export const EX_SEED = 4

export class RaBitqLutScanner implements ListScanner {
  readonly #c: RaBitQuantizer
  readonly #kernels: Kernels
  readonly #d: number
  /** Sub-codes per code, ceil(d/4). */
  readonly #m: number
  readonly #ip: boolean
  /** The coarse quantizer of IVF residual codes, or null. */
  readonly #residualOf: CoarseQuantizer | null
  /** The codes are relative to the list centroid (IVF residuals under L2). */
  readonly #perListCentre: boolean
  readonly #scan: LutScan
  #qb = 4
  /** Pq (float64) and ||q||^2 for the current query. */
  readonly #pq: Float64Array
  #q2 = 0
  /** P (c_l [+ codec centroid]) per list, computed once per list: nlist*d, and which are set. */
  #pc = new Float32Array(0)
  #pcSet = new Uint8Array(0)
  /** P (codec centroid), for the lists that share it. */
  readonly #pmu: Float64Array
  /** Per-list query state: y, and its quantized levels qq (4m entries, zero past d). */
  readonly #y: Float64Array
  readonly #qq: Int32Array
  /** Per list of the current query (by list number), for bounds(): ||y||, and EPS0 ||y - delta qq|| / sqrt(d). */
  #gOf = new Float64Array(0)
  #eqOf = new Float64Array(0)
  /** Lists uid / stamps of the segments loaded into the scan engine. */
  #uid = -1
  #stamps = new Float64Array(0)
  #packed = new Uint8Array(0)
  #a = new Float32Array(0)
  #b = new Float32Array(0)
  /** Tables and constants of the probed lists of one scanProbed call. */
  #tables = new Uint8Array(0)
  #consts = new Float32Array(0)
  #segs = new Int32Array(0)
  readonly #table: Uint8Array
  readonly #lc = new Float32Array(3)
  #est = new Float32Array(0)
  /** Extended codes: bits per dimension beyond the sign bit (0: 1-bit codes). */
  readonly #ex: number
  /** f_error of a 1-bit L2 code per sqrt(dpm^2 - A) (codes without a stored f_error). */
  readonly #errScale: number
  /** Extended codes: y of every list of the current query (nlist*d, by list number), <q, c> (IP), and the 1-bit candidate heap. */
  #ys = new Float32Array(0)
  #qc = 0
  #biasOf = new Float64Array(0)
  /** Extended codes, per list of the current query: the sum of y's components (float32 y, as #full reads it). */
  #sumYOf = new Float64Array(0)
  /**
   * Extended codes, per list (by list number, set at #sync): each code's f_error of the
   * 1-bit bound (stored, or derived from dpm and A as #oneBitError does) and dpm, and their
   * maxima over the list (+inf when one is NaN), so that #oneBitError is two reads.
   */
  #ferr: Float64Array[] = []
  #dpm: Float32Array[] = []
  #ferrMax = new Float64Array(0)
  #dpmMax = new Float64Array(0)
  /** Extended codes, per scanProbed call: every 1-bit estimate, each probed list's start in it, the seed heap and marks. */
  #estAll = new Float32Array(0)
  #segOff = new Int32Array(0)
  #sd = new Float32Array(0)
  #sl = new Float64Array(0)
  #seeded = new Uint8Array(0)
  /** Extended codes: the candidates past the seeds (lower bound, buffer position, probed list, order). */
  #cLow = new Float64Array(64)
  #cPos = new Int32Array(64)
  #cSeg = new Int32Array(64)
  #cOrd = new Int32Array(64)
  /** Scratch of #f32. */
  readonly #fb = new Uint8Array(4)
  readonly #ff = new Float32Array(this.#fb.buffer)

  constructor(codec: RaBitQuantizer, setup: ListScanSetup) {
    this.#c = codec
    this.#kernels = setup.kernels
    const d = codec.dim
    this.#d = d
    this.#m = Math.ceil(d / 4)
    this.#ip = codec.metric === 'ip'
    this.#residualOf = setup.residualOf
    this.#perListCentre = setup.residualOf !== null && !this.#ip
    this.#scan = setup.kernels.createLutScan ? setup.kernels.createLutScan(this.#m) : createReferenceLutScan(this.#m)
    this.#pq = new Float64Array(d)
    this.#y = new Float64Array(d)
    this.#qq = new Int32Array(4 * this.#m)
    this.#table = new Uint8Array(this.#m * 16)
    this.#pmu = new Float64Array(d)
    rotate(codec, codec.centroid, 0, this.#pmu)
    this.#ex = codec.exBits
    this.#errScale = (2 * RABITQ_EPS0) / Math.sqrt(d > 1 ? d - 1 : 1)
  }

  get fastScanBytes(): number {
    let bytes = this.#scan.bytes + this.#pc.byteLength
    for (const f of this.#ferr) if (f) bytes += f.byteLength
    for (const f of this.#dpm) if (f) bytes += f.byteLength
    return bytes
  }

  get residentBytes(): number {
    return 0
  }

  /** qb 1..7 as given; 0 (a float query) and 8 are served at LUT_MAX_QB, the finest grid whose byte tables are exact. */
  setQueryBits(qb: number): void {
    this.#qb = qb === 0 ? LUT_MAX_QB : Math.min(Math.max(qb, 1), LUT_MAX_QB)
  }

  setQuery(q: Float32Array, qOff: number): void {
    const d = this.#d
    const c = this.#c
    const pq = this.#pq
    let q2 = 0
    for (let t = 0; t < d; t++) q2 += q[qOff + t]! * q[qOff + t]!
    this.#q2 = q2
    if (c.rotate) {
      const P = c.rotation
      for (let j = 0; j < d; j++) {
        let s = 0
        const row = j * d
        for (let t = 0; t < d; t++) s += P[row + t]! * q[qOff + t]!
        pq[j] = s
      }
    } else for (let t = 0; t < d; t++) pq[t] = q[qOff + t]!
    // <q, c> = <Pq, Pc> for the codec's centroid (the IP factor of extended codes).
    let qc = 0
    for (let t = 0; t < d; t++) qc += pq[t]! * this.#pmu[t]!
    this.#qc = qc
  }

  /**
   * Where P c of list l's centre is (IVF residual L2: c_l plus the codec's centroid,
   * computed once per list): #pc from the returned offset, or #pmu (offset -1) for a shared
   * centre. An offset, not a view: a view per probed list would allocate per query.
   */
  #centre(l: number): number {
    if (!this.#perListCentre) return -1
    const coarse = this.#residualOf!
    const d = this.#d
    // A model's coarse centroids never change (retraining makes a new model and scanners).
    if (this.#pc.length !== coarse.nlist * d) {
      this.#pc = new Float32Array(coarse.nlist * d)
      this.#pcSet = new Uint8Array(coarse.nlist)
    }
    if (!this.#pcSet[l]) {
      const tmp = this.#y
      rotate(this.#c, coarse.centroids, l * d, tmp)
      for (let t = 0; t < d; t++) this.#pc[l * d + t] = tmp[t]! + this.#pmu[t]!
      this.#pcSet[l] = 1
    }
    return l * d
  }

  /**
   * Builds list l's byte table into table[tOff..) and its constants (alpha, beta, gamma) into
   * consts[cOff..): the query relative to the list's centre, quantized (see the module
   * comment). bias: the list's probe distance for IVF residuals under IP, else 0. Records
   * ||y|| and the query quantization's error scale for bounds().
   */
  #prepareList(l: number, bias: number, table: Uint8Array, tOff: number, consts: Float32Array, cOff: number): void {
    const d = this.#d
    const m = this.#m
    const y = this.#y
    const pq = this.#pq
    const at = this.#centre(l)
    const pc = at < 0 ? this.#pmu : this.#pc
    const off = at < 0 ? 0 : at
    let y2 = 0
    let ymax = 0
    for (let t = 0; t < d; t++) {
      const v = pq[t]! - pc[off + t]!
      y[t] = v
      y2 += v * v
      const a = v < 0 ? -v : v
      if (a > ymax) ymax = a
    }
    const levels = Math.max(1, (1 << (this.#qb - 1)) - 1)
    const delta = ymax > 0 ? ymax / levels : 0
    const inv = delta > 0 ? 1 / delta : 0
    const qq = this.#qq
    let sumQq = 0
    let e2 = 0
    for (let t = 0; t < d; t++) {
      const v = Math.round(y[t]! * inv)
      qq[t] = v
      sumQq += v
      const r = y[t]! - delta * v
      e2 += r * r
    }
    // Dims past d (the last sub-code's padding) weigh nothing: qq is zero there.
    let sumMin = 0
    for (let j = 0; j < m; j++) {
      const q0 = qq[4 * j]!
      const q1 = qq[4 * j + 1]!
      const q2 = qq[4 * j + 2]!
      const q3 = qq[4 * j + 3]!
      const min = (q0 < 0 ? q0 : 0) + (q1 < 0 ? q1 : 0) + (q2 < 0 ? q2 : 0) + (q3 < 0 ? q3 : 0)
      sumMin += min
      const o = tOff + j * 16
      const b0 = -min
      const b1 = q0 - min
      table[o] = b0
      table[o + 1] = b1
      table[o + 2] = b0 + q1
      table[o + 3] = b1 + q1
      for (let c = 4; c < 8; c++) table[o + c] = table[o + c - 4]! + q2
      for (let c = 8; c < 16; c++) table[o + c] = table[o + c - 8]! + q3
    }
    const s = delta / Math.sqrt(d)
    // <o, y> ~ s (2 (raw' + sumMin) - sumQq) = (2s) raw' + s (2 sumMin - sumQq)
    consts[cOff] = 2 * s
    consts[cOff + 1] = s * (2 * sumMin - sumQq)
    consts[cOff + 2] = this.#ip ? 0.5 * (y2 - this.#q2) + bias : y2
    this.#gOf[l] = Math.sqrt(y2)
    this.#biasOf[l] = bias
    if (this.#ex > 0) {
      const ys = this.#ys
      const o = l * d
      let sy = 0
      for (let t = 0; t < d; t++) {
        ys[o + t] = y[t]!
        sy += ys[o + t]!
      }
      this.#sumYOf[l] = sy
    }
    // <o, y - delta qq> for a unit o spread over d dimensions: about ||y - delta qq|| / sqrt(d),
    // taken at the same confidence as the code's own bound.
    this.#eqOf[l] = (RABITQ_EPS0 * Math.sqrt(e2)) / Math.sqrt(d)
  }

  /** Loads list l into the scan engine when its content changed since it was loaded: sub-codes packed, a and b per item. */
  #sync(lists: ListsView, l: number): void {
    if (this.#uid !== lists.uid || this.#stamps.length !== lists.nlist) {
      this.#uid = lists.uid
      this.#stamps = new Float64Array(lists.nlist).fill(-1)
    }
    if (this.#stamps[l] === lists.stamps[l]) return
    const n = lists.size[l]!
    const start = lists.start[l]!
    const m = this.#m
    const cs = lists.codeSize
    const bytes = fastScanPackedSize(n, m)
    if (this.#packed.length < bytes) this.#packed = new Uint8Array(Math.max(bytes, this.#packed.length * 2))
    if (this.#a.length < n) {
      this.#a = new Float32Array(Math.max(n, this.#a.length * 2))
      this.#b = new Float32Array(this.#a.length)
    }
    fastScanPack(lists.codes, start * cs, cs, n, m, this.#packed, 0, m)
    const L = this.#c.layout
    const codes = lists.codes
    const dv = new DataView(codes.buffer, codes.byteOffset, codes.byteLength)
    const ip = this.#ip
    for (let i = 0; i < n; i++) {
      const base = (start + i) * cs
      const A = dv.getFloat32(base + L.offA, true)
      const dpm = dv.getFloat32(base + L.offDpm, true)
      this.#a[i] = ip ? 0.5 * A : A
      this.#b[i] = ip ? -dpm : -2 * dpm
    }
    this.#scan.setSegment(l, this.#packed, n, this.#a, this.#b)
    if (this.#ex > 0) this.#syncErrors(lists, l)
    this.#stamps[l] = lists.stamps[l]!
  }

  /** Extended codes: f_error and dpm of each code of list l, and their maxima (#ferr, #dpm). */
  #syncErrors(lists: ListsView, l: number): void {
    const nlist = lists.nlist
    if (this.#ferrMax.length !== nlist) {
      this.#ferr = new Array<Float64Array>(nlist)
      this.#dpm = new Array<Float32Array>(nlist)
      this.#ferrMax = new Float64Array(nlist)
      this.#dpmMax = new Float64Array(nlist)
    }
    const n = lists.size[l]!
    let ferr = this.#ferr[l]
    let dpmOf = this.#dpm[l]
    if (ferr?.length !== n) {
      ferr = new Float64Array(n)
      dpmOf = new Float32Array(n)
      this.#ferr[l] = ferr
      this.#dpm[l] = dpmOf
    }
    const L = this.#c.layout
    const codes = lists.codes
    const cs = lists.codeSize
    const start = lists.start[l]!
    let fMax = Number.NEGATIVE_INFINITY
    let dMax = Number.NEGATIVE_INFINITY
    let nan = false
    for (let i = 0; i < n; i++) {
      const base = (start + i) * cs
      const dpm = this.#f32(codes, base + L.offDpm)
      const fe = this.#ferrOf(codes, base, dpm)
      ferr[i] = fe
      dpmOf![i] = dpm
      if (fe > fMax) fMax = fe
      if (dpm > dMax) dMax = dpm
      if (Number.isNaN(fe) || Number.isNaN(dpm)) nan = true
    }
    this.#ferrMax[l] = nan ? Number.POSITIVE_INFINITY : fMax
    this.#dpmMax[l] = nan ? Number.POSITIVE_INFINITY : dMax
  }

  #perList(nlist: number): void {
    if (this.#gOf.length < nlist) {
      this.#gOf = new Float64Array(nlist)
      this.#eqOf = new Float64Array(nlist)
      this.#biasOf = new Float64Array(nlist)
      this.#sumYOf = new Float64Array(nlist)
      if (this.#ex > 0) this.#ys = new Float32Array(nlist * this.#d)
    }
  }

  scanProbed(...[lists, probeLists, probeDist, probed, k, hd, hl]: ScanProbedArgs): number {
    if (this.#ex > 0) return this.#scanProbedEx(lists, probeLists, probeDist, probed, k, hd, hl)
    const m = this.#m
    if (this.#segs.length < probed) {
      this.#segs = new Int32Array(probed)
      this.#tables = new Uint8Array(probed * m * 16)
      this.#consts = new Float32Array(probed * 3)
    }
    this.#perList(lists.nlist)
    const biasOf = this.#residualOf !== null && this.#ip
    let nl = 0
    for (let pi = 0; pi < probed; pi++) {
      const l = probeLists[pi]!
      if (lists.size[l]! === 0) continue
      this.#sync(lists, l)
      this.#prepareList(l, biasOf ? probeDist[pi]! : 0, this.#tables, nl * m * 16, this.#consts, nl * 3)
      this.#segs[nl++] = l
    }
    return this.#scan.search(this.#segs, nl, this.#tables, this.#consts, k, hd, hl)
  }

  /**
   * Extended codes, with one scan of the probed lists: every 1-bit estimate of every probed
   * list into one buffer (#estAll, list after list in probe order); the EX_SEED * k best of
   * them (the seeds), in order of their 1-bit estimate, then every other code in buffer
   * order, rescored with every bit into the heap when their 1-bit lower bound (est -
   * #oneBitError) is below the k-th extended estimate so far (hd[0], +inf until k are in).
   * The seeds only make that threshold low early; it never rises, so every code whose lower
   * bound is below the final k-th extended estimate is rescored, whatever the seeds.
   */
  #scanProbedEx(...[lists, probeLists, probeDist, probed, k, hd, hl]: ScanProbedArgs): number {
    this.#perList(lists.nlist)
    const biasOf = this.#residualOf !== null && this.#ip
    if (this.#segs.length < probed) this.#segs = new Int32Array(probed)
    if (this.#segOff.length < probed + 1) this.#segOff = new Int32Array(probed + 1)
    const segs = this.#segs
    const segOff = this.#segOff
    let total = 0
    for (let pi = 0; pi < probed; pi++) total += lists.size[probeLists[pi]!]!
    if (this.#estAll.length < total) {
      this.#estAll = new Float32Array(Math.max(total, this.#estAll.length * 2))
      this.#seeded = new Uint8Array(this.#estAll.length)
    }
    const est = this.#estAll
    const seeded = this.#seeded
    let nl = 0
    let off = 0
    for (let pi = 0; pi < probed; pi++) {
      const l = probeLists[pi]!
      const n = lists.size[l]!
      if (n === 0) continue
      this.#sync(lists, l)
      this.#prepareList(l, biasOf ? probeDist[pi]! : 0, this.#table, 0, this.#lc, 0)
      this.#scan.estimates(l, this.#table, this.#lc[0]!, this.#lc[1]!, this.#lc[2]!, off === 0 ? est : est.subarray(off))
      segs[nl] = l
      segOff[nl++] = off
      off += n
    }
    segOff[nl] = off
    const codes = lists.codes
    const cs = lists.codeSize
    const cq = this.#ip ? 1 : 2
    // The seeds: the ks best 1-bit estimates, labelled by buffer position.
    const ks = Math.min(EX_SEED * k, off)
    if (this.#sd.length < ks) {
      this.#sd = new Float32Array(ks)
      this.#sl = new Float64Array(ks)
    }
    const sd = this.#sd
    const sl = this.#sl
    heapInit(ks, sd, sl)
    heapPushMany(ks, sd, sl, est, off, 0)
    heapSort(ks, sd, sl)
    for (let j = 0; j < ks; j++) {
      const p = sl[j]!
      seeded[p] = 1
      let t = 0
      let hi = nl - 1
      while (t < hi) {
        const mid = (t + hi + 1) >>> 1
        if (segOff[mid]! <= p) t = mid
        else hi = mid - 1
      }
      const l = segs[t]!
      const i = p - segOff[t]!
      const e = sd[j]!
      if (e - (this.#ferr[l]![i]! * this.#gOf[l]! + cq * this.#dpm[l]![i]! * this.#eqOf[l]!) >= hd[0]!) continue
      heapPush(k, hd, hl, this.#full(codes, (lists.start[l]! + i) * cs, l), l * LIST_STRIDE + i)
    }
    // Every other code whose lower bound is below the threshold the seeds left, collected,
    // then rescored in order of the 1-bit estimate (so the threshold keeps falling fast)
    // while its lower bound is still below the current one.
    const thr = hd[0]!
    let nc = 0
    for (let t = 0; t < nl; t++) {
      const l = segs[t]!
      const o = segOff[t]!
      const n = segOff[t + 1]! - o
      const ferr = this.#ferr[l]!
      const dpm = this.#dpm[l]!
      const g = this.#gOf[l]!
      const eq = this.#eqOf[l]!
      // err <= errMax for every code of the list (float rounding is monotone): a cheap test first.
      const errMax = this.#ferrMax[l]! * g + cq * this.#dpmMax[l]! * eq
      for (let i = 0; i < n; i++) {
        const e = est[o + i]!
        if (e - errMax >= thr) continue
        // #oneBitError's arithmetic, from the factors kept at #sync.
        const lower = e - (ferr[i]! * g + cq * dpm[i]! * eq)
        if (lower >= thr || seeded[o + i]) continue
        if (nc === this.#cPos.length) this.#growCandidates()
        this.#cLow[nc] = lower
        this.#cPos[nc] = o + i
        this.#cSeg[nc] = t
        nc++
      }
    }
    if (nc > 0) {
      const cPos = this.#cPos
      const cSeg = this.#cSeg
      const cLow = this.#cLow
      const ord = this.#cOrd.subarray(0, nc)
      for (let j = 0; j < nc; j++) ord[j] = j
      ord.sort((x, y) => est[cPos[x]!]! - est[cPos[y]!]! || cPos[x]! - cPos[y]!)
      for (let j = 0; j < nc; j++) {
        const c = ord[j]!
        if (cLow[c]! >= hd[0]!) continue
        const t = cSeg[c]!
        const l = segs[t]!
        const i = cPos[c]! - segOff[t]!
        heapPush(k, hd, hl, this.#full(codes, (lists.start[l]! + i) * cs, l), l * LIST_STRIDE + i)
      }
    }
    for (let j = 0; j < ks; j++) seeded[sl[j]!] = 0
    return off
  }

  #growCandidates(): void {
    const n = this.#cPos.length * 2
    const low = new Float64Array(n)
    low.set(this.#cLow)
    const pos = new Int32Array(n)
    pos.set(this.#cPos)
    const seg = new Int32Array(n)
    seg.set(this.#cSeg)
    this.#cLow = low
    this.#cPos = pos
    this.#cSeg = seg
    this.#cOrd = new Int32Array(n)
  }

  /** The extended estimate of the code at codes[base..] in list l (y of the list prepared): rabitq.ts's full estimator. */
  #full(codes: Uint8Array, base: number, l: number): number {
    const L = this.#c.layout
    const d = this.#d
    const ex = this.#ex
    const ys = this.#ys
    const yo = l * d
    const eb = base + L.offEx
    const cb = -((1 << ex) - 0.5)
    const mask = (1 << ex) - 1
    let s = 0
    // Eight dimensions span one sign byte and ex field bytes: whole groups read their
    // fields from one 32-bit word (ex <= 4), the rest field by field.
    const whole = ex <= 4 ? d >>> 3 : 0
    for (let g = 0; g < whole; g++) {
      const sbits = codes[base + g]!
      const fo = eb + g * ex
      let w = 0
      for (let b = ex - 1; b >= 0; b--) w = (w << 8) | codes[fo + b]!
      const yg = yo + 8 * g
      for (let i = 0; i < 8; i++) s += ys[yg + i]! * ((((sbits >>> i) & 1) << ex) | ((w >>> (i * ex)) & mask))
    }
    for (let t = 8 * whole, p = t * ex; t < d; t++, p += ex) {
      const sb = (codes[base + (t >>> 3)]! >>> (t & 7)) & 1
      const q = eb + (p >>> 3)
      const w = codes[q]! | ((codes[q + 1] ?? 0) << 8)
      s += ys[yo + t]! * ((sb << ex) + ((w >>> (p & 7)) & mask))
    }
    // Each dimension's level is (its field) + cb: cb sum y added once.
    s += cb * this.#sumYOf[l]!
    const fAdd = this.#f32(codes, base + L.offAdd)
    const fRescale = this.#f32(codes, base + L.offRescale)
    if (this.#ip) return -(this.#qc + fAdd + fRescale * s) + this.#biasOf[l]!
    const g = this.#gOf[l]!
    const v = g * g + fAdd + fRescale * s
    return v > 0 ? v : 0
  }

  /** All estimates of list l into #est (for the filtered scans). */
  #estimates(lists: ListsView, l: number, coarseDist: number): Float32Array {
    this.#sync(lists, l)
    const n = lists.size[l]!
    if (this.#est.length < n) this.#est = new Float32Array(Math.max(n, this.#est.length * 2))
    const biasOf = this.#residualOf !== null && this.#ip
    this.#perList(lists.nlist)
    this.#prepareList(l, biasOf ? coarseDist : 0, this.#table, 0, this.#lc, 0)
    this.#scan.estimates(l, this.#table, this.#lc[0]!, this.#lc[1]!, this.#lc[2]!, this.#est)
    return this.#est
  }

  scanList(lists: ListsView, l: number, coarseDist: number, bits: SeqBits, k: number, hd: Float32Array, hl: Float64Array): number {
    const est = this.#estimates(lists, l, coarseDist)
    const n = lists.size[l]!
    const start = lists.start[l]!
    const seqs = lists.seqs
    let offered = 0
    const codes = lists.codes
    const cs = lists.codeSize
    for (let i = 0; i < n; i++) {
      if (bits !== null) {
        const s = seqs[start + i]!
        if (!((bits[s >>> 3]! >>> (s & 7)) & 1)) continue
      }
      offered++
      heapPush(k, hd, hl, this.#ex === 0 ? est[i]! : this.#full(codes, (start + i) * cs, l), l * LIST_STRIDE + i)
    }
    return offered
  }

  scanAllowed(lists: ListsView, l: number, coarseDist: number, bits: Uint8Array, k: number, hd: Float32Array, hl: Float64Array): number {
    return this.scanList(lists, l, coarseDist, bits, k, hd, hl)
  }

  bounds(lists: ListsView, hd: Float32Array, hl: Float64Array, n: number, lower: Float32Array, upper: Float32Array): void {
    const codes = lists.codes
    const cs = lists.codeSize
    for (let j = 0; j < n; j++) {
      const label = hl[j]!
      const l = Math.floor(label / LIST_STRIDE)
      const base = (lists.start[l]! + (label - l * LIST_STRIDE)) * cs
      const e = this.#ex > 0 ? this.#fullError(codes, base, l) : this.#oneBitError(codes, base, l)
      lower[j] = hd[j]! - e
      upper[j] = hd[j]! + e
    }
  }

  /**
   * The error bound of the 1-bit estimate of the code at codes[base..] in list l: the code's
   * bound on the float query (f_error ||y||) plus the query quantization's share.
   */
  #oneBitError(codes: Uint8Array, base: number, l: number): number {
    const dpm = this.#f32(codes, base + this.#c.layout.offDpm)
    return this.#ferrOf(codes, base, dpm) * this.#gOf[l]! + (this.#ip ? 1 : 2) * dpm * this.#eqOf[l]!
  }

  /** f_error of the 1-bit code at codes[base..] (its dpm given): stored, or derived from dpm and A for codes without one. */
  #ferrOf(codes: Uint8Array, base: number, dpm: number): number {
    const L = this.#c.layout
    if (L.offError >= 0) return this.#f32(codes, base + L.offError)
    const x = dpm * dpm - this.#f32(codes, base + L.offA)
    return x > 0 ? this.#errScale * Math.sqrt(x) : 0
  }

  /**
   * The error bound of the extended estimate of the code at codes[base..] in list l: the
   * paper's bound with the code's own cosine <ȳ, o> / ||ȳ|| (rabitq.ts's scanWithBounds),
   * on the float query (the extended estimate does not quantize it).
   */
  #fullError(codes: Uint8Array, base: number, l: number): number {
    const L = this.#c.layout
    const d = this.#d
    const ex = this.#ex
    const ip = this.#ip
    const dm1 = d > 1 ? d - 1 : 1
    const a = this.#f32(codes, base + L.offA)
    let rn: number
    if (ip) {
      const dpm = this.#f32(codes, base + L.offDpm)
      const fe = this.#f32(codes, base + L.offError) / RABITQ_EPS0
      const r2 = dpm * dpm - fe * fe * dm1
      rn = r2 > 0 ? Math.sqrt(r2) : 0
    } else rn = Math.sqrt(a > 0 ? a : 0)
    const fRes = this.#f32(codes, base + L.offRescale)
    const absRes = fRes < 0 ? -fRes : fRes
    if (!(absRes > 0)) return 0
    const ipn = ((ip ? 1 : 2) * rn) / absRes
    const eb = base + L.offEx
    const cb = -((1 << ex) - 0.5)
    const mask = (1 << ex) - 1
    let yy = 0
    for (let t = 0, p = 0; t < d; t++, p += ex) {
      const sb = (codes[base + (t >>> 3)]! >>> (t & 7)) & 1
      const q = eb + (p >>> 3)
      const w = codes[q]! | ((codes[q + 1] ?? 0) << 8)
      const f = (sb << ex) + ((w >>> (p & 7)) & mask) + cb
      yy += f * f
    }
    const x = yy - ipn * ipn
    return x > 0 ? (absRes * RABITQ_EPS0 * this.#gOf[l]! * Math.sqrt(x)) / Math.sqrt(dm1) : 0
  }

  /** The little-endian float32 at codes[at..at+4) (codes are not 4-byte aligned; a DataView read costs more). */
  #f32(codes: Uint8Array, at: number): number {
    const b = this.#fb
    b[0] = codes[at]!
    b[1] = codes[at + 1]!
    b[2] = codes[at + 2]!
    b[3] = codes[at + 3]!
    return this.#ff[0]!
  }
}

/** out = P x[xOff..xOff+d) (x itself without rotation), float64. */
function rotate(c: RaBitQuantizer, x: Float32Array, xOff: number, out: Float64Array): void {
  const d = c.dim
  if (x.length < xOff + d) {
    out.fill(0)
    return
  }
  if (!c.rotate) {
    for (let t = 0; t < d; t++) out[t] = x[xOff + t]!
    return
  }
  const P = c.rotation
  for (let j = 0; j < d; j++) {
    let s = 0
    for (let t = 0; t < d; t++) s += P[j * d + t]! * x[xOff + t]!
    out[j] = s
  }
}
