/**
 * Metadata filters: validation into a canonical form (checkFilter), then compilation of
 * that form into a parameterised SQL condition over `vq_codes c LEFT JOIN vq_metadata m`
 * (compileFilter). Field paths become JSON paths bound as parameters; operators come from
 * a fixed table; values are bound. No user value is ever spliced into the SQL text.
 *
 * Semantics (README, "Filters"): comparisons respect JSON types. Equality holds for the
 * same JSON type and value only (true only for true; 1 for 1 and 1.0, never for true or
 * "1"); `null` (or `$eq: null`) matches a missing field or a JSON null. `$gt`/`$gte`/
 * `$lt`/`$lte` compare a number with numbers and a string with strings (by code point);
 * any other field (missing, null, boolean, array, object, the other type) does not match.
 * `$prefix` (a string) matches a string field that starts with it.
 * `$in` is any of its values' equalities; `$ne`, `$nin` and `$not` are the exact negations
 * of `$eq`, `$in` and their filter, so they match missing fields. `$exists: true` is present
 * and not null. An array or object field is one value: it equals no scalar (no element
 * matching), so only `$exists`, `$ne`, `$nin` and `$not` can match it. `$id` is the item's
 * id: in an integer-id index only numbers match it, in a string-id index only strings (its
 * key in vq_keys; comparisons by code point). An item whose stored metadata is damaged (not valid
 * JSON) matches no filter that reads a metadata field.
 *
 * Limits (BAD_FILTER past them, checked before anything is compiled or cached):
 * MAX_FILTER_DEPTH levels of $and / $or / $not, MAX_FILTER_TERMS conditions (each field
 * test counts one, an $in / $nin list once, each $not one, and an $and / $or member
 * without conditions of its own, such as {}, one),
 * MAX_FILTER_SET values per $in / $nin list and MAX_FILTER_VALUES in all, field paths of at most MAX_NAME_LENGTH
 * characters. Within them the SQL never reaches SQLite's limits: at most 3 bound values
 * per condition (under SQLite's 32,766), a set is one bound JSON array read with
 * json_each, and $and / $or lists compile to balanced trees (depth log2 of their length).
 */
import Database from 'better-sqlite3'
import { VqError, VqInputError } from '../errors.js'
import { MAX_FILTER_DEPTH, MAX_FILTER_SET, MAX_FILTER_TERMS, MAX_NAME_LENGTH } from '../limits.js'
import type { Filter, FilterValue } from '../types.js'
import { storageError } from './error-mapping.js'

/** A compiled condition: SQL text with ? placeholders and the values to bind. */
export interface SqlCondition {
  readonly sql: string
  readonly params: unknown[]
}

/** A metadata field path: names (letters, digits, _ and -) separated by dots. */
export const FIELD = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/

/** A comparison operator of the canonical form. */
type Compare = '>' | '>=' | '<' | '<='

/** The canonical form of a filter: what it means, independent of how it was written. */
export type FilterNode =
  | { readonly t: 'all' }
  | { readonly t: 'and' | 'or'; readonly c: readonly FilterNode[] }
  | { readonly t: 'not'; readonly c: FilterNode }
  | { readonly t: 'eq'; readonly f: string; readonly v: FilterValue }
  | { readonly t: 'in'; readonly f: string; readonly v: readonly FilterValue[] }
  | { readonly t: 'cmp'; readonly f: string; readonly op: Compare; readonly v: number | string }
  | { readonly t: 'exists'; readonly f: string }
  | { readonly t: 'prefix'; readonly f: string; readonly v: string }

/** A validated filter: its canonical form and that form as a string (the cache key). */
export interface CheckedFilter {
  readonly node: FilterNode
  /** Canonical JSON text of node: equal keys mean the same filter. */
  readonly key: string
  /** True when the filter reads a metadata field (not only $id). */
  readonly readsMetadata: boolean
}

/** Most values in all the $in / $nin lists of one filter together (BAD_FILTER past it). */
export const MAX_FILTER_VALUES = 1_000_000

const COMPARE: Record<string, Compare> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }
const OPERATORS = ['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists', '$prefix']
const ALL: FilterNode = { t: 'all' }

function bad(why: string): never {
  throw new VqInputError('BAD_FILTER', `invalid filter: ${why}`)
}

/** A short, safe description of any value for a message (never throws). */
function describe(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)
    case 'bigint':
      return `the BigInt ${v}n`
    case 'function':
      return 'a function'
    case 'symbol':
      return 'a symbol'
    case 'undefined':
      return 'undefined'
    case 'object': {
      if (v === null) return 'null'
      if (Array.isArray(v)) return 'an array'
      const proto = Object.getPrototypeOf(v)
      if (proto === Object.prototype || proto === null) return 'an object'
      return `a ${(v as object).constructor?.name ?? 'non-plain object'}`
    }
    default:
      return String(v)
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** One walk over a filter: validates it and builds the canonical form. */
class FilterChecker {
  terms = 0
  values = 0
  readsMetadata = false
  readonly #stack: object[] = []

  term(): void {
    if (++this.terms > MAX_FILTER_TERMS) bad(`more than ${MAX_FILTER_TERMS} conditions (MAX_FILTER_TERMS)`)
  }

  /** Enters an object or array (cycle check); leave() leaves it. */
  enter(o: object, where: string): void {
    if (this.#stack.includes(o)) bad(`${where} refers to itself (a cycle)`)
    this.#stack.push(o)
  }

  leave(): void {
    this.#stack.pop()
  }

  keys(o: object, where: string): string[] {
    if (Object.getOwnPropertySymbols(o).length > 0) bad(`${where} has a symbol key; keys are field paths or operators`)
    const keys = Object.keys(o)
    if (keys.length > MAX_FILTER_TERMS) bad(`${where} has ${keys.length} keys, more than ${MAX_FILTER_TERMS} conditions (MAX_FILTER_TERMS)`)
    return keys
  }

  filter(f: unknown, depth: number, where: string): FilterNode {
    if (depth > MAX_FILTER_DEPTH) bad(`nested more than ${MAX_FILTER_DEPTH} levels of $and / $or / $not (MAX_FILTER_DEPTH)`)
    if (!isPlainObject(f)) bad(`${where} must be a plain object such as { genre: "jazz" }, got ${describe(f)}`)
    this.enter(f, where)
    const parts: FilterNode[] = []
    for (const key of this.keys(f, where)) {
      const v = f[key]
      if (v === undefined) continue
      if (key === '$and' || key === '$or') {
        parts.push(this.list(key, v, depth, where))
      } else if (key === '$not') {
        this.term()
        parts.push(negate(this.filter(v, depth + 1, `$not of ${where}`)))
      } else if (key === '$id') {
        parts.push(this.field('$id', v))
      } else if (key.startsWith('$')) {
        bad(`unknown operator "${key.slice(0, 40)}" at the top of a filter (known: $and, $or, $not, $id)`)
      } else {
        if (key.length > MAX_NAME_LENGTH) bad(`field path of ${key.length} characters; the limit is ${MAX_NAME_LENGTH} (MAX_NAME_LENGTH)`)
        if (!FIELD.test(key)) bad(`field "${key}" is not a path of identifiers such as "year" or "author.name"`)
        this.readsMetadata = true
        parts.push(this.field(key, v))
      }
    }
    this.leave()
    return join('and', parts)
  }

  list(op: '$and' | '$or', v: unknown, depth: number, where: string): FilterNode {
    if (!Array.isArray(v) || v.length === 0) bad(`${op} takes a non-empty array of filters, got ${describe(v)}`)
    if (v.length > MAX_FILTER_TERMS) bad(`${op} has ${v.length} members, more than ${MAX_FILTER_TERMS} conditions (MAX_FILTER_TERMS)`)
    this.enter(v, `${op} of ${where}`)
    const members: FilterNode[] = []
    for (let i = 0; i < v.length; i++) {
      const before = this.terms
      members.push(this.filter(v[i], depth + 1, `${op}[${i}]`))
      // A member without conditions ({}) still counts one, so every member costs a term.
      if (this.terms === before) this.term()
    }
    this.leave()
    return join(op === '$and' ? 'and' : 'or', members)
  }

  field(name: string, spec: unknown): FilterNode {
    if (!isPlainObject(spec)) {
      if (Array.isArray(spec)) bad(`"${name}": values must be strings, finite numbers, booleans or null, got an array (use $in)`)
      this.term()
      return { t: 'eq', f: name, v: value(spec, `"${name}"`) }
    }
    this.enter(spec, `"${name}"`)
    const parts: FilterNode[] = []
    for (const op of this.keys(spec, `"${name}"`)) {
      const v = spec[op]
      if (v === undefined) continue
      if (!OPERATORS.includes(op)) bad(`unknown operator "${op.slice(0, 40)}" on "${name}" (known: ${OPERATORS.join(', ')})`)
      this.term()
      const where = `${op} on "${name}"`
      if (op === '$exists') {
        if (typeof v !== 'boolean') bad(`${where} takes true or false, got ${describe(v)}`)
        const exists: FilterNode = { t: 'exists', f: name }
        parts.push(v ? exists : negate(exists))
      } else if (op === '$prefix') {
        if (typeof v !== 'string') bad(`${where} takes a string, got ${describe(v)}`)
        if (name === '$id') bad(`${where}: $prefix applies to metadata fields, not $id`)
        parts.push({ t: 'prefix', f: name, v })
      } else if (op === '$in' || op === '$nin') {
        if (!Array.isArray(v)) bad(`${where} takes an array, got ${describe(v)}`)
        if (v.length > MAX_FILTER_SET) bad(`${where} has ${v.length} values; the limit is ${MAX_FILTER_SET} (MAX_FILTER_SET)`)
        this.values += v.length
        if (this.values > MAX_FILTER_VALUES) bad(`more than ${MAX_FILTER_VALUES} $in / $nin values in all (MAX_FILTER_VALUES)`)
        const set = new Array<FilterValue>(v.length)
        for (let i = 0; i < v.length; i++) {
          const x = v[i]
          // The common cases inline (the message of value() is built only for the others).
          set[i] =
            x === null || typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x) && x !== 0)
              ? x
              : value(x, `${where} [${i}]`)
        }
        const node: FilterNode = set.length === 1 ? { t: 'eq', f: name, v: set[0]! } : { t: 'in', f: name, v: set }
        parts.push(op === '$in' ? node : negate(node))
      } else if (op === '$eq' || op === '$ne') {
        const node: FilterNode = { t: 'eq', f: name, v: value(v, where) }
        parts.push(op === '$eq' ? node : negate(node))
      } else {
        if (typeof v !== 'string' && typeof v !== 'number') bad(`${where} takes a number or a string, got ${describe(v)}`)
        parts.push({ t: 'cmp', f: name, op: COMPARE[op]!, v: value(v, where) as number | string })
      }
    }
    this.leave()
    if (parts.length === 0) bad(`no condition on "${name}"`)
    return join('and', parts)
  }
}

/** A filter value: a string, a finite number (-0 read as 0), a boolean or null. */
function value(v: unknown, where: string): FilterValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) bad(`${where}: ${v} is not a finite number`)
    return v === 0 ? 0 : v
  }
  return bad(`${where}: values must be strings, finite numbers, booleans or null, got ${describe(v)}`)
}

function negate(n: FilterNode): FilterNode {
  return n.t === 'not' ? n.c : { t: 'not', c: n }
}

/** And / or of members, flattened (nested lists of the same kind merge; `all` drops out of an and). */
function join(t: 'and' | 'or', members: readonly FilterNode[]): FilterNode {
  const flat: FilterNode[] = []
  for (const m of members) {
    if (m.t === t) flat.push(...(m as { c: readonly FilterNode[] }).c)
    else if (m.t === 'all' && t === 'and') continue
    else flat.push(m)
  }
  if (t === 'or' && flat.some((m) => m.t === 'all')) return ALL
  const grouped = group(t, flat)
  if (grouped.length === 0) return ALL
  return grouped.length === 1 ? grouped[0]! : { t, c: grouped }
}

/**
 * Merges the equality tests of one field into one set: in an or, `f = a OR f = b OR f IN
 * (c)` is `f IN (a, b, c)`; in an and, the negated ones (`$ne`, `$nin`) likewise. One set
 * per field costs one lookup per item where the tests would cost one each.
 */
function group(t: 'and' | 'or', members: FilterNode[]): FilterNode[] {
  const test = (m: FilterNode): FilterNode | null => {
    const x = t === 'or' ? m : m.t === 'not' ? m.c : null
    return x !== null && (x.t === 'eq' || x.t === 'in') ? x : null
  }
  const tests = new Map<string, number>()
  for (const m of members) {
    const x = test(m) as { f: string } | null
    if (x !== null) tests.set(x.f, (tests.get(x.f) ?? 0) + 1)
  }
  if (![...tests.values()].some((c) => c > 1)) return members
  // A Set keeps 1, '1' and true apart (SameValueZero), as the semantics do.
  const sets = new Map<string, { at: number; values: Set<FilterValue> }>()
  const out: (FilterNode | null)[] = []
  for (const m of members) {
    const x = test(m) as { t: 'eq' | 'in'; f: string; v: FilterValue | readonly FilterValue[] } | null
    if (x === null || tests.get(x.f)! < 2) {
      out.push(m)
      continue
    }
    let set = sets.get(x.f)
    if (set === undefined) {
      set = { at: out.length, values: new Set() }
      sets.set(x.f, set)
      out.push(null)
    }
    if (x.t === 'eq') set.values.add(x.v as FilterValue)
    else for (const v of x.v as readonly FilterValue[]) set.values.add(v)
  }
  for (const [f, set] of sets) {
    const values = [...set.values]
    const node: FilterNode = values.length === 1 ? { t: 'eq', f, v: values[0]! } : { t: 'in', f, v: values }
    out[set.at] = t === 'or' ? node : negate(node)
  }
  return out as FilterNode[]
}

/**
 * Validates a filter and returns its canonical form (throws VqInputError('BAD_FILTER')
 * naming the problem and the limit). One walk, at most MAX_FILTER_DEPTH deep.
 */
export function checkFilter(filter: unknown): CheckedFilter {
  const checker = new FilterChecker()
  let node: FilterNode
  try {
    node = checker.filter(filter, 1, 'the filter')
  } catch (e) {
    if (e instanceof VqError) throw e
    // A getter or proxy that throws while the filter is read.
    throw new VqInputError('BAD_FILTER', `invalid filter: it could not be read (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    })
  }
  const out = Object.create(CHECKED) as { node: FilterNode; key: string; readsMetadata: boolean }
  out.node = node
  out.key = JSON.stringify(node)
  out.readsMetadata = checker.readsMetadata
  return out
}

/** The prototype of checked filters (a raw filter cannot be mistaken for one: its prototype is Object.prototype or null). */
const CHECKED = {}

/** The JSON path of a field path ("author.name" -> $."author"."name"). */
function jsonPath(name: string): string {
  return `$.${name
    .split('.')
    .map((s) => `"${s}"`)
    .join('.')}`
}

/** SQL of a node (0/1, never NULL, so NOT is exact); binds at most 3 values per condition. */
function sqlOf(n: FilterNode, params: unknown[], keys: boolean): string {
  switch (n.t) {
    case 'all':
      return '1'
    case 'not':
      return `NOT ${sqlOf(n.c, params, keys)}`
    case 'and':
    case 'or':
      return balanced(n.c, n.t === 'and' ? ' AND ' : ' OR ', params, keys)
    default:
      return n.f === '$id' ? idTest(n, params, keys) : fieldTest(n, params)
  }
}

/** a OP b OP c ... as a balanced tree of parentheses (depth log2 of the count). */
function balanced(c: readonly FilterNode[], op: string, params: unknown[], keys: boolean, from = 0, to = c.length): string {
  if (to - from === 1) return sqlOf(c[from]!, params, keys)
  const mid = (from + to) >>> 1
  const left = balanced(c, op, params, keys, from, mid)
  return `(${left}${op}${balanced(c, op, params, keys, mid, to)})`
}

const TYPE = 'json_type(m.json, ?)'
const VALUE = 'json_extract(m.json, ?)'
/**
 * A bound value as a comparison operand. SQLite factors every constant operand (a bare ?)
 * out of the expression and checks each against all factored so far, which makes preparing
 * n comparisons take n^2 time; an operand that names a column is not constant. The value is
 * never NULL, so coalesce returns it.
 */
const BOUND = 'coalesce(?, m.json)'

function fieldTest(n: Exclude<FilterNode, { t: 'all' | 'and' | 'or' | 'not' }>, params: unknown[]): string {
  const path = jsonPath(n.f)
  switch (n.t) {
    case 'prefix':
      // a string field starting with the prefix: its first length(prefix) characters equal it
      params.push(path, path, n.v, n.v)
      return `iif(${TYPE} IS 'text', substr(${VALUE}, 1, length(${BOUND})) = ${BOUND}, 0)`
    case 'exists':
      params.push(path)
      return `(COALESCE(${TYPE}, 'null') <> 'null')`
    case 'eq':
    case 'cmp': {
      const v = n.v
      const op = n.t === 'eq' ? '=' : n.op
      if (v === null) {
        params.push(path)
        return `(COALESCE(${TYPE}, 'null') = 'null')`
      }
      if (typeof v === 'boolean') {
        params.push(path)
        return `(${TYPE} IS '${v}')`
      }
      params.push(path, path, v)
      const types = typeof v === 'number' ? "IN ('integer', 'real')" : "IS 'text'"
      return `iif(${TYPE} ${types}, ${VALUE} ${op} ${BOUND}, 0)`
    }
    case 'in': {
      const has = (x: FilterValue): string => (n.v.includes(x) ? '1' : '0')
      const scalars = n.v.filter((x) => typeof x === 'number' || typeof x === 'string')
      params.push(path)
      let other = '0'
      if (scalars.length > 0) {
        params.push(path, JSON.stringify(scalars))
        other = `${VALUE} IN (SELECT value FROM json_each(?))`
      }
      return `(CASE COALESCE(${TYPE}, 'null') WHEN 'true' THEN ${has(true)} WHEN 'false' THEN ${has(false)} WHEN 'null' THEN ${has(null)} WHEN 'array' THEN 0 WHEN 'object' THEN 0 ELSE ${other} END)`
    }
  }
}

/** The key of the item c (string ids), never NULL in a sound file. */
const KEY = "coalesce((SELECT k.key FROM vq_keys k WHERE k.id = c.id), '')"

/**
 * Tests of the item's id: with integer ids (keys false) the column c.id, which only numbers
 * match ($id: '3' never matches id 3); with string ids its key, which only strings match
 * ($id: 3 never matches the key '3').
 */
function idTest(n: Exclude<FilterNode, { t: 'all' | 'and' | 'or' | 'not' }>, params: unknown[], keys: boolean): string {
  const column = keys ? KEY : 'c.id'
  const kind = keys ? 'string' : 'number'
  switch (n.t) {
    case 'prefix':
      return '0'
    case 'exists':
      return '1'
    case 'eq':
    case 'cmp':
      if (typeof n.v !== kind) return '0'
      params.push(n.v)
      return `(${column} ${n.t === 'eq' ? '=' : n.op} coalesce(?, c.id))`
    case 'in': {
      const values = n.v.filter((x) => typeof x === kind)
      if (values.length === 0) return '0'
      params.push(JSON.stringify(values))
      return `(${column} IN (SELECT value FROM json_each(?)))`
    }
  }
}

/**
 * Compiles a filter (a raw filter is checked first: BAD_FILTER naming the problem). When
 * the filter reads metadata, an item whose stored JSON is damaged matches nothing, and
 * SQLite never parses that JSON in a way that fails. `ids`: the index's kind of ids, which
 * `$id` tests.
 */
export function compileFilter(filter: Filter | CheckedFilter, ids: 'integer' | 'string' = 'integer'): SqlCondition {
  const checked = isChecked(filter) ? filter : checkFilter(filter)
  const params: unknown[] = []
  const cond = sqlOf(checked.node, params, ids === 'string')
  const sql = checked.readsMetadata
    ? `(CASE WHEN m.json IS NULL OR (typeof(m.json) = 'text' AND json_valid(m.json)) THEN ${cond} ELSE 0 END)`
    : cond
  return { sql, params }
}

/** True for the result of checkFilter. */
export function isChecked(f: unknown): f is CheckedFilter {
  return f !== null && typeof f === 'object' && Object.getPrototypeOf(f) === CHECKED
}

/**
 * Runs a query that evaluates a compiled filter: a SqliteError becomes a typed error
 * (BAD_FILTER when SQLite found the filter too large, else the storage error of `path`).
 */
export function evaluating<T>(path: string, doing: string, run: () => T): T {
  try {
    return run()
  } catch (e) {
    if (e instanceof VqError || !(e instanceof Database.SqliteError)) throw e
    if (e.code === 'SQLITE_TOOBIG' || /too many|too large|too big|stack overflow|too complex/i.test(e.message)) {
      throw new VqInputError('BAD_FILTER', `invalid filter: too large for SQLite (${e.message})`, { cause: e })
    }
    throw storageError(e, path, doing)
  }
}
