/**
 * The in-memory item table of an index: n codes of codeSize bytes in one contiguous,
 * 8-byte-aligned buffer (position i at [i*codeSize, (i+1)*codeSize)), the user id of
 * each position, and the id -> position map. Bytes and rows only; no math.
 */
export class ItemArrays {
  /** Bytes per code. */
  readonly codeSize: number
  #codes: Uint8Array
  #ids: Float64Array
  #count = 0
  readonly #pos = new Map<number, number>()

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

  /** Codes of positions [0, count): count*codeSize bytes (a view; valid until the next append). */
  get codes(): Uint8Array {
    return this.#codes.subarray(0, this.#count * this.codeSize)
  }

  /** Ids of positions [0, count) (a view; valid until the next append). */
  get ids(): Float64Array {
    return this.#ids.subarray(0, this.#count)
  }

  /** Position of id, or -1. */
  positionOf(id: number): number {
    return this.#pos.get(id) ?? -1
  }

  /** Id at a position. */
  idAt(pos: number): number {
    return this.#ids[pos]!
  }

  /** Appends n items: ids (length n, not present yet) and codes (n*codeSize bytes). */
  append(ids: Float64Array, codes: Uint8Array): void {
    const n = ids.length
    this.#reserve(this.#count + n)
    this.#codes.set(codes.subarray(0, n * this.codeSize), this.#count * this.codeSize)
    this.#ids.set(ids, this.#count)
    for (let i = 0; i < n; i++) this.#pos.set(ids[i]!, this.#count + i)
    this.#count += n
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
