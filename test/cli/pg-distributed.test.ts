/**
 * The distributed prototype (docs/scale-out.md): a real PostgreSQL server started by the
 * test (bench/lib/pg-server.ts; the test skips where Debian's server is not installed), two
 * search processes (cli/pg-node.ts) serving one index kept in it. Checked:
 * - both processes return what one local index of the same model and items returns;
 * - a write made through one is visible to the other after its refresh() (and, through
 *   LISTEN/NOTIFY, within a bounded delay without one);
 * - a search process SIGKILLed during writes, started again, holds every committed write;
 * - a process SIGKILLed while its write is in flight leaves that write whole or absent.
 * The delay and the throughput of two processes against one are measured by
 * bench/pg-distributed.ts, not here.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqIndex } from 'vqlite'
import { type PostgresServer, postgresBinaries, startPostgres } from '../../bench/lib/pg-server.js'
import { PgVectorStore } from '../../cli/pg-store.js'
import { type Child, startNode } from '../helpers/child.js'
import { randomVectors } from '../helpers/data.js'

const NODE = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'cli', 'pg-node.js')
const have = postgresBinaries() !== null
const d = 16
const n0 = 4000
const x0 = randomVectors(n0, d, 41)
const queries = randomVectors(20, d, 42)
const o = { nprobe: 16, refineFactor: 4 }

describe.skipIf(!have)('search processes over PostgreSQL', () => {
  let server: PostgresServer
  let pool: pg.Pool
  let store: PgVectorStore
  const dir = mkdtempSync(join(tmpdir(), 'vqlite-pgd-'))
  const nodes: Child[] = []
  let reference: VqIndex

  async function start(name: string): Promise<{ child: Child; port: number }> {
    const child = startNode(NODE, ['--pg', server.url, '--name', 'docs', '--replica', join(dir, `${name}.vqlite`), '--poll-ms', '500'])
    nodes.push(child)
    await child.waitFor((out) => out.includes('"ready"'), 60_000, `${name} ready`)
    const line = child
      .stdout()
      .split('\n')
      .find((l) => l.includes('"ready"'))!
    return { child, port: (JSON.parse(line) as { port: number }).port }
  }
  const call = async (port: number, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
    return (await r.json()) as Record<string, unknown>
  }
  const rows = (x: Float32Array, from: number, to: number): number[][] =>
    Array.from({ length: to - from }, (_, i) => Array.from(x.subarray((from + i) * d, (from + i + 1) * d)))

  beforeAll(async () => {
    server = await startPostgres()
    pool = new pg.Pool({ connectionString: server.url })
    store = new PgVectorStore(pool, 'docs')
    const trainer = VqIndex.create(':memory:', { dim: d, description: 'IVF16,PQ8,RFlat', storeVectors: 'float32', threads: 0 })
    await trainer.train(x0, { seed: 4 })
    const model = trainer.exportModel()
    await trainer.close()
    await store.create(model)
    await store.write(
      Array.from({ length: n0 }, (_, i) => i),
      x0,
      d,
      undefined,
      false,
    )
    reference = await VqIndex.createFromModel(':memory:', model, { threads: 0 })
    await reference.add(
      Array.from({ length: n0 }, (_, i) => i),
      x0,
    )
  }, 120_000)

  afterAll(async () => {
    for (const c of nodes) await c.stop('SIGKILL', 10_000).catch(() => undefined)
    await reference?.close()
    await pool?.end()
    server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('two processes answer as one local index of the same model and items; writes through one reach the other', async () => {
    const a = await start('a')
    const b = await start('b')
    for (let q = 0; q < 20; q++) {
      const vector = Array.from(queries.subarray(q * d, (q + 1) * d))
      const want = Array.from(reference.search(queries.subarray(q * d, (q + 1) * d), 10, o).ids)
      expect((await call(a.port, '/search', { vector, k: 10, ...o }))['ids']).toEqual(want)
      expect((await call(b.port, '/search', { vector, k: 10, ...o }))['ids']).toEqual(want)
    }
    // A write through a, visible in b after b's refresh (whether or not its NOTIFY came first).
    const extra = randomVectors(50, d, 43)
    const w = await call(a.port, '/add', { ids: Array.from({ length: 50 }, (_, i) => 100_000 + i), vectors: rows(extra, 0, 50) })
    expect(typeof w['seq']).toBe('number')
    await call(b.port, '/refresh', {})
    const s = await call(b.port, '/stats')
    expect(s['count']).toBe(n0 + 50)
    expect(s['seq']).toBeGreaterThanOrEqual(w['seq'] as number)
    const found = await call(b.port, '/search', { vector: Array.from(extra.subarray(7 * d, 8 * d)), k: 1, nprobe: 16 })
    expect(found['ids']).toEqual([100_007])
    // Without a refresh call: LISTEN/NOTIFY (or the 500 ms poll) brings the next write within a few seconds.
    const w2 = await call(a.port, '/add', { ids: [200_000], vectors: rows(extra, 0, 1) })
    const t0 = performance.now()
    for (;;) {
      if (((await call(b.port, '/stats'))['seq'] as number) >= (w2['seq'] as number)) break
      expect(performance.now() - t0).toBeLessThan(5000)
      await new Promise((r) => setTimeout(r, 5))
    }
    // Deletes too.
    const del = await call(a.port, '/delete', { ids: [100_007] })
    expect(del['deleted']).toBe(1)
    await call(b.port, '/refresh', {})
    expect((await call(b.port, '/stats'))['count']).toBe(n0 + 50)
    // A refused write (an id that exists) changes nothing anywhere.
    const bad = await call(a.port, '/add', { ids: [5, 300_000], vectors: rows(extra, 0, 2) })
    expect((bad['error'] as { code: string }).code).toBe('ID_EXISTS')
    expect((await store.stats()).count).toBe(n0 + 50)
    await a.child.stop('SIGTERM', 10_000)
    await b.child.stop('SIGTERM', 10_000)
  }, 180_000)

  it('a search process killed during writes, started again, holds every committed write; a killed writer commits all or nothing', async () => {
    const a = await start('a2')
    const b = await start('b2')
    const extra = randomVectors(400, d, 44)
    let committed = 0
    const writes = (async () => {
      for (let i = 0; i < 20; i++) {
        const r = await call(a.port, '/add', {
          ids: Array.from({ length: 20 }, (_, j) => 400_000 + i * 20 + j),
          vectors: rows(extra, i * 20, i * 20 + 20),
        })
        if (typeof r['seq'] === 'number') committed += 20
      }
    })()
    await new Promise((r) => setTimeout(r, 100))
    await b.child.stop('SIGKILL', 10_000)
    await writes
    expect(committed).toBe(400)
    const b3 = await start('b3')
    const want = (await store.stats()).count
    expect((await call(b3.port, '/stats'))['count']).toBe(want)
    expect((await call(a.port, '/stats'))['count']).toBe(want)
    const q = Array.from(extra.subarray(399 * d, 400 * d))
    expect((await call(b3.port, '/search', { vector: q, k: 1, nprobe: 16 }))['ids']).toEqual([400_399])

    // A big write in flight when its process is killed: PostgreSQL keeps all of it or none.
    const before = (await store.stats()).count
    const big = randomVectors(20_000, d, 45)
    const pending = call(a.port, '/add', {
      ids: Array.from({ length: 20_000 }, (_, i) => 1_000_000 + i),
      vectors: rows(big, 0, 20_000),
    }).catch(() => null)
    await new Promise((r) => setTimeout(r, 300))
    await a.child.stop('SIGKILL', 10_000)
    await pending
    const after = (await store.stats()).count
    expect([before, before + 20_000]).toContain(after)
    await call(b3.port, '/refresh', {})
    expect((await call(b3.port, '/stats'))['count']).toBe(after)
    await b3.child.stop('SIGTERM', 10_000)
  }, 240_000)
})
