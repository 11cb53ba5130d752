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

  /** The manifest as stored. */
  readManifest(): unknown {
    const v = this.#db.prepare("SELECT value FROM vq_manifest WHERE key = 'manifest'").pluck().get() as Buffer | undefined
    if (!v) throw new VqFormatError('CORRUPT_FILE', `${this.#path}: the manifest is missing`)
    return unpackValue(v)
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
      name: string
      dtype: string
      shape: string
      data: Buffer
    }[]
    for (const r of rows) {
      if (r.dtype !== 'float32') throw new VqFormatError('CORRUPT_FILE', `${this.#path}: array ${r.name} has unknown dtype ${r.dtype}`)
      const shape = JSON.parse(r.shape) as number[]
      const data = floatsOf(r.data)
      if (shape.reduce((a, b) => a * b, 1) !== data.length)
        throw new VqFormatError('CORRUPT_FILE', `${this.#path}: array ${r.name} does not match its shape`)
      out[r.name] = { dtype: 'float32', shape, data }
    }
    return out
  }
}
