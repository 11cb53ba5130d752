/**
 * The distributed prototype measured (docs/scale-out.md): a PostgreSQL server started here
 * (bench/lib/pg-server.ts), an index of --n synthetic vectors (datasets/synthetic.ts, d 96,
 * IVF256,PQ48x4,RFlat) written to it, and search processes (cli/pg-node.ts) serving it.
 * - Visibility delay: --writes single-row writes through process A, one at a time; after each
 *   commit returns, process B's /stats is polled (every 1 ms) until its applied seq reaches the
 *   write's: the delay from A's answer to B's having applied it. With LISTEN/NOTIFY (and a
 *   1 s poll fallback), then with the poll alone (--no-listen, every 200 ms).
 * - Throughput: /bench (nq seeded queries searched inside the process, one at a time, no
 *   HTTP per query) on one process alone, then on two at once (the sum of their QPS);
 *   interleaved rounds, medians.
 *   npm run build && node cli/dist/bench/pg-distributed.js [--n 200000] [--writes 100] [--rounds 3]
 * Writes bench/results/pg-distributed.json; skips (exit 0) where PostgreSQL is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { VqIndex } from 'vqlite'
import { PgVectorStore } from '../cli/pg-store.js'
import { syntheticMixture } from '../datasets/synthetic.js'
import { postgresBinaries, startPostgres } from './lib/pg-server.js'
import { machineInfo, saveJson } from './lib/report.js'
import { median } from './lib/rounds.js'

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200000' },
    writes: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    nq: { type: 'string', default: '3000' },
    'out-dir': { type: 'string', default: 'bench/results' },
  },
})
const log = (msg: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`)
if (!postgresBinaries()) {
  log('PostgreSQL server not installed (apt-get install postgresql): skipped')
  process.exit(0)
}
const NODE = fileURLToPath(new URL('../cli/pg-node.js', import.meta.url))
const n = Number(values.n)
const d = 96
const server = await startPostgres()
const dir = mkdtempSync(join(tmpdir(), 'vqlite-pgbench-'))
const pool = new pg.Pool({ connectionString: server.url })
const children: ChildProcess[] = []
const stopChild = (c: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve()
    c.once('exit', () => resolve())
    c.kill('SIGTERM')
  })
try {
  const data = syntheticMixture({ n, d, nq: 10, seed: 3 })
  const trainer = VqIndex.create(':memory:', { dim: d, description: 'IVF256,PQ48x4,RFlat', storeVectors: 'float32', threads: 2 })
  await trainer.train(data.base.subarray(0, Math.min(n, 65536) * d), { seed: 1 })
  const store = new PgVectorStore(pool, 'bench')
  await store.create(trainer.exportModel())
  await trainer.close()
  const t0 = performance.now()
  for (let i0 = 0; i0 < n; i0 += 20_000) {
    const m = Math.min(20_000, n - i0)
    await store.write(
      Array.from({ length: m }, (_, i) => i0 + i),
      data.base.subarray(i0 * d, (i0 + m) * d),
      d,
      undefined,
      false,
    )
  }
  const loadS = (performance.now() - t0) / 1000
  log(`${n} vectors written to PostgreSQL in ${loadS.toFixed(1)} s`)

  const start = async (name: string, extra: string[] = []): Promise<number> => {
    const t = performance.now()
    const c = spawn(process.execPath, [NODE, '--pg', server.url, '--name', 'bench', '--replica', join(dir, `${name}.vqlite`), ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(c)
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      c.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const ready = out.split('\n').find((l) => l.includes('"ready"'))
        if (ready) resolve(ready)
      })
      c.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)))
    })
    log(`${name}: replica of ${n} built from PostgreSQL in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    return (JSON.parse(line) as { port: number }).port
  }
  const call = async (port: number, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
    return (await r.json()) as Record<string, unknown>
  }

  const delays = async (a: number, b: number, idBase: number): Promise<{ p50: number; p95: number; max: number; ms: number[] }> => {
    const ms: number[] = []
    for (let i = 0; i < Number(values.writes); i++) {
      const w = await call(a, '/add', { ids: [idBase + i], vectors: [Array.from(data.queries.subarray(0, d))] })
      const t = performance.now()
      while (((await call(b, '/stats'))['seq'] as number) < (w['seq'] as number)) await new Promise((r) => setTimeout(r, 1))
      ms.push(performance.now() - t)
    }
    const s = [...ms].sort((x, y) => x - y)
    return { p50: s[Math.floor(s.length / 2)]!, p95: s[Math.ceil(0.95 * s.length) - 1]!, max: s[s.length - 1]!, ms }
  }

  const a = await start('a')
  const b = await start('b')
  const notify = await delays(a, b, 10_000_000)
  log(
    `visibility delay with LISTEN/NOTIFY: p50 ${notify.p50.toFixed(1)} ms, p95 ${notify.p95.toFixed(1)} ms, max ${notify.max.toFixed(1)} ms (${values.writes} writes)`,
  )
  const c = await start('c', ['--no-listen', '--poll-ms', '200'])
  const polled = await delays(a, c, 20_000_000)
  log(
    `visibility delay polling every 200 ms: p50 ${polled.p50.toFixed(1)} ms, p95 ${polled.p95.toFixed(1)} ms, max ${polled.max.toFixed(1)} ms`,
  )
  await stopChild(children.pop()!)

  const bench = { nq: Number(values.nq), k: 10, nprobe: 16, refineFactor: 4, seed: 5 }
  const one: number[] = []
  const two: number[] = []
  await call(a, '/bench', { ...bench, nq: 500 })
  await call(b, '/bench', { ...bench, nq: 500 })
  for (let r = 0; r < Number(values.rounds); r++) {
    const order = r % 2 === 0 ? ['one', 'two'] : ['two', 'one']
    for (const what of order) {
      if (what === 'one') one.push((await call(a, '/bench', bench))['qps'] as number)
      else {
        const [x, y] = await Promise.all([call(a, '/bench', bench), call(b, '/bench', bench)])
        two.push((x['qps'] as number) + (y['qps'] as number))
      }
    }
  }
  const q1 = median(one)
  const q2 = median(two)
  log(`throughput at nprobe 16, refine 4: 1 process ${q1.toFixed(0)} QPS, 2 processes ${q2.toFixed(0)} QPS: ${(q2 / q1).toFixed(2)}x`)
  saveJson(join(values['out-dir'], 'pg-distributed.json'), {
    bench: 'pg-distributed',
    machine: machineInfo(),
    n,
    d,
    description: 'IVF256,PQ48x4,RFlat',
    loadS,
    visibility: { notify, polled200ms: polled },
    throughput: { params: bench, one, two, qps1: q1, qps2: q2, ratio: q2 / q1 },
  })
} finally {
  for (const c of children) await stopChild(c)
  await pool.end()
  server.stop()
  rmSync(dir, { recursive: true, force: true })
}
