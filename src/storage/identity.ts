/**
 * File identity and migrations: what makes a file a vqlite index (the SQLite header, PRAGMA
 * application_id "VQLT" and the format version in PRAGMA user_version), the checks that
 * refuse a foreign or too-new file before anything is written, and the ordered migrations
 * of older formats.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import Database from 'better-sqlite3'
import { VqFormatError } from '../errors.js'

/** "VQLT": marks a SQLite file as a vqlite index. */
export const APPLICATION_ID = 0x56514c54
/** Current file format version (PRAGMA user_version). */
export const FORMAT_VERSION = 1

const SQLITE_MAGIC = 'SQLite format 3\u0000'

/** Ordered migrations: MIGRATIONS[v] upgrades a file from format v to v + 1. */
const MIGRATIONS: Record<number, (db: Database.Database) => void> = {}

/** Reads the first 16 bytes of a file ('' when shorter or unreadable). */
function fileMagic(path: string): string {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const b = Buffer.alloc(16)
    const n = readSync(fd, b, 0, 16, 0)
    return b.subarray(0, n).toString('latin1')
  } catch {
    return ''
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** Throws NOT_SQLITE (or CORRUPT_FILE for a header cut short) unless the file starts with SQLite's header. */
export function checkSqliteHeader(path: string): void {
  const magic = fileMagic(path)
  if (magic !== SQLITE_MAGIC) {
    throw new VqFormatError(
      magic.length < 16 && magic.length > 0 ? 'CORRUPT_FILE' : 'NOT_SQLITE',
      `${path}: not a SQLite database (header ${JSON.stringify(magic.slice(0, 16))}); vqlite indexes are SQLite files`,
    )
  }
}

/**
 * Identifies a SQLite file on a read-only connection of its own, so a foreign file is never
 * written: FOREIGN_FILE unless it is a vqlite index, NEWER_FORMAT when its format is newer
 * than this version. Returns its format version. SQLite errors are thrown as they are.
 */
export function identify(path: string): number {
  const probe = new Database(path, { readonly: true, fileMustExist: true })
  let appId: number
  let version: number
  try {
    appId = probe.pragma('application_id', { simple: true }) as number
    version = probe.pragma('user_version', { simple: true }) as number
  } finally {
    probe.close()
  }
  if (appId !== APPLICATION_ID) {
    throw new VqFormatError(
      'FOREIGN_FILE',
      `${path}: a SQLite database that is not a vqlite index (application_id ${appId >>> 0}, expected ${APPLICATION_ID}); it was not modified`,
    )
  }
  if (version > FORMAT_VERSION) {
    throw new VqFormatError(
      'NEWER_FORMAT',
      `${path}: index format ${version} is newer than this vqlite (format ${FORMAT_VERSION}); upgrade vqlite to open it`,
    )
  }
  return version
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
      step(db)
      db.pragma(`user_version = ${v + 1}`)
    }
  }).immediate()
}
