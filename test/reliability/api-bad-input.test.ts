/**
 * Bad API input corpus (issue 14): for every public method, bad values of every argument
 * and option. Each row expects a VqError subclass with a documented code (one of the
 * expected ones), a message naming the argument or option, and the index unchanged
 * (size, manifest generation, maxId, a probe search, has/get of every id). One row = one case.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { VqErrorCode } from '../../src/errors.js'
import { MAX_FIND_LIMIT, MAX_K, MAX_NAME_LENGTH, MAX_REFINE_FACTOR } from '../../src/limits.js'
import { VqIndex } from '../../src/vq-index.js'
import { BAD_NUMBERS, BAD_OPTION_OBJECTS, badMetadata, badVectors, cyclic, nested } from './support/bad-values.js'
import { expectRefused, expectRefusedUnchanged } from './support/refusal.js'

const DIM = 4
const IDS = Array.from({ length: 10 }, (_, i) => i)
const PROBE_IDS = [...IDS, 10, 999]
const X = new Float32Array(IDS.length * DIM).map((_, i) => ((i * 37) % 17) / 8 - 1)
const Q = new Float32Array([0.1, 0.2, 0.3, 0.4])
const ID_CODES: VqErrorCode[] = ['BAD_IDS']
const OPT: VqErrorCode[] = ['BAD_OPTION']
const ARG: VqErrorCode[] = ['BAD_ARGUMENT', 'BAD_OPTION']

interface Row {
  readonly name: string
  readonly call: (ix: VqIndex) => unknown
  readonly codes: readonly VqErrorCode[]
  readonly names: RegExp
}

let dir: string
let snapshot: string
let indexFile: string

/** A fresh Flat index of ids 0..9 with stored vectors and metadata { a, text }. */
async function flatIndex(): Promise<VqIndex> {
  const ix = VqIndex.create(':memory:', { dim: DIM, storeVectors: 'float32', threads: 0 })
  await ix.add(
    IDS,
    X,
    IDS.map((i) => ({ a: i, text: `word${i} common` })),
  )
  return ix
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vq-rel-bad-'))
  snapshot = join(dir, 'snap.vqs')
  const ix = await flatIndex()
  await ix.export(snapshot)
  await ix.close()
  indexFile = join(dir, 'index.vq')
  const file = VqIndex.create(indexFile, { dim: DIM, threads: 0 })
  await file.add(IDS, X)
  await file.close()
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

function rows(
  name: string,
  values: [string, unknown][],
  call: (v: unknown) => (ix: VqIndex) => unknown,
  codes: readonly VqErrorCode[],
  names: RegExp,
): Row[] {
  return values.map(([label, v]) => ({ name: `${name}: ${label}`, call: call(v), codes, names }))
}

/** BigInt ids that are exact are accepted on purpose (validate.ts checkIds); every other non-id is refused. */
const badIdValues: [string, unknown][] = BAD_NUMBERS.filter(([l]) => l !== 'a BigInt')
const ids = (v: unknown): unknown[] => [20, v]

/** Bad values of the arguments and options of the methods of an open index. */
const INDEX_ROWS: Row[] = [
  // get / has / reconstruct of one id
  ...rows('get(id)', badIdValues, (v) => (ix) => ix.get(v as number), ID_CODES, /\bid\b/i),
  ...rows('has(id)', badIdValues, (v) => (ix) => ix.has(v as number), ID_CODES, /\bid\b/i),
  ...rows('reconstruct(id)', badIdValues, (v) => (ix) => ix.reconstruct(v as number), ID_CODES, /\bid\b/i),
  { name: 'reconstruct(unknown id)', call: (ix) => ix.reconstruct(999), codes: ['UNKNOWN_ID'], names: /999/ },
  // add / upsert / delete: ids
  ...rows(
    'add(ids)',
    [...badIdValues.map(([l, v]): [string, unknown] => [`[0, ${l}]`, ids(v)]), ['null', null], ['5', 5], ["'ab'", 'ab'], ['{}', {}]],
    (v) => (ix) => ix.add(v as number[], new Float32Array(2 * DIM)),
    ['BAD_IDS'],
    /\bids?\b/i,
  ),
  ...rows(
    'upsert(ids)',
    [...badIdValues.map(([l, v]): [string, unknown] => [`[0, ${l}]`, ids(v)]), ['null', null], ["'ab'", 'ab']],
    (v) => (ix) => ix.upsert(v as number[], new Float32Array(2 * DIM)),
    ['BAD_IDS'],
    /\bids?\b/i,
  ),
  ...rows(
    'delete(ids)',
    [...badIdValues.map(([l, v]): [string, unknown] => [`[0, ${l}]`, ids(v)]), ['null', null], ['5', 5], ["'ab'", 'ab']],
    (v) => (ix) => ix.delete(v as number[]),
    ['BAD_IDS'],
    /\bids?\b/i,
  ),
  {
    name: 'add(ids): a duplicate in the batch',
    call: (ix) => ix.add([20, 20], new Float32Array(2 * DIM)),
    codes: ['DUPLICATE_ID'],
    names: /20/,
  },
  { name: 'add(ids): an existing id', call: (ix) => ix.add([20, 3], new Float32Array(2 * DIM)), codes: ['ID_EXISTS'], names: /\b3\b/ },
  {
    name: 'add(ids): more ids than vectors',
    call: (ix) => ix.add([20, 21, 22], new Float32Array(2 * DIM)),
    codes: ['BAD_IDS', 'DIMENSION_MISMATCH'],
    names: /ids?|vectors/i,
  },
  {
    name: 'delete(ids, { strict }): an unknown id',
    call: (ix) => ix.delete([1, 999], { strict: true }),
    codes: ['UNKNOWN_ID'],
    names: /999/,
  },
  // add / upsert: vectors
  ...badVectors(DIM).flatMap(([label, v, codes]) =>
    (['add', 'upsert'] as const).map(
      (m): Row => ({
        name: `${m}(x): ${label}`,
        call: (ix) => ix[m]([20], v as Float32Array),
        codes: codes as VqErrorCode[],
        names: /vector|dimension|value|norm/i,
      }),
    ),
  ),
  // add / upsert: metadata
  ...badMetadata().flatMap(([label, m]) =>
    (['add', 'upsert'] as const).map(
      (meth): Row => ({
        name: `${meth}(metadata): ${label}`,
        call: (ix) => ix[meth]([20, 21], new Float32Array(2 * DIM), [null, m]),
        codes: ['BAD_METADATA'],
        names: /metadata/i,
      }),
    ),
  ),
  ...rows(
    'add(metadata) container',
    [
      ['a string', 'ab'],
      ['an object', { 0: null, 1: null }],
      ['5', 5],
      ['one entry short', [null]],
      ['one entry too many', [null, null, null]],
    ],
    (v) => (ix) => ix.add([20, 21], new Float32Array(2 * DIM), v as unknown[]),
    ['BAD_METADATA'],
    /metadata/i,
  ),
  // add / upsert / delete: options
  ...rows('add(options)', BAD_OPTION_OBJECTS, (v) => (ix) => ix.add([20], new Float32Array(DIM), undefined, v as never), OPT, /option/i),
  ...rows(
    'upsert(options)',
    BAD_OPTION_OBJECTS,
    (v) => (ix) => ix.upsert([20], new Float32Array(DIM), undefined, v as never),
    OPT,
    /option/i,
  ),
  ...rows('delete(options)', BAD_OPTION_OBJECTS, (v) => (ix) => ix.delete([1], v as never), OPT, /option/i),
  {
    name: 'add(options): unknown key',
    call: (ix) => ix.add([20], new Float32Array(DIM), undefined, { trian: true } as never),
    codes: ['UNKNOWN_OPTION'],
    names: /trian/,
  },
  {
    name: 'add(options): train "yes"',
    call: (ix) => ix.add([20], new Float32Array(DIM), undefined, { train: 'yes' } as never),
    codes: OPT,
    names: /train/,
  },
  {
    name: 'delete(options): unknown key',
    call: (ix) => ix.delete([1], { strikt: true } as never),
    codes: ['UNKNOWN_OPTION'],
    names: /strikt/,
  },
  { name: 'delete(options): strict "yes"', call: (ix) => ix.delete([1], { strict: 'yes' } as never), codes: OPT, names: /strict/ },
  // search: query, k, options
  ...badVectors(DIM)
    .filter(([l]) => l !== 'empty')
    .map(
      ([label, v, codes]): Row => ({
        name: `search(q): ${label}`,
        call: (ix) => ix.search(v as Float32Array, 3),
        codes: codes as VqErrorCode[],
        names: /query/i,
      }),
    ),
  { name: 'search(q): two vectors', call: (ix) => ix.search(new Float32Array(2 * DIM), 3), codes: ['DIMENSION_MISMATCH'], names: /query/i },
  ...rows('search(k)', [...BAD_NUMBERS, ['0', 0], ['MAX_K + 1', MAX_K + 1]], (v) => (ix) => ix.search(Q, v as number), ['BAD_K'], /\bk\b/),
  ...rows('search(options)', BAD_OPTION_OBJECTS, (v) => (ix) => ix.search(Q, 3, v as never), OPT, /option/i),
  ...rows(
    'search({ nprobe })',
    [...BAD_NUMBERS.filter(([l]) => l !== 'undefined' && l !== '2^53'), ['0', 0]],
    (v) => (ix) => ix.search(Q, 3, { nprobe: v as number }),
    OPT,
    /nprobe/,
  ),
  ...rows(
    'search({ refineFactor })',
    [...BAD_NUMBERS.filter(([l]) => l !== 'undefined'), ['0', 0], ['MAX_REFINE_FACTOR + 1', MAX_REFINE_FACTOR + 1]],
    (v) => (ix) => ix.search(Q, 3, { refineFactor: v as number }),
    OPT,
    /refineFactor/,
  ),
  ...rows(
    'search({ filter })',
    [
      ['5', 5],
      ["'x'", 'x'],
      ['a function', () => 1],
      ['an array', [{ a: 1 }]],
      ['an unknown operator', { a: { $foo: 1 } }],
      ['NaN', { a: Number.NaN }],
      ['a BigInt', { a: 1n }],
      ['a cycle', cyclic()],
    ],
    (v) => (ix) => ix.search(Q, 3, { filter: v as never }),
    ['BAD_FILTER'],
    /filter/i,
  ),
  {
    name: 'search(options): unknown key',
    call: (ix) => ix.search(Q, 3, { fitler: { a: 1 } } as never),
    codes: ['UNKNOWN_OPTION'],
    names: /fitler/,
  },
  // searchBatch
  ...badVectors(DIM)
    .filter(([l]) => l !== 'empty')
    .map(
      ([label, v, codes]): Row => ({
        name: `searchBatch(queries): ${label}`,
        call: (ix) => ix.searchBatch(v as Float32Array, 3, { threads: 0 }),
        codes: codes as VqErrorCode[],
        names: /quer/i,
      }),
    ),
  ...rows(
    'searchBatch(k)',
    [...BAD_NUMBERS, ['0', 0], ['MAX_K + 1', MAX_K + 1]],
    (v) => (ix) => ix.searchBatch(Q, v as number, { threads: 0 }),
    ['BAD_K'],
    /\bk\b/,
  ),
  ...rows('searchBatch(options)', BAD_OPTION_OBJECTS, (v) => (ix) => ix.searchBatch(Q, 3, v as never), OPT, /option/i),
  ...rows(
    'searchBatch({ threads })',
    [
      ['-1', -1],
      ['1.5', 1.5],
      ["'x'", 'x'],
      ['NaN', Number.NaN],
      ['null', null],
    ],
    (v) => (ix) => ix.searchBatch(Q, 3, { threads: v as number }),
    OPT,
    /threads/,
  ),
  ...rows(
    'searchBatch({ nprobe })',
    [
      ['0', 0],
      ['NaN', Number.NaN],
      ["'x'", 'x'],
    ],
    (v) => (ix) => ix.searchBatch(Q, 3, { threads: 0, nprobe: v as number }),
    OPT,
    /nprobe/,
  ),
  ...rows(
    'searchBatch({ refineFactor })',
    [
      ['0', 0],
      ['MAX_REFINE_FACTOR + 1', MAX_REFINE_FACTOR + 1],
      ['1.5', 1.5],
    ],
    (v) => (ix) => ix.searchBatch(Q, 3, { threads: 0, refineFactor: v as number }),
    OPT,
    /refineFactor/,
  ),
  {
    name: 'searchBatch({ filter }): unknown operator',
    call: (ix) => ix.searchBatch(Q, 3, { threads: 0, filter: { a: { $regex: 'x' } } as never }),
    codes: ['BAD_FILTER'],
    names: /\$regex/,
  },
  {
    name: 'searchBatch(options): unknown key',
    call: (ix) => ix.searchBatch(Q, 3, { thread: 0 } as never),
    codes: ['UNKNOWN_OPTION'],
    names: /thread/,
  },
  // find
  ...rows(
    'find(limit)',
    [
      ['NaN', Number.NaN],
      ['-1', -1],
      ['1.5', 1.5],
      ["'x'", 'x'],
      ['null', null],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['MAX_FIND_LIMIT + 1', MAX_FIND_LIMIT + 1],
      ['a BigInt', 5n],
    ],
    (v) => (ix) => ix.find({ a: 1 }, v as number),
    OPT,
    /limit/,
  ),
  ...rows(
    'find(filter)',
    [
      ['null', null],
      ['5', 5],
      ["'x'", 'x'],
      ['a function', () => 1],
      ['a Symbol', Symbol('f')],
      ['an array', [{ a: 1 }]],
    ],
    (v) => (ix) => ix.find(v as never),
    ['BAD_FILTER'],
    /filter/i,
  ),
  // setProperty / getProperty
  ...rows(
    'setProperty(name)',
    [
      ['5', 5],
      ['null', null],
      ['undefined', undefined],
      ['257 characters', 'p'.repeat(MAX_NAME_LENGTH + 1)],
      ['a Symbol', Symbol('p')],
      ['an object', {}],
    ],
    (v) => (ix) => ix.setProperty(v as string, 1),
    ARG,
    /name/i,
  ),
  ...rows(
    'setProperty(value)',
    [
      ['a cycle', cyclic()],
      ['a function', () => 1],
      ['a Symbol', Symbol('v')],
      ['nested 1e5 deep', nested(100_000)],
      ['an object with a function', { f: () => 1 }],
    ],
    (v) => (ix) => ix.setProperty('p', v),
    ARG,
    /value|property/i,
  ),
  ...rows(
    'getProperty(name)',
    [
      ['5', 5],
      ['null', null],
      ['undefined', undefined],
      ['an object', {}],
      ['a Symbol', Symbol('p')],
    ],
    (v) => (ix) => ix.getProperty(v as string),
    ARG,
    /name/i,
  ),
  // createTextIndex
  ...rows(
    'createTextIndex(field)',
    [
      ['5', 5],
      ['null', null],
      ["''", ''],
      ["'a..b'", 'a..b'],
      ['257 characters', 't'.repeat(MAX_NAME_LENGTH + 1)],
      ["'$id'", '$id'],
      ['an object', {}],
    ],
    (v) => (ix) => ix.createTextIndex(v as string),
    ARG,
    /field/i,
  ),
  // retrain
  ...rows('retrain(options)', BAD_OPTION_OBJECTS, (v) => (ix) => ix.retrain(v as never), OPT, /option/i),
  ...rows(
    'retrain({ iterations })',
    [
      ['-5', -5],
      ["'many'", 'many'],
      ['NaN', Number.NaN],
      ['1.5', 1.5],
    ],
    (v) => (ix) => ix.retrain({ iterations: v as number }),
    OPT,
    /iterations/,
  ),
  {
    name: 'retrain(options): unknown key',
    call: (ix) => ix.retrain({ iteration: 3 } as never),
    codes: ['UNKNOWN_OPTION'],
    names: /iteration/,
  },
  // export
  ...rows(
    'export(path)',
    [
      ['null', null],
      ['5', 5],
      ["''", ''],
      ['an object', {}],
      ['a Symbol', Symbol('p')],
    ],
    (v) => (ix) => ix.export(v as string),
    ARG,
    /path/i,
  ),
  { name: 'export(path): an existing file', call: (ix) => ix.export(snapshot), codes: ['FILE_EXISTS'], names: /snap\.vqs/ },
  {
    name: 'export(path): a missing folder',
    call: (ix) => ix.export(join(dir, 'no-such-dir', 's.vqs')),
    codes: ['NOT_FOUND', 'IO_ERROR', 'CANNOT_OPEN'],
    names: /no-such-dir/,
  },
]

describe('bad arguments and options of an open index: refused, typed, named, nothing changed', () => {
  // One index for every row; a row that fails (the call may have changed it) gets the next row a fresh one.
  let shared: VqIndex | null = null
  afterAll(async () => {
    await shared?.close()
  })
  it.each(INDEX_ROWS.map((r) => [r.name, r] as const))('%s', async (_, r) => {
    shared ??= await flatIndex()
    const index = shared
    try {
      await expectRefusedUnchanged(index, PROBE_IDS, () => r.call(index), r, r.name)
    } catch (e) {
      shared = null
      await index.close()
      throw e
    }
  })
})

const TEXT_ROWS: Row[] = [
  ...rows(
    'keywordSearch(query)',
    [
      ['5', 5],
      ['null', null],
      ['undefined', undefined],
      ['an object', {}],
      ['a Symbol', Symbol('q')],
      ['an array', ['word1']],
    ],
    (v) => (ix) => ix.keywordSearch(v as string, 3),
    ['BAD_ARGUMENT'],
    /query/i,
  ),
  ...rows(
    'keywordSearch(k)',
    [...BAD_NUMBERS, ['0', 0], ['MAX_K + 1', MAX_K + 1]],
    (v) => (ix) => ix.keywordSearch('word1', v as number),
    ['BAD_K'],
    /\bk\b/,
  ),
  ...rows('keywordSearch(options)', BAD_OPTION_OBJECTS, (v) => (ix) => ix.keywordSearch('word1', 3, v as never), OPT, /option/i),
  ...rows(
    'keywordSearch({ filter })',
    [
      ['NaN', { a: Number.NaN }],
      ['an unknown operator', { a: { $like: 'x' } }],
      ['a cycle', cyclic()],
      ['5', 5],
    ],
    (v) => (ix) => ix.keywordSearch('word1', 3, { filter: v as never }),
    ['BAD_FILTER'],
    /filter|\$like|NaN|itself|cycle/i,
  ),
  {
    name: 'keywordSearch(options): unknown key',
    call: (ix) => ix.keywordSearch('word1', 3, { fliter: {} } as never),
    codes: ['UNKNOWN_OPTION'],
    names: /fliter/,
  },
  {
    name: 'createTextIndex(field): another field than the indexed one',
    call: (ix) => ix.createTextIndex('title'),
    codes: ['BAD_OPTION', 'BAD_ARGUMENT', 'UNSUPPORTED'],
    names: /text|field/i,
  },
]

describe('bad arguments of keyword search on an index with a text index', () => {
  it.each(TEXT_ROWS.map((r) => [r.name, r] as const))('%s', async (_, r) => {
    const textIndex = await flatIndex()
    try {
      await textIndex.createTextIndex('text')
      await expectRefusedUnchanged(textIndex, PROBE_IDS, () => r.call(textIndex), r, r.name)
      expect(textIndex.textField, `${r.name}: the text field`).toBe('text')
    } finally {
      await textIndex.close()
    }
  })
})

/** A bad single vector after a good one (so that the training set has enough points for IVF2); other values as they are. */
function withGoodVector(v: unknown): Float32Array {
  if (!(v instanceof Float32Array) || v.length !== DIM) return v as Float32Array
  const x = new Float32Array(2 * DIM).fill(0.25)
  x.set(v, DIM)
  return x
}

const TRAIN_X = new Float32Array(8 * DIM).map((_, i) => ((i * 13) % 11) / 5 - 1)
const TRAIN_ROWS: Row[] = [
  ...badVectors(DIM).map(
    ([label, v, codes]): Row => ({
      name: `train(x): ${label}`,
      call: (ix) => ix.train(withGoodVector(v)),
      codes: codes as VqErrorCode[],
      names: /vector|dimension|value|norm|training/i,
    }),
  ),
  ...rows('train(options)', BAD_OPTION_OBJECTS, (v) => (ix) => ix.train(TRAIN_X, v as never), OPT, /option/i),
  ...rows(
    'train({ iterations })',
    [
      ['-5', -5],
      ["'many'", 'many'],
      ['NaN', Number.NaN],
      ['1.5', 1.5],
      ['null', null],
    ],
    (v) => (ix) => ix.train(TRAIN_X, { iterations: v as number }),
    OPT,
    /iterations/,
  ),
  ...rows(
    'train({ ivfIterations })',
    [
      ['-1', -1],
      ["'x'", 'x'],
      ['Infinity', Number.POSITIVE_INFINITY],
    ],
    (v) => (ix) => ix.train(TRAIN_X, { ivfIterations: v as number }),
    OPT,
    /ivfIterations/,
  ),
  ...rows(
    'train({ seed })',
    [
      ["'abc'", 'abc'],
      ['NaN', Number.NaN],
      ['a BigInt', 5n],
      ['an object', {}],
    ],
    (v) => (ix) => ix.train(TRAIN_X, { seed: v as number }),
    OPT,
    /seed/,
  ),
  ...rows(
    'train({ init })',
    [
      ["'bogus'", 'bogus'],
      ['5', 5],
      ['null', null],
    ],
    (v) => (ix) => ix.train(TRAIN_X, { init: v as never }),
    OPT,
    /init/,
  ),
  ...rows(
    'train({ tolerance })',
    [
      ['-1', -1],
      ['NaN', Number.NaN],
      ["'x'", 'x'],
    ],
    (v) => (ix) => ix.train(TRAIN_X, { tolerance: v as number }),
    OPT,
    /tolerance/,
  ),
  ...rows(
    'train({ maxPointsPerCentroid })',
    [
      ['0', 0],
      ['-3', -3],
      ['1.5', 1.5],
    ],
    (v) => (ix) => ix.train(TRAIN_X, { maxPointsPerCentroid: v as number }),
    OPT,
    /maxPointsPerCentroid/,
  ),
  ...rows(
    'train({ onProgress })',
    [
      ['5', 5],
      ["'x'", 'x'],
      ['an object', {}],
    ],
    (v) => (ix) => ix.train(TRAIN_X, { onProgress: v as never }),
    OPT,
    /onProgress/,
  ),
  ...rows(
    'train({ onWarning })',
    [
      ['5', 5],
      ['null', null],
    ],
    (v) => (ix) => ix.train(TRAIN_X, { onWarning: v as never }),
    OPT,
    /onWarning/,
  ),
  {
    name: 'train(options): unknown key',
    call: (ix) => ix.train(TRAIN_X, { seeds: 3 } as never),
    codes: ['UNKNOWN_OPTION'],
    names: /seeds/,
  },
  {
    name: 'add(options): train options with iterations -5',
    call: (ix) => ix.add([0, 1, 2, 3], TRAIN_X.subarray(0, 4 * DIM), undefined, { train: { iterations: -5 } }),
    codes: OPT,
    names: /iterations/,
  },
  {
    name: 'add(options): train options with an unknown key',
    call: (ix) => ix.add([0, 1, 2, 3], TRAIN_X.subarray(0, 4 * DIM), undefined, { train: { bogus: 1 } as never }),
    codes: ['UNKNOWN_OPTION'],
    names: /bogus/,
  },
  { name: 'add before training', call: (ix) => ix.add([0], TRAIN_X.subarray(0, DIM)), codes: ['NOT_TRAINED'], names: /train/i },
]

describe('bad arguments of train on an untrained IVF2 index: refused, still untrained and empty', () => {
  it.each(TRAIN_ROWS.map((r) => [r.name, r] as const))('%s', async (_, r) => {
    const untrained = VqIndex.create(':memory:', { dim: DIM, description: 'IVF2,Flat', storeVectors: 'float32', threads: 0 })
    try {
      await expectRefusedUnchanged(untrained, [0, 1], () => r.call(untrained), r, r.name)
      expect(untrained.isTrained, `${r.name}: still untrained`).toBe(false)
    } finally {
      await untrained.close()
    }
  })
})

/** Calls fn and closes the index it returns when it (wrongly) succeeds. */
function closing(fn: () => unknown): () => Promise<unknown> {
  return async () => {
    const r = fn()
    if (r instanceof VqIndex) await r.close()
    return r
  }
}

/** create / open / import: bad paths and options; nothing is created. */
describe('bad arguments of create, open and import: refused, no file made', () => {
  let made = 0
  let current = ''
  beforeEach(() => {
    current = join(dir, `new-${made++}.vq`)
  })
  const target = (): string => current
  const createRows: [string, () => unknown, readonly VqErrorCode[], RegExp][] = [
    ...rows(
      'create(path)',
      [
        ['null', null],
        ['5', 5],
        ["''", ''],
        ['an object', {}],
        ['a Symbol', Symbol('p')],
      ],
      (v) => () => VqIndex.create(v as string, { dim: DIM }),
      ['BAD_OPTION', 'BAD_ARGUMENT'],
      /path/i,
    ).map((r): [string, () => unknown, readonly VqErrorCode[], RegExp] => [r.name, r.call as () => unknown, r.codes, r.names]),
    ...[...BAD_OPTION_OBJECTS, ['undefined', undefined] as [string, unknown]].map(
      ([l, v]): [string, () => unknown, readonly VqErrorCode[], RegExp] => [
        `create(options): ${l}`,
        () => VqIndex.create(target(), v as never),
        OPT,
        /option|dim/i,
      ],
    ),
    ...[...BAD_NUMBERS, ['0', 0], ['MAX_DIM + 1', 65_537], ['1e9', 1e9]].map(
      ([l, v]): [string, () => unknown, readonly VqErrorCode[], RegExp] => [
        `create({ dim }): ${l}`,
        () => VqIndex.create(target(), { dim: v as number }),
        OPT,
        /dim/,
      ],
    ),
    ...(
      [
        ['metric', 'L2'],
        ['metric', 5],
        ['storeVectors', 'yes'],
        ['storeVectors', true],
        ['durability', 'fast'],
        ['busyTimeoutMs', -1],
        ['busyTimeoutMs', Number.NaN],
        ['busyTimeoutMs', 'x'],
        ['threads', -1],
        ['threads', 1.5],
        ['threads', 'x'],
        ['kernels', 'gpu'],
        ['kernels', 5],
        ['codec', { kind: 'weird' }],
        ['codec', 5],
        ['codec', null],
        ['ivf', { nlist: -1 }],
        ['ivf', { nlist: 1.5 }],
        ['ivf', 5],
        ['refine', { kind: 'weird' }],
        ['transform', { kind: 'rot' }],
      ] as [string, unknown][]
    ).map(([key, v]): [string, () => unknown, readonly VqErrorCode[], RegExp] => [
      `create({ ${key}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)} })`,
      () => VqIndex.create(target(), { dim: DIM, [key]: v } as never),
      ['BAD_OPTION', 'UNSUPPORTED'],
      new RegExp(`${key}|${key === 'transform' ? 'rot' : key}`, 'i'),
    ]),
    ...([['Bogus'], ['IVF-1,Flat'], ['x'.repeat(100_000)], ['PQ3']] as [string][]).map(
      ([d]): [string, () => unknown, readonly VqErrorCode[], RegExp] => [
        `create({ description: ${d.slice(0, 20)} })`,
        () => VqIndex.create(target(), { dim: DIM, description: d }),
        ['BAD_DESCRIPTION', 'BAD_OPTION'],
        /description|PQ|IVF|Bogus|x{5}/,
      ],
    ),
    [
      'create({ description: 5 })',
      () => VqIndex.create(target(), { dim: DIM, description: 5 as never }),
      ['BAD_DESCRIPTION', 'BAD_OPTION'],
      /description/,
    ],
    ['create(options): unknown key', () => VqIndex.create(target(), { dim: DIM, dimm: 3 } as never), ['UNKNOWN_OPTION'], /dimm/],
  ]
  it.each(createRows.map((r) => [r[0], r] as const))('%s', async (_, [name, call, codes, names]) => {
    await expectRefused(closing(call), { codes, names }, name)
    expect(existsSync(target()), `${name}: no file at the path`).toBe(false)
  })

  const openRows: [string, () => unknown, readonly VqErrorCode[], RegExp][] = [
    ...rows(
      'open(path)',
      [
        ['null', null],
        ['5', 5],
        ["''", ''],
        ['an object', {}],
        ["':memory:'", ':memory:'],
      ],
      (v) => () => VqIndex.open(v as string),
      ['BAD_OPTION', 'BAD_ARGUMENT'],
      /path|memory/i,
    ).map((r): [string, () => unknown, readonly VqErrorCode[], RegExp] => [r.name, r.call as () => unknown, r.codes, r.names]),
    ['open(path): a missing file', () => VqIndex.open(join(dir, 'missing.vq')), ['NOT_FOUND'], /missing\.vq/],
    [
      'open(path): a snapshot is not an index',
      () => VqIndex.open(snapshot, { readonly: true }),
      ['NOT_SQLITE', 'FOREIGN_FILE', 'CORRUPT_FILE'],
      /snap\.vqs/,
    ],
    ...BAD_OPTION_OBJECTS.map(([l, v]): [string, () => unknown, readonly VqErrorCode[], RegExp] => [
      `open(options): ${l}`,
      () => VqIndex.open(indexFile, v as never),
      OPT,
      /option/i,
    ]),
    ...(
      [
        ['readonly', 'yes'],
        ['durability', 'fast'],
        ['threads', -1],
        ['kernels', 'gpu'],
        ['busyTimeoutMs', -5],
      ] as [string, unknown][]
    ).map(([key, v]): [string, () => unknown, readonly VqErrorCode[], RegExp] => [
      `open({ ${key}: ${String(v)} })`,
      () => VqIndex.open(indexFile, { [key]: v } as never),
      OPT,
      new RegExp(key),
    ]),
    ['open(options): unknown key', () => VqIndex.open(indexFile, { readOnly: true } as never), ['UNKNOWN_OPTION'], /readOnly/],
    ["import(snapshot): ''", () => VqIndex.import('', target()), ['BAD_OPTION', 'BAD_ARGUMENT', 'NOT_FOUND'], /path|snapshot|''|""/i],
    ...rows(
      'import(snapshot)',
      [
        ['null', null],
        ['5', 5],
        ['an object', {}],
      ],
      (v) => () => VqIndex.import(v as string, target()),
      ['BAD_OPTION', 'BAD_ARGUMENT'],
      /path|snapshot/i,
    ).map((r): [string, () => unknown, readonly VqErrorCode[], RegExp] => [r.name, r.call as () => unknown, r.codes, r.names]),
    ['import(snapshot): a missing file', () => VqIndex.import(join(dir, 'missing.vqs'), target()), ['NOT_FOUND'], /missing\.vqs/],
    ...rows(
      'import(path)',
      [
        ['null', null],
        ['5', 5],
        ["''", ''],
      ],
      (v) => () => VqIndex.import(snapshot, v as string),
      ['BAD_OPTION', 'BAD_ARGUMENT'],
      /path/i,
    ).map((r): [string, () => unknown, readonly VqErrorCode[], RegExp] => [r.name, r.call as () => unknown, r.codes, r.names]),
    ['import(path): an existing file', () => VqIndex.import(snapshot, snapshot), ['FILE_EXISTS'], /snap\.vqs/],
    ...BAD_OPTION_OBJECTS.map(([l, v]): [string, () => unknown, readonly VqErrorCode[], RegExp] => [
      `import(options): ${l}`,
      () => VqIndex.import(snapshot, target(), v as never),
      OPT,
      /option/i,
    ]),
    ['import(options): unknown key', () => VqIndex.import(snapshot, target(), { readonly: true } as never), ['UNKNOWN_OPTION'], /readonly/],
    ['import(options): threads -1', () => VqIndex.import(snapshot, target(), { threads: -1 }), OPT, /threads/],
  ]
  it.each(openRows.map((r) => [r[0], r] as const))('%s', async (_, [name, call, codes, names]) => {
    const before = readFileSync(indexFile)
    await expectRefused(closing(call), { codes, names }, name)
    expect(existsSync(target()), `${name}: no file made`).toBe(false)
    expect(readFileSync(indexFile).equals(before), `${name}: the index file is byte-for-byte unchanged`).toBe(true)
  })
})

/** Every method and getter of a closed index: CLOSED (close itself is idempotent). */
describe('a closed index: every call and getter is CLOSED', () => {
  const calls: [string, (ix: VqIndex) => unknown][] = [
    ['size', (ix) => ix.size],
    ['count', (ix) => ix.count()],
    ['isTrained', (ix) => ix.isTrained],
    ['codeSize', (ix) => ix.codeSize],
    ['refineCodeSize', (ix) => ix.refineCodeSize],
    ['manifest', (ix) => ix.manifest],
    ['textField', (ix) => ix.textField],
    ['kernelBackend', (ix) => ix.kernelBackend],
    ['maxId()', (ix) => ix.maxId()],
    ['has(1)', (ix) => ix.has(1)],
    ['get(1)', (ix) => ix.get(1)],
    ['reconstruct(1)', (ix) => ix.reconstruct(1)],
    ['search', (ix) => ix.search(Q, 3)],
    ['searchBatch', (ix) => ix.searchBatch(Q, 3, { threads: 0 })],
    ['find', (ix) => ix.find({ a: 1 })],
    ['keywordSearch', (ix) => ix.keywordSearch('word1', 3)],
    ['add', (ix) => ix.add([50], Q)],
    ['upsert', (ix) => ix.upsert([1], Q)],
    ['delete', (ix) => ix.delete([1])],
    ['train', (ix) => ix.train(Q)],
    ['retrain', (ix) => ix.retrain()],
    ['refresh', (ix) => ix.refresh()],
    ['stats', (ix) => ix.stats()],
    ['export', (ix) => ix.export(join(dir, 'closed.vqs'))],
    ['memoryUsage', (ix) => ix.memoryUsage()],
    ['storageInfo', (ix) => ix.storageInfo()],
    ['integrityCheck', (ix) => ix.integrityCheck()],
    ['getProperty', (ix) => ix.getProperty('p')],
    ['setProperty', (ix) => ix.setProperty('p', 1)],
    ['createTextIndex', (ix) => ix.createTextIndex('text')],
  ]
  let closed: VqIndex
  beforeAll(async () => {
    closed = VqIndex.create(':memory:', { dim: DIM, storeVectors: 'float32', threads: 0 })
    await closed.add([1, 2], new Float32Array(2 * DIM).fill(0.5), [{ text: 'word1' }, null])
    await closed.close()
    await closed.close()
  })
  it.each(calls)('%s', async (name, call) => {
    await expectRefused(() => call(closed), { codes: ['CLOSED'], names: /closed/i }, `${name} after close()`)
    expect(existsSync(join(dir, 'closed.vqs'))).toBe(false)
  })
})
