/**
 * What item metadata may be, checked where it enters (add, upsert, import) and where it is
 * read back from a file. Metadata is plain JSON: null, booleans, finite numbers, strings,
 * arrays and plain objects, nested at most MAX_METADATA_DEPTH deep, at most
 * MAX_METADATA_BYTES of UTF-8 JSON text. Refused (BAD_METADATA, naming the position and
 * the path inside the value): NaN and ±Infinity (JSON.stringify would silently store null),
 * BigInt, functions, symbols, cycles, and objects that are not plain (Map, Set, class
 * instances; a Date is refused too, rather than silently read back as a string).
 * Object properties whose value is undefined are dropped, as JSON.stringify does.
 */
import { VqFormatError, VqInputError } from './errors.js'
import { MAX_METADATA_BYTES, MAX_METADATA_DEPTH } from './limits.js'
import type { Metadata } from './types.js'

/** Checks metadata (absent, or n values) and returns the JSON text of each (null for none). */
export function checkMetadata(metadata: readonly Metadata[] | undefined, n: number): (string | null)[] | undefined {
  if (metadata === undefined) return undefined
  if (!Array.isArray(metadata)) throw new VqInputError('BAD_METADATA', 'metadata must be an array with one entry per vector')
  if (metadata.length !== n) throw new VqInputError('BAD_METADATA', `got ${metadata.length} metadata entries for ${n} vectors`)
  const out = new Array<string | null>(n)
  for (let i = 0; i < n; i++) {
    const m = metadata[i]
    if (m === null || m === undefined) {
      out[i] = null
      continue
    }
    checkValue(m, i, '', 0, [])
    const s = JSON.stringify(m)
    if (Buffer.byteLength(s, 'utf8') > MAX_METADATA_BYTES) {
      throw new VqInputError(
        'BAD_METADATA',
        `metadata at position ${i} is ${Buffer.byteLength(s, 'utf8')} bytes of JSON; the limit is ${MAX_METADATA_BYTES}`,
      )
    }
    out[i] = s
  }
  return out
}

function checkValue(v: unknown, i: number, path: string, depth: number, stack: object[]): void {
  const where = (): string => `metadata at position ${i}${path === '' ? '' : ` (at ${path})`}`
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(v)) throw new VqInputError('BAD_METADATA', `${where()} is ${v}; JSON numbers must be finite`)
      return
    case 'object': {
      if (v === null) return
      if (depth >= MAX_METADATA_DEPTH) {
        throw new VqInputError('BAD_METADATA', `${where()} is nested deeper than ${MAX_METADATA_DEPTH} levels`)
      }
      if (stack.includes(v)) throw new VqInputError('BAD_METADATA', `${where()} refers to itself (a cycle cannot be stored as JSON)`)
      stack.push(v)
      if (Array.isArray(v)) {
        for (let j = 0; j < v.length; j++) checkValue(v[j] === undefined ? null : v[j], i, `${path}[${j}]`, depth + 1, stack)
      } else {
        const proto = Object.getPrototypeOf(v)
        if (proto !== Object.prototype && proto !== null) {
          const name = (v as object).constructor?.name ?? 'object'
          throw new VqInputError('BAD_METADATA', `${where()} is a ${name}; metadata must be plain JSON (objects, arrays, strings, numbers)`)
        }
        for (const [key, value] of Object.entries(v)) {
          if (value !== undefined) checkValue(value, i, path === '' ? key : `${path}.${key}`, depth + 1, stack)
        }
      }
      stack.pop()
      return
    }
    case 'undefined':
      return
    default:
      throw new VqInputError('BAD_METADATA', `${where()} is a ${typeof v}, which JSON cannot hold`)
  }
}

/**
 * Checks metadata JSON text read from a file or snapshot (`where` names it, e.g. "item 42
 * of snap.vqs"): valid JSON within the size and depth limits. Throws
 * VqFormatError('CORRUPT_FILE'); returns the text unchanged.
 */
export function checkStoredMetadata(text: unknown, where: string): string | null {
  if (text === null || text === undefined) return null
  if (typeof text !== 'string') throw new VqFormatError('CORRUPT_FILE', `${where}: metadata is a ${typeof text}, not JSON text`)
  if (Buffer.byteLength(text, 'utf8') > MAX_METADATA_BYTES) {
    throw new VqFormatError('CORRUPT_FILE', `${where}: metadata of ${Buffer.byteLength(text, 'utf8')} bytes exceeds ${MAX_METADATA_BYTES}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new VqFormatError('CORRUPT_FILE', `${where}: metadata is not valid JSON`)
  }
  if (jsonDepth(value) > MAX_METADATA_DEPTH) {
    throw new VqFormatError('CORRUPT_FILE', `${where}: metadata is nested deeper than ${MAX_METADATA_DEPTH} levels`)
  }
  return text
}

/** Nesting depth of a parsed JSON value (0 for a scalar), without recursion. */
function jsonDepth(value: unknown): number {
  let worst = 0
  const todo: [unknown, number][] = [[value, 0]]
  while (todo.length > 0) {
    const [v, d] = todo.pop()!
    if (v === null || typeof v !== 'object') continue
    if (d + 1 > worst) worst = d + 1
    for (const c of Array.isArray(v) ? v : Object.values(v)) if (c !== null && typeof c === 'object') todo.push([c, d + 1])
  }
  return worst
}
