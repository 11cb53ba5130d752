/**
 * Ids at the door. An index keys its items with integer ids (non-negative safe integers,
 * used as they are) or string ids (ids: 'string'): non-empty strings of at most
 * MAX_KEY_LENGTH UTF-16 code units, without unpaired surrogates (they could not be stored as
 * UTF-8 text and read back the same). String ids are mapped to the integer ids every
 * in-memory structure uses through the file's key table (storage/keys.ts): reads look keys
 * up, writes assign and remove them inside their own transaction.
 */
import { VqInputError } from '../errors.js'
import { MAX_ID, MAX_KEY_LENGTH } from '../limits.js'
import type { IdKind } from '../types.js'
import { checkIds, describe, showValue } from '../validate.js'
import type { IndexState } from './state.js'

/** An unpaired UTF-16 surrogate. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Why a string cannot be a string id, or undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'is empty'
  if (key.length > MAX_KEY_LENGTH) return `is ${key.length} characters long; the limit is ${MAX_KEY_LENGTH} (MAX_KEY_LENGTH)`
  if (LONE_SURROGATE.test(key)) return 'holds an unpaired surrogate (not valid Unicode text)'
  return undefined
}

/** A string id for messages: quoted, cut at 60 characters. */
export function showKey(key: string): string {
  return JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}...` : key)
}

/** Checks n string ids (BAD_IDS; DUPLICATE_ID for a repeat). */
export function checkKeys(ids: unknown, n: number): string[] {
  if (ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<unknown>).length !== 'number') {
    throw new VqInputError('BAD_IDS', `ids must be an array of strings (this index has string ids), got ${describe(ids)}`)
  }
  const a = ids as ArrayLike<unknown>
  if (a.length !== n) throw new VqInputError('BAD_IDS', `got ${a.length} ids for ${n} vectors`)
  const out: string[] = new Array(n)
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const key = a[i]
    if (typeof key !== 'string') {
      throw new VqInputError('BAD_IDS', `id at position ${i} is ${showValue(key)}; this index has string ids (non-empty strings)`)
    }
    const why = keyProblem(key)
    if (why !== undefined) throw new VqInputError('BAD_IDS', `id at position ${i} ${why}`)
    if (seen.has(key))
      throw new VqInputError('DUPLICATE_ID', `id ${showKey(key)} appears more than once in the batch (first repeat at position ${i})`)
    seen.add(key)
    out[i] = key
  }
  return out
}

/** Checks a batch of ids of the index's kind: integer ids as a Float64Array, string ids as strings. */
export function checkIdsOf(kind: IdKind, ids: unknown, n: number): { ids: Float64Array; keys: string[] | undefined } {
  if (kind === 'string') return { ids: new Float64Array(n), keys: checkKeys(ids, n) }
  const a = ids as ArrayLike<unknown> | null
  if (a !== null && typeof a === 'object' && typeof a.length === 'number' && a.length > 0 && typeof a[0] === 'string') {
    throw new VqInputError(
      'BAD_IDS',
      `id at position 0 is ${showValue(a[0])}; this index has integer ids (from 0 to ${MAX_ID}); create it with ids: 'string' for string ids`,
    )
  }
  return { ids: checkIds(ids, n), keys: undefined }
}

/** The integer id of one id of the index's kind (checked: BAD_IDS), or -1 for a string id that is not stored. */
export function internalId(state: IndexState, id: unknown): number {
  if (state.idKind === 'string') return state.store.idsOfKeys(checkKeys([id], 1))[0]!
  return checkIdsOf('integer', [id], 1).ids[0]!
}

/** The user's ids of the first n integer ids: the same array for integer ids, their keys for string ids ('' for -1). */
export function publicIds(state: IndexState, ids: Float64Array, n = ids.length): Float64Array | string[] {
  if (state.idKind !== 'string') return ids
  return state.store.keysOf(ids, n)
}
