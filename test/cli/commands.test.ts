/** Every vqlite command run as the real binary in a temporary folder: exit codes and output. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeVecs } from '../../datasets/texmex.js'
import { randomVectors } from '../helpers/data.js'

const CLI = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'cli', 'vqlite.js')
const dir = mkdtempSync(join(tmpdir(), 'vqlite-cmd-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('vector commands', () => {
  it('create, add (fvecs and JSONL), info, get, search --vectors, delete, retrain, export, import', async () => {
    await writeVecs(join(dir, 'base.fvecs'), 'fvecs', randomVectors(500, 8, 1), 500, 8)
    await writeVecs(join(dir, 'q.fvecs'), 'fvecs', randomVectors(3, 8, 2), 3, 8)
    expect(run('create', 'v.vqlite', '--dim', '8', '--description', 'IVF4,PQ4,RFlat', '--store-vectors', 'float32').status).toBe(0)
    const add = run('add', 'v.vqlite', 'base.fvecs', '--json')
    expect(add.status, add.stderr + add.stdout).toBe(0)
    expect(JSON.parse(add.stdout)).toMatchObject({ added: 500, count: 500 })
    writeFileSync(join(dir, 'more.jsonl'), '{"id": 1000, "vector": [1,2,3,4,5,6,7,8], "metadata": {"tag": "x"}}\n')
    expect(run('add', 'v.vqlite', 'more.jsonl').stdout).toContain('added 1 vectors')
    // .npy (float32, version 1 header) and CSV with an id column
    const hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), }"
    const pad = 64 - ((10 + hdr.length + 1) % 64)
    const head = Buffer.concat([
      Buffer.from([0x93]),
      Buffer.from('NUMPY'),
      Buffer.from([1, 0]),
      Buffer.alloc(2),
      Buffer.from(`${hdr}${' '.repeat(pad)}\n`, 'latin1'),
    ])
    head.writeUInt16LE(hdr.length + pad + 1, 8)
    writeFileSync(join(dir, 'two.npy'), Buffer.concat([head, Buffer.from(randomVectors(2, 8, 5).buffer)]))
    expect(run('add', 'v.vqlite', 'two.npy').stdout).toContain('added 2 vectors')
    writeFileSync(join(dir, 'rows.csv'), 'id,a,b,c,d,e,f,g,h\n2000,1,2,3,4,5,6,7,8\n2001,8,7,6,5,4,3,2,1\n')
    expect(run('add', 'v.vqlite', 'rows.csv').stdout).toContain('added 2 vectors')
    expect(run('get', 'v.vqlite', '2001', '--json').stdout).toContain('"id": 2001')
    writeFileSync(join(dir, 'cut.npy'), Buffer.concat([head, Buffer.alloc(20)]))
    const cut = run('add', 'v.vqlite', 'cut.npy')
    expect(cut.status).toBe(1)
    expect(cut.stderr).toContain('TRUNCATED_FILE')
    const info = JSON.parse(run('info', 'v.vqlite', '--json').stdout) as Record<string, unknown>
    expect(info).toMatchObject({ count: 505, dim: 8, nlist: 4, formatVersion: 3, trained: true })
    expect(JSON.parse(run('get', 'v.vqlite', '1000', '--json').stdout)).toMatchObject({
      id: 1000,
      metadata: { tag: 'x' },
      vector: [1, 2, 3, 4, 5, 6, 7, 8],
    })
    const s = JSON.parse(
      run('search', '--index', 'v.vqlite', '--vectors', 'q.fvecs', '--k', '5', '--nprobe', '4', '--refine', '10', '--json').stdout,
    ) as { ids: number[] }[]
    expect(s.length).toBe(3)
    expect(s[0]!.ids.length).toBe(5)
    expect(run('delete', 'v.vqlite', '1000', '7').stdout).toContain('deleted 2 of 2 ids (503 left)')
    expect(run('retrain', 'v.vqlite').stdout).toContain('retrained v.vqlite on 503 vectors')
    expect(run('export', 'v.vqlite', 'copy.vqlite').stdout).toContain('exported 503 vectors')
    expect(run('import', 'copy.vqlite', 'back.vqlite').stdout).toContain('imported 503 vectors into back.vqlite')
    expect(JSON.parse(run('info', 'back.vqlite', '--json').stdout)).toMatchObject({ count: 503, nlist: 4 })
  }, 60_000)

  it('bad input: exit 1 with a message; usage errors: exit 2; nothing stored is lost', async () => {
    await writeVecs(join(dir, 'wrong.fvecs'), 'fvecs', randomVectors(5, 3, 1), 5, 3)
    expect(run('create', 'b.vqlite', '--dim', '8').status).toBe(0)
    const wrong = run('add', 'b.vqlite', 'wrong.fvecs')
    expect(wrong.status, wrong.stderr).toBe(1)
    expect(wrong.stderr).toContain('3-d vectors, b.vqlite is 8-d')
    writeFileSync(join(dir, 'bad.jsonl'), '{"vector": [1,2,3,4,5,6,7,8]}\n{"vector": [1,2,\n')
    const bad = run('add', 'b.vqlite', 'bad.jsonl')
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain('bad.jsonl line 2: not JSON (')
    expect(bad.stderr).toContain('nothing was added')
    expect(JSON.parse(run('info', 'b.vqlite', '--json').stdout)).toMatchObject({ count: 0 })
    const missing = run('add', 'b.vqlite', 'nope.fvecs')
    expect(missing.status).toBe(1)
    const unknown = run('info', 'nope.vqlite')
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toContain('nope.vqlite')
    writeFileSync(join(dir, 'foreign.vqlite'), 'not a database at all, just text')
    expect(run('info', 'foreign.vqlite').status).toBe(1)
    expect(run('get', 'b.vqlite', '42').stderr).toContain('id 42 is not in b.vqlite')
    expect(run('frobnicate').status).toBe(2)
    expect(run('create', 'c.vqlite').status).toBe(2) // --dim is required
    for (const c of ['create', 'add', 'search', 'index-text', 'info', 'get', 'delete', 'retrain', 'export', 'import', 'bench']) {
      const help = run(c, '--help')
      expect(help.status, c).toBe(0)
      expect(help.stdout, c).toMatch(/Examples?[ (:]/)
    }
  }, 60_000)
})

describe('version', () => {
  it('vqlite --version and -V print the version of the vqlite-cli package', () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cli', 'package.json'), 'utf8')) as {
      version: string
    }
    expect(version).toMatch(/^\d+\.\d+\.\d+/)
    for (const flag of ['--version', '-V']) {
      const r = run(flag)
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout.trim()).toBe(version)
    }
  })
})

describe('text commands', () => {
  it('index-text, search (hybrid / vector / keyword, JSON), re-indexing only changed files, bad JSONL lines', () => {
    writeFileSync(
      join(dir, 'deploy.md'),
      '# Deploying\n\nTo deploy an application to Cloud Foundry, build the archive and push it with the command line tools.\n',
    )
    writeFileSync(join(dir, 'k8s.txt'), 'Kubernetes restarts a pod when its liveness probe fails. Read the container logs to see why.\n')
    writeFileSync(
      join(dir, 'notes.jsonl'),
      '{"body": "Cats and dogs are the most popular pets."}\n{"body": "The stock market fell sharply on Monday."}\n',
    )
    writeFileSync(join(dir, 'broken.jsonl'), '{"body": "fine"}\n{oops\n')
    const first = run(
      'index-text',
      'deploy.md',
      'k8s.txt',
      'notes.jsonl',
      'broken.jsonl',
      '--field',
      'body',
      '--index',
      't.vqlite',
      '--json',
    )
    expect(first.status).toBe(1) // one file had an error; the others are indexed
    expect(JSON.parse(first.stdout)).toMatchObject({ filesIndexed: 3, chunksAdded: 4 })
    expect(first.stderr).toContain('broken.jsonl: line 2: not JSON; no line of this file was indexed')
    const again = JSON.parse(
      run('index-text', 'deploy.md', 'k8s.txt', 'notes.jsonl', '--field', 'body', '--index', 't.vqlite', '--json').stdout,
    )
    expect(again).toMatchObject({ filesIndexed: 0, filesUnchanged: 3, chunksAdded: 0 })
    writeFileSync(
      join(dir, 'k8s.txt'),
      'Kubernetes restarts a pod when its liveness probe fails.\n\nScale a deployment with kubectl scale.\n',
    )
    expect(JSON.parse(run('index-text', 'k8s.txt', '--index', 't.vqlite', '--json').stdout)).toMatchObject({
      filesIndexed: 1,
      chunksRemoved: 1,
    })
    for (const mode of ['hybrid', 'vector', 'keyword']) {
      const r = run('search', 'how do I push my application to cloud foundry', '--index', 't.vqlite', '--k', '2', '--mode', mode, '--json')
      expect(r.status, r.stderr).toBe(0)
      const hits = JSON.parse(r.stdout) as { id: number; score: number; source: string; text: string }[]
      expect(hits[0]!.source.endsWith('deploy.md'), mode).toBe(true)
      expect(Object.keys(hits[0]!)).toEqual(expect.arrayContaining(['id', 'score', 'source', 'text']))
    }
    const pets = run('search', 'pets', '--index', 't.vqlite', '--k', '1')
    expect(pets.stdout).toContain('notes.jsonl:1')
    expect(pets.stdout).toContain('**pets**')
    const filtered = JSON.parse(
      run('search', 'pets', '--index', 't.vqlite', '--filter', JSON.stringify({ source: join(dir, 'k8s.txt') }), '--json').stdout,
    ) as { source: string }[]
    expect(filtered.every((h) => h.source.endsWith('k8s.txt'))).toBe(true)
    expect(run('search', 'anything', '--index', 'v-not-there.vqlite').status).toBe(1)
  }, 180_000)
})
