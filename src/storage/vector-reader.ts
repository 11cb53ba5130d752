/**
 * Reading stored vectors for re-ranking (the hot path): one statement per batch of ids,
 * on a store's connection (VectorReads, which shares one read transaction across
 * consecutive calls) or on a worker thread's own read-only connection (openVectorReader).
 */
import Database from 'better-sqlite3'
import { MMAP_BYTES } from './connection.js'

/** Longest time a read snapshot is held across re-ranking reads (see VectorReads). */
const SNAPSHOT_MS = 50

/**
 * Stored vectors read by readVectorBlobs: rows with ids ascending, their bytes back to
 * back. Every row's length is accounted for, so that one damaged row can never shift the
 * others: when all rows have `size` bytes, lengths is null; otherwise lengths holds each
 * row's byte length (-1 for a stored value that is not a blob, which adds no bytes) and
 * the rows lie back to back in that order.
 */
export interface VectorRows {
  /** The ids found, ascending. */
  readonly ids: Float64Array
  /** The vectors of ids, in their order: ids.length * size bytes when lengths is null. */
  readonly blob: Uint8Array
  /** Bytes per row when every row has the same length (lengths null); -1 otherwise. */
  readonly size: number
  /** Byte length of each row when they differ (-1: not a blob), else null. */
  readonly lengths: Int32Array | null
}

const NO_ROWS: VectorRows = { ids: new Float64Array(0), blob: new Uint8Array(0), size: 0, lengths: null }

/**
 * A read-only connection of its own to an index file, for reading stored vectors (the
 * worker threads' re-ranking): memory-mapped like a store's, with the readVectors statement.
 */
export function openVectorReader(path: string): { conn: Database.Database; stmt: Database.Statement } {
  const conn = new Database(path, { readonly: true, fileMustExist: true })
  conn.pragma(`mmap_size = ${MMAP_BYTES}`)
  return { conn, stmt: prepareReadVectors(conn) }
}

/**
 * The longest row in bytes (SQL over the rows v of vq_vectors). With count rows and the
 * total length of their concatenation, it proves every row has that length (no row
 * exceeds the longest, so the total is count * longest only if none is shorter): one
 * aggregate, not a length per row. The cast counts the bytes of a value of another type
 * as group_concat writes them.
 */
const LONGEST_ROW = 'max(length(CAST(v.vector AS BLOB)))'

/** Per-row statements of the slow path (rows of differing lengths), by connection. */
const rowStatements = new WeakMap<Database.Database, Database.Statement>()

/**
 * The statement behind readVectors. It returns one row, not one per vector: the ids as text
 * and the vectors concatenated into one blob in the same order, which halves the cost of a
 * re-ranking fetch against a Buffer per row. The ids come as a JSON array, looked up one
 * by one in its order (a join: 7 % faster than `id IN (...)`, which first copies them into
 * a temporary index). Also used by the worker threads' own read-only connections.
 */
export function prepareReadVectors(db: Database.Database): Database.Statement {
  return db
    .prepare(
      `SELECT count(*), group_concat(v.id), CAST(group_concat(v.vector, x'') AS BLOB), ${LONGEST_ROW} FROM json_each(?) c JOIN vq_vectors v ON v.id = c.value`,
    )
    .raw()
}

/**
 * Runs a prepareReadVectors statement for n ids: the stored vectors found (missing ids
 * absent). The statement also returns the longest row; unless every row has that length
 * (see LONGEST_ROW) the rows are read again one by one, so that each keeps its own length
 * (VectorRows.lengths) and the reader can name the damaged id.
 */
export function readVectorBlobs(stmt: Database.Statement, ids: Float64Array, n: number): VectorRows {
  // Ascending ids visit the table's B-tree in order (fewer page changes).
  const sorted = ids.slice(0, n).sort()
  const idsJson = JSON.stringify(Array.from(sorted))
  const [count, idText, blob, longest] = stmt.get(idsJson) as [number, string | null, Buffer | null, number | null]
  if (count === 0 || idText === null) return NO_ROWS
  if (blob === null || longest === null || blob.length !== count * longest) return rowByRow(stmt.database, idsJson)
  const size = longest
  const text = idText.split(',')
  if (text.length !== count) return rowByRow(stmt.database, idsJson)
  const found = new Float64Array(count)
  let ascending = true
  for (let i = 0; i < count; i++) {
    found[i] = Number(text[i])
    if (i > 0 && found[i]! <= found[i - 1]!) ascending = false
  }
  if (ascending) return { ids: found, blob, size, lengths: null }
  // SQLite returns them in index order; should a plan ever differ, sort them here.
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => found[a]! - found[b]!)
  const outIds = new Float64Array(count)
  const outBlob = new Uint8Array(blob.length)
  order.forEach((from, i) => {
    outIds[i] = found[from]!
    outBlob.set(blob.subarray(from * size, (from + 1) * size), i * size)
  })
  return { ids: outIds, blob: outBlob, size, lengths: null }
}

/** The slow path of readVectorBlobs: one row per id, each with its own length. */
function rowByRow(db: Database.Database, idsJson: string): VectorRows {
  let stmt = rowStatements.get(db)
  if (!stmt) {
    stmt = db.prepare('SELECT v.id, v.vector FROM json_each(?) c JOIN vq_vectors v ON v.id = c.value').raw()
    rowStatements.set(db, stmt)
  }
  const rows = (stmt.all(idsJson) as [number, unknown][]).sort((a, b) => a[0] - b[0])
  const count = rows.length
  const outIds = new Float64Array(count)
  const lengths = new Int32Array(count)
  let total = 0
  rows.forEach(([id, v], i) => {
    outIds[i] = id
    lengths[i] = v instanceof Uint8Array ? v.length : -1
    if (lengths[i]! > 0) total += lengths[i]!
  })
  const blob = new Uint8Array(total)
  let at = 0
  for (const [, v] of rows) {
    if (v instanceof Uint8Array) {
      blob.set(v, at)
      at += v.length
    }
  }
  return { ids: outIds, blob, size: -1, lengths }
}

/**
 * Re-ranking reads on a store's own connection. Re-ranking runs one statement per query.
 * Outside a transaction, every statement begins and ends a read transaction of its own,
 * and the file locking and checks of that cost system calls that take longer than the read
 * itself. So consecutive reads share one read transaction (a consistent snapshot, as any
 * read), held until the event loop next turns or for at most SNAPSHOT_MS, and always ended
 * (endSnapshot) before any other transaction or close. Nothing is held inside a caller's
 * transaction.
 */
export class VectorReads {
  readonly #db: Database.Database
  #stmt: Database.Statement | undefined
  /** When the read snapshot began (performance.now()), or -1 when none is held. */
  #snapshotSince = -1
  #snapshotRelease = false
  #begin: Database.Statement | undefined
  #commit: Database.Statement | undefined
  #closed = false

  constructor(db: Database.Database) {
    this.#db = db
  }

  /** The stored vectors of n ids (one statement for the batch); ids without a stored vector are absent. */
  read(ids: Float64Array, n: number): VectorRows {
    this.#holdSnapshot()
    this.#stmt ??= prepareReadVectors(this.#db)
    return readVectorBlobs(this.#stmt, ids, n)
  }

  #holdSnapshot(): void {
    const now = performance.now()
    if (this.#snapshotSince >= 0) {
      if (now - this.#snapshotSince < SNAPSHOT_MS) return
      this.endSnapshot()
    }
    if (this.#db.inTransaction) return
    this.#begin ??= this.#db.prepare('BEGIN DEFERRED')
    this.#commit ??= this.#db.prepare('COMMIT')
    this.#begin.run()
    this.#snapshotSince = now
    if (!this.#snapshotRelease) {
      this.#snapshotRelease = true
      setImmediate(() => {
        this.#snapshotRelease = false
        if (!this.#closed) this.endSnapshot()
      }).unref()
    }
  }

  /** Ends the shared read transaction, if one is held. */
  endSnapshot(): void {
    if (this.#snapshotSince < 0) return
    this.#snapshotSince = -1
    if (!this.#db.inTransaction) return
    try {
      this.#commit!.run()
    } catch {
      // A read transaction holds no change to lose: a COMMIT that fails (a damaged file)
      // ends it by rolling back. Never throws: it also runs from setImmediate.
      try {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK')
      } catch {
        // the connection is unusable; its next statement reports that, typed
      }
    }
  }

  /** Ends the shared read transaction for good (before the connection closes). */
  close(): void {
    this.endSnapshot()
    this.#closed = true
  }
}
