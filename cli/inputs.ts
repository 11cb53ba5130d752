/**
 * Checks of the command line's inputs before the library sees them: paths that must be
 * regular files (stat'ed first, so that a FIFO never blocks an open and a folder is named as
 * such) and --filter JSON text.
 */
import { statSync } from 'node:fs'
import { type Filter, type Id, VqIndex, VqInputError, VqStorageError } from 'vqlite'

/**
 * A path that must exist and be a regular file: NOT_FOUND when missing, CANNOT_OPEN for a
 * folder, FIFO, socket or device.
 */
export function regularInputFile(path: string, what = 'file'): void {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VqStorageError('NOT_FOUND', `${path}: no such ${what}`, { cause: e })
    throw new VqStorageError('CANNOT_OPEN', `${path}: cannot read it (${code ?? (e as Error).message})`, { cause: e })
  }
  if (!st.isFile()) {
    const kind = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device'
    throw new VqStorageError('CANNOT_OPEN', `${path} is ${kind}, not a regular file`)
  }
}

/** An index path that must be a regular file (see regularInputFile). */
export function regularIndexFile(path: string): void {
  regularInputFile(path, 'index file')
}

/** Opens an index file (integer or string ids) after checking it is a regular file. */
export function openIndex(path: string, readonly = false): VqIndex<unknown, Id> {
  regularIndexFile(path)
  return VqIndex.open(path, readonly ? { readonly: true, ids: 'any' } : { ids: 'any' })
}

/** The --filter option: JSON text of an object (the library checks the conditions; BAD_FILTER otherwise). */
export function parseFilter(text: string): Filter {
  let f: unknown
  try {
    f = JSON.parse(text)
  } catch (e) {
    throw new VqInputError(
      'BAD_FILTER',
      `--filter is not JSON (${(e as Error).message}): ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`,
    )
  }
  if (f === null || typeof f !== 'object' || Array.isArray(f)) {
    throw new VqInputError('BAD_FILTER', `--filter must be a JSON object such as {"source": "a.md"}, got ${JSON.stringify(f)}`)
  }
  return f as Filter
}
