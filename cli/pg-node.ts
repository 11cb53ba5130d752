/**
 * A stateless search process over an index kept in PostgreSQL (cli/pg-store.ts): it builds a
 * local replica from the database on start, keeps it current (LISTEN for the writes'
 * NOTIFY, and a poll every --poll-ms as a fallback), and serves JSON over HTTP on loopback:
 *   POST /search  { vector, k?, nprobe?, refineFactor? }      -> { ids, distances, seq }
 *   POST /add     { ids, vectors, metadata?, upsert? }        -> { seq } (committed in PostgreSQL, then applied here)
 *   POST /delete  { ids }                                     -> { seq, deleted }
 *   POST /refresh                                             -> { applied, seq }
 *   GET  /stats                                               -> { count, seq, pid }
 *   POST /bench   { nq, k?, nprobe?, refineFactor?, seed? }   -> { qps } (nq seeded queries searched here, one at a time)
 *
 *   node cli/dist/cli/pg-node.js --pg postgres://... --name docs --replica /tmp/r.vqlite [--port 0] [--poll-ms 1000] [--no-listen]
 * Prints one JSON line { ready, port, count, seq } once it serves. Errors are JSON
 * { error: { code, message } } with 400 (a VqError) or 500.
 */
import { rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { Rng, VqError } from 'vqlite'
import { CHANNEL, PgReplica, PgVectorStore } from './pg-store.js'

const { values } = parseArgs({
  options: {
    pg: { type: 'string' },
    name: { type: 'string' },
    replica: { type: 'string' },
    port: { type: 'string', default: '0' },
    'poll-ms': { type: 'string', default: '1000' },
    // Polling only (to measure what the poll alone bounds the delay to).
    'no-listen': { type: 'boolean', default: false },
  },
})
if (!values.pg || !values.name || !values.replica) throw new Error('pg-node: --pg, --name and --replica are required')

// The replica is disposable: a new one from the database on every start.
for (const f of [values.replica, `${values.replica}-wal`, `${values.replica}-shm`]) rmSync(f, { force: true })
const pool = new pg.Pool({ connectionString: values.pg, max: 4 })
const store = new PgVectorStore(pool, values.name)
const replica = await PgReplica.open(store, values.replica)
const dim = replica.index.dim

// LISTEN on a connection of its own: a NOTIFY (sent at the writer's commit) triggers a refresh.
const listener = new pg.Client({ connectionString: values.pg })
if (!values['no-listen']) {
  await listener.connect()
  listener.on('notification', (m) => {
    if (m.payload === values.name) void replica.refresh()
  })
  await listener.query(`LISTEN ${CHANNEL}`)
}
const poll = setInterval(() => void replica.refresh(), Number(values['poll-ms']))

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of req) text += chunk
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>)
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(value))
}

const searchOptions = (b: Record<string, unknown>) => ({
  ...(b['nprobe'] !== undefined ? { nprobe: Number(b['nprobe']) } : {}),
  ...(b['refineFactor'] !== undefined ? { refineFactor: Number(b['refineFactor']) } : {}),
})

const server = createServer((req, res) => {
  void (async () => {
    try {
      const b = req.method === 'POST' ? await body(req) : {}
      switch (`${req.method} ${req.url}`) {
        case 'POST /search': {
          const r = replica.search(Float32Array.from(b['vector'] as number[]), Number(b['k'] ?? 10), searchOptions(b))
          return send(res, 200, { ids: Array.from(r.ids), distances: Array.from(r.distances), seq: replica.lastSeq })
        }
        case 'POST /add': {
          const ids = b['ids'] as number[]
          const x = Float32Array.from((b['vectors'] as number[][]).flat())
          const seq = await store.write(ids, x, dim, b['metadata'] as unknown[] | undefined, b['upsert'] === true)
          await replica.refresh()
          return send(res, 200, { seq })
        }
        case 'POST /delete': {
          const r = await store.delete(b['ids'] as number[])
          await replica.refresh()
          return send(res, 200, r)
        }
        case 'POST /refresh':
          return send(res, 200, { applied: await replica.refresh(), seq: replica.lastSeq })
        case 'GET /stats':
          return send(res, 200, { count: replica.index.size, seq: replica.lastSeq, pid: process.pid })
        case 'POST /bench': {
          const nq = Number(b['nq'] ?? 1000)
          const rng = new Rng(Number(b['seed'] ?? 1))
          const qs = new Float32Array(nq * dim).map(() => rng.normal())
          const o = searchOptions(b)
          const t0 = performance.now()
          for (let i = 0; i < nq; i++) replica.search(qs.subarray(i * dim, (i + 1) * dim), Number(b['k'] ?? 10), o)
          return send(res, 200, { qps: nq / ((performance.now() - t0) / 1000) })
        }
        default:
          return send(res, 404, { error: { code: 'NOT_FOUND', message: `${req.method} ${req.url}` } })
      }
    } catch (e) {
      if (e instanceof VqError) return send(res, 400, { error: { code: e.code, message: e.message } })
      return send(res, 500, { error: { code: 'INTERNAL', message: (e as Error).message } })
    }
  })()
})
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address()
  console.log(
    JSON.stringify({
      ready: true,
      port: typeof address === 'object' && address ? address.port : 0,
      count: replica.index.size,
      seq: replica.lastSeq,
    }),
  )
})

const stop = async (): Promise<void> => {
  clearInterval(poll)
  server.close()
  await listener.end().catch(() => undefined)
  await replica.close()
  await pool.end()
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
process.once('SIGINT', () => void stop())
