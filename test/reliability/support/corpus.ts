/**
 * The file corpus's shared parts: a small real index with every table filled (IVF lists,
 * PQ codes, an exact refine stage over stored float32 vectors, metadata, tombstones, an FTS5
 * keyword index, a named property), the original items it holds, and `probe`, which opens
 * a damaged copy writable or read-only and checks the documented contract:
 * - refused: a VqError with a file code, and the file and its -wal / -shm / -journal
 *   byte-for-byte as they were;
 * - opened: no raw error from any call (a damaged row may be CORRUPT_FILE), searches return
 *   only ids of the original items, and every item still readable is identical to the
 *   original (vector, metadata, exact distances, filter and keyword answers, property).
 * Contract breaks are split in two lists, so a report can say which part fails:
 * `problems` (raw errors, refusals that changed the file, unknown ids, wrong error codes)
 * and `silent` (an answer that differs from the original data without an error).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VqError, VqIndex } from '../../../src/index.js'
import { Rng } from '../../../src/util/random.js'

/**
 * A new scratch folder, in /dev/shm where the machine has it (a RAM file system: the corpus
 * makes hundreds of files, and fsync there costs nothing), else in the OS temp folder.
 */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix))
}

/** Codes a damaged index file or snapshot may be refused with (VqFormatError's). */
export const FILE_CODES: ReadonlySet<string> = new Set([
  'CORRUPT_FILE',
  'TRUNCATED_FILE',
  'BAD_FILE',
  'NOT_SQLITE',
  'FOREIGN_FILE',
  'NEWER_FORMAT',
])

export const DIM = 8
export const DESCRIPTION = 'IVF4,PQ4x4,RFlat'
export const TEXT_FIELD = 'text'
export const PROPERTY = { name: 'embedder', value: { name: 'corpus-embedder', dim: DIM, tags: ['a', 'b'] } }
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel']

export interface OriginalItem {
  readonly vector: Float32Array
  readonly metadata: { i: number; group: number; text: string }
}

/** The healthy index a corpus damages, and what it holds. */
export interface Original {
  readonly path: string
  /** The file's bytes after close() (a single file, no -wal). */
  readonly bytes: Buffer
  readonly items: ReadonlyMap<number, OriginalItem>
  readonly queries: readonly Float32Array[]
}

/** Builds the original index at path (n items added, a few deleted), closes it, returns its bytes and items. */
export async function buildOriginal(path: string, seed: number, n = 240): Promise<Original> {
  const rng = new Rng(seed)
  const x = new Float32Array(n * DIM)
  for (let i = 0; i < x.length; i++) x[i] = Math.round((rng.float() * 2 - 1) * 1000) / 1000
  const ids = Array.from({ length: n }, (_, i) => i * 3 + 1)
  const metadata = ids.map((id, i) => ({
    i: id,
    group: i % 5,
    text: `${WORDS[i % WORDS.length]} ${WORDS[(i * 3 + 1) % WORDS.length]} item${id}`,
  }))
  const index = VqIndex.create(path, { dim: DIM, description: DESCRIPTION, storeVectors: 'float32', threads: 0 })
  await index.train(x, { seed })
  await index.createTextIndex(TEXT_FIELD)
  await index.add(ids, x, metadata)
  await index.setProperty(PROPERTY.name, PROPERTY.value)
  const deleted = ids.filter((_, i) => i % 37 === 5)
  await index.delete(deleted)
  await index.close()
  const items = new Map<number, OriginalItem>()
  ids.forEach((id, i) => {
    if (!deleted.includes(id)) items.set(id, { vector: x.slice(i * DIM, (i + 1) * DIM), metadata: metadata[i]! })
  })
  const queries = [0, 17, 101].map((i) => x.slice(i * DIM, (i + 1) * DIM))
  return { path, bytes: readFileSync(path), items, queries }
}

/** sha256 of path and of its SQLite side files ('-' for an absent one). */
export function fileState(path: string): string {
  return ['', '-wal', '-shm', '-journal']
    .map((s) =>
      existsSync(path + s)
        ? createHash('sha256')
            .update(readFileSync(path + s))
            .digest('hex')
        : '-',
    )
    .join(' ')
}

export interface ProbeResult {
  /** 'refused:<code>' or 'opened'. */
  readonly outcome: string
  readonly problems: string[]
  readonly silent: string[]
  /** The items (ids; -2 for the property) whose answers differed silently. */
  readonly damaged: ReadonlySet<number>
}

const sameVector = (a: Float32Array | null, b: Float32Array): boolean =>
  a !== null && a.length === b.length && a.every((v, i) => v === b[i])
const l2 = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0)

function describeError(e: unknown): string {
  if (e instanceof VqError) return `${e.name} ${e.code}: ${e.message.slice(0, 160)}`
  if (e instanceof Error) return `raw ${e.constructor.name}${'code' in e ? ` ${String(e.code)}` : ''}: ${e.message.slice(0, 160)}`
  return `raw throw ${String(e)}`
}

/**
 * Opens path ({ readonly } as given, threads 0) and checks the contract against the original
 * (see the file comment). `expectCodes`, when given, narrows the refusal codes allowed.
 */
export async function probe(path: string, original: Original, readonly: boolean, expectCodes?: ReadonlySet<string>): Promise<ProbeResult> {
  const problems: string[] = []
  const silentLines: string[] = []
  const damaged = new Set<number>()
  /** A silent difference in the answer about item id. */
  const silent = {
    push(line: string, id: number): void {
      silentLines.push(line)
      damaged.add(id)
    },
  }
  const before = fileState(path)
  let index: VqIndex
  try {
    index = VqIndex.open(path, { readonly, threads: 0 })
  } catch (e) {
    const codes = expectCodes ?? FILE_CODES
    if (!(e instanceof VqError) || !codes.has(e.code))
      problems.push(`open refused with ${describeError(e)} (allowed: ${[...codes].join(', ')})`)
    if (fileState(path) !== before) problems.push(`refused open (${describeError(e)}) changed the file or its side files`)
    return { outcome: `refused:${e instanceof VqError ? e.code : 'raw'}`, problems, silent: silentLines, damaged }
  }
  if (expectCodes && !expectCodes.has('opened')) problems.push(`opened, expected a refusal with ${[...expectCodes].join(', ')}`)

  /** Runs one call: its value, or undefined after a CORRUPT_FILE-family error; anything else is a problem. */
  const call = <T>(what: string, fn: () => T): T | undefined => {
    try {
      return fn()
    } catch (e) {
      if (!(e instanceof VqError) || !FILE_CODES.has(e.code)) problems.push(`${what}: ${describeError(e)}`)
      return undefined
    }
  }
  const validId = (id: number): boolean => id === -1 || original.items.has(id)

  call('size', () => index.size)
  call('manifest', () => index.manifest)
  call('integrityCheck()', () => index.integrityCheck())
  for (const [id, item] of original.items) {
    call(`has(${id})`, () => index.has(id))
    const got = call(`get(${id})`, () => index.get(id))
    if (got === undefined) continue // missing or refused as damaged
    if (got.id !== id || !sameVector(got.vector, item.vector))
      silent.push(`get(${id}) returned a different vector ${got.vector ? Array.from(got.vector).join(',') : null}`, id)
    if (JSON.stringify(got.metadata) !== JSON.stringify(item.metadata))
      silent.push(`get(${id}) returned different metadata ${JSON.stringify(got.metadata)?.slice(0, 80)}`, id)
  }
  const absent = call('get(absent id)', () => index.get(2))
  if (absent !== undefined) silent.push(`get(2) (never added) returned ${JSON.stringify(absent).slice(0, 80)}`, 2)
  for (const [qi, q] of original.queries.entries()) {
    for (const filter of [undefined, { group: 1 }]) {
      const what = `search(q${qi}, 10${filter ? ', { group: 1 }' : ''})`
      const r = call(what, () => index.search(q, 10, { nprobe: 4, refineFactor: 4, ...(filter ? { filter } : {}) }))
      if (!r) continue
      for (let j = 0; j < r.ids.length; j++) {
        const id = r.ids[j]!
        if (!validId(id)) {
          problems.push(`${what} returned id ${id}, never an item`)
          continue
        }
        if (id === -1) continue
        const item = original.items.get(id)!
        // RFlat: the distances are exact, from the stored vectors.
        const exact = l2(q, item.vector)
        if (!(Math.abs(r.distances[j]! - exact) <= 1e-4 * (1 + exact)))
          silent.push(`${what}: id ${id} at distance ${r.distances[j]}, exact ${exact}`, id)
        if (filter && item.metadata.group !== 1)
          silent.push(`${what}: id ${id} does not match the filter (group ${item.metadata.group})`, id)
      }
    }
  }
  const found = call('find({ group: 2 })', () => index.find({ group: 2 }, 100_000))
  if (found) {
    for (const f of found) {
      const item = original.items.get(f.id)
      if (!item) problems.push(`find returned id ${f.id}, never an item`)
      else if (item.metadata.group !== 2 || JSON.stringify(f.metadata) !== JSON.stringify(item.metadata))
        silent.push(`find({ group: 2 }) returned id ${f.id} with ${JSON.stringify(f.metadata).slice(0, 80)}`, f.id)
    }
  }
  const kw = call("keywordSearch('delta')", () => index.keywordSearch('delta', 20))
  if (kw) {
    for (const id of kw.ids) {
      if (!validId(id)) problems.push(`keywordSearch returned id ${id}, never an item`)
      else if (id !== -1 && !original.items.get(id)!.metadata.text.includes('delta'))
        silent.push(`keywordSearch('delta') returned id ${id} without the word`, id)
    }
  }
  const prop = call('getProperty', () => index.getProperty(PROPERTY.name))
  if (prop !== undefined && JSON.stringify(prop) !== JSON.stringify(PROPERTY.value))
    silent.push(`getProperty returned ${JSON.stringify(prop).slice(0, 80)}`, -2)
  try {
    await index.close()
  } catch (e) {
    if (!(e instanceof VqError)) problems.push(`close(): ${describeError(e)}`)
  }
  return { outcome: 'opened', problems, silent: silentLines, damaged }
}

/** Per-category tallies and failures of a corpus run, printed as one line for the report. */
export class Tally {
  readonly outcomes = new Map<string, number>()
  readonly problems: string[] = []
  readonly silent: string[] = []
  /** Cases whose silent differences reach more items than `allowed` said they may. */
  readonly spread: string[] = []
  cases = 0
  /** Cases with at least one problem / silent difference. */
  problemCases = 0
  silentCases = 0
  /**
   * allowed: how many items this mutant may silently change (a byte changed inside one
   * stored value changes that value: SQLite keeps no per-row checksum; it must never change
   * another item's answers).
   */
  add(label: string, r: ProbeResult, allowed = 0): void {
    this.cases++
    if (r.damaged.size > allowed)
      this.spread.push(`${label}: ${r.damaged.size} items differ (${[...r.damaged].join(', ')}), at most ${allowed} may`)
    if (r.problems.length > 0) this.problemCases++
    if (r.silent.length > 0) this.silentCases++
    this.outcomes.set(r.outcome, (this.outcomes.get(r.outcome) ?? 0) + 1)
    for (const p of r.problems) this.problems.push(`${label}: ${p}`)
    for (const s of r.silent) this.silent.push(`${label}: ${s}`)
  }
  summary(name: string): string {
    const o = [...this.outcomes].map(([k, v]) => `${k} ${v}`).join(', ')
    return `${name}: ${this.cases} cases (${o}); ${this.problemCases} cases with problems (${this.problems.length}), ${this.silentCases} with silent differences (${this.silent.length})\n`
  }
}
