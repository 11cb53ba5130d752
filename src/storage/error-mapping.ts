/**
 * Typed errors of the storage layer: SQLite result codes (better-sqlite3's SqliteError) to
 * VqStorageError / VqFormatError, and the state errors of a closed or read-only store.
 */
import Database from 'better-sqlite3'
import { VqFormatError, VqStateError, VqStorageError } from '../errors.js'

/** Messages of SQLite errors that mean the file lacks what its schema promises, or holds malformed text. */
const DAMAGE = /no such table|no such column|malformed|no such index|has no column named/i

/** Maps a better-sqlite3 error to a typed vqlite error (other errors pass through). */
export function storageError(e: unknown, path: string, doing: string): Error {
  if (!(e instanceof Database.SqliteError)) return e instanceof Error ? e : new Error(String(e))
  const code = e.code
  if (code === 'SQLITE_READONLY_ROLLBACK' || code === 'SQLITE_READONLY_RECOVERY' || code === 'SQLITE_READONLY_CANTINIT') {
    return new VqStorageError(
      'READ_ONLY',
      `${path}: ${doing}: a writer stopped in the middle of a commit and recovering the last committed state needs write access to the file and its folder (${code}): open it once where it is writable`,
      { cause: e },
    )
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new VqStorageError('LOCKED', `${path}: ${doing}: the database is locked by another connection (waited for the busy timeout)`, {
      cause: e,
    })
  }
  if (code === 'SQLITE_NOTADB') return new VqFormatError('NOT_SQLITE', `${path}: not a SQLite database`, { cause: e })
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_IOERR_SHORT_READ') {
    return new VqFormatError('CORRUPT_FILE', `${path}: ${doing}: the file is corrupted or truncated (${code})`, { cause: e })
  }
  if ((code === 'SQLITE_ERROR' || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG') && DAMAGE.test(e.message)) {
    return new VqFormatError('CORRUPT_FILE', `${path}: ${doing}: the file is damaged: ${e.message} (${code})`, { cause: e })
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new VqStorageError(
      'READ_ONLY',
      `${path}: ${doing}: the file or its folder is read-only (${code}); an index left in WAL mode by a writer that did not close needs a writable folder even to read`,
      { cause: e },
    )
  }
  if (code.startsWith('SQLITE_CANTOPEN'))
    return new VqStorageError('CANNOT_OPEN', `${path}: ${doing}: cannot open the file (${code})`, { cause: e })
  if (code === 'SQLITE_FULL') return new VqStorageError('IO_ERROR', `${path}: ${doing}: disk full`, { cause: e })
  if (code.startsWith('SQLITE_IOERR')) return new VqStorageError('IO_ERROR', `${path}: ${doing}: I/O error (${code})`, { cause: e })
  return new VqStorageError('IO_ERROR', `${path}: ${doing}: ${e.message} (${code})`, { cause: e })
}

/** True when e is SQLite's UNIQUE constraint failure (an id stored twice). */
export function isUniqueViolation(e: unknown): boolean {
  return e instanceof Database.SqliteError && e.code === 'SQLITE_CONSTRAINT_UNIQUE'
}

/** The error of any call on a closed store. */
export function closedError(): VqStateError {
  return new VqStateError('CLOSED', 'the index is closed')
}

/** The error of a write on a store opened read-only. */
export function readOnlyError(path: string): VqStateError {
  return new VqStateError('READ_ONLY', `${path} is open read-only`)
}
