/**
 * hnswlib-node as the peer system of the benchmarks: build (or load from the cache) an
 * HNSW index over a dataset, and sweep efSearch. Built indexes are cached as
 * <cache>/hnsw/<name>-M<M>-ef<efC>.bin with a JSON sidecar holding the build time.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import hnswlib from 'hnswlib-node'
import { defaultCacheDir } from '../../datasets/cache.js'

export interface HnswBuild {
  readonly index: hnswlib.HierarchicalNSW
  /** Seconds to build (measured now, or when the cached index was built). */
  readonly buildSeconds: number
  /** True when the build happened in this run. */
  readonly builtNow: boolean
  /** Bytes of the saved index file, per vector: hnswlib's memory layout (vectors + graph). */
  readonly bytesPerVector: number
}

/** Builds an HNSW index of n vectors (n*d, angular = 'cosine'), or loads the cached one. */
export function hnswIndex(name: string, base: Float32Array, n: number, d: number, space: 'cosine' | 'l2' | 'ip',
  M: number, efConstruction: number, rebuild: boolean, onProgress?: (done: number) => void): HnswBuild {
  const dir = join(defaultCacheDir(), 'hnsw')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}-M${M}-ef${efConstruction}.bin`)
  const meta = `${file}.json`
  const index = new hnswlib.HierarchicalNSW(space, d)
  if (!rebuild && existsSync(file) && existsSync(meta)) {
    index.readIndexSync(file)
    const { buildSeconds } = JSON.parse(readFileSync(meta, 'utf8')) as { buildSeconds: number }
    return { index, buildSeconds, builtNow: false, bytesPerVector: statSync(file).size / n }
  }
  const t0 = performance.now()
  index.initIndex(n, M, efConstruction, 100)
  for (let i = 0; i < n; i++) {
    index.addPoint(Array.from(base.subarray(i * d, (i + 1) * d)), i)
    if (onProgress && i % 20000 === 0) onProgress(i)
  }
  const buildSeconds = (performance.now() - t0) / 1000
  index.writeIndexSync(file)
  writeFileSync(meta, JSON.stringify({ buildSeconds, n, d, M, efConstruction, at: new Date().toISOString() }))
  return { index, buildSeconds, builtNow: true, bytesPerVector: statSync(file).size / n }
}
