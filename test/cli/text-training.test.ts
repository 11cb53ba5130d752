/**
 * index-text --description on a small and a larger folder (exact until trainable, then
 * switched), options on an existing index applied or refused, --embedder specs, and
 * search --mode keyword loading no embedder. Runs the built CLI.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createOpenAIEmbedder, TextIndex } from 'vqlite/text'
import { hashEmbedder } from '../helpers/hash-embedder.js'
import { runIn } from './cli-run.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-cli-train-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const run = (...args: string[]) => runIn(dir, args, 120_000)

const WORDS = [
  'river boat water bridge fish bank current shore',
  'engine piston fuel gear torque cylinder exhaust valve',
  'garden tomato soil seed compost weed harvest shovel',
  'market stock price trader bond yield broker dividend',
  'violin melody concert chord rhythm tempo orchestra sonata',
]

/** n files of `sentences` sentences; doc07 holds "the quantum marmalade protocol". */
function folder(name: string, n: number, sentences: number): void {
  mkdirSync(join(dir, name), { recursive: true })
  for (let f = 0; f < n; f++) {
    const w = WORDS[f % WORDS.length]!.split(' ')
    const text = Array.from({ length: sentences }, (_, s) => `${w.map((_, j) => w[(j * (s + 1) + f) % w.length]).join(' ')}.`)
    if (f === 7) text.splice(1, 0, 'Here is the quantum marmalade protocol.')
    writeFileSync(join(dir, name, `doc${String(f).padStart(2, '0')}.txt`), text.join(' '))
  }
}

describe('index-text --description, --embedder, options on an existing index', () => {
  it('a small folder stays exact and searches; a PQ whose m does not divide 100 is padded; a bad description is refused and leaves no file', () => {
    folder('small', 3, 3)
    const bad = run('index-text', 'small', '--index', 'bad.vqlite', '--description', 'IVF64,PQ16,Bogus')
    expect(bad.status, bad.all).toBe(1)
    expect(bad.stderr).toMatch(/BAD_DESCRIPTION/)
    expect(existsSync(join(dir, 'bad.vqlite'))).toBe(false)
    const p16 = run('index-text', 'small', '--index', 'p16.vqlite', '--description', 'IVF64,PQ16,RFlat')
    expect(p16.status, p16.all).toBe(0)
    expect(p16.stdout).toMatch(/exact until 256 chunks, then Pad112,IVF64,PQ16,RFlat/)
    const r = run('index-text', 'small', '--index', 's.vqlite', '--description', 'IVF64,PQ20,RFlat')
    expect(r.status, r.all).toBe(0)
    expect(r.stdout).toMatch(/exact until 256 chunks, then IVF64,PQ20,RFlat \(3 chunks now\)/)
    const hits = run('search', 'river boat', '--index', 's.vqlite', '--k', '1', '--json')
    expect(hits.status, hits.all).toBe(0)
    expect(JSON.parse(hits.stdout)[0].source).toBe('small/doc00.txt')
  }, 120_000)

  it('a larger folder switches once trainable; --description on an existing index applied, --chunk-size refused', () => {
    folder('big', 50, 40)
    const r = run('index-text', 'big', '--index', 'b.vqlite', '--description', 'IVF64,PQ20,RFlat', '--chunk-size', '200', '--overlap', '20')
    expect(r.status, r.all).toBe(0)
    const m = /switched to IVF64,PQ20,RFlat after ([\d,]+) chunks/.exec(r.stdout)
    expect(m, r.stdout).not.toBeNull()
    expect(Number(m![1]!.replace(/,/g, ''))).toBeGreaterThanOrEqual(256)
    const info = run('info', 'b.vqlite', '--json')
    expect(JSON.parse(info.stdout)).toMatchObject({ description: 'IVF64,PQ20,RFlat' })
    for (const mode of ['keyword', 'hybrid']) {
      const s = run('search', 'quantum marmalade protocol', '--index', 'b.vqlite', '--k', '3', '--mode', mode, '--json')
      expect(s.status, s.all).toBe(0)
      expect(JSON.parse(s.stdout)[0].source, mode).toBe('big/doc07.txt')
    }
    // another description: applied
    const sq = run('index-text', 'big', '--index', 'b.vqlite', '--description', 'SQ8')
    expect(sq.status, sq.all).toBe(0)
    expect(sq.stdout).toMatch(/switched to SQ8 after [\d,]+ chunks/)
    // too many lists for the chunks: recorded as the target
    const ivf = run('index-text', 'big', '--index', 'b.vqlite', '--description', 'IVF4096,SQ8', '--json')
    expect(ivf.status, ivf.all).toBe(0)
    expect(JSON.parse(ivf.stdout)).toMatchObject({
      description: 'SQ8',
      targetDescription: 'IVF4096,SQ8',
      switched: false,
      minimumChunks: 4096,
    })
    // chunking: equal is fine, another is refused and nothing changes
    expect(run('index-text', 'big', '--index', 'b.vqlite', '--chunk-size', '200').status).toBe(0)
    const chunk = run('index-text', 'big', '--index', 'b.vqlite', '--chunk-size', '300')
    expect(chunk.status, chunk.all).toBe(1)
    expect(chunk.stderr).toMatch(
      /chunk size 200 and overlap 20; chunk size 300 and overlap 20 were given.*re-indexing every file.*\[BAD_OPTION\]/,
    )
    expect(JSON.parse(run('info', 'b.vqlite', '--json').stdout)).toMatchObject({ description: 'SQ8' })
  }, 180_000)

  it('--embedder: bad specs refused naming the value; search --mode keyword loads no embedder', async () => {
    folder('e', 3, 3)
    for (const cmd of [
      ['index-text', 'e', '--index', 'e.vqlite', '--embedder', 'glove'],
      ['search', 'x', '--index', 's.vqlite', '--embedder', 'openai:model-without-url'],
    ]) {
      const r = run(...cmd)
      expect(r.status, r.all).toBe(1)
      expect(r.stderr).toMatch(/--embedder ".+":.*\[BAD_OPTION\]/)
    }
    expect(existsSync(join(dir, 'e.vqlite'))).toBe(false)
    // transformers: a model folder that is not there, and unknown weights
    const t = run('index-text', 'e', '--index', 'e.vqlite', '--embedder', 'transformers:./no-such-model/')
    expect(t.status, t.all).not.toBe(0)
    expect(t.stderr).toContain('[NOT_FOUND]')
    const w = run('index-text', 'e', '--index', 'e.vqlite', '--embedder', 'transformers:./m#q9')
    expect(w.status, w.all).toBe(1)
    expect(w.stderr).toMatch(/must be fp32, fp16, q8.*\[BAD_OPTION\]/)
    expect(existsSync(join(dir, 'e.vqlite'))).toBe(false)
    // an index recording an OpenAI endpoint that is not there: keyword search makes no request
    const e = hashEmbedder()
    const fetch = (async (_url: string | URL, init?: RequestInit) => {
      const { input } = JSON.parse(String(init?.body)) as { input: string[] }
      const v = await e.embed(input)
      const data = input.map((_, i) => ({ index: i, embedding: Array.from(v.subarray(i * 32, (i + 1) * 32)) }))
      return new Response(JSON.stringify({ data }))
    }) as typeof globalThis.fetch
    const oe = await createOpenAIEmbedder({ baseUrl: 'http://127.0.0.1:9/v1', model: 'gone', dim: 32, fetch })
    const ix = await TextIndex.create(join(dir, 'o.vqlite'), oe)
    await ix.indexFiles([join(dir, 'e')], { root: dir })
    await ix.close()
    const k = run('search', 'tomato', '--index', 'o.vqlite', '--mode', 'keyword', '--json')
    expect(k.status, k.all).toBe(0)
    expect(JSON.parse(k.stdout)[0].source).toBe('e/doc02.txt')
    const v = run('search', 'tomato', '--index', 'o.vqlite', '--mode', 'vector')
    expect(v.status, v.all).toBe(1)
    expect(v.stderr).toMatch(/embedder openai:gone: POST http:\/\/127\.0\.0\.1:9\/v1\/embeddings failed.*\[EMBEDDER_FAILED\]/)
    // --embedder given: used instead of the stored one (this endpoint is not there either)
    const other = run('search', 'river', '--index', 's.vqlite', '--mode', 'vector', '--embedder', 'openai:gone@http://127.0.0.1:9/v1')
    expect(other.status, other.all).toBe(1)
    expect(other.stderr).toContain('[EMBEDDER_FAILED]')
    // the stored spec (sif-glove) by default, or given explicitly
    expect(run('search', 'river', '--index', 's.vqlite', '--mode', 'vector', '--embedder', 'sif-glove').status).toBe(0)
  }, 180_000)
})
