/**
 * Inverted lists: the in-memory item table of an index, partitioned into nlist lists
 * (one list for an exhaustive index). Bytes and rows only; no math.
 *
 * Layout: arenas on SharedArrayBuffers, indexed by slot: codes (codeSize bytes per slot),
 * refine codes (refineSize bytes per slot, optional), residual terms (one float32 per
 * slot, optional: see IndexModel), ids (float64) and seqs (uint32, the insertion sequence
 * number from the file). List l owns the slots
 * [start[l], start[l] + size[l]) inside a reserved range of cap[l] slots, so each list
 * is contiguous and can be scanned in one pass. A list that outgrows its range moves to
 * the end of the arena with 1.5x room; when the arena is full it is re-laid out compactly
 * into larger buffers. Within a list, items stay in insertion (seq) order, also across
 * deletions (order-preserving compaction), so every process that loads the same file
 * sees the same order. Memory: slots * (codeSize + refineSize + 12) bytes.
 *
 * Because the arenas are SharedArrayBuffers, worker threads read the same memory without
 * copies (see view()).
 */

import { randomBytes } from 'node:crypto'

/**
 * A read-only snapshot of the lists for searching (the arenas are shared, start/size/stamps
 * are copies taken when the lists last changed: one view serves every search until then).
 */
export interface ListsView {
  readonly nlist: number
  readonly codeSize: number
  readonly refineSize: number
  readonly count: number
  /** First slot of each list, length nlist. */
  readonly start: Int32Array
  /** Items in each list, length nlist. */
  readonly size: Int32Array
  readonly codes: Uint8Array
  readonly refine: Uint8Array | null
  /** Per-item additive distance term (IVF residual L2), or null. */
  readonly terms: Float32Array | null
  readonly ids: Float64Array
  readonly seqs: Uint32Array
  /** Identity of the InvertedLists this view is of (see InvertedLists.uid). */
  readonly uid: number
  /** Per list, the version (of that InvertedLists) at which its content last changed (a copy, length nlist). */
  readonly stamps: Uint32Array
}

/** Labels of search candidates: list * 2^32 + offset in the list (exact in a float64). */
export const LIST_STRIDE = 4294967296

/**
 * A batch of n items for append() and build(): lists (n list numbers), ids (n), seqs (n),
 * codes (n*codeSize bytes), refine codes (n*refineSize bytes) and terms (n floats) when
 * the lists have them.
 */
export type ItemBatch = [
  lists: ArrayLike<number>,
  ids: ArrayLike<number>,
  seqs: ArrayLike<number>,
  codes: Uint8Array,
  refine: Uint8Array | null,
  terms: Float32Array | null,
]

export class InvertedLists {
  readonly nlist: number
  readonly codeSize: number
  readonly refineSize: number
  readonly #start: Int32Array
  readonly #size: Int32Array
  readonly #cap: Int32Array
  #codes: Uint8Array
  #refine: Uint8Array | null
  #terms: Float32Array | null
  #ids: Float64Array
  #seqs: Uint32Array
  /** The view of the current content (view()), or null once the lists changed since it was made. */
  #view: ListsView | null = null
  /** Slots handed out so far (reserved ranges end here). */
  #used = 0
  #count = 0
  #version = 0
  /** Per list, the version at which its items last changed. */
  readonly #stamps: Uint32Array
  /**
   * Identity of these lists: scanners that keep derived copies of lists (packed segments,
   * resident codes) tell lists apart by it, a list's copy by its stamp. A random 53-bit
   * integer drawn per instance (no shared counter): it travels with the views to worker
   * threads, and two instances share one with probability 2^-53.
   */
  readonly uid = randomUid()

  /** nlist lists of codeSize-byte codes (plus refineSize-byte refine codes, plus a term per item), room for `capacity` items. */
  constructor(nlist: number, codeSize: number, refineSize: number, hasTerms: boolean, capacity = 1024) {
    this.nlist = nlist
    this.codeSize = codeSize
    this.refineSize = refineSize
    this.#start = new Int32Array(nlist)
    this.#size = new Int32Array(nlist)
    this.#cap = new Int32Array(nlist)
    this.#stamps = new Uint32Array(nlist)
    const slots = Math.max(capacity, 16)
    this.#codes = sharedBytes(slots * codeSize)
    this.#refine = refineSize > 0 ? sharedBytes(slots * refineSize) : null
    this.#terms = hasTerms ? new Float32Array(new SharedArrayBuffer(slots * 4)) : null
    this.#ids = new Float64Array(new SharedArrayBuffer(slots * 8))
    this.#seqs = new Uint32Array(new SharedArrayBuffer(slots * 4))
  }

  /**
   * Lists built in one go from n items (the bulk load of an opened file): each list gets
   * exactly its items plus `slack` room. Arguments as in append().
   */
  static build(
    nlist: number,
    codeSize: number,
    refineSize: number,
    ...[lists, ids, seqs, codes, refine, terms, slack = 0.05]: [...ItemBatch, slack?: number]
  ): InvertedLists {
    const out = InvertedLists.reserve(nlist, codeSize, refineSize, terms !== null, lists, slack)
    out.append(lists, ids, seqs, codes, refine, terms)
    return out
  }

  /**
   * Empty lists laid out for the n items whose list numbers are `listOf`, as build() lays
   * them out: appending those items (in one batch or in consecutive chunks, in the same
   * order) fills them without moving any list, to the lists build() makes.
   */
  static reserve(
    nlist: number,
    codeSize: number,
    refineSize: number,
    hasTerms: boolean,
    listOf: ArrayLike<number>,
    slack = 0.05,
  ): InvertedLists {
    const n = listOf.length
    const sizes = new Int32Array(nlist)
    for (let i = 0; i < n; i++) sizes[listOf[i]!]!++
    let total = 0
    for (let l = 0; l < nlist; l++) total += sizes[l]! === 0 ? 0 : Math.ceil(sizes[l]! * (1 + slack))
    const out = new InvertedLists(nlist, codeSize, refineSize, hasTerms, Math.ceil(total * 1.02) + 16)
    let at = 0
    for (let l = 0; l < nlist; l++) {
      out.#start[l] = at
      out.#cap[l] = sizes[l]! === 0 ? 0 : Math.ceil(sizes[l]! * (1 + slack))
      at += out.#cap[l]!
    }
    out.#used = at
    return out
  }

  /** Number of items. */
  get count(): number {
    return this.#count
  }

  /** Items in list l. */
  size(l: number): number {
    return this.#size[l]!
  }

  /** Slots available in the arena. */
  get #slots(): number {
    return this.#ids.length
  }

  /** Appends the n items of a batch (see ItemBatch). Within each list the items keep the batch order. */
  append(...[lists, ids, seqs, codes, refine, terms]: ItemBatch): void {
    const n = ids.length
    if (n === 0) return
    this.#view = null
    const add = new Int32Array(this.nlist)
    for (let i = 0; i < n; i++) add[lists[i]!]!++
    for (let l = 0; l < this.nlist; l++) {
      const need = this.#size[l]! + add[l]!
      if (add[l]! > 0 && need > this.#cap[l]!) this.#relocate(l, Math.max(need, Math.ceil(this.#cap[l]! * 1.5), 8), add)
    }
    const cs = this.codeSize
    const rs = this.refineSize
    for (let i = 0; i < n; i++) {
      const l = lists[i]!
      const slot = this.#start[l]! + this.#size[l]!
      this.#codes.set(codes.subarray(i * cs, (i + 1) * cs), slot * cs)
      if (this.#refine && refine) this.#refine.set(refine.subarray(i * rs, (i + 1) * rs), slot * rs)
      if (this.#terms && terms) this.#terms[slot] = terms[i]!
      this.#ids[slot] = ids[i]!
      this.#seqs[slot] = seqs[i]!
      this.#size[l]!++
    }
    this.#count += n
    this.#version++
    for (let l = 0; l < this.nlist; l++) if (add[l]! > 0) this.#stamps[l] = this.#version
  }

  /** Gives list l a range of `cap` slots at the end of the arena, re-laying out the arena if it is full. */
  #relocate(l: number, cap: number, pending: Int32Array): void {
    if (this.#used + cap > this.#slots) {
      this.#relayout(pending)
      if (this.#size[l]! + pending[l]! <= this.#cap[l]!) return
    }
    const from = this.#start[l]!
    const to = this.#used
    this.#move(from, to, this.#size[l]!)
    this.#start[l] = to
    this.#cap[l] = cap
    this.#used += cap
  }

  /** Copies `count` slots from `from` to `to` in every arena (ranges may overlap). */
  #move(from: number, to: number, count: number): void {
    if (count === 0 || from === to) return
    const cs = this.codeSize
    const rs = this.refineSize
    this.#codes.copyWithin(to * cs, from * cs, (from + count) * cs)
    if (this.#refine) this.#refine.copyWithin(to * rs, from * rs, (from + count) * rs)
    if (this.#terms) this.#terms.copyWithin(to, from, from + count)
    this.#ids.copyWithin(to, from, from + count)
    this.#seqs.copyWithin(to, from, from + count)
  }

  /**
   * Re-lays out every list compactly into new arenas with room for the pending additions
   * plus 5% slack per list, and 2% spare slots at the end for lists that move later
   * (so memory stays within ~1.07x of the items after bulk adds; a list that outgrows its
   * range moves with 1.5x room, so growth is amortised).
   */
  #relayout(pending: Int32Array): void {
    let need = 0
    const caps = new Int32Array(this.nlist)
    for (let l = 0; l < this.nlist; l++) {
      const want = this.#size[l]! + pending[l]!
      caps[l] = want === 0 ? 0 : Math.max(8, Math.ceil(want * 1.05))
      need += caps[l]!
    }
    const slots = Math.max(Math.ceil(need * 1.02), 16)
    const codes = sharedBytes(slots * this.codeSize)
    const refine = this.#refine ? sharedBytes(slots * this.refineSize) : null
    const terms = this.#terms ? new Float32Array(new SharedArrayBuffer(slots * 4)) : null
    const ids = new Float64Array(new SharedArrayBuffer(slots * 8))
    const seqs = new Uint32Array(new SharedArrayBuffer(slots * 4))
    let at = 0
    const cs = this.codeSize
    const rs = this.refineSize
    for (let l = 0; l < this.nlist; l++) {
      const s = this.#start[l]!
      const n = this.#size[l]!
      codes.set(this.#codes.subarray(s * cs, (s + n) * cs), at * cs)
      if (refine && this.#refine) refine.set(this.#refine.subarray(s * rs, (s + n) * rs), at * rs)
      if (terms && this.#terms) terms.set(this.#terms.subarray(s, s + n), at)
      ids.set(this.#ids.subarray(s, s + n), at)
      seqs.set(this.#seqs.subarray(s, s + n), at)
      this.#start[l] = at
      this.#cap[l] = caps[l]!
      at += caps[l]!
    }
    this.#codes = codes
    this.#refine = refine
    this.#terms = terms
    this.#ids = ids
    this.#seqs = seqs
    this.#used = at
  }

  /** Removes the items whose ids are in `ids`, keeping the order of the rest. Returns how many were removed. */
  remove(ids: ReadonlySet<number>): number {
    if (ids.size === 0) return 0
    let removed = 0
    for (let l = 0; l < this.nlist; l++) {
      const s = this.#start[l]!
      const n = this.#size[l]!
      let w = 0
      let run = -1
      const flush = (end: number): void => {
        if (run < 0) return
        this.#move(s + run, s + w, end - run)
        w += end - run
        run = -1
      }
      for (let r = 0; r < n; r++) {
        if (ids.has(this.#ids[s + r]!)) flush(r)
        else if (run < 0) run = r
      }
      flush(n)
      removed += n - w
      this.#size[l] = w
      if (w !== n) this.#stamps[l] = this.#version + 1
    }
    if (removed > 0) {
      this.#view = null
      this.#count -= removed
      this.#version++
    }
    return removed
  }

  /** Slot of id, or -1 (a linear scan). */
  slotOf(id: number): number {
    for (let l = 0; l < this.nlist; l++) {
      const s = this.#start[l]!
      const n = this.#size[l]!
      for (let r = 0; r < n; r++) if (this.#ids[s + r] === id) return s + r
    }
    return -1
  }

  /** The code bytes of a slot (a view). */
  codeAt(slot: number): Uint8Array {
    return this.#codes.subarray(slot * this.codeSize, (slot + 1) * this.codeSize)
  }

  /**
   * The current lists for searching: the shared arenas and copies of start, size and
   * stamps. The same object until the lists change (append, remove), so a search pays no
   * copy of the per-list arrays; a view taken before a change keeps its copies.
   */
  view(): ListsView {
    if (this.#view !== null) return this.#view
    this.#view = {
      nlist: this.nlist,
      codeSize: this.codeSize,
      refineSize: this.refineSize,
      count: this.#count,
      start: this.#start.slice(),
      size: this.#size.slice(),
      codes: this.#codes,
      refine: this.#refine,
      terms: this.#terms,
      ids: this.#ids,
      seqs: this.#seqs,
      uid: this.uid,
      stamps: this.#stamps.slice(),
    }
    return this.#view
  }

  /** Bytes held by the arenas (capacity) and the per-list arrays. */
  get bytes(): { codes: number; refine: number; terms: number; ids: number; seqs: number; lists: number } {
    return {
      codes: this.#codes.byteLength,
      refine: this.#refine?.byteLength ?? 0,
      terms: this.#terms?.byteLength ?? 0,
      ids: this.#ids.byteLength,
      seqs: this.#seqs.byteLength,
      lists: this.#start.byteLength * 3,
    }
  }
}

/** A random integer in [1, 2^53): an identity drawn per instance (no shared counter). */
export function randomUid(): number {
  const b = randomBytes(8)
  return (b.readUInt32LE(0) >>> 11) * 4294967296 + b.readUInt32LE(4) || 1
}

function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(Math.max(1, n)))
}
