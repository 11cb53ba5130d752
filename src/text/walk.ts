/**
 * Expands what a user passes to `vqlite index-text` into the files to index: a file is taken
 * as it is; a folder is walked recursively, honouring every .gitignore in it (nested ones
 * apply below their folder), skipping hidden files and folders (names starting with ".")
 * and .git; a path that does not exist but contains glob characters (* ? [ {) is a glob,
 * expanded from the current folder (hidden names skipped). In folders and globs only text
 * files are kept: .md, .markdown, .txt, .text, .jsonl, .ndjson, and extensionless files
 * (README, LICENSE) that are not binary.
 */
import { readFileSync, statSync } from 'node:fs'
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path'
import type { Ignore } from 'ignore'
import { isBinaryFileSync } from 'isbinaryfile'

/** tinyglobby and ignore, imported on first walk (a search never walks: a faster start). */
async function walkers() {
  const [{ glob }, { default: ignore }] = await Promise.all([import('tinyglobby'), import('ignore')])
  return { glob, ignore }
}

export const TEXT_EXTENSIONS: ReadonlySet<string> = new Set(['.md', '.markdown', '.txt', '.text', '.jsonl', '.ndjson'])

export interface WalkResult {
  /** Absolute paths of the files to index, sorted, without repeats. */
  readonly files: string[]
  /** Absolute paths of the folders walked (what vanished under them may be pruned). */
  readonly folders: string[]
  /** Paths given that are neither a file, a folder nor a glob matching something. */
  readonly errors: { file: string; message: string }[]
}

const GLOB_CHARS = /[*?[\]{}]/

/** True when a file found in a folder or by a glob is one to index. */
export function isTextFile(path: string): boolean {
  const ext = extname(basename(path)).toLowerCase()
  if (TEXT_EXTENSIONS.has(ext)) return true
  if (ext !== '') return false
  try {
    return !isBinaryFileSync(path)
  } catch {
    return false
  }
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/')
}

async function walkFolder(folder: string): Promise<string[]> {
  const { glob, ignore } = await walkers()
  const files = await glob('**/*', { cwd: folder, dot: false, onlyFiles: true, ignore: ['**/.git/**'], followSymbolicLinks: false })
  const gitignores = await glob('**/.gitignore', {
    cwd: folder,
    dot: true,
    onlyFiles: true,
    ignore: ['**/.git/**'],
    followSymbolicLinks: false,
  })
  const rules: { dir: string; ig: Ignore }[] = []
  for (const g of gitignores) {
    const dir = toPosix(dirname(g))
    try {
      rules.push({ dir: dir === '.' ? '' : `${dir}/`, ig: ignore().add(readFileSync(join(folder, g), 'utf8')) })
    } catch {
      // an unreadable .gitignore ignores nothing
    }
  }
  return files
    .filter((f) => {
      const rel = toPosix(f)
      return !rules.some((r) => rel.startsWith(r.dir) && r.ig.ignores(rel.slice(r.dir.length)))
    })
    .map((f) => join(folder, f))
    .filter(isTextFile)
}

/** Expands files, folders and globs (see the module comment). */
export async function walkPaths(paths: readonly string[], options: { cwd?: string } = {}): Promise<WalkResult> {
  const cwd = resolve(options.cwd ?? process.cwd())
  const files = new Set<string>()
  const folders: string[] = []
  const errors: { file: string; message: string }[] = []
  for (const p of paths) {
    const abs = resolve(cwd, p)
    let st: ReturnType<typeof statSync> | undefined
    try {
      st = statSync(abs)
    } catch {
      st = undefined
    }
    if (st?.isDirectory()) {
      folders.push(abs)
      for (const f of await walkFolder(abs)) files.add(f)
    } else if (st?.isFile()) {
      files.add(abs)
    } else if (st === undefined && GLOB_CHARS.test(p)) {
      const { glob } = await walkers()
      const found = (await glob(toPosix(p), { cwd, dot: false, onlyFiles: true, absolute: true, ignore: ['**/.git/**'] }))
        .map((f) => resolve(f))
        .filter(isTextFile)
      if (found.length === 0) errors.push({ file: p, message: 'the glob matches no text file' })
      for (const f of found) files.add(f)
    } else {
      errors.push({
        file: p,
        message:
          st === undefined
            ? 'no such file [NOT_FOUND]'
            : st.isFIFO()
              ? 'a FIFO, not a regular file [CANNOT_OPEN]'
              : 'not a regular file or folder [CANNOT_OPEN]',
      })
    }
  }
  return { files: [...files].sort(), folders, errors }
}

/** The source name of a file: its path relative to root with / separators, or the absolute path outside root. */
export function sourceName(root: string, abs: string): string {
  const rel = relative(root, abs)
  if (rel === '' || rel.startsWith('..') || resolve(root, rel) !== abs || rel.split(sep)[0] === '..') return toPosix(abs)
  return toPosix(rel)
}
