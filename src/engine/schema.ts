/**
 * The option objects of the public API, each described once as a valibot schema: the
 * schema gives the validation (with the message of every refusal), the defaults, the
 * known keys (the unknown-key check) and, through the type assertions at the end, the
 * proof that the documented interfaces of types.ts say the same thing.
 *
 * Rules (README, "Options"): an options argument that is undefined means the defaults;
 * anything else that is not a plain object (null, an array, a number...) is BAD_OPTION;
 * an unknown key is UNKNOWN_OPTION (with a did-you-mean); a value of the wrong type or out
 * of range is BAD_OPTION naming the option and the value ("iterations must be an integer
 * from 1 to 100000, got -5"). Messages are the expectation text of each field.
 */
import * as v from 'valibot'
import { type VqErrorCode, VqInputError, VqOptionError, type VqWarning } from '../errors.js'
import { DEFAULT_ITEMS_BATCH, MAX_DIM, MAX_ITEMS_BATCH, MAX_REFINE_FACTOR } from '../limits.js'
import type {
  AddOptions,
  AddProgress,
  BatchProgress,
  BatchSearchOptions,
  CodecSpec,
  ConnectionOptions,
  CreateOptions,
  DeleteOptions,
  ExportOptions,
  Filter,
  ImportOptions,
  ItemsOptions,
  IvfSpec,
  OpenOptions,
  RefineSpec,
  SearchOptions,
  TrainOptions,
  TrainProgress,
  TransformSpec,
} from '../types.js'
import { checkKnownKeys, showValue as show } from '../validate.js'

/** Default nprobe (capped at nlist), as LanceDB's default of 20 probes. */
export const DEFAULT_NPROBE = 20

/** Default bits per component of a RaBitQ query (FAISS's default qb). */
export const DEFAULT_QB = 4

/** Default exactFactor of a narrowed RFlat: 2k candidates read exactly. */
export const DEFAULT_EXACT_FACTOR = 2

/** Largest nlist of an IVF stage (as the coarse quantizer checks). */
const MAX_NLIST = 1 << 20
/** Largest k-means / IVF iteration count. */
const MAX_ITERATIONS = 100_000
/** Largest OPQ alternation count. */
const MAX_OPQ_ITERATIONS = 10_000
/** Largest points-per-centroid cap (Infinity also allowed: keep every point). */
const MAX_POINTS_PER_CENTROID = 1 << 30
/** Largest worker thread count. */
export const MAX_THREADS = 1024
/** Largest busy timeout: the largest delay a Node timer takes (about 24.8 days). */
const MAX_BUSY_TIMEOUT_MS = 2_147_483_647

// ---- field schemas (the message is the expectation: "<name> must be <message>, got <value>")

const int = (min: number, max: number, message = `an integer from ${min} to ${max}`) =>
  v.pipe(v.number(message), v.integer(message), v.minValue(min, message), v.maxValue(max, message))

const pick = <const T extends readonly [string, ...string[]]>(values: T) =>
  v.picklist(values, `one of ${values.map((s) => JSON.stringify(s)).join(', ')}`)

const bool = v.boolean('true or false')

const fn = <F>() => v.custom<F>((x) => typeof x === 'function', 'a function')

/** An AbortSignal (of this realm, or anything whose prototype chain reaches AbortSignal.prototype). */
const signal = v.custom<AbortSignal>((x) => x instanceof AbortSignal, 'an AbortSignal')

/** The integers lo..max, or Infinity (no cap). */
const intOrInfinity = (max: number) =>
  v.custom<number>(
    (x) => x === Number.POSITIVE_INFINITY || (Number.isInteger(x) && (x as number) >= 1 && (x as number) <= max),
    `an integer from 1 to ${max}, or Infinity`,
  )

/**
 * Is x an object (the shape a filter has)? The schema passes any filter value through: the
 * filter compiler (storage/filter-sql.ts checkFilter) checks it whole, before any SQL or
 * cache, with its own BAD_FILTER messages.
 */
export function isFilterObject(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}
const filter = v.custom<Filter>(() => true, 'a filter')

// ---- option objects

/** A strict object (valibot takes arrays for objects: checkKeys refuses them first). */
const obj = <E extends v.ObjectEntries>(entries: E) => v.strictObject(entries, 'an object')

const CodecSchema = v.variant(
  'kind',
  [
    obj({ kind: v.literal('flat') }),
    obj({ kind: v.literal('pq'), m: int(1, MAX_DIM), nbits: v.optional(int(1, 8)) }),
    obj({
      kind: v.picklist(['sq8', 'sq4']),
      clip: v.optional(
        v.pipe(v.number('a number in [0, 0.5)'), v.minValue(0, 'a number in [0, 0.5)'), v.ltValue(0.5, 'a number in [0, 0.5)')),
      ),
    }),
    obj({ kind: v.literal('fp16') }),
    obj({ kind: v.literal('rabitq'), nbits: v.optional(int(1, 9)) }),
  ],
  'a codec of kind "flat", "pq", "sq8", "sq4", "fp16" or "rabitq"',
)

const TransformSchema = v.variant('kind', [
  obj({ kind: v.literal('opq', '"opq"'), m: int(1, MAX_DIM), dOut: v.optional(int(1, MAX_DIM)) }),
  obj({ kind: v.literal('pad', '"pad"'), dOut: int(1, MAX_DIM) }),
])

const IvfSchema = obj({ nlist: int(1, MAX_NLIST), byResidual: v.optional(bool) })

const RefineSchema = v.variant(
  'kind',
  [obj({ kind: v.literal('flat'), narrow: v.optional(CodecSchema) }), obj({ kind: v.literal('codec'), codec: CodecSchema })],
  'a refine stage { kind: "flat", narrow? } or { kind: "codec", codec }',
)

const connectionEntries = {
  durability: v.optional(pick(['full', 'normal'])),
  busyTimeoutMs: v.optional(
    v.pipe(
      v.number(`a number from 0 to ${MAX_BUSY_TIMEOUT_MS}`),
      v.minValue(0, `a number from 0 to ${MAX_BUSY_TIMEOUT_MS}`),
      v.maxValue(MAX_BUSY_TIMEOUT_MS, `a number from 0 to ${MAX_BUSY_TIMEOUT_MS}`),
    ),
  ),
  kernels: v.optional(pick(['wasm', 'ts', 'reference'])),
  threads: v.optional(int(0, MAX_THREADS)),
}

/** Options of VqIndex.import (the connection options). */
export const ConnectionSchema = obj(connectionEntries)

/** Options of VqIndex.open. */
export const OpenSchema = obj({
  readonly: v.optional(bool, false),
  ids: v.optional(pick(['integer', 'string', 'any']), 'integer'),
  ...connectionEntries,
})

/** Options of VqIndex.import. */
export const ImportSchema = obj({ ids: v.optional(pick(['integer', 'string', 'any']), 'integer'), ...connectionEntries })

/** Options of VqIndex.create. */
export const CreateSchema = obj({
  dim: int(1, MAX_DIM),
  metric: v.optional(pick(['l2', 'ip', 'cosine']), 'l2'),
  description: v.optional(v.string('a string such as "IVF1024,PQ16"')),
  codec: v.optional(CodecSchema),
  transform: v.optional(TransformSchema),
  ivf: v.optional(IvfSchema),
  refine: v.optional(RefineSchema),
  storeVectors: v.optional(pick(['none', 'float32', 'float16']), 'none'),
  ids: v.optional(pick(['integer', 'string']), 'integer'),
  ...connectionEntries,
})

/** Options of train / retrain and the training options of add / upsert. */
export const TrainSchema = obj({
  seed: v.optional(v.pipe(v.number('a safe integer'), v.safeInteger('a safe integer'))),
  iterations: v.optional(int(1, MAX_ITERATIONS)),
  tolerance: v.optional(v.pipe(v.number('a finite number >= 0'), v.finite('a finite number >= 0'), v.minValue(0, 'a finite number >= 0'))),
  init: v.optional(pick(['kmeans++', 'random'])),
  maxPointsPerCentroid: v.optional(intOrInfinity(MAX_POINTS_PER_CENTROID)),
  onWarning: v.optional(fn<(w: VqWarning) => void>()),
  ivfIterations: v.optional(int(1, MAX_ITERATIONS)),
  ivfMaxPointsPerCentroid: v.optional(intOrInfinity(MAX_POINTS_PER_CENTROID)),
  opqIterations: v.optional(int(1, MAX_OPQ_ITERATIONS)),
  onProgress: v.optional(fn<(p: TrainProgress) => void>()),
  signal: v.optional(signal),
})

/** Options of add / upsert. */
export const AddSchema = obj({
  train: v.optional(v.union([bool, TrainSchema], 'true, false or training options')),
  signal: v.optional(signal),
  onProgress: v.optional(fn<(p: AddProgress) => void>()),
})

/** Options of delete. */
export const DeleteSchema = obj({ strict: v.optional(bool, false) })

const searchEntries = {
  nprobe: v.optional(int(1, Number.MAX_SAFE_INTEGER, 'a positive integer'), DEFAULT_NPROBE),
  refineFactor: v.optional(int(1, MAX_REFINE_FACTOR), 1),
  qb: v.optional(int(0, 8), DEFAULT_QB),
  errorBounds: v.optional(bool, true),
  exactFactor: v.optional(int(1, MAX_REFINE_FACTOR), DEFAULT_EXACT_FACTOR),
  filter: v.optional(filter),
  includeMetadata: v.optional(bool, false),
}

/** Options of search. */
export const SearchSchema = obj(searchEntries)

/** Options of searchBatch. */
export const BatchSearchSchema = obj({
  ...searchEntries,
  threads: v.optional(int(0, MAX_THREADS)),
  signal: v.optional(signal),
  onProgress: v.optional(fn<(p: BatchProgress) => void>()),
})

/** Options of export. */
export const ExportSchema = obj({ signal: v.optional(signal) })

/** Options of items(). */
export const ItemsSchema = obj({
  filter: v.optional(filter),
  batchSize: v.optional(int(1, MAX_ITEMS_BATCH), DEFAULT_ITEMS_BATCH),
  includeVectors: v.optional(bool, false),
})

/** Options of keywordSearch. */
export const KeywordSearchSchema = obj({ filter: v.optional(filter) })

// ---- parsing

/** The key names of an object schema (for the unknown-key check). */
export function keysOf(schema: { entries: Record<string, unknown> }): readonly string[] {
  return Object.keys(schema.entries)
}

type AnySchema = v.GenericSchema & {
  message?: string
  entries?: Record<string, AnySchema>
  wrapped?: AnySchema
  options?: AnySchema[]
  key?: string
}

function unwrap(s: AnySchema): AnySchema {
  let x = s
  while (x.wrapped) x = x.wrapped
  return x
}

/** The option of a union / variant that input belongs to (by discriminator, or the first object option). */
function optionFor(s: AnySchema, input: unknown): AnySchema | undefined {
  if (!s.options) return undefined
  if (s.type === 'variant' && isFilterObject(input)) {
    const value = (input as Record<string, unknown>)[s.key!]
    return s.options.find((o) => v.is(unwrap(o).entries![s.key!]!, value))
  }
  return s.options.find((o) => unwrap(o).entries !== undefined)
}

/** True when schema (or an option of it) is an object schema. */
function takesObject(schema: AnySchema): boolean {
  const s = unwrap(schema)
  return s.entries !== undefined || (s.options?.some(takesObject) ?? false)
}

/**
 * The unknown-key check of every strict object in the input (nested ones too: codec,
 * refine, add's train), with checkKnownKeys' messages ("unknown add train option ..."),
 * and the refusal of arrays where an object is expected (valibot's objects take them).
 */
function checkKeys(schema: AnySchema, input: unknown, what: string, path: string): void {
  if (!isFilterObject(input)) return
  let s = unwrap(schema)
  if (s.options) {
    const o = optionFor(s, input)
    if (!o) return
    s = unwrap(o)
  }
  if (s.type !== 'strict_object' || !s.entries) return
  checkKnownKeys(input as object, Object.keys(s.entries), what)
  for (const [key, entry] of Object.entries(s.entries)) {
    const value = (input as Record<string, unknown>)[key]
    const at = path === '' ? key : `${path}.${key}`
    if (Array.isArray(value) && takesObject(entry)) {
      throw new VqOptionError('BAD_OPTION', `${at} must be ${unwrap(entry).message ?? 'an object'}, got an array`)
    }
    if (isFilterObject(value)) checkKeys(entry, value, `${what} ${key}`, at)
  }
}

/** The most specific issue: into a union's sub-issues when one goes deeper than the union itself. */
function specific(issue: v.BaseIssue<unknown>): v.BaseIssue<unknown> {
  const depth = issue.path?.length ?? 0
  let best: v.BaseIssue<unknown> | undefined
  for (const sub of issue.issues ?? []) {
    const s = specific(sub)
    if ((s.path?.length ?? 0) > Math.max(depth, best?.path?.length ?? -1)) best = s
  }
  return best ?? issue
}

/** The expectation text of the field at path (for a missing required key, where valibot names only the key). */
function expectation(root: AnySchema, path: readonly v.IssuePathItem[]): string | undefined {
  let s: AnySchema | undefined = root
  for (const p of path) {
    if (!s) return undefined
    s = unwrap(s)
    if (s.options) s = optionFor(s, p.input)
    s = s ? unwrap(s).entries?.[p.key as string] : undefined
  }
  return s ? (unwrap(s) as { message?: unknown }).message?.toString() : undefined
}

/** Fields whose refusals have their own code: the description string and the filter (a filter that is not an object is a bad filter). */
const FIELD_CODES: Record<string, VqErrorCode> = { description: 'BAD_DESCRIPTION', filter: 'BAD_FILTER' }

/** The error of a failed parse: BAD_OPTION (or `code`) naming the option (its dotted path) and the value. */
function issueError(root: AnySchema, issues: readonly v.BaseIssue<unknown>[], name: string, code: VqErrorCode): Error {
  const issue = specific(issues[0]!)
  const path = issue.path ?? []
  const field = path.map((p) => String(p.key)).join('.')
  const label = field === '' ? name : name === '' ? field : `${name} ${field}`
  let expected = issue.message
  if (issue.type.endsWith('object') && path.length > 0 && issue.input === undefined) {
    expected = expectation(root, path) ?? 'given'
  }
  const fieldCode = FIELD_CODES[String(path[0]?.key)] ?? code
  const message = `${label} must be ${expected}, got ${show(issue.input)}`
  return code === 'BAD_K' || code === 'BAD_ARGUMENT' ? new VqInputError(fieldCode, message) : new VqOptionError(fieldCode, message)
}

/**
 * Parses an options argument with its schema: undefined -> the defaults; not a plain
 * object -> BAD_OPTION; unknown keys -> UNKNOWN_OPTION (`what` names the call in the
 * message); bad values -> BAD_OPTION. Returns the schema's output (defaults filled, only
 * known keys).
 */
export function parseOptions<S extends v.GenericSchema & { entries: Record<string, unknown> }>(
  schema: S,
  input: unknown,
  what: string,
): v.InferOutput<S> {
  const x = input === undefined ? {} : input
  if (!isFilterObject(x)) throw new VqOptionError('BAD_OPTION', `${what} options must be an object, got ${show(x)}`)
  checkKeys(schema as unknown as AnySchema, x, what, '')
  const r = v.safeParse(schema, x)
  if (!r.success) throw issueError(schema as unknown as AnySchema, r.issues, '', 'BAD_OPTION')
  return r.output
}

/** Checks one value with a schema: `name` names it in the message, `code` is the error code. */
export function parseValue<S extends v.GenericSchema>(schema: S, input: unknown, name: string, code: VqErrorCode): v.InferOutput<S> {
  const r = v.safeParse(schema, input)
  if (!r.success) throw issueError(schema as unknown as AnySchema, r.issues, name, code)
  return r.output
}

// ---- the documented interfaces (types.ts) and the schemas agree: checked by the compiler

/** true when A and B are the same type (mutually assignable, and identical for the compiler). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
/** true when A and B are mutually assignable (for function-valued fields, whose parameter types differ in name only). */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

function agree<_T extends true>(): void {}
agree<Mutual<v.InferInput<typeof CodecSchema>, CodecSpec>>()
agree<Mutual<v.InferInput<typeof TransformSchema>, TransformSpec>>()
agree<Same<v.InferInput<typeof IvfSchema>, IvfSpec>>()
agree<Mutual<v.InferInput<typeof RefineSchema>, RefineSpec>>()
agree<Same<v.InferInput<typeof ConnectionSchema>, ConnectionOptions>>()
agree<Same<v.InferInput<typeof OpenSchema>, OpenOptions>>()
agree<Same<v.InferInput<typeof ImportSchema>, ImportOptions>>()
agree<Mutual<v.InferInput<typeof CreateSchema>, CreateOptions>>()
agree<Mutual<v.InferInput<typeof TrainSchema>, TrainOptions>>()
agree<Mutual<v.InferInput<typeof AddSchema>, AddOptions>>()
agree<Same<v.InferInput<typeof DeleteSchema>, DeleteOptions>>()
agree<Same<v.InferInput<typeof SearchSchema>, SearchOptions>>()
agree<Mutual<v.InferInput<typeof BatchSearchSchema>, BatchSearchOptions>>()
agree<Same<v.InferInput<typeof ExportSchema>, ExportOptions>>()
agree<Same<v.InferInput<typeof ItemsSchema>, ItemsOptions>>()
