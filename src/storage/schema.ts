/**
 * The schema of an index file (all its DDL):
 *
 *   vq_manifest (key TEXT PRIMARY KEY, value BLOB)        'manifest' -> msgpack Manifest
 *   vq_arrays   (name TEXT PRIMARY KEY, dtype TEXT, shape TEXT, data BLOB)  trained arrays, little-endian
 *   vq_codes    (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, list INTEGER NOT NULL, code BLOB NOT NULL)
 *   vq_vectors  (id INTEGER PRIMARY KEY, vector BLOB NOT NULL)   full-precision vectors (optional)
 *   vq_metadata (id INTEGER PRIMARY KEY, json TEXT NOT NULL)     user metadata (optional)
 *   vq_tombstones (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL) deletions, for readers' refresh()
 *   vq_keys     (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE)  the string ids of an
 *                                                               index created with ids: 'string' (keys.ts;
 *                                                               empty otherwise; format 3)
 *   vq_fts      FTS5 (text), rowid = id                         optional keyword index of one metadata
 *                                                               field (createTextIndex); vq_manifest key
 *                                                               'text_field' names the field
 */
import type Database from 'better-sqlite3'
import { markAsIndex } from './identity.js'
import { KEYS_SCHEMA } from './keys.js'
import { packValue } from './msgpack.js'

/** The tables every index file has. */
export const SCHEMA = `
CREATE TABLE vq_manifest (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE vq_arrays (name TEXT PRIMARY KEY, dtype TEXT NOT NULL, shape TEXT NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE vq_codes (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, list INTEGER NOT NULL, code BLOB NOT NULL);
CREATE TABLE vq_vectors (id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE vq_metadata (id INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE vq_tombstones (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL);
${KEYS_SCHEMA};
`

/** The optional FTS5 keyword index (createTextIndex): contentless, rowid = item id. */
export const TEXT_INDEX_SCHEMA =
  "CREATE VIRTUAL TABLE vq_fts USING fts5(text, content='', contentless_delete=1, tokenize='porter unicode61')"

/** Creates the tables, marks the file as ours and stores the first manifest, in one transaction. */
export function initSchema(db: Database.Database, manifest: object): void {
  db.transaction(() => {
    db.exec(SCHEMA)
    markAsIndex(db)
    db.prepare("INSERT INTO vq_manifest (key, value) VALUES ('manifest', ?)").run(packValue(manifest))
  })()
}
