/**
 * Option resolution for create / open / import and the per-call options of train,
 * add / upsert, delete, search, searchBatch and keywordSearch. The options are described
 * once, in schema.ts; this parses them with those schemas (and a fast path for search's,
 * tested against its schema) and resolves what the schemas cannot say (the composition
 * from a description string or typed specs, which must agree; RFlat needs stored vectors).
 * Everything here throws VqOptionError before anything is written or changed.
 */

import type { Kernels } from '../../native-free-kernels/index.js'
import { VqOptionError } from '../errors.js'
import { formatIndexDescription, narrowRefused, normalizeIndexSpec, parseIndexDescription } from '../factory/parse.js'
import { MAX_REFINE_FACTOR } from '../limits.js'
import { IndexModel } from '../search/model.js'
import type {
  AddOptions,
  BatchSearchOptions,
  ConnectionOptions,
  CreateOptions,
  ExportOptions,
  Filter,
  IdKind,
  IndexSpec,
  Metric,
  OpenOptions,
  SearchOptions,
  TrainOptions,
  VectorStorage,
} from '../types.js'
import { kernelsFor } from '../util/kernels.js'
import {
  AddSchema,
  BatchSearchSchema,
  CreateSchema,
  DEFAULT_EXACT_FACTOR,
  DEFAULT_NPROBE,
  DEFAULT_QB,
  DeleteSchema,
  ExportSchema,
  ImportSchema,
  ItemsSchema,
  isFilterObject,
  KeywordSearchSchema,
  OpenSchema,
  parseOptions,
  SearchSchema,
  TrainSchema,
} from './schema.js'

export { DEFAULT_NPROBE } from './schema.js'

/** What create() resolves its options to. */
export interface ResolvedCreate {
  readonly dim: number
  readonly metric: Metric
  readonly spec: IndexSpec
  readonly storeVectors: VectorStorage
  readonly ids: IdKind
  /** The connection options (validated). */
  readonly connection: ConnectionOptions
}

/** Search options checked and defaulted (the filter stays as given). */
export interface ResolvedSearch {
  readonly k: number
  readonly nprobe: number
  readonly refineFactor: number
  /** RaBitQ query bits (0: float query). */
  readonly qb: number
  /** RaBitQ + RFlat: bound-driven re-ranking. */
  readonly errorBounds: boolean
  /** Narrowed RFlat: candidates read exactly = k * exactFactor. */
  readonly exactFactor: number
  readonly filter: SearchOptions['filter']
  /** Read the results' metadata too. */
  readonly includeMetadata: boolean
  /** Sharded search, phase 1 (see SearchParams.stage); set by VqShards only. */
  readonly stage?: 'candidates'
}

export function checkPath(path: unknown, what = 'path'): void {
  if (typeof path !== 'string' || path === '')
    throw new VqOptionError('BAD_OPTION', `${what} must be a file path or ':memory:', got ${String(path)}`)
}

/** The connection options' part the store takes (its StoreOptions); the options were parsed at the door. */
export function storeOptions(o: ConnectionOptions): Pick<ConnectionOptions, 'durability' | 'busyTimeoutMs'> {
  return {
    ...(o.durability !== undefined ? { durability: o.durability } : {}),
    ...(o.busyTimeoutMs !== undefined ? { busyTimeoutMs: o.busyTimeoutMs } : {}),
  }
}

/** open()'s options, parsed (readonly defaulted to false). */
export function parseOpenOptions(o: unknown): OpenOptions & { readonly: boolean; ids: IdKind | 'any' } {
  return parseOptions(OpenSchema, o, 'open')
}

/** import()'s options, parsed: the connection options and the kind of ids expected. */
export function parseImportOptions(o: unknown): { connection: ConnectionOptions; ids: IdKind | 'any' } {
  const { ids, ...connection } = parseOptions(ImportSchema, o, 'import')
  return { connection, ids }
}

/** Training options of train / retrain (`what` names the call), parsed. */
export function parseTrainOptions(o: unknown, what: string): TrainOptions {
  return parseOptions(TrainSchema, o, what)
}

/** add/upsert's options, parsed: the training options of { train } (undefined: do not train), signal and onProgress. */
export interface ParsedAdd {
  readonly train: TrainOptions | undefined
  readonly signal: AbortSignal | undefined
  readonly onProgress: AddOptions['onProgress']
}

/** add/upsert's options, parsed (`what` names the call). */
export function parseAddOptions(o: unknown, what: string): ParsedAdd {
  const { train, signal, onProgress } = parseOptions(AddSchema, o, what) as AddOptions
  return { train: train === undefined || train === false ? undefined : train === true ? {} : train, signal, onProgress }
}

/** export()'s options, parsed. */
export function parseExportOptions(o: unknown): ExportOptions {
  return parseOptions(ExportSchema, o, 'export')
}

/** delete()'s options, parsed: strict (default false). */
export function parseDeleteOptions(o: unknown): { strict: boolean } {
  return parseOptions(DeleteSchema, o, 'delete')
}

/** keywordSearch()'s options, parsed. */
export function parseKeywordOptions(o: unknown): { filter?: Filter | undefined } {
  return parseOptions(KeywordSearchSchema, o, 'keywordSearch')
}

/** Search options by the schema alone (the reference the fast path of resolveSearch must agree with). */
export function resolveSearchBySchema(k: number, o: unknown): ResolvedSearch {
  return searchOf(k, parseOptions(SearchSchema, o, 'search'))
}

/** The resolved search options of k and the schema's output (search's or searchBatch's). */
function searchOf(k: number, r: Omit<ResolvedSearch, 'k' | 'filter'> & { filter?: ResolvedSearch['filter'] }): ResolvedSearch {
  return {
    k,
    nprobe: r.nprobe,
    refineFactor: r.refineFactor,
    qb: r.qb,
    errorBounds: r.errorBounds,
    exactFactor: r.exactFactor,
    filter: r.filter,
    includeMetadata: r.includeMetadata,
  }
}

/** searchBatch()'s options: the search options, threads, signal and onProgress. */
export interface ResolvedBatch {
  readonly search: ResolvedSearch
  readonly threads: number | undefined
  readonly signal: AbortSignal | undefined
  readonly onProgress: BatchSearchOptions['onProgress']
}

/** searchBatch()'s options: the search options, threads, signal and onProgress. */
export function resolveBatch(k: number, o: unknown): ResolvedBatch {
  const r = parseOptions(BatchSearchSchema, o, 'searchBatch')
  return { search: searchOf(k, r), threads: r.threads, signal: r.signal, onProgress: r.onProgress }
}

function isPlain(o: object): boolean {
  const proto = Object.getPrototypeOf(o)
  return proto === Object.prototype || proto === null
}

/**
 * Resolves search options: nprobe (default DEFAULT_NPROBE, a positive integer),
 * refineFactor (default 1, 1..MAX_REFINE_FACTOR), qb (default DEFAULT_QB, 0..8), errorBounds
 * (default true), exactFactor (default DEFAULT_EXACT_FACTOR, 1..MAX_REFINE_FACTOR) and filter.
 * SearchSchema is the description; this is its fast path for the common cases (undefined,
 * {}, { nprobe }, { refineFactor }, { qb }, { errorBounds }, { exactFactor }, { filter } with valid values), which gives the schema's answer without
 * a parse per query; anything else goes through the schema (test/engine/options-fast-path.test.ts).
 */
export function resolveSearch(k: number, o: SearchOptions | undefined): ResolvedSearch {
  if (o === undefined) return resolved(k, DEFAULT_NPROBE, 1, DEFAULT_QB, true, DEFAULT_EXACT_FACTOR, undefined, false)
  if (typeof o === 'object' && o !== null && isPlain(o)) {
    let fast = true
    for (const key in o) {
      if (
        key !== 'nprobe' &&
        key !== 'refineFactor' &&
        key !== 'qb' &&
        key !== 'errorBounds' &&
        key !== 'exactFactor' &&
        key !== 'filter' &&
        key !== 'includeMetadata'
      ) {
        fast = false
        break
      }
    }
    const { nprobe, refineFactor, qb, errorBounds, exactFactor, filter, includeMetadata } = o
    if (
      fast &&
      (nprobe === undefined || (Number.isSafeInteger(nprobe) && nprobe >= 1)) &&
      (refineFactor === undefined || (Number.isInteger(refineFactor) && refineFactor >= 1 && refineFactor <= MAX_REFINE_FACTOR)) &&
      (qb === undefined || (Number.isInteger(qb) && qb >= 0 && qb <= 8)) &&
      (errorBounds === undefined || typeof errorBounds === 'boolean') &&
      (exactFactor === undefined || (Number.isInteger(exactFactor) && exactFactor >= 1 && exactFactor <= MAX_REFINE_FACTOR)) &&
      (filter === undefined || isFilterObject(filter)) &&
      (includeMetadata === undefined || typeof includeMetadata === 'boolean')
    ) {
      return resolved(
        k,
        nprobe ?? DEFAULT_NPROBE,
        refineFactor ?? 1,
        qb ?? DEFAULT_QB,
        errorBounds ?? true,
        exactFactor ?? DEFAULT_EXACT_FACTOR,
        filter,
        includeMetadata ?? false,
      )
    }
  }
  return resolveSearchBySchema(k, o)
}

/** The last options resolveSearch's fast path returned (a query loop resolves the same ones again and again). */
let lastResolved: ResolvedSearch | null = null

/** Resolved search options of these values: the last ones returned when they are the same (a frozen object), else new ones. */
function resolved(
  k: number,
  nprobe: number,
  refineFactor: number,
  qb: number,
  errorBounds: boolean,
  exactFactor: number,
  filter: SearchOptions['filter'],
  includeMetadata: boolean,
): ResolvedSearch {
  const last = lastResolved
  if (
    last !== null &&
    last.k === k &&
    last.nprobe === nprobe &&
    last.refineFactor === refineFactor &&
    last.qb === qb &&
    last.errorBounds === errorBounds &&
    last.exactFactor === exactFactor &&
    last.filter === filter &&
    last.includeMetadata === includeMetadata
  )
    return last
  lastResolved = Object.freeze({ k, nprobe, refineFactor, qb, errorBounds, exactFactor, filter, includeMetadata })
  return lastResolved
}

/** Checks and resolves create()'s options: dimension, metric, stored vectors, the composition and the connection options. */
export function resolveCreateOptions(input: unknown): ResolvedCreate {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new VqOptionError('BAD_OPTION', 'create() needs an options object with at least { dim }')
  const options = parseOptions(CreateSchema, input, 'create') as CreateOptions & {
    metric: Metric
    storeVectors: VectorStorage
    ids: IdKind
  }
  const { dim, metric, storeVectors, ids } = options
  const spec = resolveSpec(options, dim)
  if (spec.refine?.kind === 'flat' && storeVectors === 'none') {
    throw new VqOptionError(
      'BAD_OPTION',
      'RFlat re-ranks on the stored full vectors: create the index with storeVectors "float32" or "float16"',
    )
  }
  // Build once to validate every stage's own constraints (m divides d, nbits, nlist, OPQ dims).
  new IndexModel(spec, dim, metric, kernelsFor(options.kernels))
  const { durability, busyTimeoutMs, kernels, threads } = options
  const connection: ConnectionOptions = {
    ...(durability !== undefined ? { durability } : {}),
    ...(busyTimeoutMs !== undefined ? { busyTimeoutMs } : {}),
    ...(kernels !== undefined ? { kernels } : {}),
    ...(threads !== undefined ? { threads } : {}),
  }
  return { dim, metric, spec, storeVectors, ids, connection }
}

/**
 * The composition reconfigure() switches an index to: the description parsed
 * (BAD_DESCRIPTION), RFlat only with stored vectors, every stage built once to check its
 * own constraints against the index's dimension and metric (BAD_OPTION).
 */
export function resolveReconfigure(
  description: unknown,
  dim: number,
  metric: Metric,
  storeVectors: VectorStorage,
  kernels: Kernels,
): IndexSpec {
  if (typeof description !== 'string')
    throw new VqOptionError('BAD_DESCRIPTION', `reconfigure() needs a description string, got ${typeof description}`)
  const spec = normalizeIndexSpec(parseIndexDescription(description), dim)
  if (spec.refine?.kind === 'flat' && storeVectors === 'none') {
    throw new VqOptionError('BAD_OPTION', `"${description}": RFlat re-ranks on the stored full vectors, but this index stores none`)
  }
  new IndexModel(spec, dim, metric, kernels)
  return spec
}

/** True when this index keeps vectors as IEEE half floats somewhere (stored vectors, the codec or the refine codec) as given. */
export function keepsHalfFloats(spec: IndexSpec, storeVectors: VectorStorage, metric: Metric): boolean {
  if (storeVectors === 'float16') return true
  // Cosine codecs see unit vectors; the other metrics encode the vectors as given.
  if (metric === 'cosine') return false
  const r = spec.refine
  return spec.codec.kind === 'fp16' || (r?.kind === 'codec' ? r.codec.kind === 'fp16' : r?.narrow?.kind === 'fp16')
}

/** The composition from the description string or the typed options (which must agree when both are given). */
function resolveSpec(options: CreateOptions, dim: number): IndexSpec {
  const typed: IndexSpec | undefined =
    options.codec !== undefined || options.ivf !== undefined || options.transform !== undefined || options.refine !== undefined
      ? {
          codec: options.codec ?? { kind: 'flat' },
          ...(options.transform ? { transform: options.transform } : {}),
          ...(options.ivf ? { ivf: options.ivf } : {}),
          ...(options.refine ? { refine: options.refine } : {}),
        }
      : undefined
  if (options.description === undefined) {
    const spec = normalizeIndexSpec(typed ?? { codec: { kind: 'flat' } }, dim)
    const why = spec.refine?.kind === 'flat' && spec.refine.narrow ? narrowRefused(spec.codec, spec.refine.narrow) : null
    if (why) throw new VqOptionError('BAD_OPTION', `refine: ${why}`)
    return spec
  }
  const spec = normalizeIndexSpec(parseIndexDescription(options.description), dim)
  if (typed && JSON.stringify(normalizeIndexSpec(typed, dim)) !== JSON.stringify(spec)) {
    throw new VqOptionError(
      'BAD_OPTION',
      `description "${options.description}" and the typed options (${formatIndexDescription(normalizeIndexSpec(typed, dim), dim)}) disagree; give one of them`,
    )
  }
  return spec
}

/** Parsed options of items(). */
export interface ItemsPlan {
  readonly filter: Filter | undefined
  readonly batchSize: number
  readonly includeVectors: boolean
}

/** items()'s options, parsed. */
export function parseItemsOptions(o: unknown): ItemsPlan {
  const r = parseOptions(ItemsSchema, o, 'items')
  return { filter: r.filter, batchSize: r.batchSize, includeVectors: r.includeVectors }
}
