/**
 * hnswlib-node as the peer system of the benchmarks: build (or load from the cache) an
 * HNSW index over a dataset, and sweep efSearch. Built indexes are cached as
 * <cache>/hnsw/<name>-M<M>-ef<efC>.bin with a JSON sidecar holding the build time.
 * hnswlib-node is an optional dependency (a native addon): without it the peer is skipped.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type * as Hnswlib from 'hnswlib-node'
import { defaultCacheDir } from 'vqlite'

export interface HnswBuild {
  readonly index: Hnswlib.HierarchicalNSW
  /** Seconds to build (measured now, or when the cached index was built). */
  readonly buildSeconds: number
  /** True when the build happened in this run. */
  readonly builtNow: boolean
  /** Bytes of the saved index file. */
  readonly fileBytes: number
  /** Bytes of the saved index file, per vector: hnswlib's memory layout (vectors + graph). */
  readonly bytesPerVector: number
  /** The saved index file (readIndexSync reads it back). */
  readonly file: string
}

let lib: typeof Hnswlib | null | undefined

async function load(): Promise<typeof Hnswlib | null> {
  if (lib !== undefined) return lib
  try {
    const mod = (await import('hnswlib-node')) as typeof Hnswlib & { default?: typeof Hnswlib }
    lib = mod.default ?? mod
  } catch {
    lib = null
  }
  return lib
}

/** True when hnswlib-node is installed and loads. */
export async function hnswAvailable(): Promise<boolean> {
  return (await load()) !== null
}

/**
 * Builds an HNSW index of n vectors (n*d), or loads the cached one (rebuild false).
 * Returns null when hnswlib-node is missing or the signal aborted the build.
 */
export async function hnswIndex(
  name: string,
  base: Float32Array,
  n: number,
  d: number,
  space: 'cosine' | 'l2' | 'ip',
  M: number,
  efConstruction: number,
  rebuild: boolean,
  onProgress?: (done: number) => void,
  signal?: AbortSignal,
): Promise<HnswBuild | null> {
  const h = await load()
  if (!h) return null
  const dir = join(defaultCacheDir(), 'hnsw')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}-M${M}-ef${efConstruction}.bin`)
  const meta = `${file}.json`
  const index = new h.HierarchicalNSW(space, d)
  if (!rebuild && existsSync(file) && existsSync(meta)) {
    index.readIndexSync(file)
    const { buildSeconds } = JSON.parse(readFileSync(meta, 'utf8')) as { buildSeconds: number }
    const fileBytes = statSync(file).size
    return { index, buildSeconds, builtNow: false, fileBytes, bytesPerVector: fileBytes / n, file }
  }
  const t0 = performance.now()
  index.initIndex(n, M, efConstruction, 100)
  for (let i = 0; i < n; i++) {
    index.addPoint(Array.from(base.subarray(i * d, (i + 1) * d)), i)
    if (i % 2000 === 0) {
      onProgress?.(i)
      if (signal?.aborted) return null
      // Let a Ctrl-C handler run.
      if (i % 20000 === 0) await new Promise((r) => setImmediate(r))
    }
  }
  onProgress?.(n)
  const buildSeconds = (performance.now() - t0) / 1000
  index.writeIndexSync(file)
  writeFileSync(meta, JSON.stringify({ buildSeconds, n, d, M, efConstruction, at: new Date().toISOString() }))
  const fileBytes = statSync(file).size
  return { index, buildSeconds, builtNow: true, fileBytes, bytesPerVector: fileBytes / n, file }
}
