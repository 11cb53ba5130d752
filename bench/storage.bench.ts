/**
 * Storage figures for the SQLite layer, on 1,000,000 synthetic vectors of d = 128
 * (a mixture of anisotropic Gaussians) with PQ16 codes:
 * - add rate end to end (encode + insert) through VqIndex.add, in batches of 10,000;
 * - the write stage without encoding: VqIndex.import of a snapshot of those codes (reads the
 *   msgpack snapshot and writes the same codes and ids into a fresh file);
 * - open time: loading the 1,000,000 codes and ids back into memory;
 * - file size per vector without stored vectors and with float32 vectors.
 *
 *   npm run build && node cli/dist/bench/storage.bench.js [--n 1000000]
 *
 * Writes bench/results/storage.json.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Rng, VqIndex } from 'vqlite'
import { machineInfo, saveJson, since } from './lib/report.js'

const { values } = parseArgs({
  options: { n: { type: 'string', default: '1000000' }, out: { type: 'string', default: 'bench/results/storage.json' } },
})
const n = Number(values.n)
const d = 128
const BATCH = 10_000
const dir = mkdtempSync(join(tmpdir(), 'vqlite-storage-bench-'))

/** n*d floats: 256 Gaussian clusters with per-dimension scales (SIFT-like spread). */
function synthetic(count: number, seed: number): Float32Array {
  const rng = new Rng(seed)
  const centres = Float32Array.from({ length: 256 * d }, () => 40 * rng.float())
  const scale = Float32Array.from({ length: d }, () => 2 + 8 * rng.float())
  const x = new Float32Array(count * d)
  for (let i = 0; i < count; i++) {
    const c = rng.int(256)
    for (let t = 0; t < d; t++) x[i * d + t] = centres[c * d + t]! + scale[t]! * rng.normal()
  }
  return x
}

const fileSize = (p: string): number => statSync(p).size
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`
try {
  console.log(`generating ${n.toLocaleString()} x ${d} vectors ...`)
  const x = synthetic(n, 1)
  const ids = Float64Array.from({ length: n }, (_, i) => i)

  // 1. End to end through VqIndex.add, no stored vectors.
  const pathA = join(dir, 'pq16.vqlite')
  const a = VqIndex.create(pathA, { dim: d, description: 'PQ16' })
  let t0 = performance.now()
  await a.train(x.subarray(0, 65536 * d), { seed: 1 })
  const trainS = since(t0)
  t0 = performance.now()
  for (let i0 = 0; i0 < n; i0 += BATCH) await a.add(ids.subarray(i0, i0 + BATCH), x.subarray(i0 * d, (i0 + BATCH) * d))
  const addS = since(t0)
  const codeSize = a.codeSize
  // Encode alone, for the split of the end-to-end time.
  const codes = new Uint8Array(n * codeSize)
  t0 = performance.now()
  for (let i0 = 0; i0 < n; i0 += BATCH)
    a.quantizer.encode(x.subarray(i0 * d, (i0 + BATCH) * d), Math.min(BATCH, n - i0), codes.subarray(i0 * codeSize))
  const encodeS = since(t0)
  const snapshot = join(dir, 'pq16.snapshot')
  await a.export(snapshot)
  a.close()
  const sizeA = fileSize(pathA)

  // 2. The write stage without encoding: importing the snapshot of those codes into a fresh file.
  t0 = performance.now()
  VqIndex.import(snapshot, join(dir, 'imported.vqlite')).close()
  const importS = since(t0)

  // 3. Open: load 1M codes and ids.
  t0 = performance.now()
  const reopened = VqIndex.open(pathA)
  const openS = since(t0)
  const mem = reopened.memoryUsage()
  reopened.close()

  // 4. File size with float32 vectors stored.
  const pathC = join(dir, 'pq16-f32.vqlite')
  const c = VqIndex.create(pathC, { dim: d, description: 'PQ16', storeVectors: 'float32' })
  await c.train(x.subarray(0, 65536 * d), { seed: 1 })
  t0 = performance.now()
  for (let i0 = 0; i0 < n; i0 += BATCH) await c.add(ids.subarray(i0, i0 + BATCH), x.subarray(i0 * d, (i0 + BATCH) * d))
  const addVecS = since(t0)
  c.close()
  const sizeC = fileSize(pathC)

  const figures = {
    n,
    d,
    batch: BATCH,
    train_s: trainS,
    add_end_to_end_vectors_per_s: n / addS,
    encode_only_vectors_per_s: n / encodeS,
    import_snapshot_vectors_per_s: n / importS,
    add_with_float32_vectors_per_s: n / addVecS,
    open_seconds: openS,
    ram_bytes_after_open: mem.total,
    file_bytes_per_vector_pq16: sizeA / n,
    file_bytes_per_vector_pq16_float32: sizeC / n,
  }
  console.log(`train PQ16 on 65,536 vectors: ${trainS.toFixed(1)} s`)
  console.log(`add end to end (encode + insert): ${Math.round(n / addS).toLocaleString()} vectors/s (${addS.toFixed(1)} s)`)
  console.log(
    `  encode alone: ${Math.round(n / encodeS).toLocaleString()} vectors/s; snapshot import (no encoding): ${Math.round(n / importS).toLocaleString()} vectors/s`,
  )
  console.log(`add with float32 vectors stored: ${Math.round(n / addVecS).toLocaleString()} vectors/s`)
  console.log(
    `open (load ${n.toLocaleString()} codes + ids): ${openS.toFixed(2)} s; RAM after open ${mb(mem.total)} (codes ${mb(mem.codes)}, ids ${mb(mem.ids)}, codebooks ${mb(mem.trained)})`,
  )
  console.log(
    `file size per vector: PQ16 ${(sizeA / n).toFixed(1)} bytes (${mb(sizeA)}); PQ16 + float32 vectors ${(sizeC / n).toFixed(1)} bytes (${mb(sizeC)})`,
  )
  saveJson(values.out, { bench: 'storage', machine: machineInfo(), figures })
  console.log(`saved ${values.out}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
