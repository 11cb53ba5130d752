/**
 * Opening a connection to an index file: creating a new file complete-or-not-at-all,
 * opening an existing one after its identity checks (and migrations), and the connection
 * settings (busy timeout, memory-mapped reads, WAL journal, durability).
 */
import { accessSync, constants, existsSync, linkSync, rmSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { VqFormatError, VqStorageError } from '../errors.js'
import type { Durability } from '../types.js'
import { storageError } from './error-mapping.js'
import { checkHeaderBytes, FORMAT_VERSION, identify, migrate, readableWithoutMigration, readHeader, writable } from './identity.js'
import { initSchema } from './schema.js'

/** Connection options of a store. */
export interface StoreOptions {
  readonly?: boolean
  durability?: Durability
  /** How long a write waits for another writer's lock before failing with LOCKED. Default 5000 ms. */
  busyTimeoutMs?: number
}

/**
 * Memory-mapped I/O window (PRAGMA mmap_size): reads of stored vectors for re-ranking go
 * through the OS page cache without a read() call and a copy per page (about 2x faster
 * for random reads). It reserves address space, not memory.
 */
export const MMAP_BYTES = 2 ** 33

/**
 * Connection settings that write nothing: busy timeout, memory-mapped reads and, for a
 * writer, the durability. The WAL journal is switched on by enableWal, once the file is
 * verified (a refused file is never switched).
 */
function configure(db: Database.Database, options: StoreOptions, readonly: boolean): Database.Database {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`)
  db.pragma(`mmap_size = ${MMAP_BYTES}`)
  if (!readonly) db.pragma(`synchronous = ${(options.durability ?? 'full') === 'full' ? 'FULL' : 'NORMAL'}`)
  return db
}

/**
 * Switches a writer's file to WAL mode (readers beside a writer are never blocked). The
 * switch writes the file header, so it comes only after the file was identified and loaded.
 */
export function enableWal(db: Database.Database): void {
  db.pragma('journal_mode = WAL')
}

/**
 * Creates a new index file (or an in-memory database for ':memory:') holding the given
 * manifest and returns a writable connection to it. Refuses to touch an existing path
 * (FILE_EXISTS). The file appears at `path` only complete; if creation fails, the
 * temporary file it made is removed.
 */
export function createDatabase(path: string, manifest: object, options: StoreOptions): Database.Database {
  const memory = path === ':memory:'
  if (!memory) {
    if (existsSync(path)) {
      throw new VqStorageError(
        'FILE_EXISTS',
        `${path} already exists; open it with VqIndex.open, or choose a new path (vqlite never overwrites a file)`,
      )
    }
    const dir = dirname(resolve(path))
    if (!existsSync(dir)) throw new VqStorageError('NOT_FOUND', `cannot create ${path}: folder ${dir} does not exist`)
    if (!writable(dir)) throw new VqStorageError('READ_ONLY', `cannot create ${path}: folder ${dir} is not writable`)
  }
  if (memory) {
    const db = new Database(path)
    try {
      initSchema(db, manifest)
      configure(db, options, false)
      enableWal(db)
      return db
    } catch (e) {
      db.close()
      throw storageError(e, path, 'creating the index')
    }
  }
  // Build the file beside the target and link it into place only when complete, so a
  // crash during creation never leaves a half-made index at `path` (link, unlike rename,
  // refuses to replace a file that appeared meanwhile).
  const tmp = `${path}.creating-${process.pid}-${Date.now()}`
  let db: Database.Database | undefined
  try {
    db = new Database(tmp)
    initSchema(db, manifest)
    db.close()
    db = undefined
    try {
      linkSync(tmp, path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new VqStorageError('FILE_EXISTS', `${path} already exists; vqlite never overwrites a file`)
      }
      throw new VqStorageError('IO_ERROR', `cannot create ${path}: ${(e as Error).message}`, { cause: e })
    } finally {
      rmSync(tmp, { force: true })
    }
    db = new Database(path, { fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 })
    configure(db, options, false)
    enableWal(db)
    return db
  } catch (e) {
    db?.close()
    for (const f of [tmp, `${tmp}-journal`]) rmSync(f, { force: true })
    throw storageError(e, path, 'creating the index')
  }
}

/**
 * Opens an existing index file, writing nothing: checks that the path is a regular file it
 * may read (NOT_FOUND, CANNOT_OPEN), that it is SQLite (NOT_SQLITE), a vqlite index
 * (FOREIGN_FILE) of a format this version reads (NEWER_FORMAT, CORRUPT_FILE) with every
 * table (CORRUPT_FILE), recovering what a crashed writer left mid-commit (identify). Older
 * formats are migrated in one transaction (read-only: read as they are when every step is
 * read-compatible, see identity.ts). The connection is left in the file's journal
 * mode: a writer switches to WAL with enableWal once the file is loaded.
 */
export function openDatabase(path: string, options: StoreOptions): Database.Database {
  const readonly = options.readonly ?? false
  const timeout = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))
  let db: Database.Database | undefined
  try {
    const version = readonly ? identify(path, timeout) : identifyForWriting(path, timeout)
    db = new Database(path, { readonly, fileMustExist: true, timeout })
    configure(db, options, readonly)
    if (version < FORMAT_VERSION) {
      if (readonly && readableWithoutMigration(version)) return db
      if (readonly) throw new VqFormatError('NEWER_FORMAT', `${path}: index format ${version} needs a migration; open it once for writing`)
      migrate(db, version)
    }
    return db
  } catch (e) {
    db?.close()
    throw storageError(e, path, 'opening the index')
  }
}

/** Why path cannot be written (a read-only file system or medium, permissions), or undefined when it can. */
function notWritable(path: string): string | undefined {
  try {
    accessSync(path, constants.W_OK)
    return undefined
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EROFS') return 'it is on a read-only file system (read-only medium)'
    return `the file or its folder is not writable (${code ?? 'no write permission'})`
  }
}

/**
 * identify() for a writer: the path and header checks come first (a foreign file is
 * FOREIGN_FILE wherever it is), then READ_ONLY when the file or its folder is not writable.
 */
function identifyForWriting(path: string, timeout: number): number {
  checkHeaderBytes(path, readHeader(path))
  const why = notWritable(path) ?? notWritable(dirname(resolve(path)))
  if (why !== undefined) {
    throw new VqStorageError('READ_ONLY', `${path}: ${why}; open it with { readonly: true } to read it`)
  }
  return identify(path, timeout)
}
