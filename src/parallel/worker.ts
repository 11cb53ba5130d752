/**
 * Worker thread of the pool (piscina). It keeps the model it last rebuilt (by uid), and
 * for RFlat its own read-only connection to the index file, and runs the same code as the
 * main thread on its share of a call, writing into shared outputs.
 */
import type Database from 'better-sqlite3'
import { getKernels, type KernelBackend } from '../../native-free-kernels/index.js'
import { assignRows } from '../clustering/kmeans.js'
import { typedKernelError } from '../engine/kernel-errors.js'
import { fillVectors } from '../engine/vector-codec.js'
import { ProductQuantizer } from '../quantizers/pq.js'
import { IndexModel } from '../search/model.js'
import { type FetchVectors, Searcher } from '../search/searcher.js'
import { openVectorReader, readVectorBlobs } from '../storage/sqlite-store.js'
import { type SearchTask, type SharedModel, type Task, type TaskResult, taskFailure } from './protocol.js'

let cachedModel: { uid: number; model: IndexModel; searcher: Searcher | undefined } | undefined
let db: { path: string; conn: Database.Database; stmt: Database.Statement } | undefined

function modelOf(m: SharedModel): NonNullable<typeof cachedModel> {
  if (!cachedModel || cachedModel.uid !== m.uid) {
    const model = new IndexModel(m.spec, m.dim, m.metric, getKernels(m.kernels as KernelBackend))
    model.loadArrays(m.arrays)
    cachedModel = { uid: m.uid, model, searcher: undefined }
  }
  return cachedModel
}

/** The worker's read-only connection to the index file of a task (opened on first use). */
function connection(task: SearchTask): NonNullable<typeof db> {
  if (!db || db.path !== task.path) {
    db?.conn.close()
    db = { path: task.path, ...openVectorReader(task.path) }
  }
  return db
}

function fetcher(task: SearchTask): FetchVectors {
  return (ids, n, out) => fillVectors(readVectorBlobs(connection(task).stmt, ids, n), ids, n, task.storeVectors, task.model.dim, out)
}

/**
 * Runs one task; returns how many items it handled, or what it threw as a TaskFailure (an
 * Error thrown across the thread boundary would lose its class and code).
 */
export default function run(task: Task): TaskResult {
  try {
    return runTask(task)
  } catch (e) {
    return taskFailure(typedKernelError(e, 'a worker task'))
  }
}

/**
 * Runs `work` on the ranges this worker claims from a task's shared counter (`chunk` items
 * at a time, until [from, to) is exhausted, or the caller moved the counter past it to
 * stop); raises the task's `done` count after each claim; returns how many items it handled.
 */
function claims(
  task: { from: number; to: number; next: Int32Array; chunk: number; done?: Int32Array | null },
  work: (from: number, to: number) => void,
): number {
  const { from, to, next, chunk } = task
  const counter = task.done ?? null
  let done = 0
  for (;;) {
    const i0 = from + Atomics.add(next, 0, chunk)
    if (i0 >= to) return done
    const i1 = Math.min(to, i0 + chunk)
    work(i0, i1)
    done += i1 - i0
    if (counter) Atomics.add(counter, 0, i1 - i0)
  }
}

function runTask(task: Task): number {
  switch (task.kind) {
    case 'search': {
      const c = modelOf(task.model)
      c.searcher ??= new Searcher(c.model, task.model.spec.refine?.kind === 'flat' ? fetcher(task) : null)
      const { k } = task
      const d = task.model.dim
      const params = {
        k,
        nprobe: task.nprobe,
        refineFactor: task.refineFactor,
        qb: task.qb,
        errorBounds: task.errorBounds,
        exactFactor: task.exactFactor,
        filter: task.filter,
        stage: task.stage,
      }
      let done = 0
      const searchAll = (): void => {
        done = claims(task, (i0, i1) => {
          for (let i = i0; i < i1; i++) {
            c.searcher!.search(
              task.lists,
              task.queries,
              i * d,
              params,
              task.outIds.subarray(i * k, (i + 1) * k),
              task.outDist.subarray(i * k, (i + 1) * k),
            )
          }
        })
      }
      // One read transaction for all the re-ranking reads of this worker's claims, instead
      // of one per query (see SqliteStore.readVectors).
      if (task.model.spec.refine?.kind === 'flat') connection(task).conn.transaction(searchAll).deferred()
      else searchAll()
      return done
    }
    case 'assign': {
      const kernels = getKernels(task.kernels as KernelBackend)
      return claims(task, (from, to) => assignRows(kernels, task.request, from, to))
    }
    case 'encode': {
      const { model } = modelOf(task.model)
      return claims(task, (from, to) => {
        const enc = model.encode(task.x.subarray(from * model.dim, to * model.dim), to - from)
        task.lists.set(enc.lists, from)
        task.codes.set(enc.codes, from * model.codeSize)
        if (task.refine && enc.refine) task.refine.set(enc.refine, from * model.refineSize)
        if (task.terms && enc.terms) task.terms.set(enc.terms, from)
      })
    }
    case 'trainPq': {
      const pq = new ProductQuantizer(task.dim, task.m, task.nbits, getKernels(task.kernels as KernelBackend))
      pq.trainSubspaces(task.x, { n: task.n, rows: task.rows }, task.j0, task.j1, task.options, task.out)
      return task.j1 - task.j0
    }
  }
}
