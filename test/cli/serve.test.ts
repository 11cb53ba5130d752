/** `vqlite serve` as the real binary on port 0: every endpoint, every class of bad request, CORS, read-only, shutdown. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runIn } from './cli-run.js'
import { makeCorpus, type ServeProcess, startServe } from './serve-run.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-serve-'))
const ALLOWED = 'http://allowed.example:3000'
let rw: ServeProcess
let ro: ServeProcess

interface Hit {
  source: string
  score: number
  text: string
  snippet: { text: string; highlights: [number, number][] }
}

async function call(
  s: ServeProcess,
  path: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const hasBody = init.body !== undefined || init.raw !== undefined
  const r = await fetch(new URL(path, s.url), {
    method: init.method ?? (hasBody ? 'POST' : 'GET'),
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(hasBody ? { body: init.raw ?? JSON.stringify(init.body) } : {}),
  })
  const text = await r.text()
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    body = { text }
  }
  return { status: r.status, body, headers: r.headers }
}

const errorOf = (b: Record<string, unknown>): { code: string; message: string } => b.error as { code: string; message: string }

beforeAll(async () => {
  makeCorpus(dir)
  // a folder of two text indexes (and a file that is not one, skipped)
  mkdirSync(join(dir, 'many'))
  copyFileSync(join(dir, 'docs.vqlite'), join(dir, 'many', 'a.vqlite'))
  const other = join(dir, 'second')
  mkdirSync(other)
  writeFileSync(join(other, 'ships.md'), 'Container ships carry goods across the ocean.\n')
  const r = runIn(other, ['index-text', 'ships.md', '--index', join(dir, 'many', 'b.vqlite')])
  expect(r.status, r.all).toBe(0)
  expect(runIn(dir, ['create', join(dir, 'many', 'vectors.vqlite'), '--dim', '4']).status).toBe(0)
  ;[rw, ro] = await Promise.all([
    startServe(dir, ['docs.vqlite', '--port', '0', '--max-body', '4096', '--cors', ALLOWED]),
    startServe(dir, ['many', '--port', '0', '--readonly']),
  ])
}, 60_000)

afterAll(async () => {
  await Promise.all([rw?.stop('SIGKILL'), ro?.stop('SIGKILL')])
  rmSync(dir, { recursive: true, force: true })
})

describe('vqlite serve: endpoints', () => {
  it('binds 127.0.0.1 and prints its URL; no other interface answers', async () => {
    const url = new URL(rw.url)
    expect(url.hostname).toBe('127.0.0.1')
    expect(Number(url.port)).toBeGreaterThan(0)
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)
    if (external) {
      const err = await fetch(`http://${external.address}:${url.port}/api/stats`).then(
        () => null,
        (e: Error & { cause?: { code?: string } }) => e.cause?.code,
      )
      expect(err).toBe('ECONNREFUSED')
    }
  })

  it('GET / is the search page (inline script allowed by its hash, no external URL)', async () => {
    const r = await fetch(rw.url)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^text\/html/)
    expect(r.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/)
    const html = await r.text()
    expect(html).toContain('<form id="search"')
    for (const id of ['query', 'mode', 'prefix', 'k', 'results']) expect(html).toContain(`id="${id}"`)
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
  })

  it('GET /api/stats and /api/indexes', async () => {
    const s = await call(rw, '/api/stats')
    expect(s.status).toBe(200)
    expect(s.body).toMatchObject({
      readonly: false,
      indexes: [{ name: 'docs', chunks: 3, sources: 3, description: 'SQ8', embedder: { dim: 100 }, root: dir }],
    })
    expect((await call(rw, '/api/indexes')).body).toEqual({ indexes: ['docs'] })
    expect((await call(ro, '/api/indexes')).body).toEqual({ indexes: ['a', 'b'] })
    const one = await call(ro, '/api/stats?index=b')
    expect(one.body).toMatchObject({ readonly: true, indexes: [{ name: 'b', chunks: 1, sources: 1 }] })
    const unknown = await call(ro, '/api/stats?index=nope')
    expect(unknown.status).toBe(404)
    expect(errorOf(unknown.body).code).toBe('NOT_FOUND')
  })

  it('POST /api/search: hybrid (default), keyword with highlights, vector, $prefix filter, index by name', async () => {
    const h = await call(rw, '/api/search', { body: { query: 'how do I push my application to cloud foundry' } })
    expect(h.status).toBe(200)
    expect(h.body).toMatchObject({ index: 'docs', mode: 'hybrid', k: 10 })
    const hits = h.body.hits as Hit[]
    expect(hits[0]!.source).toBe('docs/deploy.md')
    const kw = (await call(rw, '/api/search', { body: { query: 'pets', mode: 'keyword', k: 5 } })).body.hits as Hit[]
    expect(kw.map((x) => x.source).sort()).toEqual(['docs/pets.md', 'other/market.md'])
    const pets = kw.find((x) => x.source === 'docs/pets.md')!
    expect(pets.snippet.highlights.length).toBeGreaterThan(0)
    for (const [a, b] of pets.snippet.highlights) expect(pets.snippet.text.slice(a, b).toLowerCase()).toBe('pets')
    expect(pets.text).toContain('<b>pets</b>')
    const vec = await call(rw, '/api/search', { body: { query: 'cats and dogs', mode: 'vector', k: 1 } })
    expect((vec.body.hits as Hit[]).length).toBe(1)
    const pre = await call(rw, '/api/search', {
      body: { query: 'pets', mode: 'keyword', filter: { source: { $prefix: 'other/' } }, index: 'docs' },
    })
    expect((pre.body.hits as Hit[]).map((x) => x.source)).toEqual(['other/market.md'])
    // the read-only folder server searches the index named
    const b = await call(ro, '/api/search', { body: { query: 'ships ocean', index: 'b', mode: 'keyword' } })
    expect(b.status).toBe(200)
    expect((b.body.hits as Hit[])[0]!.source).toBe('ships.md')
  })

  it('bad requests: 400 / 404 / 415 with { error: { code, message } }', async () => {
    const cases: [string, Parameters<typeof call>[2], number, string][] = [
      ['bad JSON', { raw: '{"query": "pets",' }, 400, 'BAD_ARGUMENT'],
      ['not an object', { body: ['pets'] }, 400, 'BAD_ARGUMENT'],
      ['null body', { raw: 'null' }, 400, 'BAD_ARGUMENT'],
      ['missing query', { body: { k: 3 } }, 400, 'BAD_ARGUMENT'],
      ['empty query', { body: { query: '   ' } }, 400, 'BAD_ARGUMENT'],
      ['query not a string', { body: { query: 42 } }, 400, 'BAD_ARGUMENT'],
      ['k a string', { body: { query: 'pets', k: '5' } }, 400, 'BAD_K'],
      ['k a fraction', { body: { query: 'pets', k: 2.5 } }, 400, 'BAD_K'],
      ['k zero', { body: { query: 'pets', k: 0 } }, 400, 'BAD_K'],
      ['k too large', { body: { query: 'pets', k: 1_000_000 } }, 400, 'BAD_K'],
      ['unknown mode', { body: { query: 'pets', mode: 'fuzzy' } }, 400, 'BAD_OPTION'],
      ['mode not a string', { body: { query: 'pets', mode: 1 } }, 400, 'BAD_OPTION'],
      ['unknown field', { body: { query: 'pets', limit: 3 } }, 400, 'UNKNOWN_OPTION'],
      ['__proto__ field', { raw: '{"query": "pets", "__proto__": {"k": 1}}' }, 400, 'UNKNOWN_OPTION'],
      ['unknown index', { body: { query: 'pets', index: 'nope' } }, 404, 'NOT_FOUND'],
      ['index not a string', { body: { query: 'pets', index: 3 } }, 400, 'BAD_ARGUMENT'],
      ['filter an array', { body: { query: 'pets', filter: [] } }, 400, 'BAD_FILTER'],
      ['filter a string', { body: { query: 'pets', filter: "source = 'x' OR 1=1" } }, 400, 'BAD_FILTER'],
      ['filter operator injection', { body: { query: 'pets', filter: { source: { $where: '1=1' } } } }, 400, 'BAD_FILTER'],
      ['filter field injection', { body: { query: 'pets', filter: { "source') OR 1=1 --": 'x' } } }, 400, 'BAD_FILTER'],
      ['filter $prefix not a string', { body: { query: 'pets', filter: { source: { $prefix: 1 } } } }, 400, 'BAD_FILTER'],
      [
        'filter nested too deep',
        { body: { query: 'pets', filter: JSON.parse(`${'{"$not":'.repeat(200)}{"a":1}${'}'.repeat(200)}`) } },
        400,
        'BAD_FILTER',
      ],
      ['no content type', { raw: '{"query": "pets"}', headers: { 'content-type': 'text/plain' } }, 415, 'BAD_ARGUMENT'],
    ]
    for (const [what, init, status, code] of cases) {
      const r = await call(rw, '/api/search', init)
      expect(r.status, what).toBe(status)
      expect(errorOf(r.body)?.code, what).toBe(code)
      expect(typeof errorOf(r.body).message, what).toBe('string')
    }
    const multi = await call(ro, '/api/search', { body: { query: 'pets' } })
    expect(multi.status).toBe(400)
    expect(errorOf(multi.body).message).toContain('a, b')
    const route = await call(rw, '/api/nothing')
    expect(route.status).toBe(404)
    expect(errorOf(route.body).code).toBe('NOT_FOUND')
    // the server still answers after them all
    expect((await call(rw, '/api/search', { body: { query: 'pets' } })).status).toBe(200)
  })

  it('body over --max-body: 413 (and over the default 1 MiB on the other server)', async () => {
    const big = await call(rw, '/api/search', { body: { query: 'pets '.repeat(1000) } })
    expect(big.status).toBe(413)
    expect(errorOf(big.body).code).toBe('BAD_ARGUMENT')
    expect((await call(rw, '/api/texts', { body: { source: 'big', text: 'x'.repeat(5000) } })).status).toBe(413)
    expect((await call(ro, '/api/search', { body: { query: 'p'.repeat(1024 * 1024 + 10), index: 'a' } })).status).toBe(413)
    // just below the default limit the request is read (then refused for its query length)
    const below = await call(ro, '/api/search', { body: { query: 'p'.repeat(1024 * 1024 - 100), index: 'a' } })
    expect(below.status).toBe(400)
  })

  it('POST /api/texts and DELETE /api/sources: add, replace, search, delete; unknown source 404', async () => {
    const add = await call(rw, '/api/texts', { body: { source: 'notes/boats', text: 'Sailing boats need wind; a ketch has two masts.' } })
    expect(add.status).toBe(201)
    expect(add.body).toMatchObject({ index: 'docs', source: 'notes/boats', sourcesAdded: 1, chunksAdded: 1, chunksRemoved: 0 })
    const found = (await call(rw, '/api/search', { body: { query: 'ketch masts', mode: 'keyword' } })).body.hits as Hit[]
    expect(found[0]!.source).toBe('notes/boats')
    const again = await call(rw, '/api/texts', { body: { source: 'notes/boats', text: 'Rowing boats need oars.' } })
    expect(again.body).toMatchObject({ sourcesAdded: 1, chunksAdded: 1, chunksRemoved: 1 })
    expect((await call(rw, '/api/search', { body: { query: 'ketch', mode: 'keyword' } })).body.hits).toEqual([])
    expect((await call(rw, '/api/stats')).body).toMatchObject({ indexes: [{ chunks: 4, sources: 4 }] })
    for (const [what, body, code] of [
      ['missing source', { text: 'x' }, 'BAD_ARGUMENT'],
      ['empty source', { source: '', text: 'x' }, 'BAD_ARGUMENT'],
      ['text not a string', { source: 's', text: ['x'] }, 'BAD_ARGUMENT'],
      ['missing text', { source: 's' }, 'BAD_ARGUMENT'],
      ['unknown field', { source: 's', text: 'x', meta: {} }, 'UNKNOWN_OPTION'],
    ] as const) {
      const r = await call(rw, '/api/texts', { body })
      expect(r.status, what).toBe(400)
      expect(errorOf(r.body).code, what).toBe(code)
    }
    expect((await call(rw, '/api/texts', { raw: '{"source":' })).status).toBe(400)
    expect((await call(rw, '/api/texts', { body: { source: 's', text: 'x', index: 'nope' } })).status).toBe(404)
    const del = await call(rw, `/api/sources?source=${encodeURIComponent('notes/boats')}`, { method: 'DELETE' })
    expect(del.status).toBe(200)
    expect(del.body).toEqual({ index: 'docs', source: 'notes/boats', chunksRemoved: 1 })
    const gone = await call(rw, '/api/sources?source=notes%2Fboats', { method: 'DELETE' })
    expect(gone.status).toBe(404)
    expect(errorOf(gone.body).code).toBe('UNKNOWN_ID')
    const noParam = await call(rw, '/api/sources', { method: 'DELETE' })
    expect(noParam.status).toBe(400)
    expect(errorOf(noParam.body).code).toBe('BAD_ARGUMENT')
    expect((await call(rw, '/api/sources?source=x&index=nope', { method: 'DELETE' })).status).toBe(404)
    expect((await call(rw, '/api/stats')).body).toMatchObject({ indexes: [{ chunks: 3, sources: 3 }] })
  })

  it('--readonly: writes refused with 403 READ_ONLY, nothing changed', async () => {
    const add = await call(ro, '/api/texts', { body: { source: 'x', text: 'ships', index: 'b' } })
    expect(add.status).toBe(403)
    expect(errorOf(add.body).code).toBe('READ_ONLY')
    const del = await call(ro, '/api/sources?source=ships.md&index=b', { method: 'DELETE' })
    expect(del.status).toBe(403)
    expect(errorOf(del.body).code).toBe('READ_ONLY')
    expect((await call(ro, '/api/stats?index=b')).body).toMatchObject({ indexes: [{ chunks: 1, sources: 1 }] })
  })

  it('CORS: headers for the --cors origin only; none without --cors', async () => {
    const ok = await call(rw, '/api/stats', { headers: { origin: ALLOWED } })
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    const other = await call(rw, '/api/stats', { headers: { origin: 'http://evil.example' } })
    expect(other.status).toBe(200)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    const pre = await fetch(new URL('/api/search', rw.url), {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST')
    const preEvil = await fetch(new URL('/api/search', rw.url), {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    })
    expect(preEvil.headers.get('access-control-allow-origin')).toBeNull()
    const none = await call(ro, '/api/stats', { headers: { origin: ALLOWED } })
    expect(none.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('a Host header that is not a loopback name is refused (DNS rebinding)', async () => {
    const url = new URL(rw.url)
    const status = (host: string): Promise<number> =>
      new Promise((ok, ko) => {
        const req = request({ host: '127.0.0.1', port: url.port, path: '/api/stats', headers: { host } }, (res) => {
          res.resume()
          ok(res.statusCode ?? 0)
        })
        req.on('error', ko)
        req.end()
      })
    expect(await status(`evil.example:${url.port}`)).toBe(403)
    expect(await status(`localhost:${url.port}`)).toBe(200)
    expect(await status(`127.0.0.1:${url.port}`)).toBe(200)
  })

  it('usage errors: bad --cors, missing index, folder without text index, port in use', () => {
    const cors = runIn(dir, ['serve', 'docs.vqlite', '--port', '0', '--cors', 'not a url'])
    expect(cors.status, cors.all).toBe(2)
    expect(runIn(dir, ['serve', 'nope.vqlite', '--port', '0']).status).toBe(1)
    expect(runIn(dir, ['serve', 'docs.vqlite', '--port', '70000']).status).toBe(2)
    mkdirSync(join(dir, 'empty'))
    const empty = runIn(dir, ['serve', 'empty', '--port', '0'])
    expect(empty.status).toBe(1)
    expect(empty.stderr).toContain('no .vqlite file')
    const busy = runIn(dir, ['serve', 'docs.vqlite', '--port', new URL(rw.url).port])
    expect(busy.status, busy.all).toBe(1)
    expect(busy.stderr).toContain('EADDRINUSE')
    const help = runIn(dir, ['serve', '--help'])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('Examples:')
  })
})

describe('vqlite serve: shutdown', () => {
  it('SIGINT and SIGTERM close the index and exit 0', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const s = await startServe(dir, ['docs.vqlite', '--port', '0'])
      expect((await call(s, '/api/stats')).status).toBe(200)
      const r = await s.stop(signal)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain(`${signal}: closing`)
    }
    // the index file is intact and writable afterwards
    const again = runIn(dir, ['search', 'pets', '--index', 'docs.vqlite', '--mode', 'keyword', '--json'])
    expect(again.status, again.all).toBe(0)
  }, 60_000)
})
