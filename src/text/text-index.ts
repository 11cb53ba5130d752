/**
 * Local semantic search over documents: a VqIndex whose items are text chunks. Each chunk
 * stores { text, source, start, end, hash, chunk } as metadata (plus `line` for JSONL
 * records); its vector is the embedder's, L2-normalised and searched by inner product
 * (= cosine; a chunk with no word the embedder knows keeps a zero vector and is found by
 * keywords only). The chunk text also goes into the index's FTS5 keyword index.
 *
 * Search modes: 'vector' (embedding similarity), 'keyword' (BM25 over the chunk text) and
 * 'hybrid' (default): both rankings (top max(50, 5k) of each) fused by fusion.ts
 * (default: normalised-score fusion with keyword weight 0.9).
 * All three honour the same metadata filter.
 *
 * Re-indexing a file whose content hash is unchanged does nothing; a changed file's old
 * chunks are replaced. A file whose size and modification time are those recorded when it
 * was indexed is taken as unchanged without being read (unless it was modified within 2 s
 * before that indexing started, or options.rehash is set). A JSONL line that is not JSON (or lacks the text field) stops that
 * file: none of its lines are indexed, and the report names the file and line; other
 * files are indexed.
 *
 * Training: a new index is exact ("Flat", float32 vectors stored) and records the
 * description asked for (default "SQ8") as its target; the indexFiles call that brings it
 * to minTrainingVectors(target) chunks switches it (VqIndex.reconfigure: trained on every
 * stored vector and re-encoded in one transaction). A trained codec is retrained on
 * everything once the index has doubled since its training. The property "text-index"
 * records { embedder, dim, spec, target, chunk }: the embedder is checked on open (and can be
 * made again from its spec), the chunking is fixed for the life of the index.
 *
 * The embedder is made on first need (vector or hybrid search, indexing): keyword search
 * on an index opened with a factory or the stored spec never loads it.
 */
import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { isBinaryFileSync } from 'isbinaryfile'
import { matchExpression } from '../engine/keywords.js'
import { resolveCreateOptions } from '../engine/options.js'
import { VqFormatError, VqInputError, VqOptionError, VqStateError } from '../errors.js'
import { formatIndexDescription, minTrainingVectors, padForPq, parseIndexDescription } from '../factory/parse.js'
import { normalizedCopy } from '../search/exact.js'
import { ftsHighlights, type Highlighted } from '../storage/snippets.js'
import type { Filter } from '../types.js'
import { VqIndex } from '../vq-index.js'
import { type ChunkOptions, chunkText } from './chunk.js'
import type { Embedder, EmbedderFactory, EmbedderSpec } from './embedder.js'
import { checkEmbedderSpec, type EmbedderFromSpecOptions, embedderFromSpec } from './embedders.js'
import { checkFusion, type FusionOptions, fuseRankings } from './fusion.js'
import { SIF_GLOVE_NAME } from './sif-glove.js'
import { sourceName, TEXT_EXTENSIONS, walkPaths } from './walk.js'

export type TextSearchMode = 'hybrid' | 'vector' | 'keyword'

/** One search result. */
export interface TextHit {
  readonly id: number
  /** hybrid: fused score (fusion.ts); vector: cosine similarity; keyword: -BM25. Higher is better. */
  readonly score: number
  readonly source: string
  readonly text: string
  readonly start: number
  readonly end: number
  readonly line?: number
  /**
   * The part of the chunk that best matches the query's words, by FTS5's snippet() and
   * highlight() with the keyword index's tokenizer: `highlights` are the [start, end)
   * UTF-16 spans of `snippet.text` that matched (stems included). A chunk without any of
   * the query's words gets its opening characters and no highlight.
   */
  readonly snippet: Highlighted
}

export interface IndexTextOptions {
  /** JSONL: the field holding the text. Default "text". */
  readonly field?: string
  /** Default: the chunking recorded at creation; another one is BAD_OPTION (indexes older than the record: used as given). */
  readonly chunk?: ChunkOptions
  readonly onProgress?: (file: string, done: number, total: number) => void
  /** Root of relative sources, used on the first indexing only (default: the current folder). */
  readonly root?: string
  /** Remove sources under a folder given whose files are gone (default: true when a folder is given). */
  readonly prune?: boolean
  /**
   * Read and hash every file, even those whose size and modification time are unchanged
   * since they were indexed (default false: such files are taken as unchanged without
   * being read, as git and rsync do).
   */
  readonly rehash?: boolean
}

/** What indexFiles did. */
export interface IndexTextReport {
  /** The folder sources are relative to. */
  readonly root: string
  /** Sources removed by pruning (their files are gone). */
  readonly removed: readonly string[]
  /** Files not embedded because their content equals an indexed file's. */
  readonly duplicates: readonly { file: string; of: string }[]
  readonly filesIndexed: number
  readonly filesUnchanged: number
  readonly chunksAdded: number
  readonly chunksRemoved: number
  /** Files not indexed, with the reason (e.g. "line 7: not JSON"). */
  readonly errors: readonly { file: string; message: string }[]
  /** The vector index's description after the call ("Flat" until the target can be trained). */
  readonly description: string
  /** The description the index switches to once it holds minimumChunks chunks. */
  readonly targetDescription: string
  /** True when this call switched the index to its target description. */
  readonly switched: boolean
  /** Chunks in the index after the call. */
  readonly chunks: number
  /** Chunks needed to train the target description. */
  readonly minimumChunks: number
}

/** A text given directly to addTexts, indexed under `source`. */
export interface TextItem {
  readonly source: string
  readonly text: string
}

/** What addTexts did. */
export interface AddTextsReport {
  /** Sources (re)indexed. */
  readonly sourcesAdded: number
  /** Sources whose text was already indexed as it is. */
  readonly sourcesUnchanged: number
  readonly chunksAdded: number
  /** Old chunks of replaced sources. */
  readonly chunksRemoved: number
}

/** TextIndex.stats(). */
export interface TextIndexStats {
  readonly chunks: number
  /** Sources in the source table (duplicates of another file included). */
  readonly sources: number
  readonly embedder: { readonly name: string; readonly dim: number }
  /** The vector index's description, e.g. "SQ8". */
  readonly description: string
  /** The folder sources are relative to; null until files are indexed. */
  readonly root: string | null
}

const PROP = 'text-index'
/**
 * Property: { root, at, files: { source: { hash, first, count, of?, size?, mtime? } } } (chunk
 * ids first .. first + count - 1; at: when the last indexFiles call started, in ms).
 */
const SOURCES = 'text-sources'

interface SourceEntry {
  readonly hash: string
  readonly first: number
  readonly count: number
  /** A duplicate: the source whose content (same hash) it has; no chunks of its own. */
  readonly of?: string
  /** The file's size and mtimeMs when it was read (absent for texts not read from a file). */
  readonly size?: number
  readonly mtime?: number
}

interface SourceTable {
  readonly root: string | undefined
  /** Date.now() when the indexFiles call that wrote this table started. */
  readonly at?: number
  readonly files: Record<string, SourceEntry>
}

/**
 * A file modified less than this before an indexing started may be modified again within
 * the same mtime tick without its mtime changing ("racy" files, as git calls them): such
 * files are always read and hashed on the next call.
 */
const RACY_MS = 2000

interface Doc {
  readonly text: string
  readonly line?: number
}

/** What an index records about its embedding and chunking (property "text-index"). */
interface TextProp {
  readonly embedder?: string
  readonly dim?: number
  /** How to make the embedder again (absent for embedders without a spec and older indexes). */
  readonly spec?: EmbedderSpec
  /** The description the index switches to once it holds enough vectors (absent: the current one). */
  readonly target?: string
  /** The chunking every file is indexed with (absent in older indexes: not checked). */
  readonly chunk?: { readonly size: number; readonly overlap: number }
}

/** Options of TextIndex.create. */
export interface CreateTextIndexOptions {
  /**
   * Vector index description to reach (default "SQ8"). The index starts exact ("Flat") and
   * switches to it (reconfigure: trained on every stored vector) after the indexFiles call
   * that brings it to minTrainingVectors(description) chunks.
   */
  readonly description?: string
  /** The chunking of every file of this index (default { size: 800, overlap: 100 }); recorded, fixed for the life of the index. */
  readonly chunk?: ChunkOptions
}

/** Options of TextIndex.open. */
export interface OpenTextIndexOptions {
  readonly readonly?: boolean
  /** A new target description: applied now when the index holds enough vectors, else recorded (see setTargetDescription). */
  readonly description?: string
  /** Must equal the chunking recorded at creation (BAD_OPTION otherwise: re-chunking means re-indexing everything). */
  readonly chunk?: ChunkOptions
  /** Options for the embedder made from the stored spec (when no embedder is given). */
  readonly embedderOptions?: EmbedderFromSpecOptions
}

const DEFAULT_CHUNK = { size: 800, overlap: 100 } as const

/** The chunk options with defaults filled (BAD_OPTION for non-integers). */
function resolveChunk(c: ChunkOptions | undefined): { size: number; overlap: number } {
  if (c !== undefined && (c === null || typeof c !== 'object'))
    throw new VqOptionError('BAD_OPTION', `chunk must be an object { size, overlap }, got ${JSON.stringify(c)}`)
  const size = c?.size ?? DEFAULT_CHUNK.size
  const overlap = c?.overlap ?? DEFAULT_CHUNK.overlap
  if (!Number.isSafeInteger(size) || size < 1) throw new VqOptionError('BAD_OPTION', `chunk size must be a positive integer, got ${size}`)
  if (!Number.isSafeInteger(overlap) || overlap < 0)
    throw new VqOptionError('BAD_OPTION', `chunk overlap must be a non-negative integer, got ${overlap}`)
  return { size, overlap }
}

/** The description in canonical form, checked against the index's dimension (metric ip, float32 vectors stored). */
function canonicalDescription(description: unknown, dim: number): string {
  if (typeof description !== 'string') throw new VqOptionError('BAD_DESCRIPTION', `description must be a string, got ${typeof description}`)
  // a PQ whose m does not divide the embedder's dimension runs on zero-padded vectors
  const padded = formatIndexDescription(padForPq(parseIndexDescription(description), dim), dim)
  const { spec } = resolveCreateOptions({ dim, metric: 'ip', description: padded, storeVectors: 'float32' })
  return formatIndexDescription(spec, dim)
}

/** Removes a file made by create (and its SQLite side files); errors ignored. */
function removeIndexFile(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) rmSync(f, { force: true })
}

export class TextIndex {
  readonly index: VqIndex
  #embedder: Embedder | undefined
  #factory: EmbedderFactory | undefined
  #loading: Promise<Embedder> | undefined

  private constructor(index: VqIndex, embedder: Embedder | EmbedderFactory) {
    this.index = index
    if (typeof embedder === 'function') this.#factory = embedder
    else this.#embedder = embedder
  }

  /**
   * Creates a text index file. It starts exact ("Flat", float32 vectors stored) and
   * switches to options.description (default "SQ8") once it holds enough chunks (see
   * CreateTextIndexOptions). The description is checked before the file is made; if making
   * it fails, the file is removed. The embedder (or factory, resolved now) gives the name,
   * dimension and spec recorded.
   */
  static async create(path: string, embedder: Embedder | EmbedderFactory, options: CreateTextIndexOptions = {}): Promise<TextIndex> {
    if (options === null || typeof options !== 'object')
      throw new VqOptionError('BAD_OPTION', `options must be an object, got ${JSON.stringify(options)}`)
    const e = typeof embedder === 'function' ? await embedder() : embedder
    checkEmbedder(e)
    const target = canonicalDescription(options.description ?? 'SQ8', e.dim)
    const chunk = resolveChunk(options.chunk)
    const spec = e.spec === undefined ? undefined : checkEmbedderSpec(e.spec)
    const index = VqIndex.create(path, { dim: e.dim, metric: 'ip', description: 'Flat', storeVectors: 'float32' })
    try {
      const prop: TextProp = { embedder: e.name, dim: e.dim, ...(spec ? { spec } : {}), target, chunk }
      await index.setProperty(PROP, prop)
      await index.createTextIndex('text')
    } catch (err) {
      await index.close().catch(() => {})
      if (path !== ':memory:') removeIndexFile(path)
      throw err
    }
    return new TextIndex(index, e)
  }

  /**
   * Opens a text index file. embedder: the one it was built with (name and dimension
   * checked now: EMBEDDER_MISMATCH), a factory (called on first need, i.e. vector or hybrid
   * search and indexing, and checked then), or undefined for the embedder made from the
   * spec stored in the index (embedderFromSpec). Keyword search never makes the embedder.
   */
  static async open(path: string, embedder?: Embedder | EmbedderFactory, options: OpenTextIndexOptions = {}): Promise<TextIndex> {
    if (options === null || typeof options !== 'object')
      throw new VqOptionError('BAD_OPTION', `options must be an object, got ${JSON.stringify(options)}`)
    const index = VqIndex.open(path, { readonly: options.readonly ?? false })
    try {
      const prop = index.getProperty(PROP) as TextProp | undefined
      if (!prop || typeof prop !== 'object' || index.textField !== 'text')
        throw new VqFormatError('BAD_FILE', `${path} is a vqlite index but not a text index (made by vqlite index-text)`)
      let source: Embedder | EmbedderFactory
      if (embedder === undefined) source = () => embedderFromSpec(storedSpec(path, prop), options.embedderOptions)
      else if (typeof embedder === 'function') source = embedder
      else {
        checkEmbedder(embedder)
        checkSame(path, prop, embedder)
        source = embedder
      }
      const ix = new TextIndex(index, source)
      if (options.chunk !== undefined) ix.#checkChunk(options.chunk)
      if (options.description !== undefined) await ix.setTargetDescription(options.description)
      return ix
    } catch (err) {
      await index.close().catch(() => {})
      throw err
    }
  }

  /** open() with the embedder made from the spec stored in the index. */
  static async openWithStoredEmbedder(path: string, options: OpenTextIndexOptions = {}): Promise<TextIndex> {
    return TextIndex.open(path, undefined, options)
  }

  #prop(): TextProp {
    return (this.index.getProperty(PROP) as TextProp | undefined) ?? {}
  }

  /** The embedder once made (undefined until the first vector search or indexing when opened with a factory or the stored spec). */
  get embedder(): Embedder | undefined {
    return this.#embedder
  }

  /** The embedder's spec as recorded in the index (undefined for embedders without one). */
  get embedderSpec(): EmbedderSpec | undefined {
    return this.#prop().spec
  }

  /** Makes the embedder if not yet made (once), checking its name and dimension against the index's (EMBEDDER_MISMATCH). */
  async loadEmbedder(): Promise<Embedder> {
    if (this.#embedder) return this.#embedder
    if (!this.#loading) {
      const factory = this.#factory!
      this.#loading = (async () => {
        const e = await factory()
        checkEmbedder(e)
        checkSame(this.index.path, this.#prop(), e)
        this.#embedder = e
        return e
      })()
      // a failed load can be retried
      this.#loading.catch(() => {
        this.#loading = undefined
      })
    }
    return this.#loading
  }

  /** The vector index's current description (e.g. "Flat" until the target's training minimum is reached). */
  get description(): string {
    return this.index.description
  }

  /** The description the index has or will switch to once it holds minimumChunks chunks. */
  get targetDescription(): string {
    return this.#prop().target ?? this.index.description
  }

  /** Chunks needed to train the target description (minTrainingVectors). */
  get minimumChunks(): number {
    return minTrainingVectors(this.targetDescription)
  }

  /** The chunking recorded at creation (undefined for older indexes, which did not record it). */
  get chunk(): { readonly size: number; readonly overlap: number } | undefined {
    return this.#prop().chunk
  }

  /**
   * Sets the description to reach: when it differs from the target, it is recorded and,
   * when the index already holds enough chunks, applied at once (reconfigure: trained on
   * every stored vector, one transaction). options.apply false: only recorded (the next
   * indexFiles call switches). Returns true when the index was reconfigured.
   */
  async setTargetDescription(description: string, options: { apply?: boolean } = {}): Promise<boolean> {
    const target = canonicalDescription(description, this.index.dim)
    if (target !== this.targetDescription) await this.index.setProperty(PROP, { ...this.#prop(), target })
    return options.apply === false ? false : this.#reachTarget()
  }

  /** Switches to the target when it differs from the current description and enough chunks are stored. */
  async #reachTarget(): Promise<boolean> {
    const target = this.targetDescription
    if (target === this.index.description || this.index.size === 0 || this.index.size < minTrainingVectors(target)) return false
    await this.index.reconfigure(target)
    return true
  }

  /**
   * BAD_OPTION unless c equals the chunking recorded (a field left out is the recorded one;
   * older indexes without a record: anything goes).
   */
  #checkChunk(c: ChunkOptions): void {
    const stored = this.chunk
    if (stored === undefined) {
      resolveChunk(c)
      return
    }
    const given = resolveChunk({ size: c?.size ?? stored.size, overlap: c?.overlap ?? stored.overlap })
    if (stored.size === given.size && stored.overlap === given.overlap) return
    throw new VqOptionError(
      'BAD_OPTION',
      `${this.index.path} was indexed with chunk size ${stored.size} and overlap ${stored.overlap}; chunk size ${given.size} and overlap ${given.overlap} were given. Changing the chunking would mean re-indexing every file: create a new index for it, or leave the chunk options out`,
    )
  }

  /**
   * The folder sources are relative to: recorded on first indexing (options.root, default
   * the current folder) and kept for the life of the index. A file outside it keeps its
   * absolute path as source.
   */
  get root(): string | undefined {
    return this.#sources().root
  }

  #sources(): SourceTable {
    const t = this.index.getProperty(SOURCES) as SourceTable | undefined
    return t ?? { root: undefined, files: {} }
  }

  /**
   * Indexes files, folders and globs (walkPaths: .gitignore, hidden and binary files
   * skipped). Sources are stored relative to root. A file whose content equals an indexed
   * file's is recorded as a duplicate of it (reported, not embedded again; re-indexed on its
   * own once that file is gone or changed). prune (default: on when a folder is given):
   * sources under a folder given that no longer exist are removed. An unchanged file costs a
   * read and a hash: the source -> hash table is one property read once per call.
   */
  async indexFiles(paths: readonly string[], options: IndexTextOptions = {}): Promise<IndexTextReport> {
    if (!Array.isArray(paths))
      throw new VqInputError('BAD_ARGUMENT', `paths must be an array of file, folder or glob names, got ${typeof paths}`)
    for (const p of paths)
      if (typeof p !== 'string' || p === '')
        throw new VqInputError('BAD_ARGUMENT', `each path must be a non-empty string, got ${JSON.stringify(p)}`)
    if (options.chunk !== undefined) this.#checkChunk(options.chunk)
    const chunking = this.chunk ?? options.chunk
    // made (and checked against the index's) before anything changes
    await this.loadEmbedder()
    const table = this.#sources()
    const startedAt = Date.now()
    const root = resolve(table.root ?? options.root ?? process.cwd())
    const files: Record<string, SourceEntry> = { ...table.files }
    const walked = await walkPaths(paths)
    let filesIndexed = 0
    let filesUnchanged = 0
    let chunksAdded = 0
    let chunksRemoved = 0
    const duplicates: { file: string; of: string }[] = []
    const removed: string[] = []
    const errors: { file: string; message: string }[] = [...walked.errors]
    const removeSource = async (source: string): Promise<void> => {
      chunksRemoved += await this.#removeEntry(files, source)
    }
    // prune first, so that a renamed file is indexed anew rather than taken for a duplicate
    const prune = options.prune ?? walked.folders.length > 0
    if (prune && walked.folders.length > 0) {
      const present = new Set(walked.files.map((f) => sourceName(root, f)))
      const under = walked.folders.map((f) => sourceName(root, f)).map((s) => (s === '' ? '' : `${s}/`))
      for (const source of Object.keys(files)) {
        const abs = resolve(root, source)
        if (present.has(source)) continue
        if (!under.some((u) => source.startsWith(u) || abs.startsWith(u))) continue
        await removeSource(source)
        removed.push(source)
      }
    }
    const byHash = new Map<string, string>()
    for (const [s, e] of Object.entries(files)) if (e.count > 0 && e.of === undefined) byHash.set(e.hash, s)
    const total = walked.files.length
    const pending: { source: string; bytes: Buffer; hash: string; size?: number; mtime?: number }[] = []
    for (const [fi, abs] of walked.files.entries()) {
      const source = sourceName(root, abs)
      options.onProgress?.(source, fi, total)
      const old = files[source]
      let st: { size: number; mtimeMs: number } | undefined
      try {
        st = await stat(abs)
      } catch {
        st = undefined
      }
      if (
        st &&
        old &&
        !options.rehash &&
        old.size === st.size &&
        old.mtime === st.mtimeMs &&
        table.at !== undefined &&
        st.mtimeMs < table.at - RACY_MS &&
        (old.of === undefined || files[old.of]?.hash === old.hash)
      ) {
        filesUnchanged++
        continue
      }
      const seen = st ? { size: st.size, mtime: st.mtimeMs } : {}
      let bytes: Buffer
      try {
        bytes = await readFile(abs)
      } catch (e) {
        errors.push({ file: source, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` })
        continue
      }
      const ext = extname(abs).toLowerCase()
      if (!TEXT_EXTENSIONS.has(ext) && (ext !== '' || isBinaryFileSync(bytes, bytes.length))) {
        errors.push({ file: source, message: ext === '' ? 'a binary file' : 'not a .md, .markdown, .txt, .text, .jsonl or .ndjson file' })
        continue
      }
      const hash = createHash('sha256').update(bytes).digest('hex')
      if (old && old.hash === hash && (old.of === undefined || files[old.of]?.hash === hash)) {
        files[source] = { ...old, ...seen }
        filesUnchanged++
        continue
      }
      const orig = byHash.get(hash)
      if (orig !== undefined && orig !== source) {
        await removeSource(source)
        files[source] = { hash, first: 0, count: 0, of: orig, ...seen }
        duplicates.push({ file: source, of: orig })
        continue
      }
      pending.push({ source, bytes, hash, ...seen })
      // later files with this content are duplicates of this one
      byHash.set(hash, source)
    }
    // duplicates whose original is gone or changed are indexed on their own
    for (const [s, e] of Object.entries(files)) {
      if (e.of === undefined || pending.some((p) => p.source === s)) continue
      // the original's content after this call: its new content when it is re-indexed now
      const now = pending.find((p) => p.source === e.of)?.hash ?? files[e.of]?.hash
      if (now === e.hash) continue
      try {
        const abs = resolve(root, s)
        const st = await stat(abs)
        const bytes = await readFile(abs)
        pending.push({ source: s, bytes, hash: createHash('sha256').update(bytes).digest('hex'), size: st.size, mtime: st.mtimeMs })
      } catch {
        delete files[s]
      }
    }
    for (const { source, bytes, hash, size, mtime } of pending) {
      const ext = extname(source).toLowerCase()
      let docs: Doc[]
      try {
        docs =
          ext === '.jsonl' || ext === '.ndjson'
            ? jsonlDocs(bytes.toString('utf8'), options.field ?? 'text')
            : [{ text: bytes.toString('utf8') }]
      } catch (e) {
        errors.push({ file: source, message: (e as Error).message })
        continue
      }
      const r = await this.#storeSource(
        files,
        source,
        hash,
        docs,
        chunking,
        size !== undefined && mtime !== undefined ? { size, mtime } : {},
      )
      chunksRemoved += r.removed
      chunksAdded += r.added
      filesIndexed++
    }
    const switched = await this.#saveSources(root, files, startedAt)
    options.onProgress?.('', total, total)
    return {
      root,
      filesIndexed,
      filesUnchanged,
      chunksAdded,
      chunksRemoved,
      removed,
      duplicates,
      errors,
      description: this.description,
      targetDescription: this.targetDescription,
      switched,
      chunks: this.index.size,
      minimumChunks: this.minimumChunks,
    }
  }

  /** Searches the chunks (default: hybrid, k = 10). */
  async search(
    query: string,
    options: { k?: number; mode?: TextSearchMode; filter?: Filter; nprobe?: number; fusion?: FusionOptions } = {},
  ): Promise<TextHit[]> {
    const k = options.k ?? 10
    const mode = options.mode ?? 'hybrid'
    if (!['hybrid', 'vector', 'keyword'].includes(mode))
      throw new VqOptionError('BAD_OPTION', `mode must be hybrid, vector or keyword, got ${String(mode)}`)
    if (typeof query !== 'string' || query.trim() === '') throw new VqInputError('BAD_VECTORS', 'the query text is empty')
    if (this.index.size === 0) return []
    const depth = mode === 'hybrid' ? Math.max(50, 5 * k) : k
    const filter = options.filter
    if (mode === 'hybrid') checkFusion(options.fusion)
    const vector = mode === 'keyword' ? null : await this.#vectorHits(query, depth, filter, options.nprobe)
    const keyword = mode === 'vector' ? null : this.index.keywordSearch(query, depth, filter ? { filter } : {})
    let ranked: { id: number; score: number }[]
    if (mode === 'vector') ranked = vector!
    else if (mode === 'keyword') ranked = Array.from(keyword!.ids, (id, i) => ({ id, score: -keyword!.scores[i]! }))
    else
      ranked = fuseRankings(
        vector!,
        Array.from(keyword!.ids, (id, i) => ({ id, score: -keyword!.scores[i]! })),
        options.fusion,
      )
    const top = ranked.slice(0, k).map((h) => ({
      h,
      m: (this.index.get(h.id)?.metadata ?? {}) as { source?: string; text?: string; start?: number; end?: number; line?: number },
    }))
    const snippets = ftsHighlights(
      top.map(({ m }) => m.text ?? ''),
      matchExpression(query),
    )
    return top.map(({ h, m }, i) => {
      return {
        id: h.id,
        score: h.score,
        source: m.source ?? '',
        text: m.text ?? '',
        start: m.start ?? 0,
        end: m.end ?? 0,
        ...(m.line !== undefined ? { line: m.line } : {}),
        snippet: snippets[i]!,
      }
    })
  }

  async #vectorHits(
    query: string,
    k: number,
    filter: Filter | undefined,
    nprobe: number | undefined,
  ): Promise<{ id: number; score: number }[]> {
    const embedder = await this.loadEmbedder()
    const q = normalizedCopy(await embedder.embed([query]), 1, embedder.dim)
    if (q.every((v) => v === 0)) return []
    const r = this.index.search(q, k, { ...(filter ? { filter } : {}), ...(nprobe ? { nprobe } : {}) })
    const out: { id: number; score: number }[] = []
    // metric 'ip' distances are -<q, x>: the similarity is their negation
    for (let i = 0; i < k; i++) if (r.ids[i]! >= 0) out.push({ id: r.ids[i]!, score: -r.distances[i]! })
    return out
  }

  /**
   * Indexes texts given directly, each under its source name (chunked, embedded and stored
   * as indexFiles does a file). A source already present is replaced (left as it is when its
   * text is unchanged). Calls that change the index (addTexts, deleteSource) run one at a time.
   */
  async addTexts(items: readonly TextItem[], options: { chunk?: ChunkOptions } = {}): Promise<AddTextsReport> {
    if (!Array.isArray(items)) throw new VqInputError('BAD_ARGUMENT', `items must be an array of { source, text }, got ${typeof items}`)
    const seen = new Set<string>()
    for (const [i, it] of items.entries()) {
      if (it === null || typeof it !== 'object')
        throw new VqInputError('BAD_ARGUMENT', `items[${i}] must be an object { source, text }, got ${JSON.stringify(it)}`)
      if (typeof it.source !== 'string' || it.source === '')
        throw new VqInputError('BAD_ARGUMENT', `items[${i}].source must be a non-empty string, got ${JSON.stringify(it.source)}`)
      if (typeof it.text !== 'string') throw new VqInputError('BAD_ARGUMENT', `items[${i}].text must be a string, got ${typeof it.text}`)
      if (seen.has(it.source)) throw new VqInputError('BAD_ARGUMENT', `items[${i}]: source ${JSON.stringify(it.source)} is given twice`)
      seen.add(it.source)
    }
    if (options.chunk !== undefined) this.#checkChunk(options.chunk)
    const chunking = this.chunk ?? options.chunk
    return this.#serial(async () => {
      const table = this.#sources()
      const files: Record<string, SourceEntry> = { ...table.files }
      let sourcesAdded = 0
      let sourcesUnchanged = 0
      let chunksAdded = 0
      let chunksRemoved = 0
      for (const { source, text } of items) {
        const hash = createHash('sha256').update(text, 'utf8').digest('hex')
        const old = files[source]
        if (old && old.hash === hash && old.of === undefined) {
          sourcesUnchanged++
          continue
        }
        const r = await this.#storeSource(files, source, hash, [{ text }], chunking)
        chunksAdded += r.added
        chunksRemoved += r.removed
        sourcesAdded++
      }
      await this.#saveSources(table.root, files)
      return { sourcesAdded, sourcesUnchanged, chunksAdded, chunksRemoved }
    })
  }

  /** Removes a source and its chunks; returns the chunks removed. An unknown source is a VqInputError UNKNOWN_ID. */
  async deleteSource(source: string): Promise<number> {
    if (typeof source !== 'string' || source === '')
      throw new VqInputError('BAD_ARGUMENT', `source must be a non-empty string, got ${JSON.stringify(source)}`)
    return this.#serial(async () => {
      const table = this.#sources()
      if (!Object.hasOwn(table.files, source)) throw new VqInputError('UNKNOWN_ID', `source ${JSON.stringify(source)} is not in the index`)
      const files: Record<string, SourceEntry> = { ...table.files }
      const n = await this.#removeEntry(files, source)
      await this.index.setProperty(SOURCES, {
        ...(table.root !== undefined ? { root: table.root } : {}),
        ...(table.at !== undefined ? { at: table.at } : {}),
        files,
      })
      return n
    })
  }

  /** What the index holds: chunks, sources (duplicates included), the embedder, the vector index description and the root. */
  stats(): TextIndexStats {
    const table = this.#sources()
    const prop = this.#prop()
    return {
      chunks: this.index.size,
      sources: Object.keys(table.files).length,
      // as recorded: stats never makes the embedder
      embedder: { name: prop.embedder ?? '', dim: prop.dim ?? this.index.dim },
      description: this.index.description,
      root: table.root ?? null,
    }
  }

  #queue: Promise<unknown> = Promise.resolve()

  /** Runs the writes of addTexts / deleteSource one after the other. */
  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f)
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** Deletes a source's chunks and its entry from `files`; returns the chunks deleted. */
  async #removeEntry(files: Record<string, SourceEntry>, source: string): Promise<number> {
    const e = files[source]
    if (!e) return 0
    let n = 0
    if (e.count > 0) {
      const ids: number[] = []
      for (let i = 0; i < e.count; i++) ids.push(e.first + i)
      n = await this.index.delete(ids)
    }
    delete files[source]
    return n
  }

  /** Chunks and embeds one source's documents, then replaces its old chunks by them (entry in `files`). */
  async #storeSource(
    files: Record<string, SourceEntry>,
    source: string,
    hash: string,
    docs: readonly Doc[],
    chunk: ChunkOptions | undefined,
    seen: { size?: number; mtime?: number } = {},
  ): Promise<{ added: number; removed: number }> {
    const chunks: { text: string; meta: Record<string, unknown> }[] = []
    for (const doc of docs) {
      chunkText(doc.text, chunk).forEach((c, i) => {
        chunks.push({
          text: c.text,
          meta: {
            text: c.text,
            source,
            start: c.start,
            end: c.end,
            hash,
            chunk: i,
            ...(doc.line !== undefined ? { line: doc.line } : {}),
          },
        })
      })
    }
    const embedder = await this.loadEmbedder()
    const vectors = normalizedCopy(await embedder.embed(chunks.map((c) => c.text)), chunks.length, embedder.dim)
    const removed = await this.#removeEntry(files, source)
    const first = this.index.maxId() + 1
    if (chunks.length > 0) {
      if (!this.index.isTrained) await this.index.train(vectors)
      await this.index.add(
        chunks.map((_, i) => first + i),
        vectors,
        chunks.map((c) => c.meta),
      )
    }
    files[source] = { hash, first, count: chunks.length, ...seen }
    return { added: chunks.length, removed }
  }

  /**
   * Writes the source table (root kept unset until indexFiles sets it). The codec was trained
   * on the first source indexed; once the index has doubled since its training, retrain on
   * everything (the stored vectors) so that the codes fit the corpus.
   */
  /** Writes the source table; at: when the indexFiles call started (kept as it was for addTexts). */
  /**
   * Writes the source table (at: when the indexFiles call started, kept as it was for
   * addTexts), then trains: exact until the index holds enough chunks to train the target
   * description, then switched to it, trained on every stored vector; a trained codec is
   * retrained on everything once the index has doubled since its training. True when this
   * call switched the index to its target.
   */
  async #saveSources(root: string | undefined, files: Record<string, SourceEntry>, at?: number): Promise<boolean> {
    const when = at ?? this.#sources().at
    await this.index.setProperty(SOURCES, { ...(root !== undefined ? { root } : {}), ...(when !== undefined ? { at: when } : {}), files })
    const switched = await this.#reachTarget()
    const trainedOn = this.index.manifest.training?.vectors ?? 0
    if (!switched && this.index.description !== 'Flat' && this.index.isTrained && this.index.size >= 2 * trainedOn && this.index.size > 0)
      await this.index.retrain()
    return switched
  }

  async close(): Promise<void> {
    await this.index.close()
  }
}

/** The records of a JSONL file (blank lines skipped); throws naming the first bad line. */
function jsonlDocs(content: string, field: string): Doc[] {
  const docs: Doc[] = []
  content.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '') return
    let rec: unknown
    try {
      rec = JSON.parse(line)
    } catch {
      throw new VqFormatError('BAD_FILE', `line ${i + 1}: not JSON; no line of this file was indexed`)
    }
    const text = field
      .split('.')
      .reduce<unknown>((o, key) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined), rec)
    if (typeof text !== 'string')
      throw new VqFormatError('BAD_FILE', `line ${i + 1}: no string field "${field}"; no line of this file was indexed`)
    docs.push({ text, line: i + 1 })
  })
  return docs
}

/** A TypeError-free check of an embedder given by a caller. */
function checkEmbedder(e: unknown): asserts e is Embedder {
  const x = e as Partial<Embedder> | null
  if (x === null || typeof x !== 'object' || typeof x.embed !== 'function')
    throw new VqOptionError('BAD_OPTION', 'the embedder must be an object with name, dim and embed(texts), or a function returning one')
  if (typeof x.name !== 'string' || x.name === '')
    throw new VqOptionError('BAD_OPTION', `the embedder's name must be a non-empty string, got ${JSON.stringify(x.name)}`)
  if (!Number.isSafeInteger(x.dim) || (x.dim as number) < 1)
    throw new VqOptionError('BAD_OPTION', `the embedder's dim must be a positive integer, got ${JSON.stringify(x.dim)}`)
}

/** EMBEDDER_MISMATCH unless the embedder is the one the index was built with. */
function checkSame(path: string, prop: TextProp, e: Embedder): void {
  if (prop.embedder !== e.name || prop.dim !== e.dim)
    throw new VqStateError(
      'EMBEDDER_MISMATCH',
      `${path} was built with the embedder ${prop.embedder} (${prop.dim}-d); searching it with ${e.name} (${e.dim}-d) would give meaningless results`,
    )
}

/** The embedder spec recorded in the index (older SIF-GloVe indexes: inferred from the name). */
function storedSpec(path: string, prop: TextProp): EmbedderSpec {
  if (prop.spec !== undefined) {
    try {
      return checkEmbedderSpec(prop.spec)
    } catch (cause) {
      throw new VqFormatError('BAD_FILE', `${path}: the embedder spec stored is not valid: ${(cause as Error).message}`, { cause })
    }
  }
  if (prop.embedder === SIF_GLOVE_NAME) return { kind: 'sif-glove' }
  throw new VqStateError(
    'UNSUPPORTED',
    `${path} was built with the embedder ${prop.embedder}, which recorded no spec to make it again: open it with that embedder`,
  )
}
