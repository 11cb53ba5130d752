/**
 * Vector input files of the vqlite commands: .fvecs / .bvecs (TEXMEX), .npy, CSV and JSONL.
 *
 * A file is read and checked whole before the caller writes anything, so that `add` and
 * `upsert` are all or nothing: every record has the same dimension (the index's when the
 * caller gives it), every number is finite as a float32 and the squared norm of every vector
 * is at most MAX_SQUARED_NORM, ids are integers from 0 to MAX_ID and unique across the whole
 * file, JSONL lines are objects with only the fields "id", "vector" and "metadata", and
 * metadata is within MAX_METADATA_DEPTH / MAX_METADATA_BYTES. A refusal is a VqError whose
 * message names the file, the line (text files) or record (binary files) and the value.
 *
 * The path is stat'ed first: a missing path is NOT_FOUND, anything but a regular file (a
 * folder, a FIFO, a device) is CANNOT_OPEN, before any open (opening a FIFO would block).
 * The vectors are held in memory as float32 (4 bytes per number, plus the ids and the
 * metadata); a file whose vectors would need more than MAX_INPUT_SHARE of the machine's
 * memory is refused (BAD_VECTORS: split it; each part is then added all or nothing).
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { totalmem } from 'node:os'
import { createInterface } from 'node:readline'
import { parse as parseCsv } from 'csv-parse'
import { MAX_DIM, MAX_ID, MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_SQUARED_NORM, VqError, VqInputError, VqStorageError } from 'vqlite'
import { readNpy } from '../datasets/npy.js'
import { bytesToFloat32, readBvecs, readFvecs } from '../datasets/texmex.js'
import { MAX_INPUT_SHARE } from './common.js'

/** The vectors of a file: n x d float32, and the ids and metadata it gives (null: none). */
export interface VectorFile {
  x: Float32Array
  n: number
  d: number
  ids: number[] | null
  metadata: unknown[] | null
}

/** What readVectorFile checks beyond the file itself. */
export interface ReadVectorOptions {
  /** The dimension every vector must have (the index's); a mismatch names the first record that differs. */
  dim?: number
  /** Where the dimension comes from, for messages (e.g. the index file's name). */
  dimOf?: string
}

export { MAX_INPUT_SHARE } from './common.js'

/** Bytes of float32 vectors one input file may hold on this machine. */
export function inputBudget(): number {
  return Math.floor(totalmem() * MAX_INPUT_SHARE)
}

const NOTHING = 'nothing was added'

/** A value shown in a message: JSON text, cut to 60 characters. */
export function show(v: unknown): string {
  let s: string
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v))
  } catch {
    s = String(v)
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** Reads and checks a whole vector file (see the module comment). */
export async function readVectorFile(path: string, options: ReadVectorOptions = {}): Promise<VectorFile> {
  const kind = /\.npy$/i.test(path)
    ? 'npy'
    : /\.csv$/i.test(path)
      ? 'csv'
      : /\.fvecs$/i.test(path)
        ? 'fvecs'
        : /\.bvecs$/i.test(path)
          ? 'bvecs'
          : /\.(jsonl|ndjson)$/i.test(path)
            ? 'jsonl'
            : null
  if (kind === null) throw new VqInputError('BAD_VECTORS', `${path}: expected a .fvecs, .bvecs, .npy, .csv or .jsonl file`)
  const size = await regularFileSize(path)
  const budget = inputBudget()
  // Binary files: the float32 copy is at most 4 bytes per byte of the file (bvecs, uint8 .npy), plus the file itself.
  if ((kind === 'fvecs' || kind === 'bvecs' || kind === 'npy') && size * (kind === 'fvecs' ? 2 : 5) > budget) {
    throw new VqInputError('BAD_VECTORS', tooLarge(path, size, budget))
  }
  let r: VectorFile
  try {
    r =
      kind === 'csv'
        ? await readCsv(path, options, budget)
        : kind === 'jsonl'
          ? await readJsonl(path, options, budget)
          : await readBinary(path, kind, options)
  } catch (e) {
    if (e instanceof RangeError && /allocation|Invalid (typed )?array length|Invalid string length|too long/i.test(e.message)) {
      throw new VqError('OUT_OF_MEMORY', `${path}: not enough memory to hold its vectors (${e.message}); split the file; ${NOTHING}`, {
        cause: e,
      })
    }
    throw e
  }
  if (r.n === 0) throw new VqInputError('BAD_VECTORS', `${path}: no vectors in the file; ${NOTHING}`)
  return r
}

function tooLarge(path: string, bytes: number, budget: number): string {
  return (
    `${path}: ${bytes} bytes of vectors is more than the CLI holds at once ` +
    `(${budget} bytes, ${MAX_INPUT_SHARE * 100} % of this machine's memory); split the file; ${NOTHING}`
  )
}

/** The size of a regular file; NOT_FOUND / CANNOT_OPEN for a missing path or one that is not a regular file. */
export async function regularFileSize(path: string): Promise<number> {
  let st: Awaited<ReturnType<typeof stat>>
  try {
    st = await stat(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VqStorageError('NOT_FOUND', `${path}: no such file`, { cause: e })
    throw new VqStorageError('CANNOT_OPEN', `${path}: cannot read it (${code ?? (e as Error).message})`, { cause: e })
  }
  if (!st.isFile()) {
    const what = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device'
    throw new VqStorageError('CANNOT_OPEN', `${path} is ${what}, not a regular file`)
  }
  return st.size
}

/** Checks one vector (already in x at row i) read from `where`: finite float32, squared norm within MAX_SQUARED_NORM. */
function checkRow(x: Float32Array, i: number, d: number, where: () => string): void {
  let sq = 0
  for (let t = 0; t < d; t++) {
    const v = x[i * d + t]!
    if (!Number.isFinite(v)) {
      throw new VqInputError('NON_FINITE_VALUE', `${where()}: component ${t} is ${v}; every number must be finite; ${NOTHING}`)
    }
    sq += v * v
  }
  if (!(sq <= MAX_SQUARED_NORM)) {
    throw new VqInputError(
      'VALUE_OUT_OF_RANGE',
      `${where()}: squared norm ${sq.toExponential(3)} is past MAX_SQUARED_NORM (${MAX_SQUARED_NORM}); scale the vectors down; ${NOTHING}`,
    )
  }
}

function notFloat32(where: () => string, t: number, text: string): VqInputError {
  return new VqInputError(
    'NON_FINITE_VALUE',
    `${where()}: component ${t} is ${text}, not a finite float32 (at most about 3.4e38 in magnitude); ${NOTHING}`,
  )
}

function checkDim(d: number, where: () => string, options: ReadVectorOptions): void {
  if (options.dim !== undefined && d !== options.dim) {
    throw new VqInputError(
      'DIMENSION_MISMATCH',
      `${where()}: ${d} numbers, ${options.dimOf ?? 'the index'} is ${options.dim}-d; ${NOTHING}`,
    )
  }
  if (d < 1 || d > MAX_DIM) throw new VqInputError('BAD_VECTORS', `${where()}: ${d} numbers; a vector has 1 to ${MAX_DIM} (MAX_DIM)`)
}

async function readBinary(path: string, kind: 'fvecs' | 'bvecs' | 'npy', options: ReadVectorOptions): Promise<VectorFile> {
  let x: Float32Array
  let n: number
  let d: number
  if (kind === 'npy') {
    const r = await readNpy(path)
    ;({ data: x, n, d } = r)
  } else {
    const r = kind === 'bvecs' ? await readBvecs(path) : await readFvecs(path)
    x = r.data instanceof Uint8Array ? bytesToFloat32(r.data) : r.data
    n = r.n
    d = r.d
  }
  if (n === 0) return { x, n, d, ids: null, metadata: null }
  if (options.dim !== undefined && d !== options.dim) {
    throw new VqInputError(
      'DIMENSION_MISMATCH',
      `${path} holds ${d}-d vectors, ${options.dimOf ?? 'the index'} is ${options.dim}-d; ${NOTHING}`,
    )
  }
  checkDim(d, () => `${path} record 1`, options)
  for (let i = 0; i < n; i++) checkRow(x, i, d, () => `${path} record ${i + 1}`)
  return { x, n, d, ids: null, metadata: null }
}

/** A float32 matrix that grows by doubling as rows are appended, within a byte budget. */
class Rows {
  x = new Float32Array(0)
  n = 0
  d = -1
  constructor(
    readonly path: string,
    readonly budget: number,
  ) {}
  /** Room for one more row of d numbers; returns its offset. */
  next(d: number): number {
    if ((this.n + 1) * d * 4 > this.budget) throw new VqInputError('BAD_VECTORS', tooLarge(this.path, (this.n + 1) * d * 4, this.budget))
    if ((this.n + 1) * d > this.x.length) {
      const grown = new Float32Array(Math.min(Math.max(1024, this.x.length * 2, (this.n + 1) * d), Math.floor(this.budget / 4)))
      grown.set(this.x)
      this.x = grown
    }
    return this.n * d
  }
  result(ids: number[] | null, metadata: unknown[] | null): VectorFile {
    const d = Math.max(0, this.d)
    return { x: this.x.subarray(0, this.n * d), n: this.n, d, ids, metadata }
  }
}

/** Ids of a text file: integers from 0 to MAX_ID, unique across the file, on every record or on none. */
class Ids {
  readonly values: number[] = []
  readonly #lineOf = new Map<number, number>()
  #firstWithout = 0
  #firstWith = 0
  constructor(readonly path: string) {}
  add(id: number | undefined, line: number): void {
    if (id === undefined) {
      if (this.#firstWithout === 0) this.#firstWithout = line
    } else {
      if (this.#firstWith === 0) this.#firstWith = line
      const seen = this.#lineOf.get(id)
      if (seen !== undefined) {
        throw new VqInputError(
          'DUPLICATE_ID',
          `${this.path} line ${line}: id ${id} is also on line ${seen}; ids must be unique; ${NOTHING}`,
        )
      }
      this.#lineOf.set(id, line)
      this.values.push(id)
    }
    if (this.#firstWith !== 0 && this.#firstWithout !== 0) {
      const [w, wo] = [this.#firstWith, this.#firstWithout]
      throw new VqInputError(
        'BAD_IDS',
        `${this.path}: line ${w} has an id and line ${wo} has none; give an id on every line or on none; ${NOTHING}`,
      )
    }
  }
  result(): number[] | null {
    return this.#firstWith === 0 ? null : this.values
  }
}

function checkId(v: unknown, where: () => string, text = show(v)): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_ID) {
    throw new VqInputError('BAD_IDS', `${where()}: id ${text} is not an integer from 0 to ${MAX_ID} (MAX_ID); ${NOTHING}`)
  }
  return v
}

/** Depth of a parsed JSON value (iterative: a deep value must not overflow the stack). */
function jsonDepth(root: unknown): number {
  let max = 0
  const stack: [unknown, number][] = [[root, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (depth + 1 > max) max = depth + 1
    if (max > MAX_METADATA_DEPTH) return max
    for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, depth + 1])
  }
  return max
}

function checkMetadata(m: unknown, where: () => string): void {
  if (m === null || typeof m !== 'object') return
  if (jsonDepth(m) > MAX_METADATA_DEPTH) {
    throw new VqInputError(
      'BAD_METADATA',
      `${where()}: metadata is nested deeper than ${MAX_METADATA_DEPTH} levels (MAX_METADATA_DEPTH); ${NOTHING}`,
    )
  }
  const bytes = Buffer.byteLength(JSON.stringify(m), 'utf8')
  if (bytes > MAX_METADATA_BYTES) {
    throw new VqInputError(
      'BAD_METADATA',
      `${where()}: metadata is ${bytes} bytes of JSON, past MAX_METADATA_BYTES (${MAX_METADATA_BYTES}); ${NOTHING}`,
    )
  }
}

const JSONL_FIELDS = new Set(['id', 'vector', 'metadata'])

/** JSONL: one object {"id"?, "vector": [...], "metadata"?} per non-blank line (CRLF and a BOM accepted). */
async function readJsonl(path: string, options: ReadVectorOptions, budget: number): Promise<VectorFile> {
  const rows = new Rows(path, budget)
  const ids = new Ids(path)
  const metadata: unknown[] = []
  const stream = createReadStream(path, { encoding: 'utf8' })
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  let line = 0
  try {
    for await (const text of lines) {
      line++
      const raw = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
      if (raw.trim() === '') continue
      const at = line
      const where = (): string => `${path} line ${at}`
      let rec: unknown
      try {
        rec = JSON.parse(raw)
      } catch {
        throw new VqInputError('BAD_VECTORS', `${where()}: not JSON (${show(raw)}); ${NOTHING}`)
      }
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
        throw new VqInputError('BAD_VECTORS', `${where()}: expected an object {"id", "vector", "metadata"}, got ${show(rec)}; ${NOTHING}`)
      }
      const o = rec as Record<string, unknown>
      for (const key of Object.keys(o)) {
        if (!JSONL_FIELDS.has(key)) {
          throw new VqInputError(
            'BAD_VECTORS',
            `${where()}: unknown field ${show(key)} (a line has "id", "vector" and "metadata"); ${NOTHING}`,
          )
        }
      }
      const vec = o.vector
      if (!Array.isArray(vec)) {
        throw new VqInputError('BAD_VECTORS', `${where()}: "vector" must be an array of numbers, got ${show(vec)}; ${NOTHING}`)
      }
      const d = vec.length
      if (rows.d < 0) {
        checkDim(d, where, options)
        rows.d = d
      } else if (d !== rows.d) {
        throw new VqInputError('DIMENSION_MISMATCH', `${where()}: ${d} numbers, earlier lines have ${rows.d}; ${NOTHING}`)
      }
      const off = rows.next(d)
      for (let t = 0; t < d; t++) {
        const v = vec[t]
        if (typeof v !== 'number') {
          throw new VqInputError(
            'BAD_VECTORS',
            `${where()}: "vector" must be an array of numbers; component ${t} is ${show(v)}; ${NOTHING}`,
          )
        }
        if (!Number.isFinite(Math.fround(v))) throw notFloat32(where, t, String(v))
        rows.x[off + t] = v
      }
      checkRow(rows.x, rows.n, d, where)
      ids.add(o.id === undefined ? undefined : checkId(o.id, where), at)
      const m = o.metadata ?? null
      checkMetadata(m, where)
      metadata.push(m)
      rows.n++
    }
  } catch (e) {
    if (!(e instanceof VqError) && (e as NodeJS.ErrnoException).code !== undefined) {
      throw new VqStorageError('IO_ERROR', `${path}: reading failed (${(e as Error).message}); ${NOTHING}`, { cause: e })
    }
    throw e
  } finally {
    lines.close()
    stream.destroy()
  }
  return rows.result(ids.result(), metadata)
}

/** A decimal number as CSV text: no hex, no "Infinity", no "NaN", no empty cell. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const INTEGER = /^\+?\d{1,20}$/

/**
 * CSV: numbers per row. A first row none of whose cells is a number is a header; its "id"
 * column (if any) gives the ids. Blank lines are skipped; CRLF and a BOM are accepted.
 */
async function readCsv(path: string, options: ReadVectorOptions, budget: number): Promise<VectorFile> {
  const rows = new Rows(path, budget)
  const ids = new Ids(path)
  let idCol = -1
  let columns = -1
  let first = true
  const parser = createReadStream(path).pipe(
    parseCsv({ bom: true, skip_empty_lines: true, skip_records_with_empty_values: true, trim: true, relax_column_count: true, info: true }),
  )
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const at = info.lines
      const where = (): string => `${path} line ${at}`
      if (first) {
        first = false
        if (!record.some((c) => DECIMAL.test(c))) {
          const found = record.flatMap((h, j) => (h.toLowerCase() === 'id' ? [j] : []))
          if (found.length > 1) throw new VqInputError('BAD_VECTORS', `${where()}: the header has ${found.length} "id" columns; ${NOTHING}`)
          idCol = found[0] ?? -1
          columns = record.length
          continue
        }
      }
      if (columns < 0) columns = record.length
      if (record.length !== columns) {
        throw new VqInputError('DIMENSION_MISMATCH', `${where()}: ${record.length} cells, the first row has ${columns}; ${NOTHING}`)
      }
      const d = columns - (idCol >= 0 ? 1 : 0)
      if (rows.d < 0) {
        checkDim(d, where, options)
        rows.d = d
      }
      const off = rows.next(d)
      let t = 0
      let id: number | undefined
      for (let j = 0; j < record.length; j++) {
        const c = record[j]!
        if (j === idCol) {
          id = checkId(INTEGER.test(c) ? Number(c) : c, where, show(c))
          continue
        }
        if (!DECIMAL.test(c)) {
          throw new VqInputError('BAD_VECTORS', `${where()}: column ${j + 1} is ${show(c)}, not a number; ${NOTHING}`)
        }
        const v = Number(c)
        if (!Number.isFinite(Math.fround(v))) throw notFloat32(where, t, c)
        rows.x[off + t++] = v
      }
      checkRow(rows.x, rows.n, d, where)
      ids.add(id, at)
      rows.n++
    }
  } catch (e) {
    if (e instanceof VqError) throw e
    const err = e as Error & { code?: string }
    if (typeof err.code === 'string' && err.code.startsWith('CSV_')) {
      throw new VqInputError('BAD_VECTORS', `${path}: ${err.message}; ${NOTHING}`, { cause: e })
    }
    if (typeof err.code === 'string')
      throw new VqStorageError('IO_ERROR', `${path}: reading failed (${err.message}); ${NOTHING}`, { cause: e })
    throw e
  } finally {
    parser.destroy()
  }
  return rows.result(ids.result(), null)
}
