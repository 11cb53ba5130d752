/**
 * Option resolution and validation for create / open / import and the per-call options
 * of train, search and searchBatch. Everything here throws VqOptionError before anything
 * is written or changed.
 */

import { VqOptionError } from '../errors.js'
import { formatIndexDescription, normalizeIndexSpec, parseIndexDescription } from '../factory/parse.js'
import { IndexModel } from '../search/model.js'
import type { ConnectionOptions, CreateOptions, IndexSpec, Metric, SearchOptions, VectorStorage } from '../types.js'
import { kernelsFor } from '../util/kernels.js'
import { checkKnownKeys } from '../validate.js'

export const CONNECTION_KEYS = ['durability', 'busyTimeoutMs', 'kernels', 'threads'] as const
const CREATE_KEYS = ['dim', 'metric', 'description', 'codec', 'transform', 'ivf', 'refine', 'storeVectors', ...CONNECTION_KEYS] as const
export const OPEN_KEYS = ['readonly', ...CONNECTION_KEYS] as const
export const TRAIN_KEYS = [
  'seed',
  'iterations',
  'tolerance',
  'init',
  'maxPointsPerCentroid',
  'onProgress',
  'onWarning',
  'ivfIterations',
  'ivfMaxPointsPerCentroid',
  'opqIterations',
] as const
export const SEARCH_KEYS = ['nprobe', 'refineFactor', 'filter'] as const
export const BATCH_KEYS = [...SEARCH_KEYS, 'threads'] as const
const METRICS: readonly Metric[] = ['l2', 'ip', 'cosine']
const VECTOR_STORAGE: readonly VectorStorage[] = ['none', 'float32', 'float16']
const CODEC_KINDS = ['flat', 'pq', 'sq8', 'sq4', 'fp16']

/** Default nprobe (capped at nlist), as LanceDB's default of 20 probes. */
export const DEFAULT_NPROBE = 20

/** What create() resolves its options to. */
export interface ResolvedCreate {
  readonly dim: number
  readonly metric: Metric
  readonly spec: IndexSpec
  readonly storeVectors: VectorStorage
}

/** Search options checked and defaulted (the filter stays as given). */
export interface ResolvedSearch {
  readonly k: number
  readonly nprobe: number
  readonly refineFactor: number
  readonly filter: SearchOptions['filter']
}

export function checkPath(path: unknown): void {
  if (typeof path !== 'string' || path === '')
    throw new VqOptionError('BAD_OPTION', `path must be a file path or ':memory:', got ${String(path)}`)
}

/** Checks a thread count (an integer >= 0). */
export function checkThreads(threads: unknown): void {
  if (threads !== undefined && !(Number.isInteger(threads) && (threads as number) >= 0)) {
    throw new VqOptionError('BAD_OPTION', `threads must be an integer >= 0, got ${String(threads)}`)
  }
}

/** Checks the connection options and returns what the store takes of them (its StoreOptions). */
export function storeOptions(o: ConnectionOptions): Pick<ConnectionOptions, 'durability' | 'busyTimeoutMs'> {
  if (o.durability !== undefined && o.durability !== 'full' && o.durability !== 'normal') {
    throw new VqOptionError('BAD_OPTION', `durability must be "full" or "normal", got "${String(o.durability)}"`)
  }
  if (o.busyTimeoutMs !== undefined && !(Number.isFinite(o.busyTimeoutMs) && o.busyTimeoutMs >= 0)) {
    throw new VqOptionError('BAD_OPTION', `busyTimeoutMs must be a number >= 0, got ${String(o.busyTimeoutMs)}`)
  }
  checkThreads(o.threads)
  return {
    ...(o.durability !== undefined ? { durability: o.durability } : {}),
    ...(o.busyTimeoutMs !== undefined ? { busyTimeoutMs: o.busyTimeoutMs } : {}),
  }
}

/** Resolves search options: nprobe (default DEFAULT_NPROBE) and refineFactor (default 1), positive integers. */
export function resolveSearch(k: number, o: SearchOptions): ResolvedSearch {
  const nprobe = o.nprobe ?? DEFAULT_NPROBE
  if (!(Number.isInteger(nprobe) && nprobe >= 1))
    throw new VqOptionError('BAD_OPTION', `nprobe must be a positive integer, got ${String(o.nprobe)}`)
  const refineFactor = o.refineFactor ?? 1
  if (!(Number.isInteger(refineFactor) && refineFactor >= 1))
    throw new VqOptionError('BAD_OPTION', `refineFactor must be a positive integer, got ${String(o.refineFactor)}`)
  return { k, nprobe, refineFactor, filter: o.filter }
}

/** Checks and resolves create()'s options: dimension, metric, stored vectors and the composition. */
export function resolveCreateOptions(options: CreateOptions): ResolvedCreate {
  if (options === null || typeof options !== 'object')
    throw new VqOptionError('BAD_OPTION', 'create() needs an options object with at least { dim }')
  checkKnownKeys(options, CREATE_KEYS, 'create')
  const { dim } = options
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1 || dim > 65536) {
    throw new VqOptionError('BAD_OPTION', `dim must be an integer from 1 to 65536, got ${String(dim)}`)
  }
  const metric = options.metric ?? 'l2'
  if (!METRICS.includes(metric))
    throw new VqOptionError('BAD_OPTION', `metric must be one of ${METRICS.join(', ')}; got "${String(metric)}"`)
  const storeVectors = options.storeVectors ?? 'none'
  if (!VECTOR_STORAGE.includes(storeVectors)) {
    throw new VqOptionError('BAD_OPTION', `storeVectors must be one of ${VECTOR_STORAGE.join(', ')}; got "${String(storeVectors)}"`)
  }
  const spec = resolveSpec(options, dim)
  if (spec.refine?.kind === 'flat' && storeVectors === 'none') {
    throw new VqOptionError(
      'BAD_OPTION',
      'RFlat re-ranks on the stored full vectors: create the index with storeVectors "float32" or "float16"',
    )
  }
  // Build once to validate every stage's own constraints (m divides d, nbits, nlist, OPQ dims).
  new IndexModel(spec, dim, metric, kernelsFor(options.kernels))
  storeOptions(options)
  return { dim, metric, spec, storeVectors }
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
  const kind = typed ? String((typed.codec as { kind: string }).kind) : ''
  if (typed && !CODEC_KINDS.includes(kind)) {
    throw new VqOptionError('BAD_OPTION', `codec.kind must be one of ${CODEC_KINDS.join(', ')}; got "${kind}"`)
  }
  if (options.description === undefined) return normalizeIndexSpec(typed ?? { codec: { kind: 'flat' } }, dim)
  if (typeof options.description !== 'string')
    throw new VqOptionError('BAD_DESCRIPTION', 'description must be a string such as "IVF1024,PQ16"')
  const spec = normalizeIndexSpec(parseIndexDescription(options.description), dim)
  if (typed && JSON.stringify(normalizeIndexSpec(typed, dim)) !== JSON.stringify(spec)) {
    throw new VqOptionError(
      'BAD_OPTION',
      `description "${options.description}" and the typed options (${formatIndexDescription(normalizeIndexSpec(typed, dim), dim)}) disagree; give one of them`,
    )
  }
  return spec
}
