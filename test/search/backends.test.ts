import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { wasmAvailable } from '../../native-free-kernels/index.js'
import { type Metric, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const run = wasmAvailable() ? describe : describe.skip
const dir = mkdtempSync(join(tmpdir(), 'vqlite-backends-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const d = 32
const n = 4000
const nq = 30
const x = clusteredVectors(n, d, 50, 41, 0.3)
const queries = clusteredVectors(nq, d, 50, 42, 0.3)
const ids = Array.from({ length: n }, (_, i) => i * 3 + 1)

const close = (u: number, v: number): boolean => u === v || Math.abs(u - v) <= 1e-5 * Math.max(1, Math.abs(v))

/**
 * Same results up to float rounding: distances agree within 1e-5 relative position by
 * position, and the ids agree except where two items' distances agree within that
 * tolerance (near-ties, which the float32 SIMD sums may order differently from the
 * float64 TypeScript sums). Returns the number of positions whose ids differ.
 */
function expectSame(a: { ids: Float64Array; distances: Float32Array }, b: { ids: Float64Array; distances: Float32Array }): number {
  let differ = 0
  const k = a.ids.length
  for (let j = 0; j < k; j++) {
    expect(close(a.distances[j]!, b.distances[j]!), `distance ${j}: ${a.distances[j]} vs ${b.distances[j]}`).toBe(true)
    if (a.ids[j] === b.ids[j]) continue
    differ++
    // The other backend has this id at a near-equal distance, or cut it at a near-tied k-th place.
    const p = Array.from(b.ids).indexOf(a.ids[j]!)
    if (p >= 0) expect(close(a.distances[j]!, b.distances[p]!)).toBe(true)
    else expect(close(a.distances[j]!, b.distances[k - 1]!)).toBe(true)
  }
  return differ
}

run('one index file, searched with the WebAssembly backend forced on and forced off', () => {
  const cases: Array<[string, Metric]> = [
    ['PQ16x4', 'l2'],
    ['PQ8x4', 'cosine'],
    ['IVF16,PQ16x4', 'l2'],
    ['IVF16,PQ16x4', 'ip'],
    ['IVF16,PQ32x4,RFlat', 'cosine'],
    ['OPQ8,IVF16,PQ8x4', 'l2'],
    ['IVF16,PQ8', 'l2'],
    ['IVF16,SQ8', 'ip'],
    ['IVF8,SQ4,RFlat', 'l2'],
    ['Flat', 'cosine'],
  ]
  for (const [description, metric] of cases) {
    it(`${description} / ${metric}: same results (near-ties aside), distances within 1e-5`, async () => {
      const path = join(dir, `${description.replace(/[^A-Za-z0-9]/g, '_')}-${metric}.vqlite`)
      const built = VqIndex.create(path, {
        dim: d,
        metric,
        description,
        threads: 0,
        // Trained and encoded once with the default kernels: only the search is compared.
        storeVectors: description.includes('RFlat') ? 'float32' : 'none',
      })
      await built.train(x, { seed: 3 })
      await built.add(ids, x)
      await built.close()
      copyFileSync(path, `${path}.wasm`)
      const off = VqIndex.open(path, { kernels: 'ts', threads: 0 })
      const on = VqIndex.open(`${path}.wasm`, { kernels: 'wasm', threads: 0 })
      expect(on.kernelBackend).toBe('wasm')
      let differ = 0
      let total = 0
      for (const k of [1, 10, 100, n + 5]) {
        for (const nprobe of [1, 4, 16]) {
          for (let i = 0; i < (k > 100 ? 3 : nq); i++) {
            const q = queries.subarray(i * d, (i + 1) * d)
            const opts = { nprobe, refineFactor: 4 }
            differ += expectSame(on.search(q, k, opts), off.search(q, k, opts))
            total += k
          }
        }
      }
      // Near-ties are rare: observed at most a few in ten thousand positions.
      expect(differ / total).toBeLessThan(0.002)
      if (description.includes('x4')) expect(on.memoryUsage().fastScan).toBeGreaterThan(0)
      else expect(on.memoryUsage().fastScan).toBe(0)
      expect(off.memoryUsage().fastScan).toBe(0)
      // 8-bit PQ and SQ8 lists are copied into the module's memory once, not per query.
      if (/(^|,)PQ\d+(,|$)|SQ8/.test(description)) expect(on.memoryUsage().residentCodes).toBeGreaterThan(0)
      expect(off.memoryUsage().residentCodes).toBe(0)
      // Lists that change are re-packed: add, delete, search again.
      for (const ix of [on, off]) {
        await ix.add([1e9, 1e9 + 1], queries.subarray(0, 2 * d))
        await ix.delete([ids[5]!, ids[77]!])
      }
      for (let i = 0; i < nq; i++) {
        const q = queries.subarray(i * d, (i + 1) * d)
        const r = on.search(q, 10, { nprobe: 4, refineFactor: 4 })
        expectSame(r, off.search(q, 10, { nprobe: 4, refineFactor: 4 }))
        if (i < 2 && metric !== 'ip') expect(r.ids[0]).toBe(1e9 + i)
      }
      await on.close()
      await off.close()
    })
  }
})
