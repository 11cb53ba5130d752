/**
 * VqShards: several index files that share one trained model, searched as one index.
 *
 * Each shard is an ordinary VqIndex file (made with VqIndex.createLike from a trained index,
 * or VqShards.create), writable on its own; ids must be unique across the shards (the
 * caller places them, e.g. by id range). A search runs in two phases so that its result is
 * the one a single index holding every item would return:
 * 1. every shard gives its k * refineFactor nearest candidates by the first stage (codes in
 *    RAM; the same model scores an item the same wherever it is stored), and the candidates
 *    of all shards are cut to the k * refineFactor nearest, as one index's heap would;
 * 2. with RFlat, only those candidates are re-ranked exactly, each by its own shard (its
 *    stored vectors), and the k nearest are returned.
 * Ties are broken as one index built by adding the shards' items in shard order breaks
 * them: by list, then shard, then position in the list. Every k * refineFactor candidate is
 * re-ranked exactly (errorBounds and exactFactor are not applied across shards).
 *
 * searchBatch runs phase 1 of every shard on its own worker pool, the shards concurrently,
 * then phase 2 on the calling thread.
 */

import { SHARD_STATE } from './engine/internal.js'
import { resolveBatch, resolveSearch } from './engine/options.js'
import { batchResult } from './engine/reads.js'
import { searchMany, searchParams } from './engine/search.js'
import type { IndexState } from './engine/state.js'
import { VqInputError, VqOptionError, VqStateError } from './errors.js'
import type { ListsView } from './ivf/inverted-lists.js'
import { LIST_STRIDE } from './ivf/inverted-lists.js'
import type {
  BatchSearchOptions,
  BatchSearchResult,
  ConnectionOptions,
  Metadata,
  Metric,
  OpenOptions,
  SearchOptions,
  SearchResult,
  StoredItem,
} from './types.js'
import { checkBatchResults, checkK, checkQuery, checkVectors } from './validate.js'
import { VqIndex } from './vq-index.js'

/** A write that lands between the two phases of a batch makes it start again, at most this many times. */
const BATCH_RETRIES = 5

function stateOf(index: VqIndex<unknown, number>): IndexState {
  return (index as unknown as { [SHARD_STATE](): object })[SHARD_STATE]() as IndexState
}

/** True when two trained models hold the same arrays, bit for bit. */
function sameModel(a: IndexState, b: IndexState): boolean {
  const x = a.model.exportArrays()
  const y = b.model.exportArrays()
  const names = Object.keys(x).sort()
  if (names.join() !== Object.keys(y).sort().join()) return false
  for (const name of names) {
    const p = x[name]!.data
    const q = y[name]!.data
    if (p.length !== q.length) return false
    if (!Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(q.buffer, q.byteOffset, q.byteLength))) return false
  }
  return true
}

/** One candidate: its first-stage distance, shard and label (phase 1), then its id and exact distance (phase 2). */
interface Candidate {
  dist: number
  shard: number
  label: number
  id: number
  exact: number
}

/** (distance, list, shard, offset): the order one index of all the shards' items would give. */
function before(a: Candidate, b: Candidate): number {
  return a.dist !== b.dist ? a.dist - b.dist : byPlace(a, b)
}

/** (list, shard, offset): the label order of one index holding the shards' items, shard after shard. */
function byPlace(a: Candidate, b: Candidate): number {
  const la = Math.floor(a.label / LIST_STRIDE)
  const lb = Math.floor(b.label / LIST_STRIDE)
  if (la !== lb) return la - lb
  if (a.shard !== b.shard) return a.shard - b.shard
  return a.label - b.label
}

export class VqShards<M = Metadata> {
  /** The shards, in order (ties between them are broken by this order). */
  readonly shards: readonly VqIndex<M, number>[]
  readonly dim: number
  readonly metric: Metric
  readonly description: string
  readonly #states: readonly IndexState[]

  private constructor(shards: readonly VqIndex<M, number>[]) {
    this.shards = shards
    this.#states = shards.map((s) => stateOf(s as VqIndex<unknown, number>))
    this.dim = shards[0]!.dim
    this.metric = shards[0]!.metric
    this.description = shards[0]!.description
  }

  /**
   * Groups open indexes as shards: at least one, all with integer ids, the same dimension,
   * metric, composition and stored-vector format, and the same trained model (BAD_ARGUMENT
   * naming the first that differs). The shards stay owned by the caller until close().
   */
  static from<M = Metadata>(shards: readonly VqIndex<M, number>[]): VqShards<M> {
    if (!Array.isArray(shards) || shards.length === 0) throw new VqInputError('BAD_ARGUMENT', 'VqShards needs at least one index')
    const first = shards[0]!
    shards.forEach((s, i) => {
      if (!(s instanceof VqIndex)) throw new VqInputError('BAD_ARGUMENT', `shard ${i} is not a VqIndex`)
      if (s.idKind !== 'integer') throw new VqOptionError('ID_KIND', `shard ${i} (${s.path}) has ${s.idKind} ids; shards need integer ids`)
      const differs =
        s.dim !== first.dim
          ? `dimension ${s.dim}, shard 0 has ${first.dim}`
          : s.metric !== first.metric
            ? `metric ${s.metric}, shard 0 has ${first.metric}`
            : s.description !== first.description
              ? `description ${s.description}, shard 0 has ${first.description}`
              : s.storeVectors !== first.storeVectors
                ? `stored vectors ${s.storeVectors}, shard 0 has ${first.storeVectors}`
                : null
      if (differs) throw new VqInputError('BAD_ARGUMENT', `shard ${i} (${s.path}) has ${differs}`)
    })
    const refine = first.spec.refine
    if (refine && refine.kind !== 'flat') {
      throw new VqOptionError(
        'UNSUPPORTED',
        `sharded search re-ranks with RFlat or not at all; ${first.description} has another refine stage`,
      )
    }
    const out = new VqShards<M>(shards)
    const states = out.#states
    for (let i = 0; i < states.length; i++) states[i]!.requireTrained('VqShards')
    for (let i = 1; i < states.length; i++) {
      if (!sameModel(states[0]!, states[i]!)) {
        throw new VqInputError(
          'BAD_ARGUMENT',
          `shard ${i} (${shards[i]!.path}) has another trained model than shard 0; make shards with VqIndex.createLike`,
        )
      }
    }
    return out
  }

  /** Opens index files as shards (see from()); on an error every file opened so far is closed. */
  static open<M = Metadata>(paths: readonly string[], options?: OpenOptions & { ids?: 'integer' }): VqShards<M> {
    if (!Array.isArray(paths)) throw new VqInputError('BAD_ARGUMENT', 'VqShards.open needs an array of paths')
    const opened: VqIndex<M, number>[] = []
    try {
      for (const p of paths) opened.push(VqIndex.open<M>(p, options))
      return VqShards.from(opened)
    } catch (e) {
      for (const s of opened) void s.close()
      throw e
    }
  }

  /** Creates empty shard files with the trained model of `source` (VqIndex.createLike for each path). */
  static async create<M = Metadata>(
    paths: readonly string[],
    // biome-ignore lint/suspicious/noExplicitAny: any metadata type: only the model is copied
    source: VqIndex<any, number>,
    options?: ConnectionOptions,
  ): Promise<VqShards<M>> {
    const made: VqIndex<M, number>[] = []
    try {
      // One export of the model for all the files (createLike exports it per call).
      const model = source.exportModel()
      for (const p of paths) made.push(await VqIndex.createFromModel<M, number>(p, model, options))
      return VqShards.from(made)
    } catch (e) {
      for (const s of made) await s.close()
      throw e
    }
  }

  /** Items in all shards. */
  get size(): number {
    let n = 0
    for (const s of this.shards) n += s.size
    return n
  }

  /** The shard holding id, or -1. */
  shardOf(id: number): number {
    return this.shards.findIndex((s) => s.has(id))
  }

  has(id: number): boolean {
    return this.shardOf(id) >= 0
  }

  get(id: number): StoredItem<M, number> | undefined {
    const i = this.shardOf(id)
    return i < 0 ? undefined : this.shards[i]!.get(id)
  }

  /** Catches every shard up with commits made by other connections; true when any changed. */
  refresh(): boolean {
    let changed = false
    for (const s of this.shards) changed = s.refresh() || changed
    return changed
  }

  /** The k nearest items over all shards (see the module comment); options as search(). */
  search(q: Float32Array, k: number, options?: SearchOptions<M>): SearchResult<number, M> {
    const states = this.#states
    for (const s of states) s.open()
    const query = checkQuery(q, this.dim)
    checkK(k)
    const resolved = resolveSearch(k, options as SearchOptions | undefined)
    const kc = this.#candidateCount(k, resolved.refineFactor)
    const views: ListsView[] = []
    // The shards share the metric (from() checks it), so the query is prepared once for all.
    const prepared = states[0]!.prepareQuery(query).slice()
    const found: Candidate[] = []
    const labels = new Float64Array(kc)
    const dist = new Float32Array(kc)
    for (let i = 0; i < states.length; i++) {
      const s = states[i]!
      const p = searchParams(s, { ...resolved, k: kc, refineFactor: 1, stage: 'candidates' })
      views.push(s.lists.view())
      s.searcher.search(views[i]!, prepared, 0, p, labels, dist)
      for (let j = 0; j < kc && labels[j]! >= 0; j++) found.push({ dist: dist[j]!, shard: i, label: labels[j]!, id: -1, exact: Infinity })
    }
    const ids = new Float64Array(k)
    const distances = new Float32Array(k)
    const shardOf = new Int32Array(k)
    this.#finish(found, kc, k, views, prepared, ids, distances, shardOf)
    return this.#public(ids, distances, shardOf, resolved.includeMetadata, k)
  }

  /**
   * nq queries (row-major nq*dim); row i equals search() of query i. Phase 1 runs on every
   * shard's worker pool (threads: per shard, as searchBatch), the shards concurrently.
   */
  async searchBatch(queries: Float32Array, k: number, options?: BatchSearchOptions<M>): Promise<BatchSearchResult<number, M>> {
    const states = this.#states
    for (const s of states) s.open()
    const { x, n: nq } = checkVectors(queries, this.dim, 'queries')
    checkK(k)
    checkBatchResults(nq, k)
    const { search: resolved, threads, signal, onProgress } = resolveBatch(k, options)
    const kc = this.#candidateCount(k, resolved.refineFactor)
    checkBatchResults(nq, kc * states.length)
    const o = { ...resolved, k: kc, refineFactor: 1, stage: 'candidates' as const }
    // The shards share the metric (from() checks it), so the queries are prepared once for all.
    const prepared = states[0]!.prepare(x, nq, 'queries')
    for (let attempt = 0; ; attempt++) {
      const views = states.map((s) => s.lists.view())
      const phase1 = await Promise.all(
        states.map((s) => searchMany(s, prepared, nq, o, searchParams(s, o), s.pools.threadsFor(threads), { signal })),
      )
      if (states.some((s, i) => s.lists.view() !== views[i])) {
        if (attempt >= BATCH_RETRIES)
          throw new VqStateError('LOCKED', `searchBatch(): writes kept changing the shards (${BATCH_RETRIES} attempts)`)
        continue
      }
      const ids = new Float64Array(nq * k)
      const distances = new Float32Array(nq * k)
      const shardOf = new Int32Array(nq * k)
      const d = this.dim
      for (let qi = 0; qi < nq; qi++) {
        const found: Candidate[] = []
        for (let i = 0; i < states.length; i++) {
          const r = phase1[i]!
          for (let j = 0; j < kc; j++) {
            const label = r.ids[qi * kc + j]!
            if (label < 0) break
            found.push({ dist: r.distances[qi * kc + j]!, shard: i, label, id: -1, exact: Infinity })
          }
        }
        this.#finish(
          found,
          kc,
          k,
          views,
          prepared.subarray(qi * d, (qi + 1) * d),
          ids.subarray(qi * k, (qi + 1) * k),
          distances.subarray(qi * k, (qi + 1) * k),
          shardOf.subarray(qi * k, (qi + 1) * k),
        )
        if (onProgress && ((qi + 1) % 256 === 0 || qi + 1 === nq)) onProgress({ done: qi + 1, total: nq })
      }
      const r = this.#public(ids, distances, shardOf, resolved.includeMetadata, nq * k)
      return batchResult(nq, k, r.ids, r.distances, r.metadata) as BatchSearchResult<number, M>
    }
  }

  /** Closes every shard. */
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()))
  }

  /** Candidates of phase 1: k * refineFactor with a refine stage (capped as one index of all the items caps it), else k. */
  #candidateCount(k: number, refineFactor: number): number {
    for (const s of this.#states) s.requireTrained('search()')
    if (!this.shards[0]!.spec.refine) return k
    return k * Math.max(1, Math.min(refineFactor, Math.ceil(this.size / k)))
  }

  /**
   * Phase 1's cut and phase 2 for one (prepared) query: the k results into ids / distances
   * (-1 / Infinity padded) and the shard of each into shardOf (-1 for padding).
   */
  #finish(
    found: Candidate[],
    kc: number,
    k: number,
    views: readonly ListsView[],
    query: Float32Array,
    ids: Float64Array,
    distances: Float32Array,
    shardOf: Int32Array,
  ): void {
    found.sort(before)
    if (found.length > kc) found.length = kc
    const states = this.#states
    const refine = this.shards[0]!.spec.refine
    const byShard: Candidate[][] = states.map(() => [])
    for (const c of found) byShard[c.shard]!.push(c)
    for (let i = 0; i < states.length; i++) {
      const list = byShard[i]!
      if (list.length === 0) continue
      const labels = Float64Array.from(list, (c) => c.label)
      const outD = new Float32Array(list.length)
      const outI = new Float64Array(list.length)
      if (refine) {
        states[i]!.searcher.exactOf(views[i]!, query, 0, labels, list.length, outD, outI)
      } else {
        const first = Float32Array.from(list, (c) => c.dist)
        states[i]!.searcher.finishCandidates(views[i]!, labels, first, list.length, outI, outD)
      }
      list.forEach((c, j) => {
        c.id = outI[j]!
        c.exact = outD[j]!
      })
    }
    const ranked = found
    ranked.sort((a, b) => (a.exact !== b.exact ? a.exact - b.exact : byPlace(a, b)))
    for (let j = 0; j < k; j++) {
      const c = ranked[j]
      ids[j] = c ? c.id : -1
      distances[j] = c ? c.exact : Infinity
      shardOf[j] = c ? c.shard : -1
    }
  }

  /** The results with their metadata when asked: one statement per shard for the ids it holds (shardOf). */
  #public(
    ids: Float64Array,
    distances: Float32Array,
    shardOf: Int32Array,
    includeMetadata: boolean,
    n: number,
  ): { ids: Float64Array; distances: Float32Array; metadata?: (M | null)[] } {
    if (!includeMetadata) return { ids, distances }
    const metadata: (M | null)[] = new Array(n).fill(null)
    const mine = new Float64Array(n)
    this.#states.forEach((state, i) => {
      for (let j = 0; j < n; j++) mine[j] = shardOf[j] === i ? ids[j]! : -1
      state.store.metadataOf(mine, n).forEach((json, j) => {
        if (json !== null) metadata[j] = JSON.parse(json) as M
      })
    })
    return { ids, distances, metadata }
  }
}
