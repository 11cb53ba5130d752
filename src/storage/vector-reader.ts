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
 * The fast statement's aggregates over the joined rows v, in the order of the ids asked:
 * the rows found, their vectors concatenated, and the shortest row (length() counts a blob's
 * bytes, a text's characters). With count rows, shortest L and a concatenation of count * L
 * bytes, every row has exactly L bytes: no row is shorter than L characters, a row's bytes
 * are never fewer than its characters, so the total is count * L only if each row has L.
 * length() of a column reads its header only, not its bytes.
 */
const FAST_AGGREGATES = "count(*), CAST(group_concat(v.vector, x'') AS BLOB), min(length(v.vector))"

/**
 * The longest row in bytes and the shortest in length() (SQL over the rows v of vq_vectors),
 * for the statement that also returns the ids found (readWithIds). With count rows and the
 * total length of their concatenation, the longest proves every row has that many bytes;
 * the shortest, equal to it, that none is a text of fewer characters than bytes. The cast
 * counts the bytes of a value of another type as group_concat writes them.
 */
const LONGEST_ROW = 'max(length(CAST(v.vector AS BLOB))), min(length(v.vector))'

/** Batches of up to this many ids are bound one parameter per id (no JSON to write and parse). */
const BOUND_MAX = 1024

/** Bound statements kept per connection (one per batch size met, the oldest dropped first). */
const BOUND_CACHE = 8

/** A statement with one parameter per id, and the argument array it is run with. */
interface Bound {
  readonly stmt: Database.Statement
  readonly args: number[]
}

/** Per-row statements of the slow path (rows of differing lengths), by connection. */
const rowStatements = new WeakMap<Database.Database, Database.Statement>()
/** Statements that return the ids found (some id missing), by connection. */
const idStatements = new WeakMap<Database.Database, Database.Statement>()
/** Bound statements by connection, then by the number of ids. */
const boundStatements = new WeakMap<Database.Database, Map<number, Bound>>()

/**
 * The statement behind readVectors for batches larger than BOUND_MAX, and the handle of a
 * connection's reads (readVectorBlobs): one row, not one per vector, with the vectors
 * concatenated into one blob in the order of the ids, which come as a JSON array looked up
 * one by one in its order (a join: faster than `id IN (...)`, which first copies them into
 * a temporary index). Also used by the worker threads' own read-only connections.
 */
export function prepareReadVectors(db: Database.Database): Database.Statement {
  return db.prepare(`SELECT ${FAST_AGGREGATES} FROM json_each(?) c CROSS JOIN vq_vectors v ON v.id = c.value`).raw()
}

/**
 * The statement for n ids bound one by one, cached per connection. `VALUES (?), ...` is
 * the outer loop (CROSS JOIN keeps the planner from reordering), so the rows come in the
 * order of the ids, as with json_each, without writing and parsing JSON.
 */
function boundStatement(db: Database.Database, n: number): Bound {
  let cache = boundStatements.get(db)
  if (!cache) {
    cache = new Map()
    boundStatements.set(db, cache)
  }
  let bound = cache.get(n)
  if (bound) return bound
  if (cache.size >= BOUND_CACHE) cache.delete(cache.keys().next().value!)
  const values = Array.from({ length: n }, () => '(?)').join(',')
  const stmt = db.prepare(`SELECT ${FAST_AGGREGATES} FROM (VALUES ${values}) c CROSS JOIN vq_vectors v ON v.id = c.column1`).raw()
  bound = { stmt, args: new Array<number>(n).fill(0) }
  cache.set(n, bound)
  return bound
}

/**
 * Runs a prepareReadVectors statement for n ids: the stored vectors found (missing ids
 * absent). The fast statement returns the vectors in the order of the ids asked (sorted),
 * so when every id has a row of the same length (see FAST_AGGREGATES) the ids found are
 * the ids asked. Otherwise (an id missing, rows of differing lengths) the batch is read
 * again by readWithIds, which returns the ids found and, should the lengths differ, reads
 * the rows one by one so that each keeps its own length (VectorRows.lengths) and the
 * reader can name the damaged id.
 */
export function readVectorBlobs(stmt: Database.Statement, ids: Float64Array, n: number): VectorRows {
  if (n <= 0) return NO_ROWS
  // Ascending ids visit the table's B-tree in order (fewer page changes).
  const sorted = ids.slice(0, n).sort()
  let result: [number, Buffer | null, number | null]
  if (n <= BOUND_MAX) {
    const bound = boundStatement(stmt.database, n)
    const args = bound.args
    for (let i = 0; i < n; i++) args[i] = sorted[i]!
    result = bound.stmt.get(args) as typeof result
  } else result = stmt.get(JSON.stringify(Array.from(sorted))) as typeof result
  const [count, blob, shortest] = result
  if (count === 0) return NO_ROWS
  if (count === n && blob !== null && shortest !== null && blob.length === count * shortest) {
    return { ids: sorted, blob, size: shortest, lengths: null }
  }
  return readWithIds(stmt.database, sorted)
}

/**
 * readVectorBlobs when some id has no row or the rows differ in length: one statement that
 * also returns the ids found, then, should the rows differ in length, one row per id.
 */
function readWithIds(db: Database.Database, sorted: Float64Array): VectorRows {
  let stmt = idStatements.get(db)
  if (!stmt) {
    stmt = db
      .prepare(
        `SELECT count(*), group_concat(v.id), CAST(group_concat(v.vector, x'') AS BLOB), ${LONGEST_ROW} FROM json_each(?) c JOIN vq_vectors v ON v.id = c.value`,
      )
      .raw()
    idStatements.set(db, stmt)
  }
  const idsJson = JSON.stringify(Array.from(sorted))
  const [count, idText, blob, longest, shortest] = stmt.get(idsJson) as [number, string | null, Buffer | null, number | null, number | null]
  if (count === 0 || idText === null) return NO_ROWS
  if (blob === null || longest === null || shortest !== longest || blob.length !== count * longest) return rowByRow(db, idsJson)
  const size = longest
  const text = idText.split(',')
  if (text.length !== count) return rowByRow(db, idsJson)
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
