/**
 * VqliteVectorStore: a LangChain.js VectorStore over one VqIndex with string ids.
 *
 * Layout: each document is one item, under the document's id (document.id, or the ids
 * option, or a new UUID), with its embedding as the vector (kept on disk too, float32, for
 * maxMarginalRelevanceSearch) and { pageContent, metadata } as the item metadata. The index
 * file also holds the property "langchain-store", which VqliteVectorStore.open checks.
 *
 * Scores are similarities, higher is better, as LangChain's MemoryVectorStore: under the
 * default metric 'cosine', score = cos = 1 - vqlite's cosine distance; under 'ip' the inner
 * product (minus vqlite's distance -<q,x>); under 'l2' the negated squared L2 distance.
 *
 * Filters are vqlite Filter objects over the documents' metadata (filter.ts). Adding a
 * document whose id is already stored replaces it (vqlite upsert), so LangChain's indexing
 * API can re-add changed documents. The index is created at the first add (its dimension is
 * the first embedding's) unless `dim` is given; an index description other than 'Flat' is
 * trained on that first batch.
 */
import { randomUUID } from 'node:crypto'
import type { DocumentInterface } from '@langchain/core/documents'
import type { EmbeddingsInterface } from '@langchain/core/embeddings'
import type { MaxMarginalRelevanceSearchOptions } from '@langchain/core/vectorstores'
import { VqFormatError, VqInputError, VqStateError } from '../errors.js'
import type { Filter, Metric, TrainOptions } from '../types.js'
import { showValue } from '../validate.js'
import { VqIndex } from '../vq-index.js'
import { Document, maximalMarginalRelevance, VectorStore } from './core.js'
import { indexFilter } from './filter.js'

/** What the store keeps as each item's metadata. */
export interface StoredDocument {
  readonly pageContent: string
  readonly metadata: Record<string, unknown>
}

/** Options of a new store (constructor, fromTexts, fromDocuments). */
export interface VqliteStoreArgs {
  /** The index file to create (it must not exist: FILE_EXISTS; reopen it with VqliteVectorStore.open), or ':memory:' (default). */
  path?: string
  /** vqlite index description. Default 'Flat' (exact search); others (e.g. 'IVF256,SQ8') are trained on the first batch added. */
  description?: string
  /** Default 'cosine' (see the score convention in the module comment). */
  metric?: Metric
  /** Training options for a description that needs training (seed, iterations, ...). */
  train?: TrainOptions
  /** The embeddings' dimension: creates the index at once instead of at the first add. */
  dim?: number
}

/** Options of VqliteVectorStore.open. */
export interface VqliteOpenArgs {
  /** Open read-only (searches only). Default false. */
  readonly?: boolean
}

/** Options of addDocuments / addVectors. */
export interface VqliteAddOptions {
  /** One id per document, instead of document.id (or a new UUID). */
  ids?: readonly string[]
}

/** The index property that marks a store's file, and the layout it records. */
const PROP = 'langchain-store'
const LAYOUT = 'pageContent+metadata/v1'

export class VqliteVectorStore extends VectorStore {
  declare FilterType: Filter
  readonly #args: VqliteStoreArgs
  #index: VqIndex<StoredDocument, string> | null = null
  /** The marker property's write, started when the index is created. */
  #marked: Promise<void> = Promise.resolve()

  /** A new, empty store (the index is created at the first add, or now when args.dim is given). */
  constructor(embeddings: EmbeddingsInterface, args: VqliteStoreArgs = {}) {
    super(embeddings, args)
    this.#args = { ...args }
    if (args.dim !== undefined) this.#indexFor(args.dim)
  }

  override _vectorstoreType(): string {
    return 'vqlite'
  }

  /** The underlying index (null until the first add creates it). */
  get index(): VqIndex<StoredDocument, string> | null {
    return this.#index
  }

  /** Number of documents stored. */
  get size(): number {
    return this.#index?.size ?? 0
  }

  /**
   * Opens a store's index file written by an earlier VqliteVectorStore (BAD_FILE for a vqlite
   * index that is not one). The embeddings must be the ones it was built with.
   */
  static async open(path: string, embeddings: EmbeddingsInterface, args: VqliteOpenArgs = {}): Promise<VqliteVectorStore> {
    const index = VqIndex.open<StoredDocument>(path, { ids: 'any', readonly: args.readonly ?? false })
    const prop = index.getProperty(PROP) as { layout?: unknown } | undefined
    if (prop?.layout !== LAYOUT || index.idKind !== 'string') {
      await index.close()
      throw new VqFormatError('BAD_FILE', `${path} is a vqlite index but not one written by VqliteVectorStore (no "${PROP}" property)`)
    }
    const store = new VqliteVectorStore(embeddings, { path, description: index.description, metric: index.metric })
    store.#index = index as VqIndex<StoredDocument, string>
    return store
  }

  /** LangChain's name for reopening: VqliteVectorStore.open(args.path, embeddings, args). */
  static async fromExistingIndex(embeddings: EmbeddingsInterface, args: VqliteOpenArgs & { path: string }): Promise<VqliteVectorStore> {
    return VqliteVectorStore.open(args.path, embeddings, args)
  }

  /** A new store holding these texts (metadatas: one object per text, or one for all). */
  static override async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: EmbeddingsInterface,
    args: VqliteStoreArgs = {},
  ): Promise<VqliteVectorStore> {
    if (!Array.isArray(texts)) throw new VqInputError('BAD_ARGUMENT', `fromTexts takes an array of texts, got ${showValue(texts)}`)
    if (Array.isArray(metadatas) && metadatas.length !== texts.length) {
      throw new VqInputError('BAD_ARGUMENT', `fromTexts got ${metadatas.length} metadata objects for ${texts.length} texts`)
    }
    const docs = texts.map(
      (pageContent, i) =>
        new Document({
          pageContent,
          metadata: { ...((Array.isArray(metadatas) ? metadatas[i] : metadatas) as Record<string, unknown> | undefined) },
        }),
    )
    return VqliteVectorStore.fromDocuments(docs, embeddings, args)
  }

  /** A new store holding these documents. */
  static override async fromDocuments(
    docs: DocumentInterface[],
    embeddings: EmbeddingsInterface,
    args: VqliteStoreArgs = {},
  ): Promise<VqliteVectorStore> {
    const store = new VqliteVectorStore(embeddings, args)
    try {
      await store.addDocuments(docs)
    } catch (e) {
      await store.close()
      throw e
    }
    return store
  }

  /** Embeds the documents' pageContent and stores them; returns their ids. */
  override async addDocuments(documents: DocumentInterface[], options?: VqliteAddOptions): Promise<string[]> {
    checkDocuments(documents)
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent))
    return this.addVectors(vectors, documents, options)
  }

  /**
   * Stores documents with their embeddings (vectors[i] for documents[i]) in one transaction,
   * replacing the stored documents of the same ids; returns the ids.
   */
  override async addVectors(vectors: number[][], documents: DocumentInterface[], options?: VqliteAddOptions): Promise<string[]> {
    checkDocuments(documents)
    if (!Array.isArray(vectors) || vectors.length !== documents.length) {
      throw new VqInputError(
        'BAD_ARGUMENT',
        `addVectors needs one vector per document: got ${Array.isArray(vectors) ? vectors.length : showValue(vectors)} for ${documents.length} documents`,
      )
    }
    const given = options?.ids
    if (given !== undefined && (!Array.isArray(given) || given.length !== documents.length)) {
      throw new VqInputError('BAD_ARGUMENT', `the ids option needs one id per document: got ${showValue(given)} for ${documents.length}`)
    }
    if (documents.length === 0) return []
    const dim = this.#index?.dim ?? rowLength(vectors[0], 0)
    const x = new Float32Array(vectors.length * dim)
    vectors.forEach((row, i) => {
      if (rowLength(row, i) !== dim) {
        throw new VqInputError('DIMENSION_MISMATCH', `vector ${i} has ${row.length} components; the store's vectors have ${dim}`)
      }
      x.set(row, i * dim)
    })
    const ids = documents.map((d, i) => given?.[i] ?? d.id ?? randomUUID())
    const metadata = documents.map((d): StoredDocument => ({ pageContent: d.pageContent, metadata: d.metadata ?? {} }))
    const index = this.#indexFor(dim)
    await this.#marked
    await index.upsert(ids, x, metadata, index.isTrained ? undefined : { train: this.#args.train ?? true })
    return ids
  }

  /**
   * The k documents nearest to the query embedding, nearest first, with their similarity
   * scores (higher is better; see the module comment), among those matching the filter.
   */
  override async similaritySearchVectorWithScore(query: number[], k: number, filter?: Filter): Promise<[DocumentInterface, number][]> {
    const index = this.#index
    const vqFilter = filter === undefined ? undefined : indexFilter(filter)
    rowLength(query, 0, 'the query')
    if (index === null || index.size === 0) return []
    const res = index.search(Float32Array.from(query), k, { filter: vqFilter, includeMetadata: true })
    const out: [DocumentInterface, number][] = []
    for (let i = 0; i < res.ids.length && res.ids[i] !== ''; i++) {
      out.push([toDocument(res.ids[i]!, res.metadata?.[i]), this.#score(res.distances[i]!)])
    }
    return out
  }

  /**
   * Maximal marginal relevance: fetches the fetchK (default 20) nearest documents matching
   * the filter, then picks k of them with @langchain/core's maximalMarginalRelevance over
   * their stored vectors (lambda, default 0.5: 1 is pure relevance, 0 pure diversity).
   */
  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<Filter>,
  ): Promise<DocumentInterface[]> {
    const { k, fetchK = 20, lambda = 0.5, filter } = options
    const index = this.#index
    const vqFilter = filter === undefined ? undefined : indexFilter(filter)
    const q = await this.embeddings.embedQuery(query)
    rowLength(q, 0, 'the query embedding')
    if (index === null || index.size === 0) return []
    if (index.storeVectors === 'none') {
      throw new VqStateError('NO_VECTORS', 'maxMarginalRelevanceSearch needs the stored vectors, but this index keeps none')
    }
    const res = index.search(Float32Array.from(q), fetchK, { filter: vqFilter, includeMetadata: true })
    const docs: DocumentInterface[] = []
    const vectors: number[][] = []
    for (let i = 0; i < res.ids.length && res.ids[i] !== ''; i++) {
      const item = index.get(res.ids[i]!)
      if (item?.vector == null) continue
      docs.push(toDocument(res.ids[i]!, res.metadata?.[i]))
      vectors.push(Array.from(item.vector))
    }
    if (docs.length === 0) return []
    return maximalMarginalRelevance(q, vectors, lambda, k).map((j) => docs[j]!)
  }

  /** Deletes the documents with these ids (unknown ids are skipped). */
  override async delete(params?: { ids?: readonly string[] }): Promise<void> {
    const ids = params?.ids
    if (!Array.isArray(ids)) throw new VqInputError('BAD_ARGUMENT', `delete takes { ids: string[] }, got ${showValue(params)}`)
    const index = this.#index
    if (index === null || ids.length === 0) return
    await index.delete(ids)
  }

  /** The stored documents with these ids, in their order (undefined for an unknown id). */
  async getByIds(ids: readonly string[]): Promise<(DocumentInterface | undefined)[]> {
    if (!Array.isArray(ids)) throw new VqInputError('BAD_ARGUMENT', `getByIds takes an array of ids, got ${showValue(ids)}`)
    const index = this.#index
    return ids.map((id) => {
      const item = index?.get(id)
      return item === undefined ? undefined : toDocument(id, item.metadata)
    })
  }

  /** Closes the index file (idempotent); later calls fail with VqStateError CLOSED. */
  async close(): Promise<void> {
    await this.#marked.catch(() => {})
    await this.#index?.close()
  }

  #score(distance: number): number {
    const metric = this.#index?.metric ?? 'cosine'
    return metric === 'cosine' ? 1 - distance : -distance
  }

  /**
   * The index, created (synchronously, so that concurrent first adds share it) with dimension
   * dim at the first call; the marker property is written before the first add commits.
   */
  #indexFor(dim: number): VqIndex<StoredDocument, string> {
    if (this.#index === null) {
      const a = this.#args
      const index = VqIndex.create<StoredDocument>(a.path ?? ':memory:', {
        dim,
        metric: a.metric ?? 'cosine',
        description: a.description ?? 'Flat',
        ids: 'string',
        storeVectors: 'float32',
      })
      this.#index = index
      this.#marked = index.setProperty(PROP, { layout: LAYOUT })
      // A failure is reported by the next add, which awaits #marked.
      this.#marked.catch(() => {})
    }
    return this.#index
  }
}

function checkDocuments(documents: unknown): asserts documents is DocumentInterface[] {
  if (!Array.isArray(documents)) throw new VqInputError('BAD_ARGUMENT', `expected an array of documents, got ${showValue(documents)}`)
  documents.forEach((d, i) => {
    if (d === null || typeof d !== 'object' || typeof (d as DocumentInterface).pageContent !== 'string') {
      throw new VqInputError('BAD_ARGUMENT', `document ${i} must be an object with a string pageContent, got ${showValue(d)}`)
    }
  })
}

/** The length of a vector given as an array (or typed array) of numbers; what: how to name it in the error. */
function rowLength(row: unknown, i: number, what = `vector ${i}`): number {
  if (!Array.isArray(row) && !(ArrayBuffer.isView(row) && !(row instanceof DataView))) {
    throw new VqInputError('BAD_VECTORS', `${what} must be an array of numbers, got ${showValue(row)}`)
  }
  return (row as ArrayLike<number>).length
}

function toDocument(id: string, stored: StoredDocument | null | undefined): DocumentInterface {
  return new Document({ id, pageContent: stored?.pageContent ?? '', metadata: { ...stored?.metadata } })
}
