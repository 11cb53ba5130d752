/**
 * The items of an index file: codes with their seq and IVF list (vq_codes), stored vectors
 * (vq_vectors), metadata JSON (vq_metadata) and tombstones of deletions (vq_tombstones).
 *
 * `seq` numbers every insertion (and deletion) from one counter in the manifest: codes are
 * loaded in seq order, so positions in memory follow insertion order in every process,
 * and a reader that has loaded up to seq S catches up by applying tombstones and codes
 * with seq > S.
 */
import Database from 'better-sqlite3'
import { VqError, VqFormatError, VqInputError } from '../errors.js'
import { MAX_ID } from '../limits.js'
import { checkStoredMetadata } from '../metadata.js'
import { isUniqueViolation, storageError } from './error-mapping.js'
import type { KeywordIndex } from './keyword-index.js'

/** Rows to insert: n items with their list, n*codeSize code bytes, optional n*vectorBytes vector bytes and n metadata strings. */
export interface ItemRows {
  readonly ids: Float64Array
  /** IVF list of each item (0 without IVF). */
  readonly lists: Int32Array
  readonly codes: Uint8Array
  readonly codeSize: number
  readonly vectors?: Uint8Array | undefined
  readonly vectorBytes?: number | undefined
  readonly metadata?: readonly (string | null)[] | undefined
}

/** One row of ItemTables.page (items()): vector and key null unless asked for. */
export interface ItemPageRow {
  readonly seq: number
  readonly id: number
  readonly json: string | null
  readonly vector: Buffer | null
  readonly key: string | null
}

/** One stored item, as export/import move it. */
export interface RawItem {
  readonly seq: number
  readonly id: number
  readonly list: number
  readonly code: Uint8Array
  readonly vector: Uint8Array | null
  readonly json: string | null
  /** The string id (indexes with string ids, when asked for). */
  readonly key?: string
}

/** A chunk of loaded items: ids, seqs, lists (one each per row) and the codes (codeSize bytes per row). */
export interface CodeChunk {
  ids: Float64Array
  seqs: Uint32Array
  lists: Int32Array
  codes: Uint8Array
}

/**
 * Items read by loadCodes, in seq order: their count and lists (read and checked at once),
 * the rest read on demand inside the same read transaction (see ItemTables.loadCodes).
 */
export interface LoadedCodes extends Readonly<CodeChunk> {
  /** Items found. */
  readonly count: number
  /**
   * Calls visit with chunks of up to `rows` items, in seq order; the chunk's arrays are
   * reused (n: rows filled). Reads the rows again: no copy of all of them is made.
   */
  forEachChunk(rows: number, visit: (chunk: Readonly<CodeChunk>, n: number) => void): void
}

/** Prepared write statements. */
interface WriteStatements {
  insertCode: Database.Statement
  insertVector: Database.Statement
  insertMeta: Database.Statement
  insertTombstone: Database.Statement
  deleteCode: Database.Statement
  deleteVector: Database.Statement
  deleteMeta: Database.Statement
}

/** A typed array of the same kind, `size` long, starting with a's values. */
function grow<T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(a: T, size: number): T {
  const b = new (a.constructor as new (len: number) => T)(size)
  b.set(a)
  return b
}

/** Largest seq a file may hold (seqs are 32-bit unsigned in memory). */
const MAX_SEQ = 0xffffffff
/** Rows loadCodes sizes its arrays for before it has read any (it grows them as it reads). */
const FIRST_CAPACITY = 1 << 16

/** Rows per statement of loadCodes' first pass. */
const SCAN_CHUNK = 16384

/** SQL: a vq_codes row as #checkCode accepts it, with codes of codeSize bytes (an integer, spliced). */
function rowOk(codeSize: number): string {
  if (!Number.isSafeInteger(codeSize) || codeSize < 0) throw new VqError('INTERNAL', `loadCodes: code size ${codeSize} is not a byte count`)
  return `typeof(id) = 'integer' AND id >= 0 AND id <= ${MAX_ID} AND seq >= 0 AND seq <= ${MAX_SEQ} AND typeof(list) = 'integer' AND list >= 0 AND list <= 2147483647 AND typeof(code) = 'blob' AND length(code) = ${codeSize}`
}

/** Decodes exactly `bytes` bytes of hexadecimal text into out (allocating nothing); false when the text is anything else. */
function parseHex(text: string, out: Uint8Array, bytes: number): boolean {
  if (text.length !== 2 * bytes) return false
  // Node's native hex decoder, writing into out (no allocation); it stops at the first
  // character that is not a hex digit, so a full count means every pair was valid.
  return Buffer.from(out.buffer, out.byteOffset, bytes).write(text, 'hex') === bytes
}

/**
 * Parses up to n comma-separated non-negative integers of text into out[at..], allocating
 * nothing; returns how many it read, or -1 when the text holds anything else.
 */
function parseIntegers(text: string, out: Float64Array | Uint32Array | Int32Array, at: number, n: number): number {
  let count = 0
  let value = 0
  let digits = 0
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 44
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48)
      digits++
    } else if (c === 44 && digits > 0 && digits <= 16 && count < n) {
      out[at + count++] = value
      value = 0
      digits = 0
    } else {
      return -1
    }
  }
  return count
}

/** True for an id as vqlite stores them: a non-negative safe integer. */
function validId(id: unknown): id is number {
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 && id <= MAX_ID
}

/**
 * Item statements of one connection. Writes keep the keyword index current. Every value
 * read is checked (an id, seq or list out of range, a code or vector of the wrong length,
 * metadata that is not JSON): CORRUPT_FILE naming the table, the id and the field.
 */
export class ItemTables {
  readonly #db: Database.Database
  /** itemsAfter's statements, without and with the string ids (prepared on first use). */
  #itemsAfter: Database.Statement | undefined
  #itemsAfterKeyed: Database.Statement | undefined
  readonly #path: string
  readonly #keywords: KeywordIndex
  #stmt: WriteStatements | undefined
  /** readChunk's statement, by code size (prepared once: a statement per chunk costs malloc'd memory that outlives it). */
  readonly #chunkStatements = new Map<number, Database.Statement>()
  #metaOf: Database.Statement | undefined

  constructor(db: Database.Database, path: string, keywords: KeywordIndex) {
    this.#db = db
    this.#path = path
    this.#keywords = keywords
  }

  /** The write statements, prepared on first use. */
  #writer(): WriteStatements {
    const db = this.#db
    this.#stmt ??= {
      insertCode: db.prepare('INSERT INTO vq_codes (seq, id, list, code) VALUES (?, ?, ?, ?)'),
      insertVector: db.prepare('INSERT INTO vq_vectors (id, vector) VALUES (?, ?)'),
      insertMeta: db.prepare('INSERT INTO vq_metadata (id, json) VALUES (?, ?)'),
      insertTombstone: db.prepare('INSERT INTO vq_tombstones (seq, id) VALUES (?, ?)'),
      deleteCode: db.prepare('DELETE FROM vq_codes WHERE id = ?'),
      deleteVector: db.prepare('DELETE FROM vq_vectors WHERE id = ?'),
      deleteMeta: db.prepare('DELETE FROM vq_metadata WHERE id = ?'),
    }
    return this.#stmt
  }

  /**
   * Inserts items with consecutive sequence numbers from firstSeq (inside the caller's
   * transaction). An id that is already stored fails with ID_EXISTS.
   */
  insert(rows: ItemRows, firstSeq: number): void {
    const s = this.#writer()
    const text = this.#keywords.writer()
    const { ids, lists, codes, codeSize, vectors, vectorBytes = 0, metadata } = rows
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      try {
        s.insertCode.run(firstSeq + i, id, lists[i]!, codes.subarray(i * codeSize, (i + 1) * codeSize))
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw new VqInputError('ID_EXISTS', `id ${id} is already in the index (position ${i} of the batch); use upsert() to replace it`)
        }
        throw e
      }
      if (vectors) s.insertVector.run(id, vectors.subarray(i * vectorBytes, (i + 1) * vectorBytes))
      const m = metadata?.[i]
      if (m !== undefined && m !== null) {
        s.insertMeta.run(id, m)
        text?.insert(id, m)
      }
    }
  }

  /**
   * Deletes the items with these ids that exist (inside the caller's transaction), writing
   * a tombstone for each with consecutive sequence numbers from firstSeq. Returns the ids
   * that existed, in the order given.
   */
  delete(ids: Float64Array, firstSeq: number): number[] {
    const s = this.#writer()
    const text = this.#keywords.writer()
    const gone: number[] = []
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      if (s.deleteCode.run(id).changes === 0) continue
      s.deleteVector.run(id)
      s.deleteMeta.run(id)
      text?.remove(id)
      s.insertTombstone.run(firstSeq + gone.length, id)
      gone.push(id)
    }
    return gone
  }

  /** Inserts rows with given seqs, lists, codes, vectors and metadata (import; inside the caller's transaction). */
  insertRaw(rows: readonly RawItem[]): void {
    const s = this.#writer()
    for (const r of rows) {
      s.insertCode.run(r.seq, r.id, r.list, r.code)
      if (r.vector) s.insertVector.run(r.id, r.vector)
      if (r.json !== null) s.insertMeta.run(r.id, r.json)
    }
  }

  /** Replaces the list and code of each seq (retraining; inside the caller's transaction). codes: seqs.length*codeSize bytes. */
  updateCodes(seqs: ArrayLike<number>, lists: Int32Array, codes: Uint8Array, codeSize: number): void {
    const up = this.#db.prepare('UPDATE vq_codes SET list = ?, code = ? WHERE seq = ?')
    for (let i = 0; i < seqs.length; i++) up.run(lists[i]!, codes.subarray(i * codeSize, (i + 1) * codeSize), seqs[i]!)
  }

  /** The ids among `ids` that are stored. */
  existing(ids: Float64Array): number[] {
    const q = this.#db.prepare('SELECT 1 FROM vq_codes WHERE id = ?').pluck()
    const out: number[] = []
    for (const id of ids) if (q.get(id) !== undefined) out.push(id)
    return out
  }

  /**
   * Stored vector bytes and metadata of one id, or undefined when the id is unknown. With
   * vectorBytes, a stored vector of another length is CORRUPT_FILE; metadata that is not
   * JSON text is CORRUPT_FILE.
   */
  get(id: number, vectorBytes?: number): { vector: Buffer | null; metadata: string | null } | undefined {
    const row = this.#db
      .prepare(
        'SELECT c.id, v.vector AS vector, m.json AS json FROM vq_codes c LEFT JOIN vq_vectors v ON v.id = c.id LEFT JOIN vq_metadata m ON m.id = c.id WHERE c.id = ?',
      )
      .get(id) as { vector: unknown; json: unknown } | undefined
    if (!row) return undefined
    return {
      vector: this.#vector(id, row.vector, vectorBytes),
      metadata: checkStoredMetadata(row.json, `${this.#path}: vq_metadata id ${id}`),
    }
  }

  /** A stored vector BLOB checked against its expected length (any length when vectorBytes is undefined). */
  #vector(id: number, v: unknown, vectorBytes: number | undefined): Buffer | null {
    if (v === null || v === undefined) {
      // An index that stores vectors stores one for every item.
      if (vectorBytes !== undefined && vectorBytes > 0) {
        throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_vectors id ${id}: the item has no stored vector`)
      }
      return null
    }
    if (!Buffer.isBuffer(v))
      throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_vectors id ${id}: the vector is a ${typeof v}, not a BLOB`)
    if (vectorBytes !== undefined && v.length !== vectorBytes) {
      throw new VqFormatError(
        'CORRUPT_FILE',
        `${this.#path}: vq_vectors id ${id}: the vector has ${v.length} bytes, expected ${vectorBytes}`,
      )
    }
    return v
  }

  /** CORRUPT_FILE unless a vq_codes row holds a valid id, seq, list and a code of codeSize bytes. */
  #checkCode(seq: unknown, id: unknown, list: unknown, code: unknown, codeSize: number): void {
    const where = `${this.#path}: vq_codes seq ${String(seq)} id ${String(id)}`
    if (!validId(id)) throw new VqFormatError('CORRUPT_FILE', `${where}: the id is not an integer from 0 to ${MAX_ID}`)
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) {
      throw new VqFormatError('CORRUPT_FILE', `${where}: the seq is not an integer from 0 to ${MAX_SEQ}`)
    }
    if (typeof list !== 'number' || !Number.isInteger(list) || list < 0 || list > 0x7fffffff) {
      throw new VqFormatError('CORRUPT_FILE', `${where}: the list ${String(list)} is not a list number`)
    }
    if (!Buffer.isBuffer(code)) throw new VqFormatError('CORRUPT_FILE', `${where}: the code is a ${typeof code}, not a BLOB`)
    if (code.length !== codeSize)
      throw new VqFormatError('CORRUPT_FILE', `${where}: the code has ${code.length} bytes, expected ${codeSize}`)
  }

  /**
   * The items with seq > afterSeq, in seq order (inside the caller's read transaction, which
   * every later read of the result must share). One pass reads and checks every row's seq,
   * id, list and code length (numbers only: no buffer per row) and keeps the lists; the
   * ids, seqs and codes are read afterwards, either in chunks (forEachChunk: the bulk load
   * copies them straight into the lists' arenas, so no full-size copy of the codes is ever
   * held) or all at once on first use of ids, seqs or codes. `expected` (an upper bound of
   * the count, e.g. the manifest's) sizes the first arrays, within a bound.
   */
  loadCodes(afterSeq: number, codeSize: number, expected: number): LoadedCodes {
    const lists = this.#scanLists(afterSeq, codeSize, expected)
    return new CodeCursor(this, this.#path, afterSeq, codeSize, lists)
  }

  /**
   * Pass one of loadCodes: the lists, read `SCAN_CHUNK` rows per statement as one text of
   * numbers (no JavaScript value per row: garbage that would grow V8's young generation for
   * good), every row's seq, id, list and code shape checked in SQL; a chunk with a bad row
   * is read again row by row to name it.
   */
  #scanLists(afterSeq: number, codeSize: number, expected: number): Int32Array {
    // `expected` comes from the file: it only sizes the first array, within a bound.
    let cap = Number.isSafeInteger(expected) ? Math.min(Math.max(16, expected), FIRST_CAPACITY) : 16
    let lists = new Int32Array(cap)
    let n = 0
    const stmt = this.#db
      .prepare(
        `SELECT count(*), max(seq), group_concat(list, ',' ORDER BY seq), sum(NOT (${rowOk(codeSize)})) FROM (SELECT seq, id, list, code FROM vq_codes WHERE seq > ? ORDER BY seq LIMIT ?)`,
      )
      .raw()
    let after = afterSeq
    for (;;) {
      const [count, last, text, bad] = stmt.get(after, SCAN_CHUNK) as [number, number | null, string | null, number | null]
      if (count === 0 || last === null || text === null) break
      if (bad !== 0) this.#checkRows(after, last, codeSize)
      while (n + count > cap) cap *= 2
      if (cap > lists.length) lists = grow(lists, cap)
      if (parseIntegers(text, lists, n, count) !== count) this.#checkRows(after, last, codeSize)
      n += count
      after = last
      if (count < SCAN_CHUNK) break
    }
    return lists.subarray(0, n)
  }

  /** Checks the rows with seq in (after, last] one by one (CORRUPT_FILE naming the first bad one). */
  #checkRows(after: number, last: number, codeSize: number): void {
    const it = this.#db
      .prepare('SELECT seq, id, list, code FROM vq_codes WHERE seq > ? AND seq <= ? ORDER BY seq')
      .raw()
      .iterate(after, last) as IterableIterator<[unknown, unknown, unknown, unknown]>
    for (const [seq, id, list, code] of it) this.#checkCode(seq, id, list, code, codeSize)
    throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_codes seq ${after + 1}..${last}: rows changed while they were read`)
  }

  /**
   * Reads up to `rows` items with seq > afterSeq into chunk (from its start): seqs, ids and
   * lists parsed from one text each, the codes as one blob (no value per row; the rows were
   * checked by loadCodes in the same read transaction, and are checked again here). Returns
   * how many it read.
   */
  readChunk(afterSeq: number, codeSize: number, rows: number, chunk: CodeChunk): number {
    let stmt = this.#chunkStatements.get(codeSize)
    if (!stmt) {
      stmt = this.#db
        .prepare(
          `SELECT count(*), max(seq), group_concat(seq, ',' ORDER BY seq), group_concat(id, ',' ORDER BY seq), group_concat(list, ',' ORDER BY seq), group_concat(hex(code), '' ORDER BY seq), sum(NOT (${rowOk(codeSize)})) FROM (SELECT seq, id, list, code FROM vq_codes WHERE seq > ? ORDER BY seq LIMIT ?)`,
        )
        .raw()
      this.#chunkStatements.set(codeSize, stmt)
    }
    const [count, last, seqText, idText, listText, hexCodes, bad] = stmt.get(afterSeq, rows) as [
      number,
      number | null,
      string | null,
      string | null,
      string | null,
      string | null,
      number | null,
    ]
    if (count === 0 || last === null) return 0
    if (bad !== 0) this.#checkRows(afterSeq, last, codeSize)
    const ok =
      parseIntegers(seqText ?? '', chunk.seqs, 0, count) === count &&
      parseIntegers(idText ?? '', chunk.ids, 0, count) === count &&
      parseIntegers(listText ?? '', chunk.lists, 0, count) === count &&
      parseHex(hexCodes ?? '', chunk.codes, count * codeSize)
    if (!ok) this.#checkRows(afterSeq, last, codeSize)
    return count
  }

  /** Ids deleted with seq > afterSeq. */
  tombstonesAfter(afterSeq: number): number[] {
    const ids = this.#db.prepare('SELECT id FROM vq_tombstones WHERE seq > ? ORDER BY seq').pluck().all(afterSeq) as unknown[]
    for (const id of ids) {
      if (!validId(id))
        throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_tombstones: the id ${String(id)} is not an integer from 0 to ${MAX_ID}`)
    }
    return ids as number[]
  }

  /** Ids and metadata JSON (checked: CORRUPT_FILE naming the id) of the items matching a WHERE clause over vq_codes c LEFT JOIN vq_metadata m, by id. */
  where(where: string, params: readonly unknown[], limit: number): { id: number; json: string | null }[] {
    const rows = this.#db
      .prepare(
        `SELECT c.id AS id, m.json AS json FROM vq_codes c LEFT JOIN vq_metadata m ON m.id = c.id WHERE ${where} ORDER BY c.id LIMIT ?`,
      )
      .all(...params, limit) as { id: number; json: unknown }[]
    // Each row's metadata is checked (JSON text within the limits), so callers may parse it.
    return rows.map((r) => ({ id: r.id, json: checkStoredMetadata(r.json, `${this.#path}: vq_metadata id ${r.id}`) }))
  }

  /** Seqs of the items matching a WHERE clause over vq_codes c LEFT JOIN vq_metadata m (parameters bound, never spliced). */
  seqsWhere(where: string, params: readonly unknown[]): number[] {
    return this.#db
      .prepare(`SELECT c.seq FROM vq_codes c LEFT JOIN vq_metadata m ON m.id = c.id WHERE ${where}`)
      .pluck()
      .all(...params) as number[]
  }

  /** The metadata JSON (checked) of each of the first n ids, null for none or for -1; one statement. */
  metadataOf(ids: ArrayLike<number>, n: number): (string | null)[] {
    const want: number[] = []
    for (let i = 0; i < n; i++) if (ids[i]! >= 0) want.push(ids[i]!)
    const found = new Map<number, string | null>()
    if (want.length > 0) {
      this.#metaOf ??= this.#db.prepare('SELECT id, json FROM vq_metadata WHERE id IN (SELECT value FROM json_each(?))').raw()
      for (const [id, json] of this.#metaOf.all(JSON.stringify(want)) as [number, unknown][])
        found.set(id, checkStoredMetadata(json, `${this.#path}: vq_metadata id ${id}`))
    }
    const out: (string | null)[] = new Array(n)
    for (let i = 0; i < n; i++) out[i] = found.get(ids[i]!) ?? null
    return out
  }

  /**
   * Items in seq order after `afterSeq` matching a WHERE clause over vq_codes c LEFT JOIN
   * vq_metadata m (`keys`: with the string id), at most `limit`: seq, id, metadata JSON
   * (checked), vector bytes when asked (withVectors; vectorBytes: their expected length).
   */
  page(
    afterSeq: number,
    where: string,
    params: readonly unknown[],
    limit: number,
    withVectors: boolean,
    withKeys: boolean,
    vectorBytes: number | undefined,
  ): ItemPageRow[] {
    const vec = withVectors ? '(SELECT v.vector FROM vq_vectors v WHERE v.id = c.id)' : 'NULL'
    const key = withKeys ? '(SELECT k.key FROM vq_keys k WHERE k.id = c.id)' : 'NULL'
    const rows = this.#db
      .prepare(
        `SELECT c.seq, c.id, m.json, ${vec}, ${key} FROM vq_codes c LEFT JOIN vq_metadata m ON m.id = c.id WHERE c.seq > ? AND (${where}) ORDER BY c.seq LIMIT ?`,
      )
      .raw()
      .all(afterSeq, ...params, limit) as [number, number, unknown, unknown, unknown][]
    return rows.map(([seq, id, json, vector, k]) => {
      if (withKeys && typeof k !== 'string') throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_keys: item ${id} has no string id`)
      return {
        seq,
        id,
        json: checkStoredMetadata(json, `${this.#path}: vq_metadata id ${id}`),
        vector: withVectors ? this.#vector(id, vector ?? null, vectorBytes) : null,
        key: withKeys ? (k as string) : null,
      }
    })
  }

  /** Items matching a WHERE clause over vq_codes c LEFT JOIN vq_metadata m. */
  countWhere(where: string, params: readonly unknown[]): number {
    return this.#db
      .prepare(`SELECT count(*) FROM vq_codes c LEFT JOIN vq_metadata m ON m.id = c.id WHERE ${where}`)
      .pluck()
      .get(...params) as number
  }

  /** The largest stored id, or -1. */
  maxId(): number {
    return (this.#db.prepare('SELECT max(id) FROM vq_codes').pluck().get() as number | null) ?? -1
  }

  /**
   * Streams stored vectors in seq order (items without a stored vector are skipped). With
   * vectorBytes, a vector of another length is CORRUPT_FILE naming its id.
   */
  forEachVector(visit: (id: number, seq: number, vector: Buffer) => void, vectorBytes?: number): void {
    const it = this.#db
      .prepare('SELECT c.seq, c.id, v.vector FROM vq_codes c JOIN vq_vectors v ON v.id = c.id ORDER BY c.seq')
      .raw()
      .iterate() as IterableIterator<[number, number, unknown]>
    for (const [seq, id, v] of it) visit(id, seq, this.#vector(id, v, vectorBytes)!)
  }

  /**
   * The items (with code, vector, metadata and, withKeys, string id) of seq > afterSeq, in
   * seq order, at most `limit` of them.
   */
  itemsAfter(afterSeq: number, limit: number, withKeys = false): RawItem[] {
    if (withKeys) this.#itemsAfterKeyed ??= this.#itemsAfterStatement(true)
    else this.#itemsAfter ??= this.#itemsAfterStatement(false)
    const stmt = (withKeys ? this.#itemsAfterKeyed : this.#itemsAfter)!
    const rows = stmt.all(afterSeq, limit) as [number, number, number, Buffer, Buffer | null, string | null, unknown][]
    return rows.map(([seq, id, list, code, vector, json, k]) => {
      if (withKeys && typeof k !== 'string') throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_keys: item ${id} has no string id`)
      return withKeys ? { seq, id, list, code, vector, json, key: k as string } : { seq, id, list, code, vector, json }
    })
  }

  #itemsAfterStatement(withKeys: boolean): Database.Statement {
    const key = withKeys ? 'k.key' : 'NULL'
    const join = withKeys ? ' LEFT JOIN vq_keys k ON k.id = c.id' : ''
    return this.#db
      .prepare(
        `SELECT c.seq, c.id, c.list, c.code, v.vector, m.json, ${key} FROM vq_codes c LEFT JOIN vq_vectors v ON v.id = c.id LEFT JOIN vq_metadata m ON m.id = c.id${join} WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
      )
      .raw()
  }
}

/** Errors met while reading codes after loadCodes returned, typed as SqliteStore types them. */
function typed<T>(path: string, fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof VqError || e instanceof Database.SqliteError) throw storageError(e, path, 'loading the codes')
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    throw new VqFormatError('CORRUPT_FILE', `${path}: loading the codes: the file is damaged (${what})`, { cause: e })
  }
}

/** Rows per chunk when all items are read at once. */
const ALL_CHUNK = 8192

/** The result of loadCodes (see LoadedCodes). */
class CodeCursor implements LoadedCodes {
  readonly count: number
  readonly lists: Int32Array
  readonly #items: ItemTables
  readonly #path: string
  readonly #afterSeq: number
  readonly #codeSize: number
  #all: CodeChunk | undefined

  constructor(items: ItemTables, path: string, afterSeq: number, codeSize: number, lists: Int32Array) {
    this.#items = items
    this.#path = path
    this.#afterSeq = afterSeq
    this.#codeSize = codeSize
    this.lists = lists
    this.count = lists.length
  }

  forEachChunk(rows: number, visit: (chunk: Readonly<CodeChunk>, n: number) => void): void {
    const size = Math.max(1, Math.min(rows, this.count))
    const chunk: CodeChunk = {
      ids: new Float64Array(size),
      seqs: new Uint32Array(size),
      lists: new Int32Array(size),
      codes: new Uint8Array(size * this.#codeSize),
    }
    let after = this.#afterSeq
    let done = 0
    while (done < this.count) {
      const n = typed(this.#path, () => this.#items.readChunk(after, this.#codeSize, Math.min(size, this.count - done), chunk))
      if (n === 0) break
      for (let i = 0; i < n; i++) {
        if (chunk.lists[i] !== this.lists[done + i]) {
          throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_codes seq ${chunk.seqs[i]} changed while it was loaded`)
        }
      }
      visit(chunk, n)
      done += n
      after = chunk.seqs[n - 1]!
    }
    if (done !== this.count) {
      throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_codes: ${done} items read back of the ${this.count} found`)
    }
  }

  /** Every item at once (read on first use). */
  #read(): CodeChunk {
    if (this.#all) return this.#all
    const n = this.count
    const cs = this.#codeSize
    const all: CodeChunk = { ids: new Float64Array(n), seqs: new Uint32Array(n), lists: this.lists, codes: new Uint8Array(n * cs) }
    let at = 0
    this.forEachChunk(ALL_CHUNK, (c, k) => {
      all.ids.set(c.ids.subarray(0, k), at)
      all.seqs.set(c.seqs.subarray(0, k), at)
      all.codes.set(c.codes.subarray(0, k * cs), at * cs)
      at += k
    })
    this.#all = all
    return all
  }

  get ids(): Float64Array {
    return this.#read().ids
  }

  get seqs(): Uint32Array {
    return this.#read().seqs
  }

  get codes(): Uint8Array {
    return this.#read().codes
  }
}
