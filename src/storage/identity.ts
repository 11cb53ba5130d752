/**
 * File identity and migrations: what makes a file a vqlite index (the SQLite header, PRAGMA
 * application_id "VQLT", the format version in PRAGMA user_version and the tables of
 * schema.ts), the checks that refuse a path that is not a regular file, a foreign, damaged
 * or too-new file before anything is written, the recovery of a file a crashed writer left
 * mid-commit, and the ordered migrations of older formats.
 */
import { accessSync, closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { VqFormatError, VqStorageError } from '../errors.js'
import { KEYS_SCHEMA } from './keys.js'

/** "VQLT": marks a SQLite file as a vqlite index. */
export const APPLICATION_ID = 0x56514c54
/**
 * Current file format version (PRAGMA user_version). Format 2 adds the RaBitQ codecs (their
 * codes carry their correction factors, so no table changed); format 1 files are read as
 * they are and marked 2 when first opened for writing. Format 3 adds the table vq_keys of string
 * ids (keys.ts); an older file gains the empty table when first opened for writing, and is read
 * as it is before that (it can only hold integer ids).
 */
export const FORMAT_VERSION = 3

const SQLITE_MAGIC = 'SQLite format 3\u0000'
/** Size of SQLite's database header (page 1 starts with it). */
const HEADER_BYTES = 100

/** The columns of every table an index file must have (schema.ts). */
export const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  vq_manifest: ['key', 'value'],
  vq_arrays: ['name', 'dtype', 'shape', 'data'],
  vq_codes: ['seq', 'id', 'list', 'code'],
  vq_vectors: ['id', 'vector'],
  vq_metadata: ['id', 'json'],
  vq_tombstones: ['seq', 'id'],
}

/**
 * Ordered migrations: MIGRATIONS[v] upgrades a file from format v to v + 1. A step that is
 * readCompatible changes nothing a reader of the newer format needs: a file of format v is
 * opened read-only as it is.
 */
const MIGRATIONS: Record<number, { readonly readCompatible: boolean; run(db: Database.Database): void }> = {
  // 1 -> 2: RaBitQ codecs. Every format 1 file is a valid format 2 file; only the number changes.
  1: { readCompatible: true, run: () => {} },
  // 2 -> 3: string ids. The file gains the (empty) key table; integer-id files never read it.
  2: { readCompatible: true, run: (db) => db.exec(KEYS_SCHEMA) },
}

/** True when a file of format `from` can be read by this version without migrating it (every step is read-compatible). */
export function readableWithoutMigration(from: number): boolean {
  for (let v = from; v < FORMAT_VERSION; v++) if (!MIGRATIONS[v]?.readCompatible) return false
  return true
}

/** True when this process may write to path (file or folder). */
export function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** What a path is, in words, when it is not a regular file (undefined for a regular file). */
function notAFile(st: Stats): string | undefined {
  if (st.isFile()) return undefined
  if (st.isDirectory()) return 'a folder'
  if (st.isFIFO()) return 'a named pipe (FIFO)'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  return 'not a regular file'
}

/** The typed error of a failed stat or open of an index path. */
function pathError(path: string, e: unknown): VqStorageError {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return new VqStorageError('NOT_FOUND', `${path}: no such file`, { cause: e })
  if (code === 'ELOOP')
    return new VqStorageError('CANNOT_OPEN', `${path}: cannot open the file: a loop of symbolic links (ELOOP)`, { cause: e })
  if (code === 'EACCES' || code === 'EPERM') {
    return new VqStorageError(
      'CANNOT_OPEN',
      `${path}: cannot open the file: permission denied (${code}); this process needs read permission on the file and its folders`,
      {
        cause: e,
      },
    )
  }
  return new VqStorageError('CANNOT_OPEN', `${path}: cannot open the file (${code ?? (e as Error).message})`, { cause: e })
}

/**
 * Reads the first 100 bytes of path, which must be a regular file this process may read:
 * NOT_FOUND, or CANNOT_OPEN for a folder, pipe, socket, device, symbolic-link loop or a
 * file without read permission. Opens without blocking (a FIFO never hangs) and checks
 * the opened file itself.
 */
export function readHeader(path: string): Buffer {
  let st: Stats
  try {
    st = statSync(path)
  } catch (e) {
    throw pathError(path, e)
  }
  const kind = notAFile(st)
  if (kind) throw new VqStorageError('CANNOT_OPEN', `${path}: ${kind}, not an index file`)
  let fd: number | undefined
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
    const again = notAFile(fstatSync(fd))
    if (again) throw new VqStorageError('CANNOT_OPEN', `${path}: ${again}, not an index file`)
    const b = Buffer.alloc(HEADER_BYTES)
    let n = 0
    for (;;) {
      const r = readSync(fd, b, n, HEADER_BYTES - n, n)
      if (r <= 0) break
      n += r
      if (n === HEADER_BYTES) break
    }
    return b.subarray(0, n)
  } catch (e) {
    if (e instanceof VqStorageError) throw e
    throw pathError(path, e)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Checks a file's header bytes without opening it as a database: NOT_SQLITE unless it
 * starts with SQLite's magic (an empty file included), CORRUPT_FILE for a header cut short,
 * FOREIGN_FILE unless its application id is vqlite's, NEWER_FORMAT for a newer format,
 * CORRUPT_FILE for a format version vqlite never wrote (below 1). Returns the format version.
 */
export function checkHeaderBytes(path: string, b: Buffer): number {
  const magic = b.subarray(0, 16).toString('latin1')
  if (magic !== SQLITE_MAGIC) {
    const prefix = SQLITE_MAGIC.startsWith(magic) && magic.length > 0
    throw new VqFormatError(
      prefix ? 'CORRUPT_FILE' : 'NOT_SQLITE',
      prefix
        ? `${path}: a SQLite header cut short (${b.length} bytes); the file is truncated`
        : `${path}: not a SQLite database (header ${JSON.stringify(magic)}); vqlite indexes are SQLite files`,
    )
  }
  if (b.length < HEADER_BYTES)
    throw new VqFormatError(
      'CORRUPT_FILE',
      `${path}: a SQLite header cut short (${b.length} of ${HEADER_BYTES} bytes); the file is truncated`,
    )
  const appId = b.readUInt32BE(68)
  if (appId !== APPLICATION_ID) {
    throw new VqFormatError(
      'FOREIGN_FILE',
      `${path}: a SQLite database that is not a vqlite index (application_id ${appId}, expected ${APPLICATION_ID}); it was not modified`,
    )
  }
  return checkVersion(path, b.readInt32BE(60))
}

function checkVersion(path: string, version: number): number {
  if (version > FORMAT_VERSION) {
    throw new VqFormatError(
      'NEWER_FORMAT',
      `${path}: index format ${version} is newer than this vqlite (format ${FORMAT_VERSION}); upgrade vqlite to open it`,
    )
  }
  if (version < 1) {
    throw new VqFormatError(
      'CORRUPT_FILE',
      `${path}: index format ${version} is not one vqlite writes (formats start at 1); the file is damaged; it was not modified`,
    )
  }
  return version
}

/** Throws NOT_SQLITE (or CORRUPT_FILE for a header cut short) unless the file starts with SQLite's header. */
export function checkSqliteHeader(path: string): void {
  const b = readHeader(path)
  const magic = b.subarray(0, 16).toString('latin1')
  if (magic === SQLITE_MAGIC) return
  const prefix = SQLITE_MAGIC.startsWith(magic) && magic.length > 0
  throw new VqFormatError(
    prefix ? 'CORRUPT_FILE' : 'NOT_SQLITE',
    `${path}: not a SQLite database (header ${JSON.stringify(magic)}); vqlite indexes are SQLite files`,
  )
}

/** SQLite codes of a read-only connection that cannot recover a file a writer left mid-commit. */
function needsRecovery(e: unknown): boolean {
  if (!(e instanceof Database.SqliteError)) return false
  return [
    'SQLITE_READONLY_ROLLBACK',
    'SQLITE_READONLY_RECOVERY',
    'SQLITE_READONLY_CANTINIT',
    'SQLITE_READONLY_DIRECTORY',
    'SQLITE_CANTOPEN',
  ].includes(e.code)
}

/** Reads application id, version and the tables on a read-only connection; SQLite errors are thrown as they are. */
function probe(path: string, timeoutMs: number): number {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: timeoutMs })
  try {
    const appId = db.pragma('application_id', { simple: true }) as number
    if (appId >>> 0 !== APPLICATION_ID) {
      throw new VqFormatError(
        'FOREIGN_FILE',
        `${path}: a SQLite database that is not a vqlite index (application_id ${appId >>> 0}, expected ${APPLICATION_ID}); it was not modified`,
      )
    }
    const version = checkVersion(path, db.pragma('user_version', { simple: true }) as number)
    checkTables(db, path)
    return version
  } finally {
    db.close()
  }
}

/** CORRUPT_FILE unless every table and column of the schema is there. */
export function checkTables(db: Database.Database, path: string): void {
  const info = db.prepare('SELECT name FROM pragma_table_info(?)').pluck()
  for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
    const have = new Set(info.all(table) as string[])
    if (have.size === 0) throw new VqFormatError('CORRUPT_FILE', `${path}: the table ${table} is missing; the file is damaged`)
    for (const c of columns) {
      if (!have.has(c)) throw new VqFormatError('CORRUPT_FILE', `${path}: the column ${table}.${c} is missing; the file is damaged`)
    }
  }
}

/**
 * Rolls back what a writer that died mid-commit left (a hot -journal, or a WAL whose index
 * must be rebuilt): what any SQLite writer does on its first read, restoring the last
 * committed state. Only for files already identified as vqlite indexes.
 */
function recover(path: string, timeoutMs: number): void {
  const db = new Database(path, { fileMustExist: true, timeout: timeoutMs })
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get()
  } finally {
    db.close()
  }
}

/**
 * Identifies a file, writing nothing unless it is a vqlite index: the header bytes first
 * (checkHeaderBytes), then, on a read-only connection, its application id, format version
 * and tables (CORRUPT_FILE for a missing table or column). A file a crashed writer left
 * mid-commit (a hot -journal) is recovered when this process may write the file and its
 * folder; otherwise READ_ONLY says what to do. Returns the format version.
 */
export function identify(path: string, timeoutMs = 5000): number {
  checkHeaderBytes(path, readHeader(path))
  try {
    return probe(path, timeoutMs)
  } catch (e) {
    if (!needsRecovery(e)) throw e
    const folder = dirname(resolve(path))
    if (!writable(path) || !writable(folder)) {
      throw new VqStorageError(
        'READ_ONLY',
        `${path}: a writer stopped in the middle of a commit (${(e as { code: string }).code}: ${path}-journal or ${path}-wal is left) and recovering the last committed state needs write access to the file and its folder ${folder}: open it once where it is writable (or copy the file with its -journal/-wal/-shm files to a writable folder)`,
        { cause: e },
      )
    }
  }
  recover(path, timeoutMs)
  return probe(path, timeoutMs)
}

/** Marks a new database as a vqlite index of the current format (inside the caller's transaction). */
export function markAsIndex(db: Database.Database): void {
  db.pragma(`application_id = ${APPLICATION_ID}`)
  db.pragma(`user_version = ${FORMAT_VERSION}`)
}

/** Upgrades a file from format `from` to the current one, in one transaction. */
export function migrate(db: Database.Database, from: number): void {
  db.transaction(() => {
    for (let v = from; v < FORMAT_VERSION; v++) {
      const step = MIGRATIONS[v]
      if (!step) throw new VqFormatError('NEWER_FORMAT', `no migration from index format ${v}`)
      step.run(db)
      db.pragma(`user_version = ${v + 1}`)
    }
  }).immediate()
}
