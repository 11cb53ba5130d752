/**
 * The in-memory item table of an index: n codes of codeSize bytes in one contiguous
 * buffer (position i at [i*codeSize, (i+1)*codeSize)) and the user id of each position,
 * in insertion (seq) order. Bytes and rows only; no math. Deletion compacts in place and
 * keeps the order, so positions always follow insertion order, in every process that
 * loads the same file. Memory: n*(codeSize + 8) bytes plus growth slack; there is no
 * id -> position map (lookups by id are rare and scan the ids, or go to SQLite).
 */
export class ItemArrays {
  /** Bytes per code. */
  readonly codeSize: number
  #codes: Uint8Array
  #ids: Float64Array
  #count = 0

  /** codeSize: bytes per code; capacity: items to reserve room for. */
  constructor(codeSize: number, capacity = 1024) {
    this.codeSize = codeSize
    this.#codes = new Uint8Array(capacity * codeSize)
    this.#ids = new Float64Array(capacity)
  }

  /** Number of items. */
  get count(): number {
    return this.#count
  }

  /** Codes of positions [0, count): count*codeSize bytes (a view; valid until the next change). */
  get codes(): Uint8Array {
    return this.#codes.subarray(0, this.#count * this.codeSize)
  }

  /** Ids of positions [0, count) (a view; valid until the next change). */
  get ids(): Float64Array {
    return this.#ids.subarray(0, this.#count)
  }

  /** Position of id, or -1 (a linear scan). */
  positionOf(id: number): number {
    return this.ids.indexOf(id)
  }

  /** Id at a position. */
  idAt(pos: number): number {
    return this.#ids[pos]!
  }

  /** Appends n items: ids (length n) and codes (n*codeSize bytes). */
  append(ids: Float64Array, codes: Uint8Array): void {
    const n = ids.length
    this.#reserve(this.#count + n)
    this.#codes.set(codes.subarray(0, n * this.codeSize), this.#count * this.codeSize)
    this.#ids.set(ids, this.#count)
    this.#count += n
  }

  /** Removes the items whose ids are in `ids`, keeping the order of the rest. Returns how many were removed. */
  remove(ids: ReadonlySet<number>): number {
    if (ids.size === 0) return 0
    const cs = this.codeSize
    const n = this.#count
    let w = 0
    let run = -1 // start of the current run of kept items
    const flush = (end: number): void => {
      if (run < 0) return
      if (w !== run) {
        this.#ids.copyWithin(w, run, end)
        this.#codes.copyWithin(w * cs, run * cs, end * cs)
      }
      w += end - run
      run = -1
    }
    for (let r = 0; r < n; r++) {
      if (ids.has(this.#ids[r]!)) flush(r)
      else if (run < 0) run = r
    }
    flush(n)
    this.#count = w
    return n - w
  }

  /** Replaces every code (same count, same order): codes is count*codeSize bytes. */
  replaceCodes(codes: Uint8Array): void {
    this.#codes.set(codes.subarray(0, this.#count * this.codeSize))
  }

  #reserve(n: number): void {
    if (n <= this.#ids.length) return
    const cap = Math.max(n, Math.ceil(this.#ids.length * 1.5))
    const codes = new Uint8Array(cap * this.codeSize)
    codes.set(this.#codes.subarray(0, this.#count * this.codeSize))
    const ids = new Float64Array(cap)
    ids.set(this.#ids.subarray(0, this.#count))
    this.#codes = codes
    this.#ids = ids
  }

  /** Bytes held for codes and ids (capacity, not just count). */
  get bytes(): number {
    return this.#codes.byteLength + this.#ids.byteLength
  }
}
