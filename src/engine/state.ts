/**
 * The in-memory state of an open index and the commit protocol that changes it: the last
 * committed manifest, the trained model, the inverted lists, the searcher over them, and
 * the collaborators every operation shares (store, write coordinator, worker pool, filter
 * cache).
 *
 * Commit protocol: one SQLite transaction per write checks that no other connection wrote
 * since this one last saw the file (manifest generation), applies the write, bumps the
 * generation and stores the manifest; the in-memory state changes only after the commit,
 * so a rejected or failed call changes nothing.
 *
 * Every write first checks, in a read transaction of its own and before it reads or
 * computes anything, that the file is still as this handle last committed or loaded it
 * (manifest generation): a writer whose file another connection changed is refused with
 * READ_ONLY ("reopen it"), whatever the write (the commit checks again, under the write
 * lock). A failure of the kernels' memory (OUT_OF_MEMORY) and of the worker pool come out
 * typed, and leave the index as it was.
 *
 * close() refuses new calls at once (CLOSED), waits for the writes already queued and the
 * pooled searches in flight, then closes the file and the pool; it is idempotent, and a
 * close that fails part way still leaves the handle closed.
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import { VqInputError, VqStateError } from '../errors.js'
import { normalizeIndexSpec } from '../factory/parse.js'
import type { ListsView } from '../ivf/inverted-lists.js'
import { InvertedLists } from '../ivf/inverted-lists.js'
import { idKindOf, type Manifest } from '../manifest.js'
import { IndexModel } from '../search/model.js'
import { type FetchVectors, type FilterBits, Searcher, type SearchParams } from '../search/searcher.js'
import { checkFilter } from '../storage/filter-sql.js'
import type { SqliteStore } from '../storage/sqlite-store.js'
import type { Filter, IdKind, IndexSpec, Metric, VectorStorage } from '../types.js'
import { FilterCache } from './filter-cache.js'
import { typedKernelError } from './kernel-errors.js'
import { PoolHolder } from './pools.js'
import { fillVectors } from './vector-codec.js'
import { type QueueCancel, WriteCoordinator } from './write-coordinator.js'

export class IndexState {
  readonly store: SqliteStore
  readonly kernels: Kernels
  readonly dim: number
  readonly metric: Metric
  /** The composition (every default filled); replaced when reconfigure() commits or a refresh loads another one. */
  spec: IndexSpec
  readonly storeVectors: VectorStorage
  readonly path: string
  readonly coordinator = new WriteCoordinator()
  readonly pools: PoolHolder
  readonly filters: FilterCache
  /** How the index keys its items (manifest.ids): string ids are mapped to integer ids at the door (engine/ids.ts). */
  readonly idKind: IdKind
  manifest: Manifest
  model: IndexModel
  lists: InvertedLists
  searcher: Searcher
  /** Highest seq reflected in memory. */
  loadedSeq = 0
  /** True once the file is closed (after close() drained the calls in flight). */
  closed = false
  /** Set when close() starts: new calls are refused with CLOSED from then on. */
  #closing: Promise<void> | undefined
  /** The prepared query of search() (prepareQuery), reused from one query to the next. */
  #query = new Float32Array(0)
  /** The last search parameters resolved (engine/search.ts searchParams reuses them while they fit). */
  lastParams: SearchParams | null = null

  constructor(store: SqliteStore, manifest: Manifest, kernels: Kernels, threads: number | undefined) {
    this.store = store
    this.manifest = manifest
    this.kernels = kernels
    this.path = store.path
    this.dim = manifest.dim
    this.metric = manifest.metric
    this.spec = normalizeIndexSpec(manifest.spec, manifest.dim)
    this.storeVectors = manifest.storeVectors
    this.idKind = idKindOf(manifest)
    this.filters = new FilterCache(this.idKind)
    this.pools = new PoolHolder(threads, kernels)
    this.model = this.newModel()
    this.lists = this.emptyLists(this.model)
    this.searcher = this.newSearcher(this.model)
  }

  /** An untrained model of this index's composition. */
  newModel(spec: IndexSpec = this.spec): IndexModel {
    return new IndexModel(spec, this.dim, this.metric, this.kernels)
  }

  /** Empty lists laid out for a model. */
  emptyLists(model: IndexModel, capacity?: number): InvertedLists {
    return new InvertedLists(model.coarse.nlist, model.scanCodeSize, model.refineSize, capacity === 0 ? false : model.usesTerms, capacity)
  }

  /**
   * Replaces the model and the lists (after a commit or a load). A write makes the searcher
   * of its new model (which may allocate kernel memory, and so fail) before it commits, so
   * that nothing after the commit can fail.
   */
  setModel(model: IndexModel, lists: InvertedLists, searcher: Searcher = this.newSearcher(model)): void {
    this.model = model
    this.lists = lists
    this.searcher = searcher
    this.filters.clear()
  }

  /** Runs one write transaction of the commit protocol; `write` returns the new manifest. */
  commit(doing: string, write: (m: Manifest) => Manifest): void {
    this.#usable()
    if (this.store.readonly) throw new VqStateError('READ_ONLY', `${this.path} is open read-only`)
    let next: Manifest | undefined
    this.store.transaction(() => {
      this.checkCurrent()
      next = { ...write(this.manifest), generation: this.manifest.generation + 1 }
      this.store.writeManifest(next)
    }, doing)
    this.manifest = next!
    this.loadedSeq = next!.nextSeq - 1
    this.filters.clear()
  }

  /**
   * Queues a write on the coordinator (see writes.ts): before prepare runs, checks that the
   * handle is open and writable and that the file is as this handle last saw it (READ_ONLY
   * otherwise), so nothing is read or computed for a write that cannot commit. Errors of the
   * kernels' memory come out as OUT_OF_MEMORY. `cancel`: the call's control (an abort while
   * it waits for its turn rejects it at once).
   */
  write<P, T>(doing: string, prepare: () => P | Promise<P>, apply: (prepared: P) => T, cancel?: QueueCancel): Promise<T> {
    return this.coordinator.write(
      async () => {
        try {
          this.#usable()
          if (this.store.readonly) throw new VqStateError('READ_ONLY', `${this.path} is open read-only`)
          this.store.transaction(() => this.checkCurrent(), doing, 'read')
          return await prepare()
        } catch (e) {
          throw typedKernelError(e, doing)
        }
      },
      (prepared) => {
        try {
          return apply(prepared)
        } catch (e) {
          throw typedKernelError(e, doing)
        }
      },
      cancel,
    )
  }

  /**
   * Throws READ_ONLY when another connection committed to the file since this handle last
   * committed or loaded it (inside the caller's transaction).
   */
  checkCurrent(): void {
    const onDisk = this.store.readManifest<Manifest>()
    if (onDisk?.generation !== this.manifest.generation) {
      throw new VqStateError(
        'READ_ONLY',
        `${this.path} was changed by another connection (generation ${onDisk?.generation}, this handle has ${this.manifest.generation}); only one writer per file is supported: reopen it`,
      )
    }
  }

  /**
   * The items a filter allows, as a bitset over seq (cached per filter until the next
   * write). The filter is checked first (BAD_FILTER). Metadata lives on disk, so the
   * filter is evaluated on the file's state and mapped onto the lists in memory: both must
   * be the same state. A reader whose file has newer commits catches up first (refresh),
   * (`catchUp`: loader.ts refresh) in the same read transaction as the evaluation; a writer whose file another
   * connection changed is refused (READ_ONLY, reopen it), as its writes are.
   */
  filterBits(filter: Filter | undefined, catchUp: (state: IndexState) => void): FilterBits | null {
    if (filter === undefined) return null
    const checked = checkFilter(filter)
    return this.store.transaction(
      () => {
        const onDisk = this.store.readManifest<Partial<Manifest> | null>()?.generation
        if (onDisk !== this.manifest.generation) {
          if (!this.store.readonly) {
            throw new VqStateError(
              'READ_ONLY',
              `${this.path} was changed by another connection; only one writer per file is supported: reopen it`,
            )
          }
          catchUp(this)
        }
        return this.filters.bits(this.store, checked, this.manifest.generation, this.manifest.nextSeq)
      },
      'evaluating a filter',
      'read',
    )
  }

  /** Applies the metric's input transform: a normalised copy for cosine, else x itself. */
  prepare(x: Float32Array, n: number, what: string): Float32Array {
    if (this.metric !== 'cosine') return x
    return this.#normalize(x, n, what, new Float32Array(n * this.dim))
  }

  /**
   * The n vectors of x scaled to unit length into out (ZERO_VECTOR names the first all-zero
   * one). A plain loop with the norm summed in float64, the same on every backend: a kernel
   * call per vector cost ~1 us of copying operands into the WebAssembly memory (0.3 s of a
   * glove100 training, bench/train-rabitq-vs-pq.ts).
   */
  #normalize(x: Float32Array, n: number, what: string, out: Float32Array): Float32Array {
    const d = this.dim
    for (let i = 0, off = 0; i < n; i++, off += d) {
      let sq = 0
      for (let t = off; t < off + d; t++) {
        const v = x[t]!
        sq += v * v
      }
      if (sq === 0) throw new VqInputError('ZERO_VECTOR', `${what}: vector ${i} is all zeros, which has no cosine direction`)
      const inv = 1 / Math.sqrt(sq)
      for (let t = off; t < off + d; t++) out[t] = x[t]! * inv
    }
    return out
  }

  /**
   * prepare() of one query into a buffer this state reuses: valid until the next call
   * (search() uses it only while it runs; nothing keeps it). x itself when the metric has no
   * transform.
   */
  prepareQuery(x: Float32Array): Float32Array {
    if (this.metric !== 'cosine') return x
    if (this.#query.length !== this.dim) this.#query = new Float32Array(this.dim)
    return this.#normalize(x, 1, 'query', this.#query)
  }

  /**
   * Closes the file and the worker pool; later calls throw CLOSED. Refuses new calls at
   * once, waits for the writes queued before it (each settles as it would have) and for the
   * pooled searches in flight, then closes. Idempotent: every call returns the same close;
   * when closing the file or the pool fails, the handle is closed all the same and the
   * first caller gets the error.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing.catch(() => undefined)
    // Nothing in flight: the file closes now, before close() returns (callers that do not
    // await it find the file closed); else once the queued writes and pooled searches are done.
    this.#closing = this.coordinator.idle
      ? this.#finishClose()
      : this.coordinator
          .write(
            () => undefined,
            () => undefined,
          )
          .then(() => this.#finishClose())
    return this.#closing
  }

  /** Closes the file (synchronously) and then the pool; the handle is closed even when one of them fails. */
  #finishClose(): Promise<void> {
    this.closed = true
    this.lists = this.emptyLists(this.model, 0)
    this.filters.clear()
    try {
      this.store.close()
    } catch (e) {
      return this.pools.close().then(
        () => Promise.reject(e),
        () => Promise.reject(e),
      )
    }
    return this.pools.close()
  }

  /** Throws CLOSED once close() has started. */
  open(): void {
    if (this.closed || this.#closing) throw new VqStateError('CLOSED', 'the index is closed')
  }

  /** Throws CLOSED once the file is closed (writes queued before close() still run). */
  #usable(): void {
    if (this.closed) throw new VqStateError('CLOSED', 'the index is closed')
  }

  writable(): void {
    this.open()
    if (this.store.readonly) throw new VqStateError('READ_ONLY', `${this.path} is open read-only`)
  }

  requireTrained(what: string): void {
    if (!this.model.isTrained)
      throw new VqStateError('NOT_TRAINED', `the ${this.manifest.description} index must be trained before ${what}`)
  }

  /** A searcher over a model of this index. */
  newSearcher(model: IndexModel): Searcher {
    const fetch: FetchVectors | null =
      model.spec.refine?.kind === 'flat'
        ? (ids, n, out) => fillVectors(this.store.readVectors(ids, n), ids, n, this.storeVectors, this.dim, out)
        : null
    return new TypedSearcher(model, fetch)
  }
}

/** The searcher of an index: the kernels' memory error comes out as OUT_OF_MEMORY (the search changes nothing). */
class TypedSearcher extends Searcher {
  override search(lists: ListsView, q: Float32Array, qOff: number, p: SearchParams, outIds: Float64Array, outDist: Float32Array): void {
    try {
      super.search(lists, q, qOff, p, outIds, outDist)
    } catch (e) {
      throw typedKernelError(e, 'searching')
    }
  }
}
