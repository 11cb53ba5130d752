/**
 * FAISS index files in and out (VqIndex.fromFaiss / toFaiss): read (reader.ts), map
 * (mapping.ts) and adopt as a new vqlite index (engine/adopt.ts), or the reverse, writing
 * the file (writer.ts).
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { adoptedOf, adoptIndex } from '../../engine/adopt.js'
import { DEFAULT_NPROBE, parseImportOptions } from '../../engine/options.js'
import type { IndexState } from '../../engine/state.js'
import { VqError, VqFormatError, VqOptionError, VqStateError, VqStorageError } from '../../errors.js'
import { fromFaissIndex, toFaissIndex } from './mapping.js'
import { readFaiss } from './reader.js'
import { writeFaiss } from './writer.js'

/** The whole file (NOT_FOUND, or IO_ERROR for a directory or an unreadable file). */
function readWhole(file: string): Uint8Array {
  if (typeof file !== 'string' || file === '')
    throw new VqOptionError('BAD_OPTION', `FAISS file must be a non-empty path, got ${String(file)}`)
  if (!existsSync(file)) throw new VqStorageError('NOT_FOUND', `${file} does not exist`)
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const st = fstatSync(fd)
    if (!st.isFile()) throw new VqStorageError('IO_ERROR', `${file} is not a regular file`)
    const out = new Uint8Array(st.size)
    let at = 0
    while (at < out.length) {
      const got = readSync(fd, out, at, out.length - at, at)
      if (got === 0) break
      at += got
    }
    return out.subarray(0, at)
  } catch (e) {
    if (e instanceof VqError) throw e
    throw new VqStorageError('IO_ERROR', `${file}: cannot read: ${(e as Error).message}`, { cause: e })
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

export type { FaissImportOptions } from '../../types.js'

/**
 * A new vqlite index at path (or ':memory:') holding the FAISS index of `file`, its codes
 * as they are. The file is read and checked whole before anything is created.
 */
export function importFaiss(file: string, path: string, options: unknown): IndexState {
  const { connection, ids } = parseImportOptions(options)
  if (ids === 'string') throw new VqOptionError('ID_KIND', 'FAISS labels are integers: a FAISS index imports with integer ids')
  const bytes = readWhole(file)
  const adopted = fromFaissIndex(readFaiss(bytes, file), file)
  try {
    return adoptIndex(path, adopted, connection, file)
  } catch (e) {
    // What create() would refuse in the composition (a dimension past MAX_DIM, say) is
    // the FAISS index's to fit, not an option the caller gave.
    if (e instanceof VqOptionError && e.code !== 'UNKNOWN_OPTION') {
      throw new VqFormatError('UNSUPPORTED_FAISS_INDEX', `${file}: the FAISS index cannot be held by vqlite: ${e.message}`, { cause: e })
    }
    throw e
  }
}

/** Writes the index of state as a new FAISS file (FILE_EXISTS if it exists; its IVF nprobe is vqlite's default); returns the item count. */
export function exportFaiss(state: IndexState, file: string): number {
  if (typeof file !== 'string' || file === '' || file === ':memory:') {
    throw new VqOptionError('BAD_OPTION', `FAISS file must be a non-empty file path (not ':memory:'), got ${String(file)}`)
  }
  state.requireTrained('writing a FAISS file')
  if (state.idKind === 'string') {
    throw new VqStateError(
      'UNSUPPORTED_FAISS_INDEX',
      `cannot write the ${state.manifest.description} index as a FAISS file: it has string ids, and FAISS labels are int64 integers`,
    )
  }
  const a = adoptedOf(state)
  const bytes = writeFaiss(toFaissIndex(a, DEFAULT_NPROBE))
  if (existsSync(file)) throw new VqStorageError('FILE_EXISTS', `${file} already exists; vqlite never overwrites a file`)
  let fd: number
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new VqStorageError('FILE_EXISTS', `${file} already exists; vqlite never overwrites a file`)
    throw new VqStorageError('IO_ERROR', `${file}: cannot create: ${(e as Error).message}`, { cause: e })
  }
  try {
    let at = 0
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at)
  } catch (e) {
    closeSync(fd)
    rmSync(file, { force: true })
    throw new VqStorageError('IO_ERROR', `${file}: cannot write: ${(e as Error).message}`, { cause: e })
  }
  closeSync(fd)
  return a.ids.length
}
