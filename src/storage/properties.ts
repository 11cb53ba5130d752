/** Named properties (msgpack values) stored in vq_manifest under the keys 'prop:<name>'. */
import type Database from 'better-sqlite3'
import { packValue, unpackValue } from './msgpack.js'

/** Property statements of one connection. */
export class PropertyTable {
  readonly #db: Database.Database

  constructor(db: Database.Database) {
    this.#db = db
  }

  /** A named property, or undefined. */
  get(name: string): unknown {
    const v = this.#db.prepare('SELECT value FROM vq_manifest WHERE key = ?').pluck().get(`prop:${name}`) as Buffer | undefined
    return v === undefined ? undefined : unpackValue(v)
  }

  /** Every named property. */
  readAll(): Record<string, unknown> {
    const rows = this.#db.prepare("SELECT key, value FROM vq_manifest WHERE key LIKE 'prop:%'").raw().all() as [string, Buffer][]
    return Object.fromEntries(rows.map(([k, v]) => [k.slice(5), unpackValue(v)]))
  }

  /** Sets a named property (inside the caller's transaction). */
  set(name: string, value: unknown): void {
    this.#db.prepare('INSERT OR REPLACE INTO vq_manifest (key, value) VALUES (?, ?)').run(`prop:${name}`, packValue(value))
  }
}
