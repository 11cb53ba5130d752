/** Named properties (msgpack values) stored in vq_manifest under the keys 'prop:<name>'. */
import type Database from 'better-sqlite3'
import { unpackStored } from './meta.js'
import { packValue } from './msgpack.js'

/** Property statements of one connection. */
export class PropertyTable {
  readonly #db: Database.Database
  readonly #path: string

  constructor(db: Database.Database, path: string) {
    this.#db = db
    this.#path = path
  }

  /** A named property, or undefined. */
  get(name: string): unknown {
    const v = this.#db.prepare('SELECT value FROM vq_manifest WHERE key = ?').pluck().get(`prop:${name}`) as unknown
    return v === undefined ? undefined : unpackStored(v, `${this.#path}: property ${JSON.stringify(name)} (vq_manifest key 'prop:${name}')`)
  }

  /** Every named property. */
  readAll(): Record<string, unknown> {
    const rows = this.#db.prepare("SELECT key, value FROM vq_manifest WHERE key LIKE 'prop:%'").raw().all() as [string, unknown][]
    return Object.fromEntries(
      rows.map(([k, v]) => [k.slice(5), unpackStored(v, `${this.#path}: property ${JSON.stringify(k.slice(5))} (vq_manifest key '${k}')`)]),
    )
  }

  /** Sets a named property (inside the caller's transaction). */
  set(name: string, value: unknown): void {
    this.#db.prepare('INSERT OR REPLACE INTO vq_manifest (key, value) VALUES (?, ?)').run(`prop:${name}`, packValue(value))
  }
}
