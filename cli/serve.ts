/**
 * `vqlite serve INDEX|FOLDER`: a local HTTP server (hono on @hono/node-server) over one text
 * index (made by index-text) or every `.vqlite` text index of a folder, with a JSON API and
 * one static search page at `/` (serve-page.ts).
 *
 *   GET    /api/stats[?index=NAME]        { readonly, indexes: [{ name, chunks, sources, embedder, description, root }] }
 *   GET    /api/indexes                   { indexes: [NAME, ...] }
 *   POST   /api/search                    { query, k?, mode?, filter?, index? } -> { index, mode, k, ms, hits }
 *   POST   /api/texts                     { source, text, index? } -> 201 { index, source, ...AddTextsReport }
 *   DELETE /api/sources?source=S[&index=NAME]  -> { index, source, chunksRemoved }
 *
 * Errors are { error: { code, message } } with the library's VqError codes: 400 bad request
 * (not JSON, a missing, unknown or mistyped field, a bad filter), 404 unknown index, source
 * or route, 403 a write on --readonly (READ_ONLY) or a Host header that is not this
 * loopback server's (DNS rebinding), 413 a body past --max-body, 415 a POST that is not
 * application/json (so that another web site cannot post to it without a CORS preflight),
 * 500 anything else. Bound to 127.0.0.1 unless --host says otherwise; CORS is off unless
 * --cors ORIGIN. Writes of one index run one at a time (TextIndex serialises them).
 */
import { createHash } from 'node:crypto'
import { readdirSync, statSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import { type ServerType, serve as serveHttp } from '@hono/node-server'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { type Filter, VqError, VqInputError, VqOptionError, VqStateError, VqStorageError } from 'vqlite'
import { createSifGloveEmbedder, type Embedder, TextIndex, type TextSearchMode } from 'vqlite/text'
import { UsageError } from './common.js'
import { SEARCH_PAGE, SEARCH_SCRIPT } from './serve-page.js'

/** Largest k of one search request. */
export const MAX_SERVE_K = 1000
/** Longest query text, in characters. */
export const MAX_QUERY_LENGTH = 10_000
/** Default --max-body: 1 MiB. */
export const DEFAULT_MAX_BODY = 1024 * 1024

export interface ServeOptions {
  readonly host: string
  readonly port: number
  readonly readonly: boolean
  readonly maxBody: number
  /** The one origin allowed by CORS (none when undefined). */
  readonly cors?: string | undefined
}

/** A served index and the name requests give it (its file name without .vqlite). */
export interface Served {
  readonly name: string
  readonly file: string
  readonly index: TextIndex
}

/** An HTTP error with a VqError-style code. */
class ApiError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 413 | 415 | 500,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const MODES: readonly TextSearchMode[] = ['hybrid', 'vector', 'keyword']
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/** The HTTP status of a library error. */
function statusOf(e: VqError): 400 | 403 | 404 | 500 {
  if (e.code === 'UNKNOWN_ID' || e.code === 'NOT_FOUND') return 404
  if (e.code === 'READ_ONLY') return 403
  if (e instanceof VqInputError || e instanceof VqOptionError) return 400
  return 500
}

function fail(c: Context, status: ApiError['status'], code: string, message: string): Response {
  return c.json({ error: { code, message } }, status)
}

/** The request body as a JSON object with only the keys allowed. */
async function jsonBody(c: Context, allowed: readonly string[]): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw new ApiError(415, 'BAD_ARGUMENT', `the body must be application/json, got ${JSON.stringify(type || 'no Content-Type')}`)
  const text = await c.req.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (e) {
    throw new ApiError(400, 'BAD_ARGUMENT', `the request body is not JSON (${(e as Error).message})`)
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(
      400,
      'BAD_ARGUMENT',
      `the request body must be a JSON object, got ${Array.isArray(body) ? 'an array' : JSON.stringify(body)}`,
    )
  const o = body as Record<string, unknown>
  for (const key of Object.keys(o))
    if (!allowed.includes(key))
      throw new ApiError(400, 'UNKNOWN_OPTION', `unknown field ${JSON.stringify(key.slice(0, 40))} (known: ${allowed.join(', ')})`)
  return o
}

/** The app: routes over the served indexes (exported for in-process use). */
export function createApp(served: readonly Served[], options: Omit<ServeOptions, 'port'>): Hono {
  const byName = new Map(served.map((s) => [s.name, s]))
  const app = new Hono()
  const pick = (name: unknown): Served => {
    if (name === undefined || name === null || name === '') {
      if (served.length === 1) return served[0]!
      throw new ApiError(400, 'BAD_ARGUMENT', `give the index: one of ${[...byName.keys()].join(', ')}`)
    }
    if (typeof name !== 'string') throw new ApiError(400, 'BAD_ARGUMENT', `index must be a string, got ${typeof name}`)
    const s = byName.get(name)
    if (!s)
      throw new ApiError(
        404,
        'NOT_FOUND',
        `no index named ${JSON.stringify(name.slice(0, 100))} (served: ${[...byName.keys()].join(', ')})`,
      )
    return s
  }
  const writable = (): void => {
    if (options.readonly) throw new ApiError(403, 'READ_ONLY', 'the server is read-only (--readonly): no writes')
  }

  app.onError((e, c) => {
    if (e instanceof ApiError) return fail(c, e.status, e.code, e.message)
    if (e instanceof VqError) return fail(c, statusOf(e), e.code, e.message)
    return fail(c, 500, 'INTERNAL', 'internal error (a bug, please report it)')
  })
  app.notFound((c) => fail(c, 404, 'NOT_FOUND', `no route ${c.req.method} ${new URL(c.req.url).pathname}`))

  // DNS rebinding guard: a loopback server answers only requests addressed to a loopback name.
  if (LOOPBACK.has(options.host)) {
    app.use('*', async (c, next) => {
      const host = c.req.header('host') ?? ''
      const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '')
      if (!LOOPBACK.has(name.toLowerCase()))
        return fail(c, 403, 'BAD_ARGUMENT', `Host ${JSON.stringify(host.slice(0, 100))} is not this local server's`)
      await next()
    })
  }
  if (options.cors !== undefined) app.use('/api/*', cors({ origin: options.cors, allowMethods: ['GET', 'POST', 'DELETE'] }))
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: options.maxBody,
      // the rest of the body is not read: the connection is closed after the answer
      onError: (c) => {
        c.header('Connection', 'close')
        return fail(c, 413, 'BAD_ARGUMENT', `the request body is larger than ${options.maxBody} bytes (--max-body)`)
      },
    }),
  )

  const scriptHash = createHash('sha256').update(SEARCH_SCRIPT).digest('base64')
  app.get('/', (c) => {
    c.header(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    )
    c.header('X-Content-Type-Options', 'nosniff')
    return c.html(SEARCH_PAGE)
  })

  app.get('/api/indexes', (c) => c.json({ indexes: served.map((s) => s.name) }))

  app.get('/api/stats', (c) => {
    const only = c.req.query('index')
    const list = only === undefined ? served : [pick(only)]
    return c.json({ readonly: options.readonly, indexes: list.map((s) => ({ name: s.name, ...s.index.stats() })) })
  })

  app.post('/api/search', async (c) => {
    const b = await jsonBody(c, ['query', 'k', 'mode', 'filter', 'index'])
    const s = pick(b.index)
    if (typeof b.query !== 'string' || b.query.trim() === '')
      throw new ApiError(
        400,
        'BAD_ARGUMENT',
        `query must be a non-empty string, got ${b.query === undefined ? 'none' : JSON.stringify(b.query).slice(0, 60)}`,
      )
    if (b.query.length > MAX_QUERY_LENGTH)
      throw new ApiError(400, 'BAD_ARGUMENT', `query has ${b.query.length} characters; the limit is ${MAX_QUERY_LENGTH}`)
    const k = b.k ?? 10
    if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1 || k > MAX_SERVE_K)
      throw new ApiError(400, 'BAD_K', `k must be an integer from 1 to ${MAX_SERVE_K}, got ${JSON.stringify(k)}`)
    const mode = b.mode ?? 'hybrid'
    if (typeof mode !== 'string' || !MODES.includes(mode as TextSearchMode))
      throw new ApiError(400, 'BAD_OPTION', `mode must be hybrid, vector or keyword, got ${JSON.stringify(mode)}`)
    const filter = b.filter
    if (filter !== undefined && (filter === null || typeof filter !== 'object' || Array.isArray(filter)))
      throw new ApiError(
        400,
        'BAD_FILTER',
        `filter must be a JSON object such as {"source": {"$prefix": "docs/"}}, got ${JSON.stringify(filter)}`,
      )
    const t = performance.now()
    const hits = await s.index.search(b.query, {
      k,
      mode: mode as TextSearchMode,
      ...(filter !== undefined ? { filter: filter as Filter } : {}),
    })
    return c.json({ index: s.name, mode, k, ms: performance.now() - t, hits })
  })

  app.post('/api/texts', async (c) => {
    writable()
    const b = await jsonBody(c, ['source', 'text', 'index'])
    const s = pick(b.index)
    if (typeof b.source !== 'string' || b.source === '')
      throw new ApiError(
        400,
        'BAD_ARGUMENT',
        `source must be a non-empty string, got ${b.source === undefined ? 'none' : JSON.stringify(b.source).slice(0, 60)}`,
      )
    if (typeof b.text !== 'string')
      throw new ApiError(400, 'BAD_ARGUMENT', `text must be a string, got ${b.text === undefined ? 'none' : typeof b.text}`)
    const r = await s.index.addTexts([{ source: b.source, text: b.text }])
    return c.json({ index: s.name, source: b.source, ...r }, 201)
  })

  app.delete('/api/sources', async (c) => {
    writable()
    const s = pick(c.req.query('index'))
    const source = c.req.query('source')
    if (source === undefined || source === '') throw new ApiError(400, 'BAD_ARGUMENT', 'give the source to delete: ?source=NAME')
    const chunksRemoved = await s.index.deleteSource(source)
    return c.json({ index: s.name, source, chunksRemoved })
  })

  return app
}

/** The .vqlite files to serve: the file given, or the .vqlite files of the folder given (not recursive). */
export function indexFiles(target: string): string[] {
  let st: ReturnType<typeof statSync>
  try {
    st = statSync(target)
  } catch (e) {
    throw new VqStorageError('NOT_FOUND', `${target}: no such index file or folder`, { cause: e })
  }
  if (st.isFile()) return [target]
  if (!st.isDirectory()) throw new VqStorageError('CANNOT_OPEN', `${target} is neither an index file nor a folder`)
  const files = readdirSync(target)
    .filter((f) => extname(f) === '.vqlite')
    .sort()
    .map((f) => join(target, f))
    .filter((f) => statSync(f).isFile())
  if (files.length === 0) throw new VqStorageError('NOT_FOUND', `${target}: no .vqlite file in this folder`)
  return files
}

/** Opens the text indexes of `target`; in a folder, files that are not text indexes of this embedder are skipped (onSkip). */
export async function openServed(
  target: string,
  embedder: Embedder,
  options: { readonly: boolean; onSkip?: (file: string, why: string) => void },
): Promise<Served[]> {
  const files = indexFiles(target)
  const served: Served[] = []
  try {
    for (const file of files) {
      try {
        served.push({ name: basename(file, '.vqlite'), file, index: await TextIndex.open(file, embedder, { readonly: options.readonly }) })
      } catch (e) {
        if (files.length === 1 || !(e instanceof VqError)) throw e
        options.onSkip?.(file, `${e.message} [${e.code}]`)
      }
    }
  } catch (e) {
    for (const s of served) await s.index.close()
    throw e
  }
  if (served.length === 0) throw new VqStateError('NOT_FOUND', `${target}: no text index (made by vqlite index-text) in this folder`)
  return served
}

/** A running server: its URL and how to stop it (closes the connections, then the indexes). */
export interface RunningServer {
  readonly url: string
  readonly served: readonly Served[]
  close(): Promise<void>
}

/** Opens the indexes and listens (port 0: any free port). */
export async function startServer(target: string, options: ServeOptions, embedder?: Embedder): Promise<RunningServer> {
  if (options.cors !== undefined) {
    let origin: string
    try {
      origin = new URL(options.cors).origin
    } catch {
      origin = 'null'
    }
    if (origin === 'null' || origin !== options.cors.replace(/\/$/, ''))
      throw new UsageError(`--cors takes an origin such as http://localhost:3000, got ${JSON.stringify(options.cors)}`)
  }
  const e = embedder ?? (await createSifGloveEmbedder({ onProgress: (m) => process.stderr.write(`${m}\n`) }))
  const served = await openServed(target, e, {
    readonly: options.readonly,
    onSkip: (file, why) => process.stderr.write(`vqlite serve: skipped ${file}: ${why}\n`),
  })
  const app = createApp(served, { ...options, ...(options.cors !== undefined ? { cors: options.cors.replace(/\/$/, '') } : {}) })
  let server: ServerType
  let port: number
  try {
    ;({ server, port } = await new Promise<{ server: ServerType; port: number }>((ok, ko) => {
      const srv = serveHttp({ fetch: app.fetch, port: options.port, hostname: options.host }, (info) =>
        ok({ server: srv, port: info.port }),
      )
      srv.once('error', ko)
    }))
  } catch (err) {
    for (const s of served) await s.index.close()
    const code = (err as NodeJS.ErrnoException).code
    throw new VqStorageError('CANNOT_OPEN', `cannot listen on ${options.host}:${options.port} (${code ?? (err as Error).message})`, {
      cause: err,
    })
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${port}/`,
    served,
    close: () => {
      closing ??= (async () => {
        await new Promise<void>((ok) => {
          server.close(() => ok())
          if ('closeAllConnections' in server) server.closeAllConnections()
        })
        for (const s of served) await s.index.close()
      })()
      return closing
    },
  }
}

/** The action of `vqlite serve`: starts, prints the URL, stops on SIGINT / SIGTERM. */
export async function runServe(target: string, options: ServeOptions): Promise<void> {
  const running = await startServer(target, options)
  const names = running.served.map((s) => s.name).join(', ')
  console.log(
    `vqlite serve: ${running.url} (${running.served.length === 1 ? 'index' : 'indexes'} ${names}${options.readonly ? ', read-only' : ''}; Ctrl-C to stop)`,
  )
  await new Promise<void>((done) => {
    const stop = (signal: string): void => {
      process.stderr.write(`vqlite serve: ${signal}: closing\n`)
      running.close().then(done, (e: unknown) => {
        process.stderr.write(`vqlite serve: closing failed: ${(e as Error).message}\n`)
        process.exitCode = 1
        done()
      })
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
}
