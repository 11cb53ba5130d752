/** `vqlite bench` and `vqlite datasets` end to end, on the built CLI (npm test builds first). */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const CLI = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'cli', 'vqlite.js')
const dir = mkdtempSync(join(tmpdir(), 'vqlite-cli-'))
const env = { ...process.env, VQLITE_CACHE_DIR: join(dir, 'cache') }
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('vqlite CLI', () => {
  it('bench writes results.jsonl, results.md and recall-qps.svg', () => {
    const out = join(dir, 'run1')
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'bench',
        '--dataset',
        'synthetic:3000:16:40:3',
        '--index',
        'IVF16,PQ8,RFlat',
        '--nprobe',
        '1,16',
        '--refine',
        '1,4',
        '--no-hnsw',
        '--threads',
        '1',
        '--out',
        out,
      ],
      { env, encoding: 'utf8' },
    )
    expect(r.status, r.stderr).toBe(0)
    const lines = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => l['system'])).toEqual(['vqlite', 'vqlite', 'vqlite', 'vqlite', 'flat'])
    expect(lines[0]!['machine']).toBeDefined()
    const md = readFileSync(join(out, 'results.md'), 'utf8')
    expect(md).toContain('## Fastest configuration per recall@10 target')
    expect(md).toContain('vqlite IVF16,PQ8,RFlat')
    expect(readFileSync(join(out, 'recall-qps.svg'), 'utf8')).toMatch(/^<svg/)
    expect(r.stdout).toContain('wrote 5 rows')
  }, 120_000)

  it('Ctrl-C stops a bench cleanly and keeps the rows measured', async () => {
    const out = join(dir, 'run2')
    const child = spawn(
      process.execPath,
      [
        CLI,
        'bench',
        '--dataset',
        'synthetic:20000:32:200:4',
        '--index',
        'IVF64,PQ8,RFlat',
        '--nprobe',
        '1,2,4,8,16,32,64',
        '--refine',
        '1,2,4,8,16',
        '--no-hnsw',
        '--no-flat',
        '--threads',
        '1',
        '--out',
        out,
      ],
      { env },
    )
    let stderr = ''
    let sent = false
    const code = await new Promise<number | null>((resolve) => {
      const onData = (d: Buffer): void => {
        stderr += d.toString()
        // the first measured row is logged as "  vqlite IVF64,... recall@10 ..."
        if (!sent && /recall@10 \d/.test(stderr)) {
          sent = true
          child.kill('SIGINT')
        }
      }
      child.stderr.on('data', onData)
      child.on('exit', (c) => resolve(c))
    })
    expect(sent).toBe(true)
    expect(code).toBe(130)
    const rows = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n')
    expect(rows.length).toBeGreaterThanOrEqual(1)
    expect(rows.length).toBeLessThan(35)
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('Interrupted')
    expect(existsSync(join(out, 'recall-qps.svg'))).toBe(true)
  }, 120_000)

  it('datasets list shows the catalogue; bad input is a one-line error, not a stack trace', () => {
    const list = spawnSync(process.execPath, [CLI, 'datasets', 'list'], { env, encoding: 'utf8' })
    expect(list.status).toBe(0)
    for (const name of ['sift-128-euclidean', 'glove-100-angular', 'sift1m', 'glove100', 'synthetic']) expect(list.stdout).toContain(name)
    const bad = spawnSync(process.execPath, [CLI, 'bench', '--dataset', 'nope'], { env, encoding: 'utf8' })
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain('unknown dataset "nope"')
    expect(bad.stderr).not.toContain('    at ')
    const missing = spawnSync(process.execPath, [CLI, 'bench', '--dataset', 'gist-960-euclidean'], { env, encoding: 'utf8' })
    expect(missing.stderr).toContain('vqlite datasets download gist-960-euclidean')
    const dl = spawnSync(process.execPath, [CLI, 'datasets', 'download', 'no-such-set'], { env, encoding: 'utf8' })
    expect(dl.status).toBe(1)
    expect(dl.stderr).toContain('unknown dataset "no-such-set"')
    const offline = spawnSync(process.execPath, [CLI, 'datasets', 'download', 'glove100'], { env, encoding: 'utf8' })
    expect(offline.status).toBe(1)
    expect(offline.stderr).toContain('works offline')
    const nprobe = spawnSync(process.execPath, [CLI, 'bench', '--dataset', 'glove100', '--nprobe', '0,x'], { env, encoding: 'utf8' })
    expect(nprobe.status).not.toBe(0)
    expect(nprobe.stderr).toContain('expected integers from 1')
  }, 60_000)
})
