/**
 * Compiles a structured metadata filter into a parameterised SQL condition over
 * `vq_codes c LEFT JOIN vq_metadata m`. Field paths become JSON paths bound as parameters
 * of json_extract(m.json, ?); operators come from a fixed table; values are bound. No user
 * value is ever spliced into the SQL text.
 */
import { VqInputError } from '../errors.js'
import type { FieldOperators, Filter, FilterValue } from '../types.js'

/** A compiled condition: SQL text with ? placeholders and the values to bind. */
export interface SqlCondition {
  readonly sql: string
  readonly params: unknown[]
}

/** A metadata field path: names (letters, digits, _ and -) separated by dots. */
export const FIELD = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/
const COMPARE: Record<string, string> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }
const OPERATORS = ['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists']

function bad(why: string): never {
  throw new VqInputError('BAD_FILTER', `invalid filter: ${why}`)
}

/** JSON-compatible binding: booleans as 1/0 (what json_extract returns for true/false). */
function bind(v: unknown, where: string): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0
  if (v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v
  return bad(
    `${where}: values must be strings, finite numbers, booleans or null, got ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
  )
}

function field(name: string, params: unknown[]): string {
  if (name === '$id') return 'c.id'
  if (!FIELD.test(name)) bad(`field "${name}" is not a path of identifiers such as "year" or "author.name"`)
  params.push(
    `$.${name
      .split('.')
      .map((s) => `"${s}"`)
      .join('.')}`,
  )
  return 'json_extract(m.json, ?)'
}

function condition(name: string, spec: FilterValue | FieldOperators, params: unknown[]): string {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    if (spec === null) return `${field(name, params)} IS NULL`
    const f = field(name, params)
    params.push(bind(spec, name))
    return `${f} = ?`
  }
  const parts: string[] = []
  for (const [op, v] of Object.entries(spec as Record<string, unknown>)) {
    if (v === undefined) continue
    if (!OPERATORS.includes(op)) bad(`unknown operator "${op}" on "${name}" (known: ${OPERATORS.join(', ')})`)
    if (op === '$exists') {
      if (typeof v !== 'boolean') bad(`$exists on "${name}" takes true or false`)
      parts.push(`${field(name, params)} IS ${v ? 'NOT ' : ''}NULL`)
    } else if (op === '$in' || op === '$nin') {
      if (!Array.isArray(v)) bad(`${op} on "${name}" takes an array`)
      if (v.length === 0) {
        parts.push(op === '$in' ? '0' : '1')
        continue
      }
      const f = field(name, params)
      for (const x of v) params.push(bind(x, name))
      const list = v.map(() => '?').join(', ')
      // A missing field (NULL) is "not in" any list: COALESCE turns NULL NOT IN (...) into true.
      parts.push(op === '$in' ? `${f} IN (${list})` : `COALESCE(${f} NOT IN (${list}), 1)`)
    } else if (op === '$eq' || op === '$ne') {
      const f = field(name, params)
      params.push(bind(v, name))
      parts.push(op === '$eq' ? `${f} IS ?` : `${f} IS NOT ?`)
    } else {
      if (typeof v !== 'number' && typeof v !== 'string') bad(`${op} on "${name}" takes a number or a string`)
      const f = field(name, params)
      params.push(bind(v, name))
      parts.push(`${f} ${COMPARE[op]} ?`)
    }
  }
  if (parts.length === 0) bad(`no condition on "${name}"`)
  return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`
}

function compile(filter: Filter, params: unknown[], depth: number): string {
  if (depth > 32) bad('nested more than 32 levels')
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) bad('a filter is an object such as { genre: "jazz" }')
  const parts: string[] = []
  for (const [key, v] of Object.entries(filter)) {
    if (v === undefined) continue
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(v) || v.length === 0) bad(`${key} takes a non-empty array of filters`)
      parts.push(`(${(v as Filter[]).map((f) => compile(f, params, depth + 1)).join(key === '$and' ? ' AND ' : ' OR ')})`)
    } else if (key === '$not') {
      // A comparison with a missing field is NULL (unknown); count it as false before negating,
      // so { $not: { genre: 'jazz' } } also matches items without a genre.
      parts.push(`NOT COALESCE(${compile(v as Filter, params, depth + 1)}, 0)`)
    } else if (key.startsWith('$') && key !== '$id') {
      bad(`unknown operator "${key}" at the top of a filter (known: $and, $or, $not, $id)`)
    } else {
      parts.push(condition(key, v as FilterValue | FieldOperators, params))
    }
  }
  if (parts.length === 0) return '1'
  return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`
}

/** Compiles a filter (throws VqInputError('BAD_FILTER') naming the problem). */
export function compileFilter(filter: Filter): SqlCondition {
  const params: unknown[] = []
  const sql = compile(filter, params, 0)
  return { sql, params }
}
