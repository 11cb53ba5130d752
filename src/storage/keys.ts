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

/** Statements over vq_keys, prepared on first use. */
export class KeyTable {
  readonly #db: Database.Database
  readonly #path: string
  #byKey: Database.Statement | undefined
  #byId: Database.Statement | undefined
  #insert: Database.Statement | undefined
  #delete: Database.Statement | undefined
  #many: Database.Statement | undefined

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

  /** The key of each of the first n ids ('' for -1 and for an id without a key). */
  keysOf(ids: ArrayLike<number>, n = ids.length): string[] {
    const out: string[] = new Array(n)
    if (n > 8) {
      // One statement for the lot: the keys of a batch's results.
      this.#many ??= this.#db.prepare('SELECT k.id, k.key FROM vq_keys k WHERE k.id IN (SELECT value FROM json_each(?))').raw()
      const want: number[] = []
      for (let i = 0; i < n; i++) if (ids[i]! >= 0) want.push(ids[i]!)
      const found = new Map<number, string>()
      for (const [id, key] of this.#many.all(JSON.stringify(want)) as [number, unknown][]) found.set(id, this.#checkKey(id, key))
      for (let i = 0; i < n; i++) out[i] = found.get(ids[i]!) ?? ''
      return out
    }
    this.#byId ??= this.#db.prepare('SELECT key FROM vq_keys WHERE id = ?').pluck()
    for (let i = 0; i < n; i++) {
      const id = ids[i]!
      out[i] = id < 0 ? '' : this.#checkKey(id, this.#byId.get(id) ?? '')
    }
    return out
  }

  /** Copies key rows as they are (import; inside the caller's transaction). */
  insertRaw(ids: ArrayLike<number>, keys: readonly string[]): void {
    const s = this.#db.prepare('INSERT INTO vq_keys (id, key) VALUES (?, ?)')
    for (let i = 0; i < keys.length; i++) s.run(ids[i]!, keys[i])
  }

  #checkId(id: unknown): number {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1)
      throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_keys: the id ${String(id)} is not a positive integer`)
    return id
  }

  #checkKey(id: number, key: unknown): string {
    if (typeof key !== 'string')
      throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_keys: the key of id ${id} is a ${typeof key}, not text`)
    return key
  }
}
