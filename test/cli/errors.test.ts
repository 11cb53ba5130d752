/**
 * Every vqlite command answers bad input with a message and a documented exit code, never
 * an internal error (exit 3): option values past the library's limits are usage errors
 * (exit 2) refused before anything is read or allocated; refusals of the library and of the
 * file system are `vqlite: message [CODE]` with exit 1; a FIFO never blocks.
 * One child process per case.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_BATCH_RESULTS, MAX_DIM, MAX_ID, MAX_K, MAX_REFINE_FACTOR, VqIndex } from 'vqlite'
import { randomVectors } from '../helpers/data.js'
import { runIn, stateOf } from './cli-run.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-err-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const run = (...args: string[]) => runIn(dir, args, 20_000)

beforeAll(async () => {
  const ix = VqIndex.create(join(dir, 'ok.vqlite'), { dim: 3, description: 'Flat' })
  await ix.add([0, 1, 2, 3], randomVectors(4, 3, 1), [{ tag: 'a' }, { tag: 'b' }, null, { tag: 'a' }], { train: true })
  await ix.close()
  writeFileSync(join(dir, 'q.jsonl'), '{"vector": [0.1, 0.2, 0.3]}\n')
  mkdirSync(join(dir, 'folder.vqlite'))
  execFileSync('mkfifo', [join(dir, 'fifo.vqlite')])
  writeFileSync(join(dir, 'garbage.snapshot'), 'not a snapshot, just some text\n'.repeat(10))
  writeFileSync(join(dir, 'exists.snapshot'), 'keep me')
})

/** A usage error: exit 2, the message names the option and the value. */
function usage(args: string[], parts: string[]): void {
  const r = run(...args)
  expect(r.status, r.all).toBe(2)
  for (const p of parts) expect(r.stderr, r.all).toContain(p)
  expect(r.stderr, r.all).not.toContain('internal error')
}

/** A refusal: exit 1, `vqlite: ... [CODE]`. */
function refused(args: string[], code: string, parts: string[] = []): void {
  const r = run(...args)
  expect(r.status, r.all).toBe(1)
  expect(r.stderr, r.all).toMatch(/^vqlite: .+ \[[A-Z_]+\]\n$/s)
  expect(r.stderr, r.all).toContain(`[${code}]`)
  for (const p of parts) expect(r.stderr, r.all).toContain(p)
}

describe('option values past the limits are usage errors, before anything is read', () => {
  const search = ['search', '--index', 'ok.vqlite', '--vectors', 'q.jsonl']
  it.each([
    ['--k 1e9', [...search, '--k', '1000000000'], ['1000000000', `${MAX_K}`, 'MAX_K']],
    ['-k 1e9', [...search, '-k', '1000000000'], ['1000000000', 'MAX_K']],
    ['--k past MAX_K', [...search, '--k', String(MAX_K + 1)], [String(MAX_K + 1)]],
    ['--k 0', [...search, '--k', '0'], ['"0"']],
    ['--k 1.5', [...search, '--k', '1.5'], ['"1.5"']],
    ['--k 1e3', [...search, '--k', '1e3'], ['"1e3"']],
    ['--k empty', [...search, '--k', ''], ['""']],
    ['--k 2^53', [...search, '--k', '9007199254740993'], ['9007199254740993']],
    ['--refine past MAX_REFINE_FACTOR', [...search, '--refine', String(MAX_REFINE_FACTOR + 1)], ['MAX_REFINE_FACTOR']],
    ['--nprobe 0', [...search, '--nprobe', '0'], ['--nprobe']],
    ['--nprobe -3', [...search, '--nprobe', '-3'], ['--nprobe']],
    ['--nprobe 0x10', [...search, '--nprobe', '0x10'], ['"0x10"']],
    ['create --dim 0', ['create', 'n1.vqlite', '--dim', '0'], ['--dim']],
    ['create --dim past MAX_DIM', ['create', 'n2.vqlite', '--dim', String(MAX_DIM + 1)], ['MAX_DIM']],
    ['get " "', ['get', 'ok.vqlite', ' '], ['" "']],
    ['get 1e3', ['get', 'ok.vqlite', '1e3'], ['"1e3"']],
    ['get past MAX_ID', ['get', 'ok.vqlite', '9007199254740992'], [`${MAX_ID}`]],
    ['delete -5', ['delete', 'ok.vqlite', '1', '-5'], ['-5']],
    ['delete 0x1', ['delete', 'ok.vqlite', '0x1'], ['"0x1"']],
    [
      'index-text --overlap >= --chunk-size',
      ['index-text', 'x.md', '--index', 't.vqlite', '--chunk-size', '10', '--overlap', '10'],
      ['--overlap 10'],
    ],
    ['index-text --chunk-size 0', ['index-text', 'x.md', '--index', 't.vqlite', '--chunk-size', '0'], ['--chunk-size']],
    ['bench --k 1e9', ['bench', '--dataset', 'synthetic:100:4', '--k', '1000000000'], ['MAX_K']],
    ['bench --refine past MAX_REFINE_FACTOR', ['bench', '--dataset', 'synthetic:100:4', '--refine', '1,100000'], ['MAX_REFINE_FACTOR']],
    ['bench --threads 0', ['bench', '--dataset', 'synthetic:100:4', '--threads', '0'], ['--threads']],
    ['bench --nprobe 1,x', ['bench', '--dataset', 'synthetic:100:4', '--nprobe', '1,x'], ['"1,x"']],
    ['search without text or --vectors', ['search', '--index', 'ok.vqlite'], ['give the query text']],
  ])('%s', (_name, args, parts) => {
    usage(args, parts)
  })

  it('queries x k past MAX_BATCH_RESULTS is BAD_K before searching', () => {
    const n = Math.floor(MAX_BATCH_RESULTS / MAX_K) + 1
    writeFileSync(join(dir, 'many.jsonl'), '{"vector": [1, 2, 3]}\n'.repeat(n))
    refused(['search', '--index', 'ok.vqlite', '--vectors', 'many.jsonl', '--k', String(MAX_K)], 'BAD_K', ['MAX_BATCH_RESULTS'])
  })

  it('a k past the index size is fine (results are what there is)', () => {
    const r = run('search', '--index', 'ok.vqlite', '--vectors', 'q.jsonl', '--k', String(MAX_K), '--json')
    expect(r.status, r.all).toBe(0)
    expect((JSON.parse(r.stdout) as { ids: number[] }[])[0]!.ids).toHaveLength(4)
  })
})

describe('--filter', () => {
  const search = ['search', '--index', 'ok.vqlite', '--vectors', 'q.jsonl', '--filter']
  it.each([
    ['not JSON', '{tag: a}', ['--filter is not JSON', '{tag: a}']],
    ['null', 'null', ['got null']],
    ['an array', '[{"tag": "a"}]', ['got [{"tag":"a"}]']],
    ['a number', '5', ['got 5']],
    ['a string', '"a"', ['got "a"']],
    ['an unknown operator', '{"tag": {"$regex": "a"}}', ['$regex']],
  ])('%s is BAD_FILTER', (_name, filter, parts) => {
    refused([...search, filter], 'BAD_FILTER', parts)
  })

  it('a good filter is applied', () => {
    const r = run(...search, '{"tag": "a"}', '--json')
    expect(r.status, r.all).toBe(0)
    expect((JSON.parse(r.stdout) as { ids: number[] }[])[0]!.ids.sort()).toEqual([0, 3])
  })
})

describe('index paths: missing, a folder, a FIFO (never blocking), not an index', () => {
  const commands = (f: string): string[][] => [
    ['info', f],
    ['get', f, '1'],
    ['delete', f, '1'],
    ['retrain', f],
    ['add', f, 'q.jsonl'],
    ['upsert', f, 'q.jsonl'],
    ['export', f, 'out.snapshot'],
    ['search', '--index', f, '--vectors', 'q.jsonl'],
  ]
  it.each(commands('missing.vqlite'))('missing: %s', (...args) => {
    refused(args, 'NOT_FOUND', ['missing.vqlite'])
  })
  it.each(commands('folder.vqlite'))('a folder: %s', (...args) => {
    refused(args, 'CANNOT_OPEN', ['folder.vqlite is a folder'])
  })
  it.each(commands('fifo.vqlite'))('a FIFO: %s', (...args) => {
    refused(args, 'CANNOT_OPEN', ['fifo.vqlite is a FIFO'])
  })
  it('text search of a missing index, a folder, a FIFO', () => {
    refused(['search', 'hello', '--index', 'missing.vqlite'], 'NOT_FOUND', ['missing.vqlite'])
    refused(['search', 'hello', '--index', 'folder.vqlite'], 'CANNOT_OPEN')
    refused(['search', 'hello', '--index', 'fifo.vqlite'], 'CANNOT_OPEN')
    refused(['index-text', 'x.md', '--index', 'folder.vqlite'], 'CANNOT_OPEN')
  })
  it('index-text skips (and names) a missing path and a FIFO, indexes the rest, exit 1', () => {
    writeFileSync(join(dir, 'good.md'), '# Good\n\nA readable document about deploying applications.\n')
    execFileSync('mkfifo', [join(dir, 'pipe.md')])
    const r = run('index-text', 'good.md', 'pipe.md', 'absent.md', '--index', 'text-index.vqlite', '--json')
    expect(r.status, r.all).toBe(1)
    expect(JSON.parse(r.stdout)).toMatchObject({ filesIndexed: 1 })
    expect(r.stderr, r.all).toContain('vqlite: pipe.md: a FIFO, not a regular file [CANNOT_OPEN]')
    expect(r.stderr, r.all).toContain('vqlite: absent.md: no such file [NOT_FOUND]')
    const none = run('index-text', 'pipe.md', '--index', 'text-none.vqlite')
    expect(none.status, none.all).toBe(1)
    expect(none.stderr, none.all).toContain('pipe.md')
  })

  it('a text file as the index is refused with a typed code', () => {
    writeFileSync(join(dir, 'text.vqlite'), 'hello, not a database\n')
    const r = run('info', 'text.vqlite')
    expect(r.status, r.all).toBe(1)
    expect(r.stderr, r.all).toMatch(/\[(NOT_SQLITE|FOREIGN_FILE|CORRUPT_FILE)\]/)
  })
})

describe('export and import', () => {
  it('export to an existing path is FILE_EXISTS and leaves it as it was', async () => {
    refused(['export', 'ok.vqlite', 'exists.snapshot'], 'FILE_EXISTS', ['exists.snapshot'])
    expect((await import('node:fs')).readFileSync(join(dir, 'exists.snapshot'), 'utf8')).toBe('keep me')
  })
  it('export into a missing folder is refused with a typed code', () => {
    const r = run('export', 'ok.vqlite', 'no/such/folder/out.snapshot')
    expect(r.status, r.all).toBe(1)
    expect(r.stderr, r.all).toMatch(/^vqlite: .+ \[[A-Z_]+\]\n$/s)
  })
  it('import of garbage, of a missing file, of a folder, of a FIFO; into an existing file', async () => {
    refused(['import', 'garbage.snapshot', 'g.vqlite'], 'BAD_FILE', ['garbage.snapshot'])
    refused(['import', 'none.snapshot', 'g.vqlite'], 'NOT_FOUND', ['none.snapshot'])
    refused(['import', 'folder.vqlite', 'g.vqlite'], 'CANNOT_OPEN', ['folder.vqlite is a folder'])
    refused(['import', 'fifo.vqlite', 'g.vqlite'], 'CANNOT_OPEN', ['fifo.vqlite is a FIFO'])
    const ex = run('export', 'ok.vqlite', 'good.snapshot')
    expect(ex.status, ex.all).toBe(0)
    refused(['import', 'good.snapshot', 'ok.vqlite'], 'FILE_EXISTS', ['ok.vqlite'])
    expect((await stateOf(join(dir, 'ok.vqlite'))).count).toBe(4)
  })
})
