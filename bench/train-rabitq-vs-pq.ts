/**
 * Issue 16's training line: time to train IVF1024,RaBitQ against IVF1024,PQ25 on glove100
 * (cosine), the same coarse quantizer settings, default threads, in one process with the
 * two interleaved over rounds (median of rounds). RaBitQ trains only its rotation and mean;
 * both pay the same IVF k-means.
 *
 *   npm run build && node cli/dist/bench/train-rabitq-vs-pq.js [--rounds 3] [--out bench/results/train-rabitq-vs-pq.json]
 */
import { parseArgs } from 'node:util'
import { VqIndex } from 'vqlite'
import { loadGlove100 } from '../datasets/index.js'
import { machineInfo, saveJson } from './lib/report.js'
import { median } from './lib/rounds.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    configs: { type: 'string', default: 'IVF1024,RaBitQ;IVF1024,PQ25;IVF1024,RaBitQ4' },
    out: { type: 'string', default: 'bench/results/train-rabitq-vs-pq.json' },
  },
})
const g = await loadGlove100()
const configs = values.configs.split(';')
const times: Record<string, number[]> = Object.fromEntries(configs.map((c) => [c, []]))
for (let r = 0; r < Number(values.rounds); r++) {
  // Alternate the order between rounds so that drift affects every configuration alike.
  const order = r % 2 === 0 ? configs : [...configs].reverse()
  for (const description of order) {
    const ix = VqIndex.create(':memory:', { dim: g.d, metric: 'cosine', description })
    const t0 = performance.now()
    await ix.train(g.base, { seed: 1 + r })
    times[description]!.push((performance.now() - t0) / 1000)
    await ix.close()
    console.log(`round ${r + 1}: ${description} ${times[description]!.at(-1)!.toFixed(2)} s`)
  }
}
const med = Object.fromEntries(configs.map((c) => [c, median(times[c]!)]))
const ref = med['IVF1024,PQ25']
for (const c of configs)
  console.log(`${c.padEnd(18)} median ${med[c]!.toFixed(2)} s${ref ? `  ratio to IVF1024,PQ25 ${(med[c]! / ref).toFixed(3)}` : ''}`)
saveJson(values.out, { machine: machineInfo(), set: 'glove100 (340,479 x 100, cosine)', rounds: Number(values.rounds), times, median: med })
