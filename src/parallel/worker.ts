/**
 * Worker thread of the search pool (piscina). It keeps the model of the last index version
 * it saw, and for RFlat its own read-only connection to the index file, and runs the same
 * Searcher as the main thread on its chunk of queries, writing into the shared results.
 */
import Database from 'better-sqlite3'
import { getKernels, type KernelBackend } from '../../native-free-kernels/index.js'
import { IndexModel } from '../search/model.js'
import { type FetchVectors, Searcher } from '../search/searcher.js'
import { decodeVector } from '../vq-index.js'
import type { SearchTask } from './protocol.js'

let cached: { version: string; searcher: Searcher } | undefined
let db: { path: string; conn: Database.Database; stmt: Database.Statement } | undefined

function fetcher(task: SearchTask): FetchVectors {
  return (ids, n, out) => {
    if (!db || db.path !== task.path) {
      db?.conn.close()
      const conn = new Database(task.path, { readonly: true, fileMustExist: true })
      conn.pragma('mmap_size = 8589934592')
      db = { path: task.path, conn, stmt: conn.prepare('SELECT id, vector FROM vq_vectors WHERE id IN (SELECT value FROM json_each(?))').raw() }
    }
    const rows = new Map(db.stmt.all(JSON.stringify(Array.from(ids.subarray(0, n)))) as [number, Buffer][])
    const found = new Uint8Array(n)
    const d = task.model.dim
    for (let i = 0; i < n; i++) {
      const b = rows.get(ids[i]!)
      if (!b) continue
      out.set(decodeVector(b, task.storeVectors, d), i * d)
      found[i] = 1
    }
    return found
  }
}

/** Searches queries [from, to) of the task; returns how many were searched. */
export default function searchChunk(task: SearchTask): number {
  if (!cached || cached.version !== task.version) {
    const m = task.model
    const model = new IndexModel(m.spec, m.dim, m.metric, getKernels(m.kernels as KernelBackend))
    model.loadArrays(m.arrays)
    cached = { version: task.version, searcher: new Searcher(model, m.spec.refine?.kind === 'flat' ? fetcher(task) : null) }
  }
  const { k, from, to } = task
  const d = task.model.dim
  const params = { k, nprobe: task.nprobe, refineFactor: task.refineFactor, filter: task.filter }
  for (let i = from; i < to; i++) {
    cached.searcher.search(task.lists, task.queries, i * d, params, task.outIds.subarray(i * k, (i + 1) * k), task.outDist.subarray(i * k, (i + 1) * k))
  }
  return to - from
}
