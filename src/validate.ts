/**
 * Checks at the API door. Every public method validates its arguments here before it
 * changes anything, so a rejected call leaves the index as it was. Inner code trusts
 * what passed.
 */
import { VqInputError, VqOptionError } from './errors.js'
import { MAX_ID as LIMIT_MAX_ID, MAX_BATCH_RESULTS, MAX_FIND_LIMIT, MAX_FLOAT16, MAX_K, MAX_SQUARED_NORM } from './limits.js'
import type { TrainedModel } from './types.js'

/**
 * Checks that x holds whole vectors of dimension dim, all finite, each of squared L2 norm
 * at most MAX_SQUARED_NORM (so that every distance stays finite in float32), and with
 * `half` (where the vectors are kept as IEEE half floats) every component within
 * +-MAX_FLOAT16; returns x as a Float32Array (the same object when it already is one) with
 * the vector count n. `what` names the argument in messages ("query", "training vectors", ...).
 */
export function checkVectors(x: unknown, dim: number, what: string, half = false): { x: Float32Array; n: number } {
  let f: Float32Array
  if (x instanceof Float32Array) f = x
  else if (x instanceof BigInt64Array || x instanceof BigUint64Array) {
    throw new VqInputError('BAD_VECTORS', `${what} must hold numbers, got a ${x.constructor.name}`)
  } else if (ArrayBuffer.isView(x) && !(x instanceof DataView)) f = Float32Array.from(x as unknown as ArrayLike<number>)
  else if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      if (typeof x[i] !== 'number') {
        throw new VqInputError('BAD_VECTORS', `${what}: the value at position ${i} is ${describe(x[i])}, not a number`)
      }
    }
    f = Float32Array.from(x as number[])
  } else throw new VqInputError('BAD_VECTORS', `${what} must be a Float32Array (or an array of numbers), got ${describe(x)}`)
  if (f.length % dim !== 0) {
    throw new VqInputError(
      'DIMENSION_MISMATCH',
      `${what} has ${f.length} values, which is not a whole number of vectors of dimension ${dim}`,
    )
  }
  const n = f.length / dim
  for (let i = 0, off = 0; i < n; i++, off += dim) {
    // The common case in one tight loop: a non-finite value makes the norm NaN or Infinity,
    // which fails the test; only a vector that fails it is checked value by value below,
    // which names the first problem in the same order as ever.
    let sq = 0
    let peak = 0
    if (half) {
      for (let j = off; j < off + dim; j++) {
        const v = f[j]!
        sq += v * v
        peak = Math.max(peak, Math.abs(v))
      }
    } else {
      for (let j = off; j < off + dim; j++) {
        const v = f[j]!
        sq += v * v
      }
    }
    if (sq <= MAX_SQUARED_NORM && !(peak > MAX_FLOAT16)) continue
    let norm = 0
    for (let j = off; j < off + dim; j++) {
      const v = f[j]!
      if (v - v !== 0) {
        throw new VqInputError('NON_FINITE_VALUE', `${what}: value ${v} at vector ${i}, component ${j - off}; vectors must be finite`)
      }
      norm += v * v
      if (half && (v > MAX_FLOAT16 || v < -MAX_FLOAT16)) {
        throw new VqInputError(
          'VALUE_OUT_OF_RANGE',
          `${what}: value ${v} at vector ${i}, component ${j - off} is beyond the half-float range +-${MAX_FLOAT16} this index keeps vectors in`,
        )
      }
    }
    if (norm > MAX_SQUARED_NORM) {
      throw new VqInputError(
        'VALUE_OUT_OF_RANGE',
        `${what}: vector ${i} has squared norm ${norm.toExponential(3)}, above the limit ${MAX_SQUARED_NORM} (distances would overflow)`,
      )
    }
  }
  return { x: f, n }
}

/** Checks a single query vector of dimension dim. */
export function checkQuery(q: unknown, dim: number): Float32Array {
  // The common case, a Float32Array of one finite vector within the norm limit, checked in
  // place (no result object per query); anything else, and every error, by checkVectors.
  if (q instanceof Float32Array && q.length === dim && dim > 0) {
    let norm = 0
    for (let j = 0; j < dim; j++) {
      const v = q[j]!
      norm += v * v
    }
    // A non-finite value makes norm NaN or Infinity: both fail this test.
    if (norm <= MAX_SQUARED_NORM) return q
  }
  const { x, n } = checkVectors(q, dim, 'query')
  if (n !== 1) throw new VqInputError('DIMENSION_MISMATCH', `query has ${x.length} values; expected one vector of dimension ${dim}`)
  return x
}

/** Largest id: ids are non-negative safe integers (SQLite INTEGER, exact in a float64). */
export const MAX_ID = LIMIT_MAX_ID

/**
 * Checks n ids: each a non-negative safe integer, no duplicates within the batch.
 * Returns them as a Float64Array.
 */
export function checkIds(ids: unknown, n: number): Float64Array {
  if (ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<number>).length !== 'number') {
    throw new VqInputError('BAD_IDS', `ids must be an array of integers, got ${describe(ids)}`)
  }
  const a = ids as ArrayLike<number | bigint>
  if (a.length !== n) throw new VqInputError('BAD_IDS', `got ${a.length} ids for ${n} vectors`)
  const out = new Float64Array(n)
  const seen = new Set<number>()
  for (let i = 0; i < n; i++) {
    const raw = a[i]
    const v = typeof raw === 'bigint' ? Number(raw) : raw
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || (typeof raw === 'bigint' && BigInt(v) !== raw)) {
      throw new VqInputError('BAD_IDS', `id at position ${i} is ${showValue(raw)}; ids must be integers from 0 to ${MAX_ID}`)
    }
    if (seen.has(v)) throw new VqInputError('DUPLICATE_ID', `id ${v} appears more than once in the batch (first repeat at position ${i})`)
    seen.add(v)
    out[i] = v
  }
  return out
}

/** Checks k, the number of results per query: an integer from 1 to MAX_K (BAD_K). */
export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw new VqInputError('BAD_K', `k must be an integer from 1 to ${MAX_K}, got ${showValue(k)}`)
  }
  return k
}

/** Checks the result count nq * k of one searchBatch: at most MAX_BATCH_RESULTS (BAD_K). */
export function checkBatchResults(nq: number, k: number): void {
  if (nq * k > MAX_BATCH_RESULTS) {
    throw new VqInputError(
      'BAD_K',
      `searchBatch of ${nq} queries with k = ${k} asks for ${nq * k} results, above the limit ${MAX_BATCH_RESULTS}; split the batch`,
    )
  }
}

/** Checks find()'s limit: an integer from 1 to MAX_FIND_LIMIT (BAD_OPTION). */
export function checkFindLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_FIND_LIMIT) {
    throw new VqOptionError('BAD_OPTION', `find limit must be an integer from 1 to ${MAX_FIND_LIMIT}, got ${showValue(limit)}`)
  }
  return limit
}

/** Checks one id (as get, has, reconstruct take it) and returns it as a number (BAD_IDS). */
export function checkId(id: unknown): number {
  return checkIds([id], 1)[0]!
}

/**
 * Rejects keys of an options object that are not in `known`, suggesting the nearest
 * known key for likely misspellings.
 */
export function checkKnownKeys(options: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase() || editDistance(k, key) <= 2)
    throw new VqOptionError(
      'UNKNOWN_OPTION',
      `unknown ${what} option "${key}"${near ? `; did you mean "${near}"?` : `; known options: ${known.join(', ')}`}`,
    )
  }
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!
    dp[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return dp[b.length]!
}

/** A value as a message shows it: strings quoted, BigInt with n, objects by kind. */
export function showValue(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x)
  if (typeof x === 'bigint') return `${x}n`
  if (typeof x === 'function') return 'a function'
  if (typeof x === 'symbol') return String(x)
  if (x !== null && typeof x === 'object') return describe(x)
  return String(x)
}

/** What kind of value x is, for messages. */
export function describe(x: unknown): string {
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'an array'
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'an object'
  return typeof x
}

/** Checks a TrainedModel given to createFromModel (BAD_ARGUMENT naming the field); the arrays' fit is checked when loaded. */
export function checkTrainedModel(model: unknown): TrainedModel {
  const m = model as Record<string, unknown> | null
  const bad = (why: string): never => {
    throw new VqInputError('BAD_ARGUMENT', `createFromModel(): ${why}`)
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    return bad(`the model must be an object from exportModel(), got ${showValue(model)}`)
  if (typeof m['dim'] !== 'number') bad(`dim must be a number, got ${showValue(m['dim'])}`)
  if (typeof m['description'] !== 'string') bad(`description must be a string, got ${showValue(m['description'])}`)
  for (const k of ['metric', 'storeVectors', 'ids']) if (typeof m[k] !== 'string') bad(`${k} must be a string, got ${showValue(m[k])}`)
  const arrays = m['arrays'] as Record<string, unknown> | null
  if (typeof arrays !== 'object' || arrays === null || Array.isArray(arrays))
    return bad('arrays must be an object of { shape, data } entries')
  for (const [name, a] of Object.entries(arrays)) {
    const e = a as { shape?: unknown; data?: unknown } | null
    if (typeof e !== 'object' || e === null || !(e.data instanceof Float32Array) || !Array.isArray(e.shape)) {
      bad(`array "${name}" must be { shape: number[], data: Float32Array }`)
    }
    const { shape, data } = e as { shape: unknown[]; data: Float32Array }
    const size = shape.reduce<number>((p, v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? p * v : Number.NaN), 1)
    if (size !== data.length) bad(`array "${name}" has shape [${shape.join(', ')}] but ${data.length} values`)
  }
  const t = m['training']
  if (t !== null && t !== undefined && (typeof t !== 'object' || Array.isArray(t))) bad('training must be an object or null')
  return m as unknown as TrainedModel
}
