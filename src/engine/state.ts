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
 */
import type { Kernels } from '../../native-free-kernels/index.js'
import { VqInputError, VqStateError } from '../errors.js'
import { normalizeIndexSpec } from '../factory/parse.js'
import { InvertedLists } from '../ivf/inverted-lists.js'
import type { Manifest } from '../manifest.js'
import { IndexModel } from '../search/model.js'
import { type FetchVectors, type FilterBits, Searcher } from '../search/searcher.js'
import { checkFilter } from '../storage/filter-sql.js'
import type { SqliteStore } from '../storage/sqlite-store.js'
import type { Filter, IndexSpec, Metric, VectorStorage } from '../types.js'
import { FilterCache } from './filter-cache.js'
import { refresh } from './loader.js'
import { PoolHolder } from './pools.js'
import { fillVectors } from './vector-codec.js'
import { WriteCoordinator } from './write-coordinator.js'

export class IndexState {
  readonly store: SqliteStore
  readonly kernels: Kernels
  readonly dim: number
  readonly metric: Metric
  readonly spec: IndexSpec
  readonly storeVectors: VectorStorage
  readonly path: string
  readonly coordinator = new WriteCoordinator()
  readonly pools: PoolHolder
  readonly filters = new FilterCache()
  manifest: Manifest
  model: IndexModel
  lists: InvertedLists
  searcher: Searcher
  /** Highest seq reflected in memory. */
  loadedSeq = 0
  closed = false

  constructor(store: SqliteStore, manifest: Manifest, kernels: Kernels, threads: number | undefined) {
    this.store = store
    this.manifest = manifest
    this.kernels = kernels
    this.path = store.path
    this.dim = manifest.dim
    this.metric = manifest.metric
    this.spec = normalizeIndexSpec(manifest.spec, manifest.dim)
    this.storeVectors = manifest.storeVectors
    this.pools = new PoolHolder(threads, kernels)
    this.model = this.newModel()
    this.lists = this.emptyLists(this.model)
    this.searcher = this.#newSearcher()
  }

  /** An untrained model of this index's composition. */
  newModel(): IndexModel {
    return new IndexModel(this.spec, this.dim, this.metric, this.kernels)
  }

  /** Empty lists laid out for a model. */
  emptyLists(model: IndexModel, capacity?: number): InvertedLists {
    return new InvertedLists(model.coarse.nlist, model.scanCodeSize, model.refineSize, capacity === 0 ? false : model.usesTerms, capacity)
  }

  /** Replaces the model and the lists (after a commit or a load). */
  setModel(model: IndexModel, lists: InvertedLists): void {
    this.model = model
    this.lists = lists
    this.searcher = this.#newSearcher()
    this.filters.clear()
  }

  /** Runs one write transaction of the commit protocol; `write` returns the new manifest. */
  commit(doing: string, write: (m: Manifest) => Manifest): void {
    this.writable()
    let next: Manifest | undefined
    this.store.transaction(() => {
      const onDisk = this.store.readManifest<Manifest>()
      if (onDisk.generation !== this.manifest.generation) {
        throw new VqStateError(
          'READ_ONLY',
          `${this.path} was changed by another connection; only one writer per file is supported: reopen it`,
        )
      }
      next = { ...write(this.manifest), generation: this.manifest.generation + 1 }
      this.store.writeManifest(next)
    }, doing)
    this.manifest = next!
    this.loadedSeq = next!.nextSeq - 1
    this.filters.clear()
  }

  /**
   * The items a filter allows, as a bitset over seq (cached per filter until the next
   * write). The filter is checked first (BAD_FILTER). Metadata lives on disk, so the
   * filter is evaluated on the file's state and mapped onto the lists in memory: both must
   * be the same state. A reader whose file has newer commits catches up first (refresh),
   * in the same read transaction as the evaluation; a writer whose file another
   * connection changed is refused (READ_ONLY, reopen it), as its writes are.
   */
  filterBits(filter: Filter | undefined): FilterBits | null {
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
          refresh(this)
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
    const d = this.dim
    const out = new Float32Array(n * d)
    for (let i = 0; i < n; i++) {
      const norm = Math.sqrt(this.kernels.innerProduct(x, i * d, x, i * d, d))
      if (norm === 0) throw new VqInputError('ZERO_VECTOR', `${what}: vector ${i} is all zeros, which has no cosine direction`)
      const inv = 1 / norm
      for (let t = 0; t < d; t++) out[i * d + t] = x[i * d + t]! * inv
    }
    return out
  }

  /** Closes the file and the worker pool; later calls throw CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.store.close()
    this.lists = this.emptyLists(this.model, 0)
    await this.pools.close()
  }

  open(): void {
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

  #newSearcher(): Searcher {
    const fetch: FetchVectors | null =
      this.spec.refine?.kind === 'flat'
        ? (ids, n, out) => fillVectors(this.store.readVectors(ids, n), ids, n, this.storeVectors, this.dim, out)
        : null
    return new Searcher(this.model, fetch)
  }
}
