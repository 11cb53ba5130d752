/**
 * ann-benchmarks HDF5 files, read (and, for tests and conversions, written) with h5wasm,
 * the HDF5 library compiled to WebAssembly. The layout: datasets `train` (nb x d float32),
 * `test` (nq x d float32), `neighbors` (nq x k int32, nearest first) and `distances`
 * (nq x k float32), and a `distance` attribute naming the metric (euclidean, angular, dot).
 * A truncated, foreign or malformed file gives a VqFormatError saying what is wrong.
 */
import { open } from 'node:fs/promises'
import { type Metric, VqFormatError } from 'vqlite'

/** The contents of an ann-benchmarks file. */
export interface AnnBenchmarksData {
  readonly d: number
  readonly train: Float32Array
  readonly nb: number
  readonly test: Float32Array
  readonly nq: number
  /** nq x gtK base row numbers, nearest first (null when the file has none). */
  readonly neighbors: Int32Array | null
  readonly gtK: number
  /** The `distance` attribute mapped to a vqlite metric (null when absent or unknown). */
  readonly metric: Metric | null
}

type H5 = typeof import('h5wasm/node').default

let h5: H5 | null = null
async function lib(): Promise<H5> {
  if (h5) return h5
  const mod = (await import('h5wasm/node')).default
  const module = await mod.ready
  // HDF5 errors become exceptions (caught below) instead of diagnostics printed to stderr.
  module.activate_throwing_error_handler()
  h5 = mod
  return mod
}

/** The 8-byte signature every HDF5 file starts with (at offset 0 for these files). */
const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])

/** Maps an ann-benchmarks `distance` attribute to a vqlite metric. */
export function metricOfAnnDistance(distance: string): Metric | null {
  switch (distance.toLowerCase()) {
    case 'euclidean':
    case 'l2':
      return 'l2'
    case 'angular':
    case 'cosine':
      return 'cosine'
    case 'dot':
    case 'ip':
      return 'ip'
    default:
      return null
  }
}

/** Checks the HDF5 signature and that the file is as long as its superblock says. */
async function checkHeader(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    const size = (await fh.stat()).size
    const head = Buffer.alloc(48)
    const { bytesRead } = await fh.read(head, 0, 48, 0)
    if (bytesRead < 8 || !head.subarray(0, 8).equals(SIGNATURE)) {
      throw new VqFormatError('BAD_FILE', `${path}: not an HDF5 file (no HDF5 signature)`)
    }
    // Superblock versions 2 and 3 (what h5py writes by default nowadays) record the
    // end-of-file address at byte 28; versions 0 and 1 at byte 40 (after the free-space address).
    const version = head[8]!
    const eofAt = version >= 2 ? 28 : version <= 1 ? 40 : -1
    if (eofAt >= 0 && bytesRead >= eofAt + 8) {
      const eof = Number(head.readBigUInt64LE(eofAt))
      if (eof > size) {
        throw new VqFormatError(
          'TRUNCATED_FILE',
          `${path}: the HDF5 superblock says ${eof} bytes, the file has ${size}; the download is incomplete`,
        )
      }
    }
  } finally {
    await fh.close()
  }
}

/** Reads an ann-benchmarks HDF5 file whole (in blocks of rows: blockRows, default about 32 MB each). */
export async function readAnnBenchmarks(path: string, options: { blockRows?: number } = {}): Promise<AnnBenchmarksData> {
  await checkHeader(path)
  const H = await lib()
  const file = openFile(H, path)
  try {
    const matrix = (
      name: string,
      want: 'f' | 'i',
      required: boolean,
    ): { data: Float32Array | Int32Array; rows: number; cols: number } | null => {
      const ds = file.get(name) as import('h5wasm/node').Dataset | null
      if (!ds || !(ds instanceof H.Dataset)) {
        if (!required) return null
        throw new VqFormatError('BAD_FILE', `${path}: no dataset "${name}"; not an ann-benchmarks file?`)
      }
      const shape = ds.shape ?? []
      if (shape.length !== 2)
        throw new VqFormatError('BAD_FILE', `${path}: dataset "${name}" has shape [${shape.join(', ')}], expected 2-D`)
      const [rows, cols] = shape as [number, number]
      // Read in blocks of rows: a whole large set (GIST, Deep1B's 10M) would not fit the
      // WebAssembly heap of HDF5 at once.
      const data = want === 'f' ? new Float32Array(rows * cols) : new Int32Array(rows * cols)
      const block = Math.max(1, options.blockRows ?? Math.floor((32 << 20) / Math.max(1, cols * 8)))
      for (let r0 = 0; r0 < rows; r0 += block) {
        const r1 = Math.min(rows, r0 + block)
        let value: unknown
        try {
          value = ds.slice([
            [r0, r1],
            [0, cols],
          ])
        } catch (e) {
          throw new VqFormatError(
            'TRUNCATED_FILE',
            `${path}: dataset "${name}" cannot be read (${(e as Error).message.split('\n')[0]}); the file is truncated or corrupt`,
          )
        }
        const part = want === 'f' ? toFloat32(value, path, name) : toInt32(value, path, name)
        if (part.length !== (r1 - r0) * cols)
          throw new VqFormatError(
            'TRUNCATED_FILE',
            `${path}: dataset "${name}" rows ${r0}..${r1} hold ${part.length} values, expected ${(r1 - r0) * cols}`,
          )
        data.set(part, r0 * cols)
      }
      return { data, rows, cols }
    }
    const train = matrix('train', 'f', true)!
    const test = matrix('test', 'f', true)!
    if (test.cols !== train.cols) throw new VqFormatError('BAD_FILE', `${path}: train has ${train.cols} columns, test ${test.cols}`)
    const nb = matrix('neighbors', 'i', false)
    if (nb && nb.rows !== test.rows) throw new VqFormatError('BAD_FILE', `${path}: neighbors has ${nb.rows} rows for ${test.rows} queries`)
    const attr = file.attrs['distance']?.value
    return {
      d: train.cols,
      train: train.data as Float32Array,
      nb: train.rows,
      test: test.data as Float32Array,
      nq: test.rows,
      neighbors: nb ? (nb.data as Int32Array) : null,
      gtK: nb ? nb.cols : 0,
      metric: typeof attr === 'string' ? metricOfAnnDistance(attr) : null,
    }
  } finally {
    file.close()
  }
}

/** The shapes and metric of an ann-benchmarks file, without reading its data. */
export async function readAnnBenchmarksShape(
  path: string,
): Promise<{ d: number; nb: number; nq: number; gtK: number; metric: Metric | null }> {
  await checkHeader(path)
  const H = await lib()
  const file = openFile(H, path)
  try {
    const shape = (name: string): number[] | null => {
      const ds = file.get(name)
      return ds instanceof H.Dataset ? (ds.shape ?? []) : null
    }
    const train = shape('train')
    const test = shape('test')
    if (!train || !test || train.length !== 2 || test.length !== 2) {
      throw new VqFormatError('BAD_FILE', `${path}: no 2-D "train" and "test" datasets; not an ann-benchmarks file?`)
    }
    const nb = shape('neighbors')
    const attr = file.attrs['distance']?.value
    return {
      d: train[1]!,
      nb: train[0]!,
      nq: test[0]!,
      gtK: nb?.[1] ?? 0,
      metric: typeof attr === 'string' ? metricOfAnnDistance(attr) : null,
    }
  } finally {
    file.close()
  }
}

/**
 * A 2-D float dataset of an HDF5 file (default "train") in blocks of rows, for
 * VqIndex.addStream: rows [start, end) in blocks of blockRows (default 65,536), each
 * { start, n, x }. `sample(count)` reads `count` rows spread over the dataset (64 evenly
 * spaced runs), to train an index on before streaming.
 */
export async function openAnnBenchmarksRows(
  path: string,
  dataset = 'train',
): Promise<{
  n: number
  d: number
  blocks: (o?: { start?: number; end?: number; blockRows?: number }) => AsyncGenerator<{ start: number; n: number; x: Float32Array }>
  sample: (count: number) => Float32Array
  close: () => void
}> {
  await checkHeader(path)
  const H = await lib()
  const file = openFile(H, path)
  const ds = file.get(dataset)
  if (!(ds instanceof H.Dataset) || (ds.shape ?? []).length !== 2) {
    file.close()
    throw new VqFormatError('BAD_FILE', `${path}: no 2-D dataset "${dataset}"`)
  }
  const [n, d] = ds.shape as [number, number]
  const rows = (r0: number, r1: number): Float32Array => {
    let value: unknown
    try {
      value = ds.slice([
        [r0, r1],
        [0, d],
      ])
    } catch (e) {
      throw new VqFormatError(
        'TRUNCATED_FILE',
        `${path}: dataset "${dataset}" rows ${r0}..${r1} cannot be read (${(e as Error).message.split('\n')[0]}); the file is truncated or corrupt`,
      )
    }
    const x = toFloat32(value, path, dataset)
    if (x.length !== (r1 - r0) * d) throw new VqFormatError('TRUNCATED_FILE', `${path}: dataset "${dataset}" rows ${r0}..${r1} are short`)
    return x
  }
  return {
    n,
    d,
    async *blocks(o = {}) {
      const end = Math.min(n, o.end ?? n)
      const step = Math.max(1, o.blockRows ?? 65536)
      for (let r = o.start ?? 0; r < end; r += step) {
        const r1 = Math.min(end, r + step)
        yield { start: r, n: r1 - r, x: rows(r, r1) }
      }
    },
    sample(count) {
      const m = Math.min(n, count)
      const runs = Math.min(64, m)
      const per = Math.ceil(m / runs)
      const out = new Float32Array(m * d)
      let at = 0
      for (let i = 0; i < runs && at < m; i++) {
        const r0 = Math.min(n - per, Math.floor((i * n) / runs))
        const take = Math.min(per, m - at)
        out.set(rows(Math.max(0, r0), Math.max(0, r0) + take), at * d)
        at += take
      }
      return out
    },
    close: () => file.close(),
  }
}

/** Writes an ann-benchmarks HDF5 file (used by tests and to save converted sets). */
export async function writeAnnBenchmarks(
  path: string,
  data: {
    d: number
    train: Float32Array
    nb: number
    test: Float32Array
    nq: number
    neighbors?: Int32Array
    distances?: Float32Array
    gtK?: number
    distance: string
  },
): Promise<void> {
  const H = await lib()
  const file = new H.File(path, 'w')
  try {
    file.create_dataset({ name: 'train', data: data.train, shape: [data.nb, data.d], dtype: '<f' })
    file.create_dataset({ name: 'test', data: data.test, shape: [data.nq, data.d], dtype: '<f' })
    if (data.neighbors) file.create_dataset({ name: 'neighbors', data: data.neighbors, shape: [data.nq, data.gtK ?? 0], dtype: '<i' })
    if (data.distances) file.create_dataset({ name: 'distances', data: data.distances, shape: [data.nq, data.gtK ?? 0], dtype: '<f' })
    file.create_attribute('distance', data.distance)
  } finally {
    file.close()
  }
}

function openFile(H: H5, path: string): import('h5wasm/node').File {
  try {
    return new H.File(path, 'r')
  } catch (e) {
    throw new VqFormatError('BAD_FILE', `${path}: HDF5 cannot open it (${(e as Error).message})`)
  }
}

function toFloat32(v: unknown, path: string, name: string): Float32Array {
  if (v instanceof Float32Array) return v
  if (v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array) return Float32Array.from(v)
  throw new VqFormatError('BAD_FILE', `${path}: dataset "${name}" is not numeric`)
}

function toInt32(v: unknown, path: string, name: string): Int32Array {
  if (v instanceof Int32Array) return v
  if (v instanceof BigInt64Array) return Int32Array.from(v, (x) => Number(x))
  if (v instanceof Uint32Array || v instanceof Float32Array || v instanceof Float64Array) return Int32Array.from(v)
  throw new VqFormatError('BAD_FILE', `${path}: dataset "${name}" is not an integer matrix`)
}
