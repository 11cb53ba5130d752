/**
 * End-to-end latency of `vqlite search` on a text index: wall time from spawning
 * `node cli/dist/cli/vqlite.js search QUERY --index IDX` to its exit (Node's start, the
 * imports, opening the index, loading the embedder from its binary cache, the search, the
 * printed results). The index is built once (vqlite index-text) from the README of every
 * package installed in node_modules, as bench/fusion-eval.ts does; the queries are those of
 * bench/data/readme-questions.json. Each mode (hybrid, keyword) runs --runs times after one
 * untimed call; reported: p50 / p95 / min / max in ms, with `vqlite --version` and
 * `node -e 0` for scale.
 *
 *   npm run build && node cli/dist/bench/cli-search-latency.js [--runs 20]
 *
 * Writes bench/results/cli-search-latency.json, with the machine's load average (other
 * processes share the cores).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { copyPackageReadmes } from './lib/readmes.js'
import { machineInfo, saveJson } from './lib/report.js'
import { summary } from './lib/stats.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    out: { type: 'string', default: 'bench/results/cli-search-latency.json' },
  },
})
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..') // cli/dist/bench -> repository root
const cli = join(root, 'cli', 'dist', 'cli', 'vqlite.js')
const runs = Number(values.runs)

const vqlite = (args: string[], env: NodeJS.ProcessEnv = process.env): { ms: number; stdout: string } => {
  const t = performance.now()
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`vqlite ${args.join(' ')} exited with ${r.status}: ${r.stderr}`)
  return { ms, stdout: r.stdout }
}

const dir = mkdtempSync(join(tmpdir(), 'vqlite-cli-latency-'))
try {
  copyPackageReadmes(join(root, 'node_modules'), join(dir, 'readmes'))
  const index = join(dir, 'readmes.vqlite')
  const built = vqlite(['index-text', join(dir, 'readmes'), '--index', index, '--json'])
  const report = JSON.parse(built.stdout) as { filesIndexed: number; chunksAdded: number }
  console.log(`indexed ${report.filesIndexed} READMEs (${report.chunksAdded} chunks) in ${(built.ms / 1000).toFixed(1)} s`)
  const questions = (
    JSON.parse(readFileSync(join(root, 'bench', 'data', 'readme-questions.json'), 'utf8')) as { questions: { q: string }[] }
  ).questions.map((q) => q.q)
  // NODE_EXTRA_CA_CERTS makes every Node process read and parse a certificate file at start
  // (about 50 ms where these figures were measured): measured both ways when it is set.
  const envs: [string, NodeJS.ProcessEnv][] = [['environment as is', process.env]]
  if (process.env['NODE_EXTRA_CA_CERTS']) {
    const { NODE_EXTRA_CA_CERTS: _, ...rest } = process.env
    envs.unshift(['NODE_EXTRA_CA_CERTS unset', rest])
  }
  const load0 = loadavg()
  const results: Record<string, Record<string, ReturnType<typeof summary>>> = {}
  for (const [name, env] of envs) {
    const r: Record<string, ReturnType<typeof summary>> = {}
    for (const mode of ['hybrid', 'keyword'] as const) {
      vqlite(['search', questions[0]!, '--index', index, '--mode', mode], env) // untimed: file system caches
      const ms: number[] = []
      for (let i = 0; i < runs; i++)
        ms.push(vqlite(['search', questions[i % questions.length]!, '--index', index, '--mode', mode, '-k', '10'], env).ms)
      r[`search --mode ${mode}`] = summary(ms)
    }
    r['--version'] = summary(Array.from({ length: runs }, () => vqlite(['--version'], env).ms))
    r['node -e 0'] = summary(
      Array.from({ length: runs }, () => {
        const t = performance.now()
        spawnSync(process.execPath, ['-e', '0'], { env })
        return performance.now() - t
      }),
    )
    results[name] = r
    console.log(`${name}, ${runs} calls each, spawn to exit:`)
    for (const [what, s] of Object.entries(r)) console.log(`  ${what}: p50 ${s.p50} ms, p95 ${s.p95} ms (min ${s.min}, max ${s.max})`)
  }
  console.log(
    `load average before: ${load0.map((v) => v.toFixed(2)).join(' ')}, after: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  )
  saveJson(values.out, {
    ...machineInfo(),
    loadavgBefore: load0.map((v) => Math.round(v * 100) / 100),
    loadavgAfter: loadavg().map((v) => Math.round(v * 100) / 100),
    corpus: { files: report.filesIndexed, chunks: report.chunksAdded },
    runs,
    ms: results,
  })
} finally {
  rmSync(dir, { recursive: true, force: true })
}
