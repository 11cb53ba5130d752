/**
 * Where the time of re-ranking's fetch of stored vectors goes (RFlat reads the k*refineFactor
 * candidates' full vectors back from the SQLite file), and what the alternatives cost.
 *
 * One process, variants interleaved by rounds (the order of variants rotates each round),
 * the median of rounds reported as CPU microseconds (user + system, so that other processes'
 * turns on a shared machine do not count) per fetch and per candidate. Candidate sets
 * are realistic: the ids a glove100 query's search at nprobe 96 ranks first by PQ distance
 * (k*r = 80 and 160, i.e. k = 10 with refineFactor 8 and 16).
 *
 *   npx tsx bench/fetch-vectors.ts [--index /work/data/glove-ivf1024-pq50x4.vqlite] [--queries 200] [--rounds 9]
 *
 * Writes bench/results/fetch-vectors.json.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { VqIndex } from 'vqlite'
import { loadGlove100 } from '../datasets/glove100.js'
import { machineInfo, saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    index: { type: 'string', default: '/work/data/glove-ivf1024-pq50x4.vqlite' },
    queries: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '9' },
    layouts: { type: 'boolean', default: false },
    pages: { type: 'string', default: '' },
    only: { type: 'string', default: '' },
    out: { type: 'string', default: 'bench/results/fetch-vectors.json' },
  },
})
const nq = Number(values.queries)
const rounds = Number(values.rounds)
const MMAP = 2 ** 33

/** Candidate id sets: for each query, the first `kr` ids of a search at nprobe 96 (refine 1). */
async function candidates(kr: number): Promise<Float64Array[]> {
  const g = await loadGlove100()
  const index = VqIndex.open(values.index!, { readonly: true })
  try {
    const out: Float64Array[] = []
    for (let i = 0; i < nq; i++) {
      const q = g.queries.subarray(i * g.d, (i + 1) * g.d)
      const r = index.search(q, kr, { nprobe: 96, refineFactor: 1 })
      out.push(r.ids.filter((id) => id >= 0))
    }
    return out
  } finally {
    index.close()
  }
}

type Fetch = (ids: Float64Array) => number

function open(path: string, pragmas: string[] = []): Database.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  db.pragma(`mmap_size = ${MMAP}`)
  for (const p of pragmas) db.pragma(p)
  // one read transaction across all reads, as VectorReads holds one
  db.prepare('BEGIN').run()
  return db
}

const CURRENT_SQL = (table: string, key: string) =>
  `SELECT count(*), group_concat(v.${key}), CAST(group_concat(v.vector, x'') AS BLOB), max(length(CAST(v.vector AS BLOB))) FROM json_each(?) c JOIN ${table} v ON v.${key} = c.value`

/** The fetch as readVectorBlobs does it today (sort, JSON, one statement, split the ids). */
function current(db: Database.Database, table = 'vq_vectors', key = 'id'): Fetch {
  const stmt = db.prepare(CURRENT_SQL(table, key)).raw()
  return (ids) => {
    const sorted = ids.slice().sort()
    const json = JSON.stringify(Array.from(sorted))
    const [count, idText, blob] = stmt.get(json) as [number, string, Buffer, number]
    const text = idText.split(',')
    const found = new Float64Array(count)
    for (let i = 0; i < count; i++) found[i] = Number(text[i])
    return blob.length + found.length
  }
}

const LEFT_SQL = (table: string, key: string) =>
  `SELECT count(v.${key}), group_concat(c.key) FILTER (WHERE v.${key} IS NULL), CAST(group_concat(v.vector, x'') AS BLOB), max(length(CAST(v.vector AS BLOB))) FROM json_each(?) c LEFT JOIN ${table} v ON v.${key} = c.value`

/**
 * The fetch with a LEFT JOIN in the order of the sorted ids: the found ids are the sorted ids
 * less the missing ones, whose positions (json_each keys) come as text (null when none).
 */
function leftJoin(db: Database.Database, table = 'vq_vectors', key = 'id'): Fetch {
  const stmt = db.prepare(LEFT_SQL(table, key)).raw()
  return (ids) => {
    const sorted = ids.slice().sort()
    const json = JSON.stringify(Array.from(sorted))
    const [count, missing, blob] = stmt.get(json) as [number, string | null, Buffer, number]
    if (missing === null) return blob.length + sorted.length
    const gone = new Set(missing.split(',').map(Number))
    const found = new Float64Array(count)
    let j = 0
    for (let i = 0; i < sorted.length; i++) if (!gone.has(i)) found[j++] = sorted[i]!
    return blob.length + found.length
  }
}

const BOUND_SQL = (n: number) =>
  `SELECT count(*), CAST(group_concat(v.vector, x'') AS BLOB), min(length(v.vector)) FROM (VALUES ${Array.from({ length: n }, () => '(?)').join(',')}) c CROSS JOIN vq_vectors v ON v.id = c.column1`

/** The fetch as readVectorBlobs does it now: one bound statement per batch size, no ids returned. */
function bound(db: Database.Database): Fetch {
  const cache = new Map<number, { stmt: Database.Statement; args: number[] }>()
  return (ids) => {
    const n = ids.length
    let b = cache.get(n)
    if (!b) {
      b = { stmt: db.prepare(BOUND_SQL(n)).raw(), args: new Array<number>(n).fill(0) }
      cache.set(n, b)
    }
    const sorted = ids.slice().sort()
    for (let i = 0; i < n; i++) b.args[i] = sorted[i]!
    const [count, blob, shortest] = b.stmt.get(b.args) as [number, Buffer, number]
    if (count !== n || blob.length !== count * shortest) throw new Error('bench: a missing or damaged row')
    return blob.length + sorted.length
  }
}

/** A statement run on a prepared argument: SQLite (and the binding) alone. */
function statementOnly(
  db: Database.Database,
  sql: string,
  arg: (ids: Float64Array) => unknown[],
): { fetch: Fetch; prep: (ids: Float64Array) => unknown[] } {
  const stmt = db.prepare(sql).raw()
  const fetch = (args: unknown[]) => (stmt.get(...args) as unknown[]).length
  return { fetch: fetch as unknown as Fetch, prep: arg }
}

/** Statements with n bound parameters, cached per n. */
function perN(db: Database.Database, make: (n: number) => string, all = false): Fetch {
  const cache = new Map<number, Database.Statement>()
  return (ids) => {
    const n = ids.length
    let s = cache.get(n)
    if (!s) {
      s = db.prepare(make(n)).raw()
      cache.set(n, s)
    }
    const sorted = ids.slice().sort()
    const args = Array.from(sorted)
    if (all) {
      const rows = s.all(args) as [number, Buffer][]
      return rows.length
    }
    const [count, idText, blob] = s.get(args) as [number, string, Buffer]
    const text = idText.split(',')
    const found = new Float64Array(count)
    for (let i = 0; i < count; i++) found[i] = Number(text[i])
    return blob.length + found.length
  }
}

const params = (n: number) => Array.from({ length: n }, () => '?').join(',')
const AGG = `count(*), group_concat(v.id), CAST(group_concat(v.vector, x'') AS BLOB), max(length(CAST(v.vector AS BLOB)))`

function perRowGet(db: Database.Database): Fetch {
  const s = db.prepare('SELECT vector FROM vq_vectors WHERE id = ?').pluck()
  return (ids) => {
    let t = 0
    for (let i = 0; i < ids.length; i++) {
      const b = s.get(ids[i]) as Buffer | undefined
      if (b) t += b.length
    }
    return t
  }
}

interface Variant {
  name: string
  fetch: Fetch
  /** Per-fetch inputs prepared outside the timing (statement-only variants). */
  prep?: (ids: Float64Array) => unknown[]
}

function time(v: Variant, sets: Float64Array[]): number {
  let sink = 0
  const prepared = v.prep ? sets.map((s) => v.prep!(s)) : null
  // CPU time of this process (user + system): the machine is shared, wall time counts the others' turns.
  const c0 = process.cpuUsage()
  if (prepared) {
    const f = v.fetch as unknown as (a: unknown) => number
    for (const p of prepared) sink += f(p)
  } else for (const s of sets) sink += v.fetch(s)
  const c = process.cpuUsage(c0)
  const t = c.user + c.system
  if (sink < 0) throw new Error('unreachable')
  return t / sets.length
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]!
}

function jsParts(): Variant[] {
  return [
    { name: 'js: sort ids', fetch: (ids) => ids.slice().sort()[0]! },
    { name: 'js: JSON.stringify(sorted)', fetch: (ids) => JSON.stringify(Array.from(ids.slice().sort())).length },
    {
      name: 'js: split + Number of id text',
      fetch: (ids) => {
        const text = Array.from(ids).join(',').split(',')
        const f = new Float64Array(text.length)
        for (let i = 0; i < text.length; i++) f[i] = Number(text[i])
        return f.length
      },
    },
    {
      name: 'js: copy n*400 bytes (fillVectors float32)',
      fetch: (() => {
        const src = new Uint8Array(160 * 400)
        const dst = new Float32Array(160 * 100)
        const bytes = new Uint8Array(dst.buffer)
        return (ids: Float64Array) => {
          for (let i = 0; i < ids.length; i++) bytes.set(src.subarray(i * 400, (i + 1) * 400), i * 400)
          return dst.length
        }
      })(),
    },
  ]
}

function variants(db: Database.Database, dbNoMmap: Database.Database, dbCache: Database.Database): Variant[] {
  const json = (ids: Float64Array) => [JSON.stringify(Array.from(ids.slice().sort()))]
  const join = 'FROM json_each(?) c JOIN vq_vectors v ON v.id = c.value'
  const vs: Variant[] = [
    { name: 'current (readVectorBlobs today)', fetch: current(db) },
    { name: 'new (readVectorBlobs now: bound VALUES, count + min)', fetch: bound(db) },
    {
      name: 'sql: new bound statement alone',
      fetch: (() => {
        const cache = new Map<number, Database.Statement>()
        return ((args: number[]) => {
          let st = cache.get(args.length)
          if (!st) {
            st = db.prepare(BOUND_SQL(args.length)).raw()
            cache.set(args.length, st)
          }
          return (st.get(args) as unknown[]).length
        }) as unknown as Fetch
      })(),
      prep: (ids: Float64Array) => Array.from(ids.slice().sort()),
    },
    { name: 'left join, missing positions', fetch: leftJoin(db) },
    { name: 'sql: left join statement alone', ...statementOnly(db, LEFT_SQL('vq_vectors', 'id'), json) },
    { name: 'current, mmap_size 0', fetch: current(dbNoMmap) },
    { name: 'current, mmap_size 0, cache_size 256 MB', fetch: current(dbCache) },
    { name: 'sql: current statement alone', ...statementOnly(db, CURRENT_SQL('vq_vectors', 'id'), json) },
    { name: 'sql: json_each alone (count)', ...statementOnly(db, 'SELECT count(*) FROM json_each(?)', json) },
    { name: 'sql: join, count(*) (seeks only)', ...statementOnly(db, `SELECT count(*) ${join}`, json) },
    { name: 'sql: join, sum(length(vector))', ...statementOnly(db, `SELECT sum(length(v.vector)) ${join}`, json) },
    {
      name: 'sql: join, group_concat(vector) only',
      ...statementOnly(db, `SELECT CAST(group_concat(v.vector, x'') AS BLOB) ${join}`, json),
    },
    { name: 'sql: join, group_concat(id) only', ...statementOnly(db, `SELECT group_concat(v.id) ${join}`, json) },
    { name: 'id IN (?,..) n params', fetch: perN(db, (n) => `SELECT ${AGG} FROM vq_vectors v WHERE v.id IN (${params(n)})`) },
    {
      name: 'VALUES list join, n params',
      fetch: perN(
        db,
        (n) =>
          `WITH c(id) AS (VALUES ${Array.from({ length: n }, () => '(?)').join(',')}) SELECT ${AGG} FROM c JOIN vq_vectors v ON v.id = c.id`,
      ),
    },
    {
      name: 'UNION ALL of rowid lookups, rows',
      fetch: perN(db, (n) => Array.from({ length: n }, () => 'SELECT id, vector FROM vq_vectors WHERE id = ?').join(' UNION ALL '), true),
    },
    { name: 'id IN (?,..) rows (.all raw)', fetch: perN(db, (n) => `SELECT id, vector FROM vq_vectors WHERE id IN (${params(n)})`, true) },
    { name: 'per-row get (pluck) loop', fetch: perRowGet(db) },
    ...jsParts(),
  ]
  return vs
}

/** A copy of the index with the vectors also in a table keyed by seq (clustered by list when seq follows lists). */
function layoutCopy(src: string): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vqlite-fetch-bench-'))
  const path = join(dir, 'copy.vqlite')
  copyFileSync(src, path)
  const db = new Database(path)
  db.exec(`CREATE TABLE by_seq (seq INTEGER PRIMARY KEY, vector BLOB NOT NULL);
    INSERT INTO by_seq SELECT c.seq, v.vector FROM vq_codes c JOIN vq_vectors v ON v.id = c.id ORDER BY c.seq;
    CREATE TABLE by_list (key INTEGER PRIMARY KEY, vector BLOB NOT NULL);
    INSERT INTO by_list SELECT c.list * 1048576 + c.seq, v.vector FROM vq_codes c JOIN vq_vectors v ON v.id = c.id ORDER BY c.list, c.seq;`)
  db.close()
  return { path, dir }
}

async function main(): Promise<void> {
  if (!existsSync(values.index!)) throw new Error(`no index file ${values.index}`)
  const sets80 = await candidates(80)
  const sets160 = await candidates(160)
  const db = open(values.index!)
  const dbNoMmap = open(values.index!, ['mmap_size = 0'])
  const dbCache = open(values.index!, ['mmap_size = 0', 'cache_size = -262144'])
  const vs = variants(db, dbNoMmap, dbCache)
  let copy: { path: string; dir: string } | null = null
  if (values.layouts) {
    copy = layoutCopy(values.index!)
    const dbc = open(copy.path)
    const seqOf = new Map<number, number>()
    const listOf = new Map<number, number>()
    for (const [seq, id, list] of dbc.prepare('SELECT seq, id, list FROM vq_codes').raw().iterate() as Iterable<[number, number, number]>) {
      seqOf.set(id, seq)
      listOf.set(id, list * 1048576 + seq)
    }
    const bySeq = current(dbc, 'by_seq', 'seq')
    const byList = current(dbc, 'by_list', 'key')
    const same = current(dbc)
    const mapped = (m: Map<number, number>, f: Fetch): Fetch => {
      const cache = new WeakMap<Float64Array, Float64Array>()
      return (ids) => {
        let k = cache.get(ids)
        if (!k) {
          k = Float64Array.from(ids, (id) => m.get(id)!)
          cache.set(ids, k)
        }
        return f(k)
      }
    }
    vs.push({ name: 'layout: copy, by id (control)', fetch: same })
    vs.push({ name: 'layout: keyed by seq', fetch: mapped(seqOf, bySeq) })
    vs.push({ name: 'layout: keyed by list*2^20+seq', fetch: mapped(listOf, byList) })
  }
  const copies: string[] = []
  for (const size of values.pages ? values.pages.split(',').map(Number) : []) {
    const dir = mkdtempSync(join(tmpdir(), 'vqlite-fetch-bench-'))
    copies.push(dir)
    const path = join(dir, `page${size}.vqlite`)
    const src = new Database(values.index!, { readonly: true })
    src.exec(`VACUUM INTO '${path}'`)
    src.close()
    const w = new Database(path)
    w.pragma(`page_size = ${size}`)
    w.exec('VACUUM')
    const got = w.pragma('page_size', { simple: true })
    w.close()
    const dbp = open(path)
    vs.push({ name: `page_size ${got}: current`, fetch: current(dbp) })
    vs.push({ name: `page_size ${got}: left join`, fetch: leftJoin(dbp) })
    vs.push({
      name: `page_size ${got}: sql join count(*)`,
      ...statementOnly(dbp, 'SELECT count(*) FROM json_each(?) c JOIN vq_vectors v ON v.id = c.value', (ids) => [
        JSON.stringify(Array.from(ids.slice().sort())),
      ]),
    })
  }
  if (values.only) {
    const keep = values.only.split('|')
    for (let i = vs.length - 1; i >= 0; i--) if (!keep.some((k) => vs[i]!.name.includes(k))) vs.splice(i, 1)
  }
  const results: Record<string, unknown>[] = []
  for (const [kr, sets] of [
    [80, sets80],
    [160, sets160],
  ] as const) {
    const times = vs.map(() => [] as number[])
    for (const v of vs) time(v, sets) // warm-up
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < vs.length; j++) {
        const i = (j + r) % vs.length
        times[i]!.push(time(vs[i]!, sets))
      }
    }
    const mean = sets.reduce((a, s) => a + s.length, 0) / sets.length
    for (let i = 0; i < vs.length; i++) {
      const us = median(times[i]!)
      results.push({ kr, variant: vs[i]!.name, usPerFetch: +us.toFixed(2), usPerCandidate: +(us / mean).toFixed(3) })
      process.stdout.write(`k*r ${kr}  ${vs[i]!.name.padEnd(48)} ${us.toFixed(1).padStart(8)} us  ${(us / mean).toFixed(3)} us/cand\n`)
    }
  }
  db.close()
  dbNoMmap.close()
  dbCache.close()
  if (copy) rmSync(copy.dir, { recursive: true, force: true })
  for (const dir of copies) rmSync(dir, { recursive: true, force: true })
  saveJson(values.out!, {
    machine: machineInfo(),
    index: values.index,
    queries: nq,
    rounds,
    method:
      'in-process, variants interleaved by rounds (order rotating), median of rounds; CPU time of the process (user + system) per fetch',
    results,
  })
}

await main()
