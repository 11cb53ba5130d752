/**
 * k-means at the acceptance size (n = 100,000, d = 100, k = 1,024, 20 iterations) on the
 * first 100,000 glove100 base vectors, vqlite against FAISS's faiss.Kmeans on one thread
 * (OpenBLAS, OPENBLAS_NUM_THREADS=1), in the same run. Both final centroid sets are scored
 * by the same exact assignment (sum of squared distances, SSE), next to each library's
 * own last-iteration objective.
 *
 *   npm run build && node cli/dist/bench/kmeans-vs-faiss.js [--n 100000] [--k 1024] [--iterations 20]
 *
 * Writes bench/results/kmeans-vs-faiss.json.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { assignNearest, type KMeansInit, trainKMeans } from 'vqlite'
import { getKernels } from 'vqlite/kernels'
import { loadGlove100, readFvecs, writeVecs } from '../datasets/index.js'
import { faissAvailable, machineInfo, runFaiss, saveJson, since } from './lib/report.js'

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    k: { type: 'string', default: '1024' },
    iterations: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1234' },
    init: { type: 'string', default: 'random,kmeans++' },
    out: { type: 'string', default: 'bench/results/kmeans-vs-faiss.json' },
  },
})
const n = Number(values.n)
const k = Number(values.k)
const iterations = Number(values.iterations)
const seed = Number(values.seed)
const g = await loadGlove100()
const d = g.d
const x = g.base.subarray(0, n * d)
const kernels = getKernels()

/** SSE of x against centroids c, by the exact assignment kernel. */
function sse(c: Float32Array): number {
  const norms = new Float64Array(k)
  kernels.normsL2sqr(c, k, d, norms)
  const idx = new Int32Array(n)
  const dist = new Float32Array(n)
  assignNearest(kernels, x, n, d, c, k, norms, idx, dist)
  let s = 0
  for (let i = 0; i < n; i++) s += dist[i]!
  return s
}

const rows: Record<string, unknown>[] = []
console.log(`k-means: n = ${n}, d = ${d}, k = ${k}, ${iterations} iterations, one thread`)
for (const init of values.init.split(',') as KMeansInit[]) {
  const t0 = performance.now()
  const res = trainKMeans(x, n, d, k, { iterations, tolerance: -1, init, seed, maxPointsPerCentroid: Infinity })
  const seconds = since(t0)
  const finalSse = sse(res.centroids)
  rows.push({
    system: 'vqlite',
    init,
    seconds,
    objective: res.objective,
    final_sse: finalSse,
    iterations: res.iterations,
    empty_repaired: res.emptyClustersRepaired,
  })
  console.log(
    `vqlite (${init}): ${seconds.toFixed(1)} s, last-iteration objective ${res.objective.toFixed(1)}, SSE of final centroids ${finalSse.toFixed(1)}`,
  )
}

let faiss: Record<string, unknown> | undefined
if (faissAvailable()) {
  const dir = mkdtempSync(join(tmpdir(), 'vqlite-km-'))
  try {
    await writeVecs(join(dir, 'x.fvecs'), 'fvecs', x, n, d)
    const [r] = runFaiss(
      'bench/faiss/kmeans.py',
      [join(dir, 'x.fvecs'), String(k), String(iterations), String(seed), join(dir, 'c.fvecs')],
      { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    )
    const c = await readFvecs(join(dir, 'c.fvecs'))
    const objs = r!['objectives'] as number[]
    faiss = { ...r, objective: objs[objs.length - 1], final_sse: sse(c.data) }
    console.log(
      `FAISS ${r!['version']}: ${(r!['seconds'] as number).toFixed(1)} s, last-iteration objective ${(faiss['objective'] as number).toFixed(1)}, SSE of final centroids ${(faiss['final_sse'] as number).toFixed(1)} (BLAS: ${r!['blas']})`,
    )
    for (const row of rows) {
      console.log(
        `vqlite (${row['init']}) / FAISS: time x${((row['seconds'] as number) / (r!['seconds'] as number)).toFixed(2)}, ` +
          `final SSE ${(100 * ((row['final_sse'] as number) / (faiss['final_sse'] as number) - 1)).toFixed(2)}% vs FAISS`,
      )
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
} else {
  console.log('FAISS not installed for /usr/bin/python3: apt-get install -y python3-faiss libopenblas0-pthread')
}
saveJson(values.out, { bench: 'kmeans-vs-faiss', machine: machineInfo(), n, d, k, iterations, vqlite: rows, faiss })
console.log(`saved ${values.out}`)
