/**
 * Load time of the built-in SIF-GloVe embedder (createSifGloveEmbedder, including the
 * import of wink-tokenizer) in fresh processes, from its binary cache (built by a first,
 * untimed run when missing). Each run is a new `node` process that imports vqlite/text,
 * times createSifGloveEmbedder() and one embed of a short query, and prints them; reported:
 * p50 / p95 over the runs, and the whole process's wall time from spawn to exit.
 *
 *   npm run build && node cli/dist/bench/embedder-load.js [--runs 20]
 *
 * Writes bench/results/embedder-load.json. Other processes on the machine (os.loadavg) are
 * recorded with the figures.
 */
import { spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machineInfo, saveJson } from './lib/report.js'
import { summary } from './lib/stats.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    child: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/embedder-load.json' },
  },
})

if (values.child) {
  const t0 = performance.now()
  const { createSifGloveEmbedder } = await import('vqlite/text')
  const t1 = performance.now()
  const messages: string[] = []
  const e = await createSifGloveEmbedder({ onProgress: (m) => messages.push(m) })
  const t2 = performance.now()
  await e.embed(['how do I parse command line options'])
  const t3 = performance.now()
  console.log(JSON.stringify({ importMs: t1 - t0, loadMs: t2 - t1, embedMs: t3 - t2, messages }))
} else {
  const self = fileURLToPath(import.meta.url)
  const run = (): { importMs: number; loadMs: number; embedMs: number; messages: string[]; wallMs: number } => {
    const t = performance.now()
    const r = spawnSync(process.execPath, [self, '--child'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    const wallMs = performance.now() - t
    if (r.status !== 0) throw new Error(`child exited with ${r.status}`)
    return { ...JSON.parse(r.stdout), wallMs }
  }
  const first = run()
  if (first.messages.length > 0) console.log(`first run (cache built): ${first.loadMs.toFixed(0)} ms; ${first.messages.join('; ')}`)
  const load0 = loadavg()
  const runs = Array.from({ length: Number(values.runs) }, run)
  const result = {
    ...machineInfo(),
    loadavgAfter: loadavg().map((v) => Math.round(v * 100) / 100),
    loadavgBefore: load0.map((v) => Math.round(v * 100) / 100),
    firstRun: { loadMs: Math.round(first.loadMs), cacheBuilt: first.messages.length > 0 },
    runs: runs.length,
    loadMs: summary(runs.map((r) => r.loadMs)),
    importMs: summary(runs.map((r) => r.importMs)),
    firstEmbedMs: summary(runs.map((r) => r.embedMs)),
    processWallMs: summary(runs.map((r) => r.wallMs)),
    rebuilt: runs.filter((r) => r.messages.length > 0).length,
  }
  console.log(
    `createSifGloveEmbedder in a fresh process, ${runs.length} runs: p50 ${result.loadMs.p50} ms, p95 ${result.loadMs.p95} ms (import of vqlite/text p50 ${result.importMs.p50} ms, whole process p50 ${result.processWallMs.p50} ms); load average ${load0.map((v) => v.toFixed(2)).join(' ')}`,
  )
  saveJson(values.out, result)
}
