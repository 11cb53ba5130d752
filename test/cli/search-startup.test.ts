/** `vqlite search` start-up: keyword search loads no embedder (no GloVe, no SIF cache touched). */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CLI } from './cli-run.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-cli-startup-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function run(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; all: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env,
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return { status: r.status, stdout: r.stdout, all: `exit ${String(r.status ?? r.signal)}\n${r.stdout}\n${r.stderr}` }
}

describe('vqlite search start-up', () => {
  it('--mode keyword never loads the embedder: an empty cache folder stays empty; hybrid search loads it', () => {
    writeFileSync(join(dir, 'deploy.md'), 'Deploying to Cloud Foundry: run cf push with a manifest.')
    writeFileSync(join(dir, 'k8s.md'), 'Kubernetes pods, services and deployments.')
    const built = run(['index-text', 'deploy.md', 'k8s.md', '--index', 't.vqlite'])
    expect(built.status, built.all).toBe(0)
    const empty = join(dir, 'empty-cache')
    mkdirSync(empty)
    const kw = run(['search', 'cloud foundry push', '--index', 't.vqlite', '--mode', 'keyword', '--json'], {
      ...process.env,
      VQLITE_CACHE_DIR: empty,
    })
    expect(kw.status, kw.all).toBe(0)
    expect((JSON.parse(kw.stdout) as { source: string }[])[0]!.source).toBe('deploy.md')
    expect(readdirSync(empty)).toEqual([])
    const hy = run(['search', 'cloud foundry push', '--index', 't.vqlite'])
    expect(hy.status, hy.all).toBe(0)
    expect(hy.stdout).toMatch(/^1\. deploy\.md/)
    expect(hy.stdout).toMatch(/\(hybrid, [\d.]+ ms\)/)
  })
})
