/**
 * The API door, table-driven: every public method and every option of every options
 * object, with bad values (null, undefined where required, wrong types, NaN, negative,
 * fractional, huge, strings, objects, arrays, functions, BigInt, Symbol). Each must be
 * refused with a VqError of the expected code (never a raw TypeError / RangeError, never
 * silently accepted), and leave the index as it was: size, manifest generation, search
 * results, find results, properties, files.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { MAX_BATCH_RESULTS, MAX_FIND_LIMIT, MAX_K, MAX_NAME_LENGTH, MAX_REFINE_FACTOR } from '../../src/limits.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 8
const N = 300
const dir = mkdtempSync(join(tmpdir(), 'vq-door-'))
let file = join(dir, 'fixture.vq')
let copies = 0
const snapshot = join(dir, 'fixture.snap')
let ix: VqIndex
let x: Float32Array
const q = () => x.subarray(0, d)

beforeAll(async () => {
  x = clusteredVectors(N, d, 4, 11)
  ix = VqIndex.create(file, { dim: d, description: 'IVF2,SQ8,RFlat', storeVectors: 'float16' })
  const meta = Array.from({ length: N }, (_, i) => ({ text: `item ${i} word${i % 7}`, n: i }))
  await ix.train(x, { seed: 3 })
  await ix.add(
    Array.from({ length: N }, (_, i) => i),
    x,
    meta,
  )
  await ix.createTextIndex('text')
  await ix.setProperty('p', { a: 1 })
  await ix.export(snapshot)
})

afterAll(async () => {
  await ix.close()
  rmSync(dir, { recursive: true, force: true })
})

/** What must not change when a call is refused. */
function state(): unknown {
  const r = ix.search(q(), 5, { nprobe: 2 })
  return {
    size: ix.size,
    generation: ix.manifest.generation,
    ids: Array.from(r.ids),
    distances: Array.from(r.distances),
    found: ix.find({ n: { $lt: 10 } }).map((f) => f.id),
    keywords: Array.from(ix.keywordSearch('word3', 5).ids),
    property: ix.getProperty('p'),
    textField: ix.textField,
  }
}

/** Calls f (awaiting a promise) and returns what it threw, or 'no error' / its result. */
async function outcome(f: () => unknown): Promise<unknown> {
  try {
    const r = await f()
    return { accepted: r === undefined ? 'undefined' : typeof r }
  } catch (e) {
    return e
  }
}

const fn = () => 1
const sym = Symbol('s')
const cyclic: Record<string, unknown> = {}
cyclic.self = cyclic

/** Bad values by the kind of field, with how they show in a test name. */
const NOT_NUMBER = [null, 'x', '5', {}, [], fn, 5n, sym, true]
const NOT_INT = [...NOT_NUMBER, Number.NaN, 1.5, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]
const NOT_POSITIVE_INT = [...NOT_INT, 0, -1, -5]
const NOT_STRING = [null, 5, {}, [], fn, 5n, sym, true]
const NOT_ENUM = [...NOT_STRING, 'bogus', '']
const NOT_BOOL = [null, 0, 1, 'yes', 'true', {}, fn, 5n, sym]
const NOT_FUNCTION = [null, 5, 'f', {}, [], 5n, sym, true]
const NOT_OPTIONS = [null, 5, 'x', [], fn, 5n, sym, true]
const NOT_FILTER = [null, 5, 'x', [], fn, 5n, sym, true]

function label(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'function') return 'a function'
  if (typeof v === 'symbol') return 'a symbol'
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${v.map(label).join(', ')}]`
  if (v !== null && typeof v === 'object') return v === cyclic ? 'a cycle' : (JSON.stringify(v) ?? 'an object')
  return String(v)
}

/** The training options and their bad values (train, retrain, add / upsert { train }). */
const TRAIN_BAD: Record<string, unknown[]> = {
  seed: [...NOT_INT, 2 ** 53, -(2 ** 53)],
  iterations: [...NOT_POSITIVE_INT, 1e9],
  tolerance: [...NOT_NUMBER, Number.NaN, Number.POSITIVE_INFINITY, -1, -1e-9],
  init: NOT_ENUM,
  maxPointsPerCentroid: [...NOT_NUMBER, Number.NaN, 1.5, 0, -1, Number.NEGATIVE_INFINITY],
  ivfIterations: [...NOT_POSITIVE_INT, 1e9],
  ivfMaxPointsPerCentroid: [...NOT_NUMBER, Number.NaN, 1.5, 0, -1],
  opqIterations: [...NOT_POSITIVE_INT, 1e9],
  onProgress: NOT_FUNCTION,
  onWarning: NOT_FUNCTION,
}

const SEARCH_BAD: Record<string, unknown[]> = {
  nprobe: [...NOT_POSITIVE_INT, 2 ** 53],
  refineFactor: [...NOT_POSITIVE_INT, MAX_REFINE_FACTOR + 1, 1e9],
  qb: [...NOT_INT, -1, 9, 1e9],
  errorBounds: NOT_BOOL,
  exactFactor: [...NOT_POSITIVE_INT, MAX_REFINE_FACTOR + 1, 1e9],
  filter: NOT_FILTER,
  includeMetadata: NOT_BOOL,
}

const CONNECTION_BAD: Record<string, unknown[]> = {
  durability: NOT_ENUM,
  busyTimeoutMs: [...NOT_NUMBER, Number.NaN, -1, Number.POSITIVE_INFINITY, 1e300],
  kernels: [...NOT_ENUM, 'gpu'],
  threads: [...NOT_INT, -1, 1e6],
}

const CREATE_BAD: Record<string, unknown[]> = {
  dim: [undefined, ...NOT_POSITIVE_INT, 65_537, 1e12],
  metric: [...NOT_ENUM, 'L2'],
  storeVectors: NOT_ENUM,
  ids: [...NOT_ENUM, 'any', 'uuid'],
  codec: [
    ...NOT_OPTIONS,
    {},
    { kind: 'weird' },
    { kind: 'pq' },
    { kind: 'pq', m: -1 },
    { kind: 'pq', m: 4, nbits: 9 },
    { kind: 'sq8', clip: 0.5 },
    { kind: 'rabitq', nbits: 0 },
    { kind: 'rabitq', nbits: 10 },
    { kind: 'rabitq', nbits: 1.5 },
  ],
  transform: [...NOT_OPTIONS, { kind: 'rot' }, { kind: 'opq', m: 1.5 }],
  ivf: [...NOT_OPTIONS, {}, { nlist: 0 }, { nlist: 'many' }, { nlist: 4, byResidual: 'yes' }],
  refine: [...NOT_OPTIONS, { kind: 'weird' }, { kind: 'codec' }, { kind: 'codec', codec: { kind: 'weird' } }],
  ...CONNECTION_BAD,
}

interface Case {
  readonly name: string
  readonly call: () => unknown
  readonly code: string
  /** A file that must not exist afterwards. */
  readonly noFile?: string
}

const cases: Case[] = []
const add = (name: string, code: string, call: () => unknown, noFile?: string) => {
  cases.push(noFile === undefined ? { name, code, call } : { name, code, call, noFile })
}

// ---- options objects, as a whole
for (const bad of NOT_OPTIONS) {
  const b = bad as never
  add(`search options ${label(bad)}`, 'BAD_OPTION', () => ix.search(q(), 5, b))
  add(`searchBatch options ${label(bad)}`, 'BAD_OPTION', () => ix.searchBatch(x.subarray(0, 2 * d), 5, b))
  add(`keywordSearch options ${label(bad)}`, 'BAD_OPTION', () => ix.keywordSearch('word', 5, b))
  add(`train options ${label(bad)}`, 'BAD_OPTION', () => ix.train(x, b))
  add(`retrain options ${label(bad)}`, 'BAD_OPTION', () => ix.retrain(b))
  add(`add options ${label(bad)}`, 'BAD_OPTION', () => ix.add([1000], q(), undefined, b))
  add(`upsert options ${label(bad)}`, 'BAD_OPTION', () => ix.upsert([0], q(), undefined, b))
  add(`delete options ${label(bad)}`, 'BAD_OPTION', () => ix.delete([0], b))
  add(`open options ${label(bad)}`, 'BAD_OPTION', () => VqIndex.open(file, b))
  add(
    `import options ${label(bad)}`,
    'BAD_OPTION',
    () => VqIndex.import(snapshot, join(dir, 'import-opts.vq'), b),
    join(dir, 'import-opts.vq'),
  )
  add(`create options ${label(bad)}`, 'BAD_OPTION', () => VqIndex.create(join(dir, 'create-opts.vq'), b), join(dir, 'create-opts.vq'))
}

// ---- unknown keys
for (const [what, call] of [
  ['search', (o: never) => ix.search(q(), 5, o)],
  ['searchBatch', (o: never) => ix.searchBatch(x.subarray(0, 2 * d), 5, o)],
  ['keywordSearch', (o: never) => ix.keywordSearch('word', 5, o)],
  ['train', (o: never) => ix.train(x, o)],
  ['retrain', (o: never) => ix.retrain(o)],
  ['add', (o: never) => ix.add([1000], q(), undefined, o)],
  ['add train', (o: never) => ix.add([1000], q(), undefined, { train: o })],
  ['delete', (o: never) => ix.delete([0], o)],
  ['open', (o: never) => VqIndex.open(file, o)],
  ['import', (o: never) => VqIndex.import(snapshot, join(dir, 'import-key.vq'), o)],
  ['create', (o: never) => VqIndex.create(join(dir, 'create-key.vq'), { dim: d, ...(o as object) } as never)],
  [
    'create codec',
    (o: never) => VqIndex.create(join(dir, 'create-key.vq'), { dim: d, codec: { kind: 'flat', ...(o as object) } } as never),
  ],
  ['create ivf', (o: never) => VqIndex.create(join(dir, 'create-key.vq'), { dim: d, ivf: { nlist: 2, ...(o as object) } } as never)],
] as const) {
  add(`${what}: unknown option "bogus"`, 'UNKNOWN_OPTION', () => call({ bogus: 1 } as never))
}

// ---- every option, bad values
for (const [key, bads] of Object.entries(SEARCH_BAD)) {
  const code = key === 'filter' ? 'BAD_FILTER' : 'BAD_OPTION'
  for (const bad of bads) {
    add(`search ${key}: ${label(bad)}`, code, () => ix.search(q(), 5, { [key]: bad }))
    add(`searchBatch ${key}: ${label(bad)}`, code, () => ix.searchBatch(x.subarray(0, 2 * d), 5, { [key]: bad }))
  }
}
for (const bad of [...NOT_INT, -1, 1e6]) {
  add(`searchBatch threads: ${label(bad)}`, 'BAD_OPTION', () => ix.searchBatch(x.subarray(0, 2 * d), 5, { threads: bad as never }))
}
for (const bad of NOT_FILTER) {
  add(`keywordSearch filter: ${label(bad)}`, 'BAD_FILTER', () => ix.keywordSearch('word', 5, { filter: bad as never }))
}
for (const bad of NOT_BOOL) add(`delete strict: ${label(bad)}`, 'BAD_OPTION', () => ix.delete([0], { strict: bad as never }))
for (const bad of NOT_BOOL) add(`open readonly: ${label(bad)}`, 'BAD_OPTION', () => VqIndex.open(file, { readonly: bad as never }))
for (const bad of [...NOT_ENUM, 'uuid']) {
  add(`open ids: ${label(bad)}`, 'BAD_OPTION', () => VqIndex.open(file, { ids: bad as never }))
  add(
    `import ids: ${label(bad)}`,
    'BAD_OPTION',
    () => VqIndex.import(snapshot, join(dir, 'import-ids.vq'), { ids: bad as never }),
    join(dir, 'import-ids.vq'),
  )
}
add('open an integer-id file as string ids', 'ID_KIND', () => VqIndex.open(file, { ids: 'string' }))
for (const bad of [null, 0, 'yes', [], fn, 5n, sym]) {
  add(`add train: ${label(bad)}`, 'BAD_OPTION', () => ix.add([1000], q(), undefined, { train: bad as never }))
}
for (const [key, bads] of Object.entries(TRAIN_BAD)) {
  for (const bad of bads) {
    const o = { [key]: bad } as never
    add(`train ${key}: ${label(bad)}`, 'BAD_OPTION', () => ix.train(x, o))
    add(`retrain ${key}: ${label(bad)}`, 'BAD_OPTION', () => ix.retrain(o))
    add(`add train ${key}: ${label(bad)}`, 'BAD_OPTION', () => ix.add([1000], q(), undefined, { train: o }))
    add(`upsert train ${key}: ${label(bad)}`, 'BAD_OPTION', () => ix.upsert([0], q(), undefined, { train: o }))
  }
}
for (const [key, bads] of Object.entries(CREATE_BAD)) {
  for (const bad of bads) {
    const target = join(dir, 'create-bad.vq')
    const o = key === 'dim' ? { dim: bad } : { dim: d, [key]: bad }
    add(`create ${key}: ${label(bad)}`, 'BAD_OPTION', () => VqIndex.create(target, o as never), target)
  }
}
for (const bad of NOT_STRING) {
  const target = join(dir, 'create-desc.vq')
  add(`create description: ${label(bad)}`, 'BAD_DESCRIPTION', () => VqIndex.create(target, { dim: d, description: bad as never }), target)
}
for (const [key, bads] of Object.entries(CONNECTION_BAD)) {
  for (const bad of bads) {
    add(`open ${key}: ${label(bad)}`, 'BAD_OPTION', () => VqIndex.open(file, { [key]: bad } as never))
    const target = join(dir, 'import-bad.vq')
    add(`import ${key}: ${label(bad)}`, 'BAD_OPTION', () => VqIndex.import(snapshot, target, { [key]: bad } as never), target)
  }
}

for (const bad of [...NOT_POSITIVE_INT, 10_001])
  add(`items batchSize: ${label(bad)}`, 'BAD_OPTION', () => ix.items({ batchSize: bad as never }).next())
for (const bad of NOT_BOOL)
  add(`items includeVectors: ${label(bad)}`, 'BAD_OPTION', () => ix.items({ includeVectors: bad as never }).next())
for (const bad of NOT_OPTIONS) add(`items options: ${label(bad)}`, 'BAD_OPTION', () => ix.items(bad as never).next())
add('items unknown option', 'UNKNOWN_OPTION', () => ix.items({ batchsize: 3 } as never).next())
add('count with a bad filter', 'BAD_FILTER', () => ix.count({ a: { $regex: 'x' } } as never))

// ---- arguments
const BAD_K = [undefined, ...NOT_POSITIVE_INT, MAX_K + 1, 1e9, 2 ** 53 - 1, 1e300]
for (const k of BAD_K) {
  add(`search k: ${label(k)}`, 'BAD_K', () => ix.search(q(), k as never))
  add(`searchBatch k: ${label(k)}`, 'BAD_K', () => ix.searchBatch(x.subarray(0, 2 * d), k as never))
  add(`keywordSearch k: ${label(k)}`, 'BAD_K', () => ix.keywordSearch('word', k as never))
}
add('searchBatch nq * k past MAX_BATCH_RESULTS', 'BAD_K', () => ix.searchBatch(x.subarray(0, 101 * d), MAX_BATCH_RESULTS / 100))
for (const bad of [undefined, null, 5, 'x', {}, fn, sym]) {
  add(`search query: ${label(bad)}`, 'BAD_VECTORS', () => ix.search(bad as never, 5))
  add(`searchBatch queries: ${label(bad)}`, 'BAD_VECTORS', () => ix.searchBatch(bad as never, 5))
  add(`add vectors: ${label(bad)}`, 'BAD_VECTORS', () => ix.add([1000], bad as never))
  add(`train vectors: ${label(bad)}`, 'BAD_VECTORS', () => ix.train(bad as never))
}
add('search query of 3e38-sized components', 'VALUE_OUT_OF_RANGE', () => ix.search(new Float32Array(d).fill(3e38), 5))
add('search query of squared norm 1.6e37', 'VALUE_OUT_OF_RANGE', () => ix.search(new Float32Array(d).fill(Math.sqrt(2e36)), 5))
add('searchBatch query of 3e38-sized components', 'VALUE_OUT_OF_RANGE', () =>
  ix.searchBatch(Float32Array.from([...q(), ...new Float32Array(d).fill(3e38)]), 5),
)
add('add vector of 3e38-sized components', 'VALUE_OUT_OF_RANGE', () => ix.add([1000], new Float32Array(d).fill(3e38)))
add('add float16-stored vector component 70000', 'VALUE_OUT_OF_RANGE', () => ix.add([1000], new Float32Array(d).fill(70_000)))
add('upsert float16-stored vector component -65505', 'VALUE_OUT_OF_RANGE', () =>
  ix.upsert(
    [0],
    Float32Array.from({ length: d }, (_, i) => (i === 3 ? -65_505 : 1)),
  ),
)
add('search with a NaN query', 'NON_FINITE_VALUE', () => ix.search(new Float32Array(d).fill(Number.NaN), 5))
add('search with a query of the wrong length', 'DIMENSION_MISMATCH', () => ix.search(new Float32Array(d + 1), 5))

const BAD_ID = [
  undefined,
  null,
  '3',
  '',
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  1e300,
  {},
  [],
  [3],
  fn,
  sym,
  true,
  -1n,
  2n ** 60n,
]
for (const id of BAD_ID) {
  add(`get id: ${label(id)}`, 'BAD_IDS', () => ix.get(id as never))
  add(`has id: ${label(id)}`, 'BAD_IDS', () => ix.has(id as never))
  add(`reconstruct id: ${label(id)}`, 'BAD_IDS', () => ix.reconstruct(id as never))
  add(`delete ids: [${label(id)}]`, 'BAD_IDS', () => ix.delete([id] as never))
  add(`add ids: [${label(id)}]`, 'BAD_IDS', () => ix.add([id] as never, q()))
  add(`upsert ids: [${label(id)}]`, 'BAD_IDS', () => ix.upsert([id] as never, q()))
}
for (const ids of [undefined, null, 5, 'abc', {}, fn, sym]) {
  add(`delete ids: ${label(ids)}`, 'BAD_IDS', () => ix.delete(ids as never))
  add(`add ids: ${label(ids)}`, 'BAD_IDS', () => ix.add(ids as never, q()))
}

for (const limit of [null, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_FIND_LIMIT + 1, 1e12, '5', 5n, sym, {}, fn]) {
  add(`find limit: ${label(limit)}`, 'BAD_OPTION', () => ix.find({}, limit as never))
}
for (const query of [undefined, null, 5, {}, ['word'], fn, sym, 5n]) {
  add(`keywordSearch query: ${label(query)}`, 'BAD_ARGUMENT', () => ix.keywordSearch(query as never, 5))
}
for (const name of [undefined, null, '', 5, {}, fn, sym, 5n, 'x'.repeat(MAX_NAME_LENGTH + 1)]) {
  const shown = typeof name === 'string' && name.length > 10 ? `a string of ${name.length}` : label(name)
  add(`setProperty name: ${shown}`, 'BAD_ARGUMENT', () => ix.setProperty(name as never, 1))
  add(`getProperty name: ${shown}`, 'BAD_ARGUMENT', () => ix.getProperty(name as never))
}
for (const value of [cyclic, fn, { f: fn }, [1, fn], sym, { s: sym }, 2n ** 70n, -(2n ** 64n), new Map([[1, fn]])]) {
  add(`setProperty value: ${label(value)}`, 'BAD_ARGUMENT', () => ix.setProperty('p', value))
}
for (const path of [null, '', 5, {}, fn, sym]) {
  add(`export path: ${label(path)}`, 'BAD_OPTION', () => ix.export(path as never))
  add(`create path: ${label(path)}`, 'BAD_OPTION', () => VqIndex.create(path as never, { dim: d }))
  add(`open path: ${label(path)}`, 'BAD_OPTION', () => VqIndex.open(path as never))
  add(
    `import snapshot path: ${label(path)}`,
    'BAD_OPTION',
    () => VqIndex.import(path as never, join(dir, 'import-path.vq')),
    join(dir, 'import-path.vq'),
  )
}
for (const field of [null, 5, {}, fn, sym, '', 'a..b']) {
  add(`createTextIndex field: ${label(field)}`, 'BAD_OPTION', () => ix.createTextIndex(field as never))
}

describe('the API door refuses every bad argument and option with a typed error, leaving the index unchanged', () => {
  let before: unknown
  beforeAll(() => {
    before = state()
  })

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const got = await outcome(c.call)
    const after = state()
    const created = c.noFile !== undefined && existsSync(c.noFile)
    // A call that got through and changed something must not spoil the cases after it:
    // start them from a fresh copy of the fixture (the snapshot taken at the start).
    if (created) rmSync(c.noFile!, { force: true })
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      await ix.close()
      file = join(dir, `fixture-${++copies}.vq`)
      ix = VqIndex.import(snapshot, file)
    }
    expect(got, `${c.name}: ${String(got)}`).toBeInstanceOf(VqError)
    expect((got as VqError).code, (got as Error).message).toBe(c.code)
    expect(after).toEqual(before)
    expect(created).toBe(false)
  })

  it('covers at least 600 cases', () => {
    expect(cases.length).toBeGreaterThan(600)
  })
})
