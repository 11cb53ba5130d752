/**
 * The manifest (one opaque msgpack object) and the trained arrays (float32 typed arrays
 * with a shape) of an index file.
 */
import type Database from 'better-sqlite3'
import { VqFormatError } from '../errors.js'
import { packValue, unpackValue } from './msgpack.js'

/** A trained array as stored: dtype, shape and the values. */
export interface StoredArray {
  readonly dtype: 'float32'
  readonly shape: readonly number[]
  readonly data: Float32Array
}

/** A copy of a BLOB as a Float32Array (BLOB buffers need not be 4-byte aligned). */
function floatsOf(b: Buffer): Float32Array {
  const out = new Float32Array(b.length >>> 2)
  new Uint8Array(out.buffer).set(b)
  return out
}

/** A stored array shape: JSON text of an array of at most 8 non-negative safe integers. */
function parseShape(text: unknown, bad: (what: string) => never): number[] {
  if (typeof text !== 'string') return bad('the shape is not text')
  let shape: unknown
  try {
    shape = JSON.parse(text)
  } catch {
    return bad(`the shape ${JSON.stringify(text.slice(0, 40))} is not valid JSON`)
  }
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
    return bad(`the shape ${JSON.stringify(text.slice(0, 40))} is not a list of sizes`)
  }
  return shape as number[]
}

/** Decodes a stored msgpack value; CORRUPT_FILE naming `what` when it is not one. */
export function unpackStored(v: unknown, what: string): unknown {
  if (!(v instanceof Uint8Array)) throw new VqFormatError('CORRUPT_FILE', `${what} is not a BLOB`)
  try {
    return unpackValue(v)
  } catch (e) {
    throw new VqFormatError('CORRUPT_FILE', `${what} is not valid msgpack (${(e as Error).message})`, { cause: e })
  }
}

function bytesOf(a: Float32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
}

/** Manifest and trained-array statements of one connection. */
export class MetaTables {
  readonly #db: Database.Database
  readonly #path: string
  #putManifest: Database.Statement | undefined

  constructor(db: Database.Database, path: string) {
    this.#db = db
    this.#path = path
  }

  /** The manifest as stored (decoded, not yet checked: see checkManifest). */
  readManifest(): unknown {
    const v = this.#db.prepare("SELECT value FROM vq_manifest WHERE key = 'manifest'").pluck().get() as unknown
    if (v === undefined || v === null)
      throw new VqFormatError('CORRUPT_FILE', `${this.#path}: the manifest is missing (vq_manifest key 'manifest')`)
    return unpackStored(v, `${this.#path}: the manifest (vq_manifest key 'manifest')`)
  }

  /** Replaces the manifest (inside the caller's transaction). */
  writeManifest(manifest: object): void {
    this.#putManifest ??= this.#db.prepare("INSERT OR REPLACE INTO vq_manifest (key, value) VALUES ('manifest', ?)")
    this.#putManifest.run(packValue(manifest))
  }

  /** Replaces all trained arrays (inside the caller's transaction). */
  writeArrays(arrays: Readonly<Record<string, StoredArray>>): void {
    this.#db.prepare('DELETE FROM vq_arrays').run()
    const ins = this.#db.prepare('INSERT INTO vq_arrays (name, dtype, shape, data) VALUES (?, ?, ?, ?)')
    for (const [name, a] of Object.entries(arrays)) ins.run(name, a.dtype, JSON.stringify(a.shape), bytesOf(a.data))
  }

  /** All trained arrays, checked against their dtype and shape (CORRUPT_FILE). */
  readArrays(): Record<string, StoredArray> {
    const out: Record<string, StoredArray> = {}
    const rows = this.#db.prepare('SELECT name, dtype, shape, data FROM vq_arrays').all() as {
      name: unknown
      dtype: unknown
      shape: unknown
      data: unknown
    }[]
    for (const r of rows) {
      const bad = (what: string): never => {
        throw new VqFormatError('CORRUPT_FILE', `${this.#path}: vq_arrays row ${JSON.stringify(String(r.name)).slice(0, 80)}: ${what}`)
      }
      if (typeof r.name !== 'string') bad(`the name is a ${r.name === null ? 'null' : typeof r.name}, not text`)
      const name = r.name as string
      if (r.dtype !== 'float32') bad(`unknown dtype ${JSON.stringify(String(r.dtype)).slice(0, 40)} (expected "float32")`)
      if (!Buffer.isBuffer(r.data)) bad('the data is not a BLOB')
      const bytes = r.data as Buffer
      if (bytes.length % 4 !== 0) bad(`the data has ${bytes.length} bytes, not a whole number of float32 values`)
      const shape = parseShape(r.shape, bad)
      const size = shape.reduce((a, b) => a * b, 1)
      if (size !== bytes.length / 4) bad(`shape [${shape.join(', ')}] holds ${size} values but the data holds ${bytes.length / 4}`)
      const data = floatsOf(bytes)
      out[name] = { dtype: 'float32', shape, data }
    }
    return out
  }
}
