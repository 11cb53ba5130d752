/**
 * The operation sequences of the API model corpus and their runner: each operation is
 * generated with its arguments (valid, or with one injected fault), run against the index,
 * and predicted by the model: the codes a refusal may carry (then the model is left
 * unchanged), or the new model state. After every step the whole observable state of the
 * index is compared with the model.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { expect } from 'vitest'
import type { VqErrorCode } from '../../../src/errors.js'
import type { Filter, Metric } from '../../../src/types.js'
import { VqIndex } from '../../../src/vq-index.js'
import * as arb from './arb.js'
import { evalFilter, expectExactResult, jsonCopy, Model } from './model.js'
import { caught, expectRefusalError, NOT_THROWN } from './refusal.js'

export type Fault =
  | 'none'
  | 'dim'
  | 'nan'
  | 'inf'
  | 'huge'
  | 'negId'
  | 'fracId'
  | 'strId'
  | 'nullId'
  | 'metaNaN'
  | 'metaFn'
  | 'metaLen'
  | 'idsLen'

export type Op =
  | { t: 'add' | 'upsert'; ids: number[]; x: Float32Array; meta: unknown[] | undefined; fault: Fault }
  | { t: 'delete'; ids: number[]; strict: boolean }
  | { t: 'badId'; method: 'get' | 'has' | 'delete'; id: unknown }
  | { t: 'search'; q: Float32Array; k: number; filter: Filter | undefined }
  | { t: 'badK'; k: unknown }
  | { t: 'batch'; qs: Float32Array; k: number; filter: Filter | undefined }
  | { t: 'find'; filter: Filter; limit: number }
  | { t: 'setProperty'; name: string; value: unknown }
  | { t: 'export' }
  | { t: 'reopen' }
  | { t: 'retrain' }

export interface RunConfig {
  readonly dim: number
  readonly metric: Metric
  readonly description: string
  readonly storeVectors: 'none' | 'float32'
  /** Metadata filters of the typed rule (false: only $id filters). */
  readonly filters: boolean
  /** The index lives in a temporary file (needed by 'reopen'). */
  readonly file: boolean
  /** nprobe for searches (IVF: nlist, so that search is exact). */
  readonly nprobe?: number
  /** Items added (with { train: true }) before the sequence, ids 100.. (IVF needs training). */
  readonly seedItems?: number
}

const ID = fc.integer({ min: 0, max: 24 })

const FAULTS: Fault[] = ['dim', 'nan', 'inf', 'huge', 'negId', 'fracId', 'strId', 'nullId', 'metaNaN', 'metaFn', 'metaLen', 'idsLen']

function writeOp(dim: number, t: 'add' | 'upsert'): fc.Arbitrary<Op> {
  return fc.integer({ min: 1, max: 4 }).chain((n) =>
    fc.record({
      t: fc.constant(t),
      ids: fc.array(ID, { minLength: n, maxLength: n }),
      x: arb.vectors(dim, n),
      meta: fc.option(fc.array(arb.metadata, { minLength: n, maxLength: n }), { nil: undefined }),
      fault: fc.oneof({ weight: 3, arbitrary: fc.constant<Fault>('none') }, { weight: 1, arbitrary: fc.constantFrom(...FAULTS) }),
    }),
  )
}

function filterArb(filters: boolean): fc.Arbitrary<Filter> {
  if (filters) return arb.filter
  return fc.oneof(
    fc.integer({ min: 0, max: 24 }).map((i) => ({ $id: i }) as Filter),
    fc.array(ID, { minLength: 1, maxLength: 6 }).map((a) => ({ $id: { $in: a } }) as Filter),
    ID.map((i) => ({ $id: { $gte: i } }) as Filter),
  )
}

/** The operations of one configuration. */
export function opArb(c: RunConfig): fc.Arbitrary<Op> {
  const f = fc.option(filterArb(c.filters), { nil: undefined, freq: 2 })
  const ops: { weight: number; arbitrary: fc.Arbitrary<Op> }[] = [
    { weight: 5, arbitrary: writeOp(c.dim, 'add') },
    { weight: 3, arbitrary: writeOp(c.dim, 'upsert') },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('delete' as const),
        ids: fc.uniqueArray(ID, { minLength: 1, maxLength: 4 }),
        strict: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('badId' as const),
        method: fc.constantFrom('get' as const, 'has' as const, 'delete' as const),
        id: fc.constantFrom<unknown>('3', null, -1, 1.5, Number.NaN, 2 ** 53, undefined, {}, true),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ t: fc.constant('search' as const), q: arb.vector(c.dim), k: fc.integer({ min: 1, max: 12 }), filter: f }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('badK' as const),
        k: fc.constantFrom<unknown>(0, -1, 1.5, Number.NaN, '5', null, Number.POSITIVE_INFINITY),
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: 1, max: 3 })
        .chain((nq) =>
          fc.record({ t: fc.constant('batch' as const), qs: arb.vectors(c.dim, nq), k: fc.integer({ min: 1, max: 8 }), filter: f }),
        ),
    },
    {
      weight: 2,
      arbitrary: fc.record({ t: fc.constant('find' as const), filter: filterArb(c.filters), limit: fc.integer({ min: 1, max: 40 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ t: fc.constant('setProperty' as const), name: fc.constantFrom('p0', 'p1', 'p.2'), value: arb.metadata }),
    },
    { weight: 1, arbitrary: fc.constant({ t: 'export' as const }) },
  ]
  if (c.file) ops.push({ weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) })
  if (c.description.startsWith('IVF')) ops.push({ weight: 2, arbitrary: fc.constant({ t: 'retrain' as const }) })
  return fc.oneof(...ops)
}

/** The arguments of a write with its fault applied, and the codes its refusal may carry (empty: it must succeed). */
function writeCall(
  model: Model,
  op: Extract<Op, { t: 'add' | 'upsert' }>,
): { ids: unknown[]; x: Float32Array; meta: unknown[] | undefined; codes: Set<VqErrorCode>; names: RegExp } {
  const ids: unknown[] = [...op.ids]
  let x = op.x
  let meta = op.meta ? [...op.meta] : undefined
  const codes = new Set<VqErrorCode>()
  let names = /./
  const d = model.dim
  switch (op.fault) {
    case 'dim':
      x = x.subarray(0, x.length - 1)
      codes.add('DIMENSION_MISMATCH')
      names = /dimension|vector/i
      break
    case 'nan':
    case 'inf':
      x = Float32Array.from(x)
      x[x.length - 1] = op.fault === 'nan' ? Number.NaN : Number.NEGATIVE_INFINITY
      codes.add('NON_FINITE_VALUE')
      names = /vector|value/i
      break
    case 'huge':
      x = Float32Array.from(x)
      x[0] = 1e19
      codes.add('VALUE_OUT_OF_RANGE')
      names = /vector|norm|value/i
      break
    case 'negId':
    case 'fracId':
    case 'strId':
    case 'nullId':
      ids[ids.length - 1] = { negId: -1, fracId: 2.5, strId: '3', nullId: null }[op.fault]
      codes.add('BAD_IDS')
      names = /id/i
      break
    case 'metaNaN':
    case 'metaFn':
      meta = meta ?? ids.map(() => null)
      meta[meta.length - 1] = { a: op.fault === 'metaNaN' ? Number.NaN : () => 1 }
      codes.add('BAD_METADATA')
      names = /metadata/i
      break
    case 'metaLen':
      meta = [...(meta ?? ids.map(() => null)), null]
      codes.add('BAD_METADATA')
      names = /metadata/i
      break
    case 'idsLen':
      ids.push(99)
      codes.add('BAD_IDS')
      codes.add('DIMENSION_MISMATCH')
      names = /id|vector/i
      break
    case 'none':
      break
  }
  // Natural faults of the generated data (any of them may be the one reported).
  const numeric = op.ids
  if (new Set(numeric).size < numeric.length) codes.add('DUPLICATE_ID')
  if (op.t === 'add' && numeric.some((id) => model.items.has(id))) codes.add('ID_EXISTS')
  if (model.metric === 'cosine') {
    for (let i = 0; i < op.x.length / d; i++) if (op.x.subarray(i * d, (i + 1) * d).every((v) => v === 0)) codes.add('ZERO_VECTOR')
  }
  if (codes.size > 1) names = /./
  return { ids, x, meta, codes, names }
}

/** Everything observable about index equals the model. */
export async function expectMatches(
  index: VqIndex,
  model: Model,
  c: RunConfig,
  probe: Float32Array,
  filters: Filter[],
  what: string,
): Promise<void> {
  expect(index.size, `${what}: size`).toBe(model.items.size)
  expect(index.stats().count, `${what}: stats().count`).toBe(model.items.size)
  expect(index.maxId(), `${what}: maxId`).toBe(model.maxId())
  for (const id of model.touched) {
    const item = model.items.get(id)
    expect(index.has(id), `${what}: has(${id})`).toBe(item !== undefined)
    const got = index.get(id)
    if (item === undefined) {
      expect(got, `${what}: get(${id})`).toBeUndefined()
      continue
    }
    expect(got?.id, `${what}: get(${id}).id`).toBe(id)
    expect(got?.metadata, `${what}: get(${id}).metadata`).toEqual(item.metadata)
    if (c.storeVectors === 'none') expect(got?.vector, `${what}: get(${id}).vector`).toBeNull()
    else expect(got?.vector ? [...got.vector] : null, `${what}: get(${id}).vector`).toEqual([...item.vector])
    // The decoded vector (exact codecs here: Flat, IVF with Flat), normalised under cosine.
    const norm = c.metric === 'cosine' ? Math.hypot(...item.vector) : 1
    const rec = index.reconstruct(id)
    expect(rec.length, `${what}: reconstruct(${id}).length`).toBe(c.dim)
    for (let j = 0; j < c.dim; j++)
      expect(Math.abs(rec[j]! - item.vector[j]! / norm), `${what}: reconstruct(${id})[${j}]`).toBeLessThan(1e-4)
  }
  for (const [name, value] of model.properties) expect(index.getProperty(name), `${what}: getProperty(${name})`).toEqual(value)
  expect(index.getProperty('never-set'), `${what}: getProperty of an unset name`).toBeUndefined()
  for (const f of filters) expectFind(index, model, f, 1000, `${what}: find(${JSON.stringify(f)})`)
  const k = 6
  const r = index.search(probe, k, c.nprobe ? { nprobe: c.nprobe } : {})
  expectExactResult(model, probe, k, new Set(model.items.keys()), r, `${what}: probe search`)
}

export function expectFind(index: VqIndex, model: Model, f: Filter, limit: number, what: string): void {
  const got = index.find(f, limit)
  const { yes, open } = model.classify(f)
  const ids = got.map((g) => g.id)
  for (let i = 1; i < ids.length; i++) expect(ids[i]!, `${what}: ids ascending`).toBeGreaterThan(ids[i - 1]!)
  for (const g of got) {
    expect(
      yes.has(g.id) || open.has(g.id),
      `${what}: id ${g.id} matches (metadata ${JSON.stringify(model.items.get(g.id)?.metadata)})`,
    ).toBe(true)
    expect(g.metadata, `${what}: metadata of ${g.id}`).toEqual(model.items.get(g.id)?.metadata)
  }
  if (open.size === 0) {
    const want = [...yes].sort((a, b) => a - b).slice(0, limit)
    expect(ids, `${what}: the matching ids`).toEqual(want)
  } else if (got.length < limit) {
    for (const id of yes)
      expect(ids.includes(id), `${what}: matching id ${id} (metadata ${JSON.stringify(model.items.get(id)?.metadata)}) found`).toBe(true)
  }
}

function expectFilteredSearch(
  model: Model,
  q: Float32Array,
  k: number,
  f: Filter | undefined,
  r: { ids: Float64Array; distances: Float32Array },
  what: string,
): void {
  const { yes, open } = model.classify(f)
  if (open.size === 0) {
    expectExactResult(model, q, k, yes, r, what)
    return
  }
  for (let i = 0; i < k; i++) {
    const id = r.ids[i]!
    if (id === -1) continue
    expect(yes.has(id) || open.has(id), `${what}: id ${id} matches`).toBe(true)
  }
}

/** Makes the index of a configuration (and its temporary folder). */
export function makeIndex(c: RunConfig): { index: VqIndex; dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vq-rel-api-'))
  const path = c.file ? join(dir, 'index.vq') : ':memory:'
  const index = VqIndex.create(path, {
    dim: c.dim,
    metric: c.metric,
    description: c.description,
    storeVectors: c.storeVectors,
    threads: 0,
    durability: 'normal',
  })
  return { index, dir, path }
}

/**
 * Runs one generated sequence against a fresh index and the model; throws (an expect
 * failure naming the step) at the first difference.
 */
export async function runSequence(c: RunConfig, ops: Op[], probe: Float32Array, filters: Filter[]): Promise<void> {
  let { index, dir, path } = makeIndex(c)
  const model = new Model(c.dim, c.metric)
  const opened: VqIndex[] = [index]
  let exports = 0
  try {
    if (c.seedItems) {
      const n = c.seedItems
      const ids = Array.from({ length: n }, (_, i) => 100 + i)
      const x = new Float32Array(n * c.dim).map((_, i) => Math.round(Math.sin(i * 7.3) * 8) / 4 + (i % c.dim === 0 ? 0.5 : 0))
      await index.add(ids, x, undefined, { train: { seed: 14_000 } })
      for (let i = 0; i < n; i++) {
        model.items.set(ids[i]!, { vector: x.slice(i * c.dim, (i + 1) * c.dim), metadata: null })
        model.touched.add(ids[i]!)
      }
    }
    await expectMatches(index, model, c, probe, filters, 'start')
    for (let step = 0; step < ops.length; step++) {
      const op = ops[step]!
      const what = `step ${step} (${op.t})`
      switch (op.t) {
        case 'add':
        case 'upsert': {
          const call = writeCall(model, op)
          for (const id of op.ids) model.touched.add(id)
          const e = await caught(() => index[op.t](call.ids as number[], call.x, call.meta))
          if (call.codes.size > 0) expectRefusalError(e, { codes: [...call.codes], names: call.names }, `${what} fault ${op.fault}`)
          else {
            expect(e, `${what}: succeeds`).toBe(NOT_THROWN)
            for (let i = 0; i < op.ids.length; i++) {
              model.items.set(op.ids[i]!, { vector: op.x.slice(i * c.dim, (i + 1) * c.dim), metadata: jsonCopy(op.meta?.[i]) })
            }
          }
          break
        }
        case 'delete': {
          for (const id of op.ids) model.touched.add(id)
          const existing = op.ids.filter((id) => model.items.has(id)).length
          let got: unknown
          const e = await caught(async () => {
            got = await index.delete(op.ids, { strict: op.strict })
          })
          if (op.strict && existing < op.ids.length) expectRefusalError(e, { codes: ['UNKNOWN_ID'], names: /id/i }, what)
          else {
            expect(e, `${what}: succeeds`).toBe(NOT_THROWN)
            expect(got, `${what}: returns how many existed`).toBe(existing)
            for (const id of op.ids) model.items.delete(id)
          }
          break
        }
        case 'badId': {
          const e = await caught(() => (op.method === 'delete' ? index.delete([op.id as number]) : index[op.method](op.id as number)))
          expectRefusalError(e, { codes: ['BAD_IDS'], names: /id/i }, `${what} ${op.method}(${String(op.id)})`)
          break
        }
        case 'search': {
          const r = index.search(op.q, op.k, { ...(op.filter ? { filter: op.filter } : {}), ...(c.nprobe ? { nprobe: c.nprobe } : {}) })
          expectFilteredSearch(model, op.q, op.k, op.filter, r, `${what} filter ${JSON.stringify(op.filter)}`)
          break
        }
        case 'badK': {
          const e = await caught(() => index.search(probe, op.k as number))
          expectRefusalError(e, { codes: ['BAD_K'], names: /\bk\b/ }, `${what} k=${String(op.k)}`)
          break
        }
        case 'batch': {
          const nq = op.qs.length / c.dim
          const r = await index.searchBatch(op.qs, op.k, {
            threads: 0,
            ...(op.filter ? { filter: op.filter } : {}),
            ...(c.nprobe ? { nprobe: c.nprobe } : {}),
          })
          expect([r.nq, r.k, r.ids.length], `${what}: shape`).toEqual([nq, op.k, nq * op.k])
          for (let i = 0; i < nq; i++) {
            const q = op.qs.subarray(i * c.dim, (i + 1) * c.dim)
            expectFilteredSearch(model, q, op.k, op.filter, r.row(i), `${what} row ${i}`)
            const one = index.search(q, op.k, { ...(op.filter ? { filter: op.filter } : {}), ...(c.nprobe ? { nprobe: c.nprobe } : {}) })
            expect([...r.row(i).ids], `${what}: row ${i} equals search()`).toEqual([...one.ids])
          }
          break
        }
        case 'find':
          expectFind(index, model, op.filter, op.limit, `${what} ${JSON.stringify(op.filter)} limit ${op.limit}`)
          break
        case 'setProperty': {
          const e = await caught(() => index.setProperty(op.name, op.value))
          expect(e, `${what}: succeeds`).toBe(NOT_THROWN)
          model.properties.set(op.name, op.value === undefined ? undefined : structuredClone(op.value))
          break
        }
        case 'export': {
          const file = join(dir, `snap-${exports++}.vqs`)
          const count = await index.export(file)
          expect(count, `${what}: export returns the item count`).toBe(model.items.size)
          const copy = VqIndex.import(file, ':memory:', { threads: 0 })
          opened.push(copy)
          await expectMatches(copy, model, c, probe, filters, `${what}: the imported copy`)
          await copy.close()
          break
        }
        case 'reopen': {
          await index.close()
          index = VqIndex.open(path, { threads: 0 })
          opened.push(index)
          break
        }
        case 'retrain': {
          const e = await caught(() => index.retrain({ seed: 14_001 + step }))
          if (e !== NOT_THROWN) {
            const few = model.items.size < 4
            expectRefusalError(
              e,
              { codes: few ? ['TOO_FEW_TRAINING_POINTS', 'EMPTY_TRAINING_SET'] : [] },
              `${what} of ${model.items.size} items`,
            )
          }
          break
        }
      }
      await expectMatches(index, model, c, probe, filters, `after ${what}`)
    }
  } finally {
    for (const ix of opened) await ix.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** evalFilter re-exported for the filter corpus. */
export { evalFilter }
