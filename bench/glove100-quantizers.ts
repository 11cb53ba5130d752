/**
 * Quantizer quality on glove100 (cosine): recall@10 of exhaustive search and the mean
 * squared reconstruction error of the unit vectors, for PQ m = 10, 20, 25, 50 (8-bit),
 * SQ8, SQ4 and SQfp16, next to FAISS 1.7.3 on the same split when it is installed.
 *
 *   npm run build && node cli/dist/bench/glove100-quantizers.js [--configs PQ10,SQ8] [--no-faiss]
 *     [--seed N] [--iterations N] [--tolerance X] [--max-points-per-centroid N]
 *
 * Writes bench/results/glove100-quantizers.json.
 */

import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { normalizedCopy, type TrainOptions, VqIndex } from 'vqlite'
import { defaultCacheDir, GLOVE100_SEED, loadGlove100 } from '../datasets/index.js'
import { faissAvailable, machineInfo, recallAtK, runFaiss, saveJson, since } from './lib/report.js'
import { reconstructionMse } from './suite/rate-distortion.js'

const { values } = parseArgs({
  options: {
    configs: { type: 'string', default: 'PQ10,PQ20,PQ25,PQ50,SQ8,SQ4,SQfp16' },
    'no-faiss': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/glove100-quantizers.json' },
    seed: { type: 'string' },
    iterations: { type: 'string' },
    tolerance: { type: 'string' },
    'max-points-per-centroid': { type: 'string' },
  },
})
/** Training options given on the command line (library defaults otherwise). */
const trainOptions: TrainOptions = {
  ...(values.seed ? { seed: Number(values.seed) } : {}),
  ...(values.iterations ? { iterations: Number(values.iterations) } : {}),
  ...(values.tolerance ? { tolerance: Number(values.tolerance) } : {}),
  ...(values['max-points-per-centroid'] ? { maxPointsPerCentroid: Number(values['max-points-per-centroid']) } : {}),
}

const g = await loadGlove100({ onProgress: (m) => console.log(m) })
const unitBase = normalizedCopy(g.base, g.nb, g.d)
const ids = Float64Array.from({ length: g.nb }, (_, i) => i)
const rows: Record<string, unknown>[] = []
console.log(`glove100: ${g.nb} base, ${g.nq} queries, d = ${g.d}, cosine`)
console.log('config      recall@10   MSE(unit)   train s   add s   search s')
for (const description of values.configs.split(',')) {
  const index = VqIndex.create(':memory:', { dim: g.d, metric: 'cosine', description })
  let t0 = performance.now()
  await index.train(g.base, trainOptions)
  const trainS = since(t0)
  t0 = performance.now()
  await index.add(ids, g.base)
  const addS = since(t0)
  t0 = performance.now()
  const res = await index.searchBatch(g.queries, 10)
  const searchS = since(t0)
  const recall = recallAtK(res.ids, 10, g.groundTruth, g.gtK, g.nq, 10)
  const mse = reconstructionMse(index, unitBase, g.nb, g.d)
  index.close()
  rows.push({ system: 'vqlite', config: description, recall10: recall, mse, train_s: trainS, add_s: addS, search_s: searchS })
  console.log(
    `${description.padEnd(10)}  ${recall.toFixed(4).padStart(9)}  ${mse.toExponential(4).padStart(10)}  ${trainS.toFixed(1).padStart(8)}  ${addS.toFixed(1).padStart(6)}  ${searchS.toFixed(1).padStart(9)}`,
  )
}

let faiss: Record<string, unknown>[] = []
if (!values['no-faiss'] && faissAvailable()) {
  const faissConfigs = values.configs.split(',').map((c) => (/^PQ\d+$/.test(c) ? `${c}np` : c))
  console.log(`FAISS on the same split (${faissConfigs.join(' ')}), one thread ...`)
  faiss = runFaiss('bench/faiss/glove100_quantizers.py', [join(defaultCacheDir(), `glove100-seed${GLOVE100_SEED}`), ...faissConfigs])
  console.log('config      vqlite R@10  FAISS R@10   vqlite MSE   FAISS MSE   MSE ratio')
  for (const f of faiss) {
    const ours = rows.find((r) => `${r['config']}np` === f['config'] || r['config'] === f['config'])
    if (!ours) continue
    const ratio = (ours['mse'] as number) / (f['mse'] as number)
    console.log(
      `${String(ours['config']).padEnd(10)}  ${(ours['recall10'] as number).toFixed(4).padStart(11)}  ${(f['recall10'] as number).toFixed(4).padStart(10)}  ${(ours['mse'] as number).toExponential(4).padStart(11)}  ${(f['mse'] as number).toExponential(4).padStart(10)}  ${ratio.toFixed(4).padStart(10)}`,
    )
  }
} else {
  console.log('FAISS not run (not installed for /usr/bin/python3, or --no-faiss)')
}
saveJson(values.out, { bench: 'glove100-quantizers', machine: machineInfo(), trainOptions, vqlite: rows, faiss })
console.log(`saved ${values.out}`)
