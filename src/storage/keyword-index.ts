/**
 * The optional FTS5 keyword index over one string metadata field (vq_fts, rowid = item
 * id; vq_manifest key 'text_field' names the field): creating it, keeping it current as
 * items are written, and BM25 search.
 */
import type Database from 'better-sqlite3'
import { VqStateError } from '../errors.js'
import { packValue, unpackValue } from './msgpack.js'
import { TEXT_INDEX_SCHEMA } from './schema.js'

/** Keeps the keyword index current as items are inserted and deleted. */
export interface TextWriter {
  /** Indexes the field of an item's metadata JSON (nothing when it is not a string). */
  insert(id: number, json: string): void
  remove(id: number): void
}

/** Keyword-index statements of one connection. */
export class KeywordIndex {
  readonly #db: Database.Database
  /** The keyword-indexed metadata field and its JSON path (undefined: not read yet). */
  #field: string | null | undefined
  #jsonPath: string | null = null
  /** The write statements, prepared on first use (undefined: not yet; null: no text index). */
  #writer: TextWriter | null | undefined

  constructor(db: Database.Database) {
    this.#db = db
  }

  /** The metadata field with a keyword index, or null. */
  get field(): string | null {
    if (this.#field === undefined) {
      const v = this.#db.prepare("SELECT value FROM vq_manifest WHERE key = 'text_field'").pluck().get() as Buffer | undefined
      this.#field = v ? String(unpackValue(v)) : null
      this.#jsonPath = this.#field === null ? null : `$.${this.#field}`
    }
    return this.#field
  }

  /** The statements that keep the index current, or undefined when there is no text index. */
  writer(): TextWriter | undefined {
    if (this.#writer === undefined) {
      const path = this.field === null ? null : this.#jsonPath
      if (path === null) {
        this.#writer = null
      } else {
        const ins = this.#db.prepare("INSERT INTO vq_fts (rowid, text) SELECT ?, json_extract(?, ?) WHERE json_type(?, ?) = 'text'")
        const del = this.#db.prepare('DELETE FROM vq_fts WHERE rowid = ?')
        this.#writer = {
          insert: (id, json) => {
            ins.run(id, json, path, json, path)
          },
          remove: (id) => {
            del.run(id)
          },
        }
      }
    }
    return this.#writer ?? undefined
  }

  /**
   * Creates the FTS5 keyword index over the string metadata field `field` (a dotted path),
   * filling it from the items stored; later inserts and deletes keep it current. Inside the
   * caller's transaction.
   */
  create(field: string): void {
    const db = this.#db
    const path = `$.${field}`
    db.exec(TEXT_INDEX_SCHEMA)
    db.prepare("INSERT INTO vq_fts (rowid, text) SELECT id, json_extract(json, ?) FROM vq_metadata WHERE json_type(json, ?) = 'text'").run(
      path,
      path,
    )
    db.prepare("INSERT OR REPLACE INTO vq_manifest (key, value) VALUES ('text_field', ?)").run(packValue(field))
    this.forget()
  }

  /**
   * Drops what this object cached of the text index (the field and its write statements),
   * to be read again from the file on next use. create() changes nothing in memory but
   * this: the transaction it runs in may still fail or roll back, and then the file, which
   * the next read consults, still has no text index.
   */
  forget(): void {
    this.#field = undefined
    this.#jsonPath = null
    this.#writer = undefined
  }

  /**
   * Keyword search (BM25) of an FTS5 MATCH expression over the text index, restricted to
   * stored items matching `where` over vq_codes c LEFT JOIN vq_metadata m: up to k ids, best
   * first, with their BM25 scores (lower is better, as SQLite's bm25()).
   */
  search(match: string, k: number, where: string, params: readonly unknown[]): { ids: number[]; scores: number[] } {
    if (this.field === null) throw new VqStateError('UNSUPPORTED', 'this index has no text index (createTextIndex)')
    const rows = this.#db
      .prepare(
        `SELECT f.rowid AS id, bm25(vq_fts) AS score FROM vq_fts f JOIN vq_codes c ON c.id = f.rowid LEFT JOIN vq_metadata m ON m.id = c.id
       WHERE vq_fts MATCH ? AND (${where}) ORDER BY score, f.rowid LIMIT ?`,
      )
      .raw()
      .all(match, ...params, k) as [number, number][]
    return { ids: rows.map((r) => r[0]), scores: rows.map((r) => r[1]) }
  }
}
