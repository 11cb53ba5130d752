/**
 * Checks at the API door. Every public method validates its arguments here before it
 * changes anything, so a rejected call leaves the index as it was. Inner code trusts
 * what passed.
 */
import { VqInputError, VqOptionError } from './errors.js'

/**
 * Checks that x holds whole vectors of dimension dim, all finite, and returns it as a
 * Float32Array (the same object when it already is one) with the vector count n.
 * `what` names the argument in messages ("query", "training vectors", ...).
 */
export function checkVectors(x: unknown, dim: number, what: string): { x: Float32Array; n: number } {
  let f: Float32Array
  if (x instanceof Float32Array) f = x
  else if (ArrayBuffer.isView(x) && !(x instanceof DataView)) f = Float32Array.from(x as unknown as ArrayLike<number>)
  else if (Array.isArray(x)) f = Float32Array.from(x as number[])
  else throw new VqInputError('BAD_VECTORS', `${what} must be a Float32Array (or an array of numbers), got ${describe(x)}`)
  if (f.length % dim !== 0) {
    throw new VqInputError(
      'DIMENSION_MISMATCH',
      `${what} has ${f.length} values, which is not a whole number of vectors of dimension ${dim}`,
    )
  }
  for (let i = 0; i < f.length; i++) {
    const v = f[i]!
    if (v - v !== 0) {
      throw new VqInputError(
        'NON_FINITE_VALUE',
        `${what}: value ${v} at vector ${Math.floor(i / dim)}, component ${i % dim}; vectors must be finite`,
      )
    }
  }
  return { x: f, n: f.length / dim }
}

/** Checks a single query vector of dimension dim. */
export function checkQuery(q: unknown, dim: number): Float32Array {
  const { x, n } = checkVectors(q, dim, 'query')
  if (n !== 1) throw new VqInputError('DIMENSION_MISMATCH', `query has ${x.length} values; expected one vector of dimension ${dim}`)
  return x
}

/** Largest id: ids are non-negative safe integers (SQLite INTEGER, exact in a float64). */
export const MAX_ID = Number.MAX_SAFE_INTEGER

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
      throw new VqInputError('BAD_IDS', `id at position ${i} is ${String(raw)}; ids must be integers from 0 to ${MAX_ID}`)
    }
    if (seen.has(v)) throw new VqInputError('DUPLICATE_ID', `id ${v} appears more than once in the batch (first repeat at position ${i})`)
    seen.add(v)
    out[i] = v
  }
  return out
}

/** Checks k, the number of results per query. */
export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1) {
    throw new VqInputError('BAD_K', `k must be a positive integer, got ${String(k)}`)
  }
  return k
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

function describe(x: unknown): string {
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'an array'
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'an object'
  return typeof x
}
