/**
 * String ids (indexes created with ids: 'string'): the table vq_keys maps each key (the
 * user's id, a string) to the integer id the rest of the file and every in-memory
 * structure use. The integer ids are handed out by SQLite (AUTOINCREMENT: never reused,
 * so a reader catching up with tombstones never confuses a deleted key with a new one).
 * A key's row lives exactly as long as its item: written with it, kept by an upsert,
 * removed with it by delete.
 *
 * Bytes and rows only: the door checks of keys are in engine/ids.ts.
 */
import type Database from 'better-sqlite3'
import { VqFormatError } from '../errors.js'

/** The DDL of the key table (created by every new file; read only by string-id indexes). */
export const KEYS_SCHEMA = 'CREATE TABLE IF NOT EXISTS vq_keys (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE)'

/** keysOf binds up to this many ids one parameter each (a search's k results); more go as one JSON list. */
const BOUND_KEYS = 256

/** keysOf's bound statements kept per table (one per count of ids met). */
const BOUND_CACHE = 8

/** Statements over vq_keys, prepared on first use. */
export class KeyTable {
  readonly #db: Database.Database
  readonly #path: string
  #byKey: Database.Statement | undefined
  #insert: Database.Statement | undefined
  #delete: Database.Statement | undefined
  #many: Database.Statement | undefined
  /** keysOf's statements for n <= BOUND_KEYS ids, by n. */
  readonly #boundByN = new Map<number, { stmt: Database.Statement; args: number[] }>()

  constructor(db: Database.Database, path: string) {
    this.#db = db
    this.#path = path
  }

  /** The integer id of each key, or -1 where the key is not stored. */
  idsOf(keys: readonly string[]): Float64Array {
    this.#byKey ??= this.#db.prepare('SELECT id FROM vq_keys WHERE key = ?').pluck()
    const out = new Float64Array(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const id = this.#byKey.get(keys[i]) as number | undefined
      out[i] = id === undefined ? -1 : this.#checkId(id)
    }
    return out
  }

  /** Stores new keys (none of them stored yet; inside the caller's transaction) and returns their new integer ids. */
  insert(keys: readonly string[], out: Float64Array, at: readonly number[]): void {
    this.#insert ??= this.#db.prepare('INSERT INTO vq_keys (key) VALUES (?)')
    for (const i of at) out[i] = Number(this.#insert.run(keys[i]).lastInsertRowid)
  }

  /** Removes the keys of these integer ids (inside the caller's transaction). */
  delete(ids: readonly number[]): void {
    this.#delete ??= this.#db.prepare('DELETE FROM vq_keys WHERE id = ?')
    for (const id of ids) this.#delete.run(id)
  }

  /**
   * The key of each of the first n ids ('' for -1 and for an id without a key): one
   * statement that returns them all as one JSON object from position to key (one string
   * crosses into JavaScript, not a row per key; no sort, and no reliance on row order).
   */
  keysOf(ids: ArrayLike<number>, n = ids.length): string[] {
    if (n <= 0) return []
    let json: string
    if (n <= BOUND_KEYS) {
      // One search's k results: the ids bound one parameter each, beside their positions
      // written into the statement (no JSON list to write and parse; 30% faster for k = 10).
      const bound = this.#bound(n)
      for (let i = 0; i < n; i++) bound.args[i] = ids[i]!
      json = bound.stmt.get(bound.args) as string
    } else {
      this.#many ??= this.#db
        .prepare('SELECT json_group_object(j.key, k.key) FROM json_each(?) j LEFT JOIN vq_keys k ON k.id = j.value')
        .pluck()
      let list = '['
      for (let i = 0; i < n; i++) list += i === 0 ? `${ids[i]!}` : `,${ids[i]!}`
      json = this.#many.get(`${list}]`) as string
    }
    const found = JSON.parse(json) as Record<number, unknown>
    const out: string[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const key = found[i]
      if (key !== null && typeof key !== 'string')
        throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_keys: the key of id ${ids[i]} is a ${typeof key}, not text`)
      out[i] = key ?? ''
    }
    return out
  }

  /** Copies key rows as they are (import; inside the caller's transaction). */
  insertRaw(ids: ArrayLike<number>, keys: readonly string[]): void {
    const s = this.#db.prepare('INSERT INTO vq_keys (id, key) VALUES (?, ?)')
    for (let i = 0; i < keys.length; i++) s.run(ids[i]!, keys[i])
  }

  /** The statement of keysOf for n ids bound one by one (cached, the oldest size dropped first). */
  #bound(n: number): { stmt: Database.Statement; args: number[] } {
    let b = this.#boundByN.get(n)
    if (b) return b
    if (this.#boundByN.size >= BOUND_CACHE) this.#boundByN.delete(this.#boundByN.keys().next().value!)
    const rows = Array.from({ length: n }, (_, i) => `(${i}, ?)`).join(',')
    const stmt = this.#db
      .prepare(`SELECT json_group_object(c.column1, k.key) FROM (VALUES ${rows}) c LEFT JOIN vq_keys k ON k.id = c.column2`)
      .pluck()
    b = { stmt, args: new Array<number>(n).fill(0) }
    this.#boundByN.set(n, b)
    return b
  }

  #checkId(id: unknown): number {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1)
      throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_keys: the id ${String(id)} is not a positive integer`)
    return id
  }
}
