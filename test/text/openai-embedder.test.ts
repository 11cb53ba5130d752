import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError } from '../../src/errors.js'
import { createOpenAIEmbedder } from '../../src/text/openai-embedder.js'

let server: Server
let base = ''
let mode = 'ok'
const seen: { auth?: string | undefined; body: { model: string; input: string[] } }[] = []
const vec = (t: string): number[] => [t.length, t.charCodeAt(0) || 0, 1]

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => (raw += c))
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; input: string[] }
      seen.push({ auth: req.headers.authorization, body })
      if (mode === 'http') return res.writeHead(500).end('boom')
      if (mode === 'json') return res.writeHead(200).end('{not json')
      let data = body.input.map((t, index) => ({ index, embedding: vec(t) as unknown[] }))
      if (mode === 'count') data = data.slice(1)
      if (mode === 'dim') data = data.map((x) => ({ ...x, embedding: [1, 2] }))
      if (mode === 'nan') data = data.map((x) => ({ ...x, embedding: [1, null, 2] }))
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: data.reverse() }))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe('createOpenAIEmbedder', () => {
  it('discovers the dimension, batches, orders by index, sends the key', async () => {
    mode = 'ok'
    seen.length = 0
    const e = await createOpenAIEmbedder({ baseUrl: `${base}/`, model: 'm1', apiKey: 'sk-x', batchSize: 2 })
    expect(e.dim).toBe(3)
    expect(e.name).toBe('openai:m1@3')
    const texts = ['a', 'bb', 'ccc', 'dddd', 'e']
    const out = await e.embed(texts)
    expect(Array.from(out)).toEqual(texts.flatMap(vec))
    expect(seen.length).toBe(1 + 3)
    expect(seen[1]!.body).toEqual({ model: 'm1', input: ['a', 'bb'] })
    expect(seen[1]!.auth).toBe('Bearer sk-x')
  })
  it.each([
    ['http', 'EMBEDDER_FAILED'],
    ['json', 'EMBEDDER_FAILED'],
    ['count', 'EMBEDDER_FAILED'],
    ['dim', 'EMBEDDER_MISMATCH'],
    ['nan', 'EMBEDDER_FAILED'],
  ])('%s -> %s', async (m, code) => {
    mode = 'ok'
    const e = await createOpenAIEmbedder({ baseUrl: base, model: 'm', dim: 3 })
    mode = m
    const err = await e.embed(['x', 'y']).catch((x: unknown) => x)
    expect(err).toBeInstanceOf(VqError)
    expect((err as VqError).code).toBe(code)
  })
  it('rejects a refused connection with EMBEDDER_FAILED', async () => {
    const err = await createOpenAIEmbedder({ baseUrl: 'http://127.0.0.1:1/v1', model: 'm' }).catch((x: unknown) => x)
    expect((err as VqError).code).toBe('EMBEDDER_FAILED')
  })
})
