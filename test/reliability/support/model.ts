/**
 * The simple in-memory model the API corpus checks the index against: a map of items
 * (vector as added, metadata as JSON would read it back), an exact brute-force search in
 * float64 for l2 / ip / cosine, and the typed filter semantics of issue 14, with three
 * answers (true, false, or undefined where the documented contract leaves the result
 * open: $ne / $nin on a missing field, equality with null on a missing field, ...).
 */
import { expect } from 'vitest'
import type { Filter, Metric, SearchResult } from '../../../src/types.js'

export interface ModelItem {
  readonly vector: Float32Array
  /** The metadata as the index must give it back (JSON round trip), or null. */
  readonly metadata: unknown
}

/** What the JSON text of the metadata reads back as (undefined properties dropped). */
export function jsonCopy(m: unknown): unknown {
  if (m === undefined || m === null) return null
  return JSON.parse(JSON.stringify(m)) as unknown
}

export class Model {
  readonly items = new Map<number, ModelItem>()
  /** Every id an operation mentioned (checked with has/get after each step). */
  readonly touched = new Set<number>()
  readonly properties = new Map<string, unknown>()

  constructor(
    readonly dim: number,
    readonly metric: Metric,
  ) {}

  clone(): Model {
    const m = new Model(this.dim, this.metric)
    for (const [k, v] of this.items) m.items.set(k, v)
    for (const t of this.touched) m.touched.add(t)
    for (const [k, v] of this.properties) m.properties.set(k, v)
    return m
  }

  maxId(): number {
    let best = -1
    for (const id of this.items.keys()) if (id > best) best = id
    return best
  }

  /** The model's distance between a query and an item vector, in float64 on the float32 values. */
  distance(q: Float32Array, x: Float32Array): number {
    let dot = 0
    let l2 = 0
    let nq = 0
    let nx = 0
    for (let i = 0; i < q.length; i++) {
      const a = q[i]!
      const b = x[i]!
      dot += a * b
      l2 += (a - b) * (a - b)
      nq += a * a
      nx += b * b
    }
    if (this.metric === 'l2') return l2
    if (this.metric === 'ip') return -dot
    return 1 - dot / Math.sqrt(nq * nx)
  }

  /** Ids whose filter result is definitely true / false / open (undefined) for `filter`. */
  classify(filter: Filter | undefined): { yes: Set<number>; no: Set<number>; open: Set<number> } {
    const yes = new Set<number>()
    const no = new Set<number>()
    const open = new Set<number>()
    for (const [id, item] of this.items) {
      const r = filter === undefined ? true : evalFilter(filter, id, item.metadata)
      ;(r === true ? yes : r === false ? no : open).add(id)
    }
    return { yes, no, open }
  }
}

/** A scale for tolerances: the largest absolute distance among the candidates. */
function scaleOf(ds: number[]): number {
  let s = 1
  for (const d of ds) if (Number.isFinite(d)) s = Math.max(s, Math.abs(d))
  return s
}

/**
 * Checks a search result against brute force over the allowed ids: exactly min(k, allowed)
 * distinct allowed ids, then -1 / Infinity padding; ascending distances; each distance the
 * model's distance of that id; and no allowed id left out that is nearer than the last one
 * returned (ties at the boundary may go either way).
 */
export function expectExactResult(model: Model, q: Float32Array, k: number, allowed: Set<number>, r: SearchResult, what: string): void {
  expect(r.ids.length, `${what}: ids length`).toBe(k)
  expect(r.distances.length, `${what}: distances length`).toBe(k)
  const all = [...allowed].map((id) => ({ id, d: model.distance(q, model.items.get(id)!.vector) }))
  all.sort((a, b) => a.d - b.d)
  const tol = 1e-4 * scaleOf(all.map((e) => e.d)) + 1e-5
  const want = Math.min(k, all.length)
  const seen = new Set<number>()
  for (let i = 0; i < k; i++) {
    const id = r.ids[i]!
    const d = r.distances[i]!
    if (i >= want) {
      expect(id, `${what}: slot ${i} is padding`).toBe(-1)
      expect(d, `${what}: slot ${i} distance is Infinity`).toBe(Number.POSITIVE_INFINITY)
      continue
    }
    expect(allowed.has(id), `${what}: slot ${i} id ${id} is an allowed, existing id`).toBe(true)
    expect(seen.has(id), `${what}: id ${id} returned twice`).toBe(false)
    seen.add(id)
    const md = model.distance(q, model.items.get(id)!.vector)
    expect(Math.abs(d - md), `${what}: distance of id ${id} (${d} vs model ${md})`).toBeLessThanOrEqual(tol)
    if (i > 0) expect(d, `${what}: ascending at slot ${i}`).toBeGreaterThanOrEqual(r.distances[i - 1]! - tol)
  }
  if (want > 0) {
    const last = all[want - 1]!.d
    for (const e of all) if (e.d < last - tol) expect(seen.has(e.id), `${what}: id ${e.id} (distance ${e.d}) missing`).toBe(true)
  }
}

// ---- filter semantics ----------------------------------------------------------------

type Tri = boolean | undefined
const MISSING = Symbol('missing')

function not(a: Tri): Tri {
  return a === undefined ? undefined : !a
}
function and(xs: Tri[]): Tri {
  if (xs.includes(false)) return false
  return xs.includes(undefined) ? undefined : true
}
function or(xs: Tri[]): Tri {
  if (xs.includes(true)) return true
  return xs.includes(undefined) ? undefined : false
}

function fieldValue(metadata: unknown, path: string): unknown {
  let v: unknown = metadata
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, part)) return MISSING
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

/** Typed equality: same JSON type and value. */
function eq(v: unknown, want: unknown): Tri {
  if (v === MISSING) return want === null ? undefined : false
  if (want === null) return v === null
  if (v === null || typeof v === 'object') return false
  return typeof v === typeof want && v === want
}

function cmp(v: unknown, op: string, want: unknown): Tri {
  if (v === MISSING) return op === '$gt' ? false : undefined
  if (typeof want !== typeof v || (typeof v !== 'number' && typeof v !== 'string')) return false
  const a = v as number | string
  const b = want as number | string
  if (op === '$gt') return a > b
  if (op === '$gte') return a >= b
  if (op === '$lt') return a < b
  return a <= b
}

function fieldTest(v: unknown, cond: unknown): Tri {
  if (cond === null || typeof cond !== 'object') return eq(v, cond)
  const parts: Tri[] = []
  for (const [op, want] of Object.entries(cond as Record<string, unknown>)) {
    switch (op) {
      case '$eq':
        parts.push(eq(v, want))
        break
      case '$ne':
        parts.push(v === MISSING ? undefined : not(eq(v, want)))
        break
      case '$in':
        parts.push(or((want as unknown[]).map((w) => eq(v, w))))
        break
      case '$nin':
        parts.push(v === MISSING ? undefined : not(or((want as unknown[]).map((w) => eq(v, w)))))
        break
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        parts.push(cmp(v, op, want))
        break
      case '$exists':
        parts.push((v !== MISSING && v !== null) === want)
        break
      default:
        throw new Error(`model: unsupported operator ${op}`)
    }
  }
  return and(parts)
}

/** The typed filter rule of issue 14, three-valued (undefined: the contract leaves it open). */
export function evalFilter(filter: Filter, id: number, metadata: unknown): Tri {
  const parts: Tri[] = []
  for (const [key, cond] of Object.entries(filter)) {
    if (cond === undefined) continue
    if (key === '$and') parts.push(and((cond as Filter[]).map((f) => evalFilter(f, id, metadata))))
    else if (key === '$or') parts.push(or((cond as Filter[]).map((f) => evalFilter(f, id, metadata))))
    else if (key === '$not') parts.push(not(evalFilter(cond as Filter, id, metadata)))
    else if (key === '$id') parts.push(fieldTest(id, cond))
    else parts.push(fieldTest(fieldValue(metadata, key), cond))
  }
  return and(parts)
}
