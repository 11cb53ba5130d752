/**
 * Expectations for refused calls: a VqError subclass whose code is one of the documented
 * VqErrorCode values (and one of the expected ones), whose message names the thing, and
 * (with `state`) an index left exactly as it was.
 */
import { expect } from 'vitest'
import { VqError, type VqErrorCode } from '../../../src/errors.js'
import type { VqIndex } from '../../../src/vq-index.js'

/** Every VqErrorCode (src/errors.ts), at run time. */
export const VQ_ERROR_CODES: readonly VqErrorCode[] = [
  'DIMENSION_MISMATCH',
  'NON_FINITE_VALUE',
  'VALUE_OUT_OF_RANGE',
  'ZERO_VECTOR',
  'BAD_VECTORS',
  'BAD_IDS',
  'DUPLICATE_ID',
  'ID_EXISTS',
  'BAD_K',
  'EMPTY_TRAINING_SET',
  'TOO_FEW_TRAINING_POINTS',
  'BAD_OPTION',
  'BAD_ARGUMENT',
  'UNKNOWN_OPTION',
  'BAD_DESCRIPTION',
  'NOT_TRAINED',
  'NOT_EMPTY',
  'CLOSED',
  'UNSUPPORTED',
  'UNKNOWN_ID',
  'BAD_METADATA',
  'BAD_FILTER',
  'NO_VECTORS',
  'READ_ONLY',
  'BAD_FILE',
  'TRUNCATED_FILE',
  'NOT_SQLITE',
  'FOREIGN_FILE',
  'NEWER_FORMAT',
  'CORRUPT_FILE',
  'FILE_EXISTS',
  'NOT_FOUND',
  'CANNOT_OPEN',
  'LOCKED',
  'IO_ERROR',
  'MISSING_DEPENDENCY',
  'WORKER_FAILED',
  'INTERNAL',
  'OUT_OF_MEMORY',
  'NETWORK',
  'NOT_DOWNLOADED',
]

/** What a refusal must look like. */
export interface Refusal {
  /** Allowed codes (one of them); default: any documented code except INTERNAL. */
  readonly codes?: readonly VqErrorCode[]
  /** The message must match this (it names the argument or option). */
  readonly names?: RegExp
}

/** Runs fn (sync or async) and returns what it threw, or a marker when it did not throw. */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn()
  } catch (e) {
    return e
  }
  return NOT_THROWN
}

export const NOT_THROWN = Symbol('did not throw')

function describeThrown(e: unknown): string {
  if (e === NOT_THROWN) return 'no error (the call succeeded)'
  if (e instanceof Error)
    return `${e.constructor.name}${(e as { code?: unknown }).code ? ` ${String((e as { code?: unknown }).code)}` : ''}: ${e.message.slice(0, 300)}`
  return `a thrown ${typeof e}: ${String(e)}`
}

/** Checks that e is a documented refusal; `what` names the case in failure messages. */
export function expectRefusalError(e: unknown, r: Refusal, what: string): void {
  const desc = describeThrown(e)
  expect(e instanceof VqError, `${what}: expected a VqError, got ${desc}`).toBe(true)
  const err = e as VqError
  expect(VQ_ERROR_CODES.includes(err.code), `${what}: code ${err.code} is a VqErrorCode`).toBe(true)
  expect(err.code, `${what}: INTERNAL is a bug, not a refusal (${desc})`).not.toBe('INTERNAL')
  if (r.codes) expect(r.codes.includes(err.code), `${what}: code ${err.code} in [${r.codes.join(', ')}] (${desc})`).toBe(true)
  if (r.names) expect(err.message, `${what}: the message names the thing`).toMatch(r.names)
}

/** Runs fn and expects a documented refusal. */
export async function expectRefused(fn: () => unknown, r: Refusal, what: string): Promise<void> {
  expectRefusalError(await caught(fn), r, what)
}

/** What must not change when a call is refused. */
export interface IndexState {
  readonly size: number
  readonly generation: unknown
  readonly maxId: number
  readonly probe: { ids: number[]; distances: number[] } | null
  readonly items: [number, boolean, unknown][]
}

/** The observable state of index: size, manifest generation, maxId, a probe search, has/get of `ids`. */
export function observe(index: VqIndex, ids: readonly number[]): IndexState {
  const probe = index.isTrained ? index.search(new Float32Array(index.dim).fill(0.25), 5) : null
  return {
    size: index.size,
    generation: index.manifest.generation,
    maxId: index.maxId(),
    probe: probe ? { ids: [...probe.ids], distances: [...probe.distances] } : null,
    items: ids.map((id) => {
      const it = index.get(id)
      return [id, index.has(id), it === undefined ? undefined : { metadata: it.metadata, vector: it.vector ? [...it.vector] : null }]
    }),
  }
}

/** Runs fn, expects a documented refusal and an unchanged index. */
export async function expectRefusedUnchanged(
  index: VqIndex,
  ids: readonly number[],
  fn: () => unknown,
  r: Refusal,
  what: string,
): Promise<void> {
  const before = observe(index, ids)
  await expectRefused(fn, r, what)
  expect(observe(index, ids), `${what}: the index is unchanged`).toEqual(before)
}
