/**
 * Embedder specs: parsed from --embedder, checked, stored in a text index (never the API
 * key) and made again from the index (embedderFromSpec), lazily.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseEmbedderSpec } from '../../cli/embedder-spec.js'
import { checkEmbedderSpec, embedderFromSpec } from '../../src/text/embedders.js'
import { createOpenAIEmbedder } from '../../src/text/openai-embedder.js'
import { createSifGloveEmbedder } from '../../src/text/sif-glove.js'
import { TextIndex } from '../../src/text/text-index.js'
import { VqIndex } from '../../src/vq-index.js'
import { hashEmbedder } from '../helpers/hash-embedder.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-spec-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** An OpenAI-compatible endpoint answering with the hashed bag of words; records the requests. */
function fakeServer(): { fetch: typeof globalThis.fetch; requests: { url: string; auth: string | null; input: string[] }[] } {
  const requests: { url: string; auth: string | null; input: string[] }[] = []
  const e = hashEmbedder()
  const fetch = (async (url: string | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as { input: string[] }
    requests.push({ url: String(url), auth: new Headers(init?.headers).get('authorization'), input: body.input })
    const v = await e.embed(body.input)
    const data = body.input.map((_, i) => ({ index: i, embedding: Array.from(v.subarray(i * e.dim, (i + 1) * e.dim)) }))
    return new Response(JSON.stringify({ data }), { status: 200 })
  }) as typeof globalThis.fetch
  return { fetch, requests }
}

describe('--embedder SPEC', () => {
  it('parses sif-glove, openai:MODEL@BASE_URL and transformers:MODEL_OR_FOLDER', () => {
    expect(parseEmbedderSpec('sif-glove')).toEqual({ kind: 'sif-glove' })
    expect(parseEmbedderSpec('openai:text-embedding-3-small@https://api.openai.com/v1/')).toEqual({
      kind: 'openai',
      model: 'text-embedding-3-small',
      baseUrl: 'https://api.openai.com/v1',
    })
    // the first @ before http(s):// ends the model name
    expect(parseEmbedderSpec('openai:nomic-embed-text:v1.5@http://localhost:11434/v1')).toMatchObject({
      model: 'nomic-embed-text:v1.5',
      baseUrl: 'http://localhost:11434/v1',
    })
    expect(parseEmbedderSpec('transformers:Xenova/all-MiniLM-L6-v2')).toEqual({ kind: 'transformers', model: 'Xenova/all-MiniLM-L6-v2' })
    // a local folder is recorded by its absolute path
    expect(parseEmbedderSpec(`transformers:${dir}`)).toEqual({ kind: 'transformers', model: dir })
  })

  it('refuses a bad spec with BAD_OPTION naming the value', () => {
    for (const bad of ['', 'glove', 'openai:', 'openai:model', 'openai:model@ftp://x', 'openai:@http://x', 'transformers:', 'SIF-GLOVE']) {
      let err: unknown
      try {
        parseEmbedderSpec(bad)
      } catch (e) {
        err = e
      }
      expect(err, bad).toMatchObject({ code: 'BAD_OPTION', name: 'VqOptionError' })
      expect((err as Error).message).toContain(JSON.stringify(bad))
    }
  })

  it('checkEmbedderSpec refuses malformed specs (BAD_OPTION)', () => {
    for (const bad of [
      null,
      'sif-glove',
      {},
      { kind: 'glove' },
      { kind: 'sif-glove', extra: 1 },
      { kind: 'openai', model: 'm' },
      { kind: 'openai', model: 'm', baseUrl: 'localhost' },
      { kind: 'openai', model: 'm', baseUrl: 'http://x', dim: 0 },
      { kind: 'openai', model: 'm', baseUrl: 'http://x', apiKey: 'sk' },
      { kind: 'transformers', model: '' },
    ])
      expect(() => checkEmbedderSpec(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }))
    expect(checkEmbedderSpec({ kind: 'transformers', model: 'x', dtype: 'q8' })).toEqual({ kind: 'transformers', model: 'x', dtype: 'q8' })
  })

  it('transformers: a model folder that is not there is NOT_FOUND (the embedder itself: test/text/transformers-embedder.test.ts)', async () => {
    await expect(embedderFromSpec({ kind: 'transformers', model: join(dir, 'no-such-model') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
  })
})

describe('embedder spec stored in a text index', () => {
  it('openai: spec round-trip, the API key never stored, the embedder made from the spec on first need', async () => {
    writeFileSync(join(dir, 'a.txt'), 'river boat water bridge. The quantum marmalade protocol.')
    writeFileSync(join(dir, 'b.txt'), 'garden tomato soil seed compost.')
    const server = fakeServer()
    const e = await createOpenAIEmbedder({
      baseUrl: 'http://embed.test/v1/',
      model: 'fake-bow',
      apiKey: 'sk-secret-1',
      fetch: server.fetch,
    })
    expect(e.spec).toEqual({ kind: 'openai', baseUrl: 'http://embed.test/v1', model: 'fake-bow', dim: 32 })
    const path = join(dir, 'openai.vqlite')
    const ix = await TextIndex.create(path, e)
    await ix.indexFiles([join(dir, 'a.txt'), join(dir, 'b.txt')], { root: dir })
    expect(ix.embedderSpec).toEqual(e.spec)
    await ix.close()
    const raw = VqIndex.open(path, { readonly: true })
    const prop = raw.getProperty('text-index')
    await raw.close()
    expect(prop).toMatchObject({ embedder: 'openai:fake-bow@32', dim: 32, spec: e.spec })
    expect(JSON.stringify(prop)).not.toContain('sk-secret')
    // reopened from the spec: keyword search makes no request, vector search makes the embedder (dim known: no probe)
    const server2 = fakeServer()
    const back = await TextIndex.openWithStoredEmbedder(path, { readonly: true, embedderOptions: { fetch: server2.fetch, apiKey: 'sk-2' } })
    expect((await back.search('marmalade', { mode: 'keyword' }))[0]!.source).toBe('a.txt')
    expect(server2.requests.length).toBe(0)
    expect(back.embedder).toBeUndefined()
    expect((await back.search('tomato garden', { mode: 'vector', k: 1 }))[0]!.source).toBe('b.txt')
    expect(server2.requests).toEqual([{ url: 'http://embed.test/v1/embeddings', auth: 'Bearer sk-2', input: ['tomato garden'] }])
    expect(back.embedder?.name).toBe('openai:fake-bow@32')
    await back.close()
  })

  it('sif-glove: the spec is recorded; older indexes without one are taken for sif-glove by their name', async () => {
    const e = await createSifGloveEmbedder()
    expect(e.spec).toEqual({ kind: 'sif-glove' })
    writeFileSync(join(dir, 'c.txt'), 'Cats are pets. Cats sleep a lot.')
    writeFileSync(join(dir, 'd.txt'), 'The stock market rose; market watchers cheered.')
    const path = join(dir, 'glove.vqlite')
    const ix = await TextIndex.create(path, e)
    await ix.indexFiles([join(dir, 'c.txt'), join(dir, 'd.txt')], { root: dir })
    await ix.close()
    const back = await TextIndex.openWithStoredEmbedder(path, { readonly: true })
    expect(back.embedderSpec).toEqual({ kind: 'sif-glove' })
    expect((await back.search('market', { mode: 'keyword' }))[0]!.source).toBe('d.txt')
    expect(back.embedder).toBeUndefined()
    expect((await back.search('kittens and dogs', { mode: 'vector', k: 1 }))[0]!.source).toBe('c.txt')
    expect(back.embedder?.name).toBe('sif-glove-6b-100d/v1')
    await back.close()
    // an index of the previous format: { embedder, dim } only
    const old = VqIndex.open(path)
    await old.setProperty('text-index', { embedder: 'sif-glove-6b-100d/v1', dim: 100 })
    await old.close()
    const legacy = await TextIndex.open(path)
    expect(legacy.embedderSpec).toBeUndefined()
    expect(legacy.chunk).toBeUndefined()
    expect(legacy.targetDescription).toBe(legacy.description)
    expect((await legacy.search('stock prices', { mode: 'hybrid', k: 1 }))[0]!.source).toBe('d.txt')
    await legacy.close()
  }, 120_000)
})
