/**
 * The items of an index file: codes with their seq and IVF list (vq_codes), stored vectors
 * (vq_vectors), metadata JSON (vq_metadata) and tombstones of deletions (vq_tombstones).
 *
 * `seq` numbers every insertion (and deletion) from one counter in the manifest: codes are
 * loaded in seq order, so positions in memory follow insertion order in every process,
 * and a reader that has loaded up to seq S catches up by applying tombstones and codes
 * with seq > S.
 */
import type Database from 'better-sqlite3'
import { VqFormatError, VqInputError } from '../errors.js'
import { MAX_ID } from '../limits.js'
import { checkStoredMetadata } from '../metadata.js'
import { isUniqueViolation } from './error-mapping.js'
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

/** One stored item, as export/import move it. */
export interface RawItem {
  readonly seq: number
  readonly id: number
  readonly list: number
  readonly code: Uint8Array
  readonly vector: Uint8Array | null
  readonly json: string | null
}

/** Codes, lists and ids read by loadCodes (n each; codes n*codeSize bytes). */
export interface LoadedCodes {
  ids: Float64Array
  seqs: Uint32Array
  lists: Int32Array
  codes: Uint8Array
}

/**
 * Rows per multi-row INSERT of insert(): one statement step binds this many items' codes (or
 * vectors), which cuts the per-row cost of the N-API call and statement reset (about 35%
 * of insert()'s CPU for 16-byte codes and 512-byte vectors).
 */
export const INSERT_ROWS = 64

/** Prepared write statements. */
interface WriteStatements {
  insertCode: Database.Statement
  /** INSERT_ROWS rows per step. */
  insertCodes: Database.Statement
  insertVector: Database.Statement
  /** INSERT_ROWS rows per step. */
  insertVectors: Database.Statement
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
  readonly #path: string
  readonly #keywords: KeywordIndex
  #stmt: WriteStatements | undefined

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
      insertCodes: db.prepare(`INSERT INTO vq_codes (seq, id, list, code) VALUES ${Array(INSERT_ROWS).fill('(?, ?, ?, ?)').join(', ')}`),
      insertVector: db.prepare('INSERT INTO vq_vectors (id, vector) VALUES (?, ?)'),
      insertVectors: db.prepare(`INSERT INTO vq_vectors (id, vector) VALUES ${Array(INSERT_ROWS).fill('(?, ?)').join(', ')}`),
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
    const { ids, lists, codes, codeSize, vectors, vectorBytes = 0 } = rows
    const n = ids.length
    const whole = n - (n % INSERT_ROWS)
    const codeArgs: unknown[] = new Array(INSERT_ROWS * 4)
    const vectorArgs: unknown[] = new Array(INSERT_ROWS * 2)
    for (let i0 = 0; i0 < whole; i0 += INSERT_ROWS) {
      for (let r = 0, i = i0; r < INSERT_ROWS; r++, i++) {
        codeArgs[4 * r] = firstSeq + i
        codeArgs[4 * r + 1] = ids[i]!
        codeArgs[4 * r + 2] = lists[i]!
        codeArgs[4 * r + 3] = codes.subarray(i * codeSize, (i + 1) * codeSize)
      }
      try {
        s.insertCodes.run(codeArgs)
      } catch (e) {
        // The failed statement inserted none of its rows: insert them one by one to name the item.
        if (isUniqueViolation(e)) this.#insertRows(rows, firstSeq, i0, i0 + INSERT_ROWS)
        throw e
      }
      if (vectors) {
        for (let r = 0, i = i0; r < INSERT_ROWS; r++, i++) {
          vectorArgs[2 * r] = ids[i]!
          vectorArgs[2 * r + 1] = vectors.subarray(i * vectorBytes, (i + 1) * vectorBytes)
        }
        s.insertVectors.run(vectorArgs)
      }
      this.#insertMetadata(rows, i0, i0 + INSERT_ROWS)
    }
    this.#insertRows(rows, firstSeq, whole, n)
  }

  /** insert() of items [from, to) one row at a time: ID_EXISTS names the first stored id. */
  #insertRows(rows: ItemRows, firstSeq: number, from: number, to: number): void {
    const s = this.#writer()
    const { ids, lists, codes, codeSize, vectors, vectorBytes = 0 } = rows
    for (let i = from; i < to; i++) {
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
      this.#insertMetadata(rows, i, i + 1)
    }
  }

  /** The metadata (and its keyword index entries) of items [from, to). */
  #insertMetadata(rows: ItemRows, from: number, to: number): void {
    const { ids, metadata } = rows
    if (!metadata) return
    const s = this.#writer()
    const text = this.#keywords.writer()
    for (let i = from; i < to; i++) {
      const m = metadata[i]
      if (m !== undefined && m !== null) {
        s.insertMeta.run(ids[i]!, m)
        text?.insert(ids[i]!, m)
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
   * Reads every item with seq > afterSeq, in seq order: ids, seqs, lists (n each) and
   * n*codeSize code bytes. `expected` (an upper bound of the count, e.g. the manifest's)
   * sizes the arrays up front.
   */
  loadCodes(afterSeq: number, codeSize: number, expected: number): LoadedCodes {
    // `expected` comes from the file: it only sizes the first arrays, within a bound.
    let cap = Number.isSafeInteger(expected) ? Math.min(Math.max(16, expected), FIRST_CAPACITY) : 16
    let ids = new Float64Array(cap)
    let seqs = new Uint32Array(cap)
    let lists = new Int32Array(cap)
    let codes = new Uint8Array(cap * codeSize)
    let n = 0
    const it = this.#db
      .prepare('SELECT seq, id, list, code FROM vq_codes WHERE seq > ? ORDER BY seq')
      .raw()
      .iterate(afterSeq) as IterableIterator<[number, number, number, Buffer]>
    for (const [seq, id, list, code] of it) {
      this.#checkCode(seq, id, list, code, codeSize)
      if (n === cap) {
        cap *= 2
        ids = grow(ids, cap)
        seqs = grow(seqs, cap)
        lists = grow(lists, cap)
        codes = grow(codes, cap * codeSize)
      }
      ids[n] = id
      seqs[n] = seq
      lists[n] = list
      codes.set(code, n * codeSize)
      n++
    }
    return { ids: ids.subarray(0, n), seqs: seqs.subarray(0, n), lists: lists.subarray(0, n), codes: codes.subarray(0, n * codeSize) }
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

  /** Streams every item (seq order) with its code, vector and metadata, in blocks of up to `block` rows. */
  forEachItem(visit: (rows: RawItem[]) => void, block: number): void {
    const it = this.#db
      .prepare(
        'SELECT c.seq, c.id, c.list, c.code, v.vector, m.json FROM vq_codes c LEFT JOIN vq_vectors v ON v.id = c.id LEFT JOIN vq_metadata m ON m.id = c.id ORDER BY c.seq',
      )
      .raw()
      .iterate() as IterableIterator<[number, number, number, Buffer, Buffer | null, string | null]>
    let rows: RawItem[] = []
    for (const [seq, id, list, code, vector, json] of it) {
      rows.push({ seq, id, list, code, vector, json })
      if (rows.length === block) {
        visit(rows)
        rows = []
      }
    }
    if (rows.length > 0) visit(rows)
  }
}
