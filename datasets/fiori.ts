/**
 * "minilm384": 778 all-MiniLM-L6-v2 embeddings (384-d) of SAP Fiori documentation chunks,
 * with their text, from the npm package @sap-ux/fiori-docs-embeddings
 * (data/embeddings/embeddings.bin: float32 little-endian, row-major; records.jsonl: one
 * JSON record per row; metadata.json: model, dimensions, counts).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VqFormatError } from 'vqlite'
import { findPackage } from './npm-package.js'

/** npm package of the minilm384 data. */
export const FIORI_PACKAGE = '@sap-ux/fiori-docs-embeddings'

/** One documentation chunk. */
export interface FioriRecord {
  readonly id: string
  readonly content: string
  readonly [field: string]: unknown
}

/** The loaded dataset: n embeddings of dimension d, row-major, with one record per row. */
export interface FioriDocs {
  readonly model: string
  readonly n: number
  readonly d: number
  /** Embeddings, row-major n*d. */
  readonly vectors: Float32Array
  /** Record i describes row i. */
  readonly records: readonly FioriRecord[]
}

/** Loads the Fiori documentation embeddings and their records. */
export async function loadFioriDocs(): Promise<FioriDocs> {
  const pkg = findPackage(FIORI_PACKAGE, 'the minilm384 dataset')
  const dir = join(pkg.dir, 'data', 'embeddings')
  const meta = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8')) as { model: string; dimensions: number; totalVectors: number }
  const bin = await readFile(join(dir, 'embeddings.bin'))
  const { dimensions: d, totalVectors: n } = meta
  if (bin.length !== n * d * 4) {
    throw new VqFormatError('BAD_FILE', `${dir}/embeddings.bin: ${bin.length} bytes, expected ${n} x ${d} float32 = ${n * d * 4}`)
  }
  const vectors = new Float32Array(n * d)
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.length)
  for (let i = 0; i < n * d; i++) vectors[i] = dv.getFloat32(4 * i, true)
  const lines = (await readFile(join(dir, 'records.jsonl'), 'utf8')).split('\n').filter((l) => l.trim() !== '')
  if (lines.length !== n) throw new VqFormatError('BAD_FILE', `${dir}/records.jsonl: ${lines.length} records for ${n} vectors`)
  const records = lines.map((l, i) => {
    try {
      return JSON.parse(l) as FioriRecord
    } catch (cause) {
      throw new VqFormatError('BAD_FILE', `${dir}/records.jsonl line ${i + 1}: not JSON`, { cause })
    }
  })
  return { model: meta.model, n, d, vectors, records }
}
