/**
 * `vqlite add` / `vqlite upsert` of a file are all or nothing: the whole file is checked
 * first (dimension, finite numbers, ids, JSONL line shape, metadata), then written in one
 * transaction together with the training of an untrained index. A refused file is exit 1
 * with a message naming the file, the line or record and the value, and leaves the index
 * exactly as it was (count, ids, trained state); never exit 3 (internal error).
 * One child process per case, small files (the 70,000-row case excepted).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqIndex } from 'vqlite'
import { randomVectors } from '../helpers/data.js'
import { runIn, stateOf, writeBvecs, writeFvecs, writeNpyF8 } from './cli-run.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-add-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const run = (...args: string[]) => runIn(dir, args)

let serial = 0
/** A new index file (3-d unless said otherwise), optionally holding items 0..n-1. */
async function index(description = 'Flat', options: { metric?: 'l2' | 'cosine'; n?: number; dim?: number } = {}): Promise<string> {
  const name = `ix${serial++}.vqlite`
  const d = options.dim ?? 3
  const ix = VqIndex.create(join(dir, name), { dim: d, description, metric: options.metric ?? 'l2' })
  const n = options.n ?? 0
  if (n > 0)
    await ix.add(
      Array.from({ length: n }, (_, i) => i),
      randomVectors(n, d, 7),
      undefined,
      { train: true },
    )
  await ix.close()
  return name
}

function file(name: string, text: string | Buffer): string {
  writeFileSync(join(dir, name), text)
  return name
}

/** JSONL text of 3-d vectors, one per line, ids from `from` (or none). */
function jsonl(n: number, from: number | null = 0, seed = 3): string {
  const x = randomVectors(n, 3, seed)
  return Array.from(
    { length: n },
    (_, i) => `${JSON.stringify({ ...(from === null ? {} : { id: from + i }), vector: Array.from(x.subarray(i * 3, i * 3 + 3)) })}\n`,
  ).join('')
}

/** Expects a refusal: exit 1, the message (all parts), the code, and the index unchanged. */
async function refused(ixName: string, input: string, parts: string[], code: string, mode = 'add'): Promise<void> {
  const before = await stateOf(join(dir, ixName))
  const r = run(mode, ixName, input)
  expect(r.status, r.all).toBe(1)
  expect(r.stderr, r.all).not.toContain('internal error')
  for (const p of parts) expect(r.stderr, r.all).toContain(p)
  expect(r.stderr, r.all).toContain(`[${code}]`)
  expect(await stateOf(join(dir, ixName))).toEqual(before)
}

describe('add is all or nothing', () => {
  it('a 70,000-row CSV with an id of the first 65,536 rows repeated after them adds nothing (the line and the id are named)', async () => {
    const ix = await index()
    const x = randomVectors(70_000, 3, 11)
    const lines = ['id,a,b,c']
    for (let i = 0; i < 70_000; i++) lines.push(`${i === 69_000 ? 5 : i},${x[i * 3]},${x[i * 3 + 1]},${x[i * 3 + 2]}`)
    file('dup70k.csv', `${lines.join('\n')}\n`)
    await refused(ix, 'dup70k.csv', ['dup70k.csv line 69002', 'id 5 is also on line 7'], 'DUPLICATE_ID')
    expect((await stateOf(join(dir, ix))).count).toBe(0)
  })

  it('the same 70,000 rows with unique ids are added in one call', async () => {
    const ix = await index()
    const x = randomVectors(70_000, 3, 11)
    const lines: string[] = []
    for (let i = 0; i < 70_000; i++) lines.push(`${x[i * 3]},${x[i * 3 + 1]},${x[i * 3 + 2]}`)
    file('ok70k.csv', `${lines.join('\n')}\n`)
    const r = run('add', ix, 'ok70k.csv', '--json')
    expect(r.status, r.all).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 70_000, count: 70_000 })
  })

  it('a refused first add leaves an untrained index untrained and empty (duplicate id, zero vector for cosine)', async () => {
    const ivf = await index('IVF2,SQ8')
    file('dup.jsonl', `${jsonl(6)}{"id": 2, "vector": [1, 2, 3]}\n`)
    await refused(ivf, 'dup.jsonl', ['dup.jsonl line 7', 'id 2 is also on line 3'], 'DUPLICATE_ID')
    expect(await stateOf(join(dir, ivf))).toEqual({ count: 0, trained: false, ids: [] })
    // refused by the library after the file's checks: the training is rolled back with the add
    const cos = await index('IVF2,SQ8', { metric: 'cosine' })
    file('zero.jsonl', `${jsonl(6)}{"id": 99, "vector": [0, 0, 0]}\n`)
    await refused(cos, 'zero.jsonl', [], 'ZERO_VECTOR')
    expect(await stateOf(join(dir, cos))).toEqual({ count: 0, trained: false, ids: [] })
    // and then the good file trains and adds
    file('six.jsonl', jsonl(6))
    const ok = run('add', cos, 'six.jsonl')
    expect(ok.status, ok.all).toBe(0)
    expect(await stateOf(join(dir, cos))).toEqual({ count: 6, trained: true, ids: [0, 1, 2, 3, 4, 5] })
  })

  it('an id already in the index adds nothing', async () => {
    const ix = await index('Flat', { n: 4 })
    file('exists.jsonl', jsonl(3, 2))
    await refused(ix, 'exists.jsonl', [], 'ID_EXISTS')
  })
})

describe('JSONL lines are checked, with the line number and the value', () => {
  const cases: [string, string, string[], string][] = [
    ['a null line', `${jsonl(1)}null\n`, ['line 2', 'got null'], 'BAD_VECTORS'],
    ['an array line', `[1, 2, 3]\n`, ['line 1', 'got [1,2,3]'], 'BAD_VECTORS'],
    ['a number line', `${jsonl(2)}42\n`, ['line 3', 'got 42'], 'BAD_VECTORS'],
    ['a string line', `"hello"\n`, ['line 1', 'got "hello"'], 'BAD_VECTORS'],
    ['not JSON', `${jsonl(1)}{"vector": [1,2,\n`, ['line 2: not JSON', '{\\"vector\\": [1,2,'], 'BAD_VECTORS'],
    ['an unknown field', `{"id": 1, "vector": [1,2,3], "vecotr": [1]}\n`, ['line 1', 'unknown field "vecotr"'], 'BAD_VECTORS'],
    ['no vector', `{"id": 1}\n`, ['line 1', '"vector" must be an array'], 'BAD_VECTORS'],
    ['a null vector', `{"vector": null}\n`, ['line 1', 'got null'], 'BAD_VECTORS'],
    ['a string component', `{"vector": [1, "2", 3]}\n`, ['line 1', 'component 1 is "2"'], 'BAD_VECTORS'],
    ['a null component', `{"vector": [1, null, 3]}\n`, ['line 1', 'component 1 is null'], 'BAD_VECTORS'],
    ['mixed dimensions', `${jsonl(2, null)}{"vector": [1, 2]}\n`, ['line 3', '2 numbers, earlier lines have 3'], 'DIMENSION_MISMATCH'],
    ['the wrong dimension', `{"vector": [1, 2, 3, 4]}\n`, ['line 1', '4 numbers', 'is 3-d'], 'DIMENSION_MISMATCH'],
    ['an empty vector', `{"vector": []}\n`, ['line 1', '0 numbers'], 'DIMENSION_MISMATCH'],
    ['a huge number (Infinity once parsed)', `{"vector": [1, 1e400, 3]}\n`, ['line 1', 'component 1 is Infinity'], 'NON_FINITE_VALUE'],
    ['a number past float32', `${jsonl(1, null)}{"vector": [1e39, 0, 0]}\n`, ['line 2', 'component 0 is 1e+39'], 'NON_FINITE_VALUE'],
    ['a squared norm past the limit', `{"vector": [1e19, 1e19, 0]}\n`, ['line 1', 'MAX_SQUARED_NORM'], 'VALUE_OUT_OF_RANGE'],
    ['a negative id', `{"id": -1, "vector": [1,2,3]}\n`, ['line 1', 'id -1'], 'BAD_IDS'],
    ['a fractional id', `{"id": 1.5, "vector": [1,2,3]}\n`, ['line 1', 'id 1.5'], 'BAD_IDS'],
    ['a string id', `{"id": "7", "vector": [1,2,3]}\n`, ['line 1', 'id "7"'], 'BAD_IDS'],
    ['a null id', `{"id": null, "vector": [1,2,3]}\n`, ['line 1', 'id null'], 'BAD_IDS'],
    ['an id past MAX_ID', `{"id": 9007199254740992, "vector": [1,2,3]}\n`, ['line 1', 'id 9007199254740992'], 'BAD_IDS'],
    ['ids on some lines only', `${jsonl(2, 0)}${jsonl(1, null)}`, ['line 1 has an id and line 3 has none'], 'BAD_IDS'],
    ['a duplicate id', `${jsonl(3, 10)}{"id": 11, "vector": [1,2,3]}\n`, ['line 4', 'id 11 is also on line 2'], 'DUPLICATE_ID'],
    [
      'metadata nested past MAX_METADATA_DEPTH',
      `{"vector": [1,2,3], "metadata": ${'['.repeat(100)}${']'.repeat(100)}}\n`,
      ['line 1', 'nested deeper than 64'],
      'BAD_METADATA',
    ],
    ['only blank lines', '\n   \n\r\n', ['no vectors'], 'BAD_VECTORS'],
    ['an empty file', '', ['no vectors'], 'BAD_VECTORS'],
  ]
  it.each(cases)('%s', async (name, text, parts, code) => {
    const ix = await index('Flat', { n: 2 })
    const f = file(`${name.replace(/\W+/g, '_')}.jsonl`, text)
    await refused(ix, f, [`${f}`, ...parts], code)
  })

  it('deep metadata (100,000 levels) is refused, not a stack overflow', async () => {
    const ix = await index()
    const f = file('deep.jsonl', `{"vector": [1,2,3], "metadata": {"a": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}\n`)
    await refused(ix, f, ['deep.jsonl line 1', 'nested deeper'], 'BAD_METADATA')
  })

  it('CRLF line ends, a BOM and blank lines are accepted; ids and metadata arrive', async () => {
    const ix = await index()
    const f = file(
      'crlf.jsonl',
      '\uFEFF{"id": 4, "vector": [1, 2, 3], "metadata": {"tag": "a"}}\r\n\r\n   \r\n{"id": 9, "vector": [3, 2, 1]}\r\n',
    )
    const r = run('add', ix, f, '--json')
    expect(r.status, r.all).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 2, count: 2 })
    const got = run('get', ix, '4', '--json')
    expect(JSON.parse(got.stdout)).toMatchObject({ id: 4, metadata: { tag: 'a' } })
    expect((await stateOf(join(dir, ix))).ids).toEqual([4, 9])
  })
})

describe('CSV rows are checked, with the line number and the value', () => {
  const cases: [string, string, string[], string][] = [
    ['a header only', 'id,a,b,c\n', ['no vectors'], 'BAD_VECTORS'],
    ['an empty file', '', ['no vectors'], 'BAD_VECTORS'],
    ['a NaN', '1,2,3\n4,NaN,6\n', ['line 2', 'column 2 is "NaN"'], 'BAD_VECTORS'],
    ['a NaN in the first row (not a header)', '1,2,NaN\n4,5,6\n', ['line 1', 'column 3 is "NaN"'], 'BAD_VECTORS'],
    ['Infinity', '1,2,3\n1,Infinity,3\n', ['line 2', '"Infinity"'], 'BAD_VECTORS'],
    ['a hex number', '1,0x10,3\n', ['line 1', '"0x10"'], 'BAD_VECTORS'],
    ['an empty cell', '1,,3\n', ['line 1', 'column 2 is ""'], 'BAD_VECTORS'],
    ['a word', 'a,b,c\n1,2,3\n1,two,3\n', ['line 3', '"two"'], 'BAD_VECTORS'],
    ['a huge number', '1,2,3\n1,1e39,3\n', ['line 2', 'component 1 is 1e39'], 'NON_FINITE_VALUE'],
    ['a squared norm past the limit', '1e19,1e19,1e19\n', ['line 1', 'MAX_SQUARED_NORM'], 'VALUE_OUT_OF_RANGE'],
    ['mixed row lengths', '1,2,3\n1,2,3,4\n', ['line 2', '4 cells, the first row has 3'], 'DIMENSION_MISMATCH'],
    ['the wrong dimension', '1,2\n', ['line 1', '2 numbers', 'is 3-d'], 'DIMENSION_MISMATCH'],
    ['a fractional id', 'id,a,b,c\n1.5,1,2,3\n', ['line 2', 'id "1.5"'], 'BAD_IDS'],
    ['a negative id', 'id,a,b,c\n-1,1,2,3\n', ['line 2', 'id "-1"'], 'BAD_IDS'],
    ['an id past MAX_ID', 'id,a,b,c\n9007199254740993,1,2,3\n', ['line 2', 'id "9007199254740993"'], 'BAD_IDS'],
    ['a duplicate id', 'id,a,b,c\n1,1,2,3\n2,1,2,3\n1,3,2,1\n', ['line 4', 'id 1 is also on line 2'], 'DUPLICATE_ID'],
    ['two id columns', 'id,a,ID,c\n1,1,2,3\n', ['line 1', '2 "id" columns'], 'BAD_VECTORS'],
    ['an unclosed quote', '1,2,3\n"4,5,6\n', ['Quote Not Closed'], 'BAD_VECTORS'],
  ]
  it.each(cases)('%s', async (name, text, parts, code) => {
    const ix = await index('Flat', { n: 2 })
    const f = file(`${name.replace(/\W+/g, '_')}.csv`, text)
    await refused(ix, f, [f, ...parts], code)
  })

  it('a BOM, CRLF line ends, blank lines and a quoted header are accepted; the id column gives the ids', async () => {
    const ix = await index('IVF2,SQ8')
    const f = file('bom.csv', '\uFEFF"id","a","b","c"\r\n10,1,2,3\r\n\r\n11,3,2,1\r\n12,1,1,1\r\n  \r\n13,0.5,-2,4e-3\r\n')
    const r = run('add', ix, f, '--json')
    expect(r.status, r.all).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 4, count: 4 })
    expect(await stateOf(join(dir, ix))).toEqual({ count: 4, trained: true, ids: [10, 11, 12, 13] })
  })
})

describe('binary vector files are checked, with the record number', () => {
  it('.fvecs with a NaN, with an Infinity, empty, truncated, of the wrong dimension', async () => {
    const ix = await index('Flat', { n: 2 })
    const x = Array.from(randomVectors(4, 3, 2))
    x[7] = Number.NaN
    writeFvecs(join(dir, 'nan.fvecs'), x, 4, 3)
    await refused(ix, 'nan.fvecs', ['nan.fvecs record 3', 'component 1 is NaN'], 'NON_FINITE_VALUE')
    x[7] = Number.POSITIVE_INFINITY
    writeFvecs(join(dir, 'inf.fvecs'), x, 4, 3)
    await refused(ix, 'inf.fvecs', ['inf.fvecs record 3', 'Infinity'], 'NON_FINITE_VALUE')
    file('empty.fvecs', '')
    await refused(ix, 'empty.fvecs', ['empty.fvecs', 'no vectors'], 'BAD_VECTORS')
    writeFvecs(join(dir, 'whole.fvecs'), randomVectors(4, 3, 2), 4, 3)
    file('cut.fvecs', readFileSync(join(dir, 'whole.fvecs')).subarray(0, 4 * 16 - 5))
    await refused(ix, 'cut.fvecs', ['cut.fvecs', 'truncated'], 'TRUNCATED_FILE')
    writeFvecs(join(dir, 'four.fvecs'), randomVectors(2, 4, 2), 2, 4)
    await refused(ix, 'four.fvecs', ['four.fvecs holds 4-d vectors', 'is 3-d'], 'DIMENSION_MISMATCH')
  })

  it('.bvecs is added; .npy with an Infinity or a bad header is refused', async () => {
    const ix = await index('Flat', { n: 2 })
    writeBvecs(join(dir, 'b.bvecs'), [1, 2, 3, 250, 0, 7], 2, 3)
    const r = run('add', ix, 'b.bvecs', '--json')
    expect(r.status, r.all).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ added: 2, count: 4 })
    writeNpyF8(join(dir, 'inf.npy'), [1, 2, 3, 4, Number.POSITIVE_INFINITY, 6], [2, 3])
    await refused(ix, 'inf.npy', ['inf.npy record 2', 'component 1 is Infinity'], 'NON_FINITE_VALUE')
    writeNpyF8(join(dir, 'big.npy'), [1, 2, 1e300], [1, 3])
    await refused(ix, 'big.npy', ['big.npy record 1', 'component 2'], 'NON_FINITE_VALUE')
    file('garbage.npy', 'this is not numpy at all')
    await refused(ix, 'garbage.npy', ['garbage.npy'], 'BAD_FILE')
    writeNpyF8(join(dir, 'empty.npy'), [], [0, 3])
    await refused(ix, 'empty.npy', ['empty.npy', 'no vectors'], 'BAD_VECTORS')
  })
})

describe('input paths', () => {
  it('missing, a folder, a FIFO (without hanging), an unknown extension', async () => {
    const ix = await index('Flat', { n: 2 })
    await refused(ix, 'nope.jsonl', ['nope.jsonl: no such file'], 'NOT_FOUND')
    mkdirSync(join(dir, 'folder.csv'))
    await refused(ix, 'folder.csv', ['folder.csv is a folder'], 'CANNOT_OPEN')
    execFileSync('mkfifo', [join(dir, 'fifo.jsonl')])
    await refused(ix, 'fifo.jsonl', ['fifo.jsonl is a FIFO'], 'CANNOT_OPEN')
    file('v.txt', '1,2,3\n')
    await refused(ix, 'v.txt', ['v.txt: expected a .fvecs'], 'BAD_VECTORS')
  })
})

describe('upsert', () => {
  it('replaces and adds by id in one call; a file without ids or with a bad line changes nothing', async () => {
    const ix = await index('Flat', { n: 3 })
    file('up.jsonl', '{"id": 1, "vector": [9, 9, 9], "metadata": {"v": 2}}\n{"id": 7, "vector": [1, 1, 1]}\n')
    const r = run('upsert', ix, 'up.jsonl', '--json')
    expect(r.status, r.all).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ upserted: 2, count: 4 })
    expect(JSON.parse(run('get', ix, '1', '--json').stdout)).toMatchObject({ id: 1, metadata: { v: 2 } })
    file('noids.jsonl', jsonl(2, null))
    await refused(ix, 'noids.jsonl', ['noids.jsonl', 'upsert needs an id'], 'BAD_IDS', 'upsert')
    file('upbad.jsonl', '{"id": 1, "vector": [5, 5, 5]}\n{"id": 2, "vector": [5, 5]}\n')
    await refused(ix, 'upbad.jsonl', ['upbad.jsonl line 2'], 'DIMENSION_MISMATCH', 'upsert')
    expect(JSON.parse(run('get', ix, '1', '--json').stdout)).toMatchObject({ id: 1, metadata: { v: 2 } })
  })
})
