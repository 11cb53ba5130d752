/** Vector input files of the vqlite commands: .fvecs / .bvecs (TEXMEX), .npy, CSV and JSONL. */
import { VqInputError } from 'vqlite'
import { readNpy } from '../datasets/npy.js'
import { bytesToFloat32, readBvecs, readFvecs } from '../datasets/texmex.js'

/**
 * Reads vectors from .fvecs / .bvecs / .npy, CSV (numbers per row; a header row may name an
 * "id" column), or JSONL lines {"id"?, "vector": [...], "metadata"?}.
 */
export async function readVectorFile(
  path: string,
): Promise<{ x: Float32Array; n: number; d: number; ids: number[] | null; metadata: unknown[] | null }> {
  if (/\.npy$/i.test(path)) {
    const r = await readNpy(path)
    return { x: r.data, n: r.n, d: r.d, ids: null, metadata: null }
  }
  if (/\.csv$/i.test(path)) return readCsvVectors(path)
  if (/\.(fvecs|bvecs)$/i.test(path)) {
    const r = /\.bvecs$/i.test(path) ? await readBvecs(path) : await readFvecs(path)
    return { x: r.data instanceof Uint8Array ? bytesToFloat32(r.data) : r.data, n: r.n, d: r.d, ids: null, metadata: null }
  }
  if (/\.(jsonl|ndjson)$/i.test(path)) {
    const { readFile } = await import('node:fs/promises')
    const rows: number[][] = []
    const ids: number[] = []
    const metadata: unknown[] = []
    let withIds = 0
    for (const [i, raw] of (await readFile(path, 'utf8')).split('\n').entries()) {
      if (raw.trim() === '') continue
      let rec: { id?: unknown; vector?: unknown; metadata?: unknown }
      try {
        rec = JSON.parse(raw) as typeof rec
      } catch {
        throw new VqInputError('BAD_VECTORS', `${path} line ${i + 1}: not JSON; nothing was added`)
      }
      if (!Array.isArray(rec.vector) || !rec.vector.every((v) => typeof v === 'number')) {
        throw new VqInputError('BAD_VECTORS', `${path} line ${i + 1}: "vector" must be an array of numbers; nothing was added`)
      }
      if (rows.length > 0 && rec.vector.length !== rows[0]!.length) {
        throw new VqInputError(
          'DIMENSION_MISMATCH',
          `${path} line ${i + 1}: ${rec.vector.length} numbers, earlier lines have ${rows[0]!.length}; nothing was added`,
        )
      }
      rows.push(rec.vector as number[])
      if (rec.id !== undefined) withIds++
      ids.push(typeof rec.id === 'number' ? rec.id : Number.NaN)
      metadata.push(rec.metadata ?? null)
    }
    const d = rows[0]?.length ?? 0
    const x = new Float32Array(rows.length * d)
    rows.forEach((r, i) => {
      x.set(r, i * d)
    })
    if (withIds !== 0 && withIds !== rows.length) throw new VqInputError('BAD_IDS', `${path}: give an "id" on every line or on none`)
    return { x, n: rows.length, d, ids: withIds ? ids : null, metadata }
  }
  throw new VqInputError('BAD_VECTORS', `${path}: expected a .fvecs, .bvecs, .npy, .csv or .jsonl file`)
}

/** CSV rows of numbers; a first row that is not numeric is a header, whose "id" column (if any) gives the ids. */
async function readCsvVectors(path: string): Promise<{ x: Float32Array; n: number; d: number; ids: number[] | null; metadata: null }> {
  const { readFile } = await import('node:fs/promises')
  const { parse } = await import('csv-parse/sync')
  let rows: string[][]
  try {
    rows = parse(await readFile(path, 'utf8'), { skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][]
  } catch (e) {
    throw new VqInputError('BAD_VECTORS', `${path}: ${(e as Error).message}; nothing was added`)
  }
  const numeric = (r: string[]): boolean => r.every((c) => c !== '' && Number.isFinite(Number(c)))
  const header = rows.length > 0 && !numeric(rows[0]!) ? rows.shift()! : null
  const idCol = header ? header.findIndex((h) => h.toLowerCase() === 'id') : -1
  const d = (rows[0]?.length ?? 0) - (idCol >= 0 ? 1 : 0)
  const x = new Float32Array(rows.length * d)
  const ids: number[] = []
  rows.forEach((r, i) => {
    if (!numeric(r)) throw new VqInputError('BAD_VECTORS', `${path} row ${i + 1 + (header ? 1 : 0)}: not all numbers; nothing was added`)
    let t = 0
    r.forEach((c, j) => {
      if (j === idCol) ids.push(Number(c))
      else x[i * d + t++] = Number(c)
    })
  })
  return { x, n: rows.length, d, ids: idCol >= 0 ? ids : null, metadata: null }
}
