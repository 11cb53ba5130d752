/**
 * An embedder over any OpenAI-compatible HTTP embeddings endpoint (OpenAI, Ollama's /v1,
 * llama.cpp server, vLLM, ...): POST `${baseUrl}/embeddings` with {model, input: string[]},
 * read data[i].embedding (ordered by data[i].index). Failures are VqStorageError
 * EMBEDDER_FAILED (network, HTTP status, timeout) or VqFormatError EMBEDDER_FAILED (bad JSON,
 * wrong count, wrong dimension, non-finite values).
 */
import { VqFormatError, VqOptionError, VqStorageError } from '../errors.js'
import type { Embedder } from './embedder.js'

/** Options of createOpenAIEmbedder. */
export interface OpenAIEmbedderOptions {
  /** API base URL, e.g. http://localhost:11434/v1 or https://api.openai.com/v1. */
  readonly baseUrl: string
  /** Model name sent to the server. */
  readonly model: string
  /** Bearer token. Default: process.env.OPENAI_API_KEY (none if unset). */
  readonly apiKey?: string
  /** Dimension; discovered by embedding one text when not given. */
  readonly dim?: number
  /** Texts per request. Default 64. */
  readonly batchSize?: number
  /** Per-request timeout in ms. Default 60,000. */
  readonly timeoutMs?: number
  /** fetch implementation. Default: globalThis.fetch. */
  readonly fetch?: typeof globalThis.fetch
}

/** Creates the embedder (one request to discover the dimension when dim is not given). */
export async function createOpenAIEmbedder(options: OpenAIEmbedderOptions): Promise<Embedder> {
  const { model } = options
  if (typeof model !== 'string' || model === '')
    throw new VqOptionError('BAD_OPTION', `model must be a non-empty string, got ${JSON.stringify(model)}`)
  const baseUrl = String(options.baseUrl ?? '').replace(/\/+$/, '')
  if (!/^https?:\/\//.test(baseUrl))
    throw new VqOptionError('BAD_OPTION', `baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`)
  const batchSize = options.batchSize ?? 64
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new VqOptionError('BAD_OPTION', `batchSize must be a positive integer, got ${batchSize}`)
  const timeoutMs = options.timeoutMs ?? 60_000
  const apiKey = options.apiKey ?? process.env['OPENAI_API_KEY']
  const doFetch = options.fetch ?? globalThis.fetch
  const url = `${baseUrl}/embeddings`

  const request = async (input: readonly string[], dim: number | undefined): Promise<Float32Array[]> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (apiKey) headers['authorization'] = `Bearer ${apiKey}`
    let res: Response
    try {
      res = await doFetch(url, { method: 'POST', headers, body: JSON.stringify({ model, input }), signal: AbortSignal.timeout(timeoutMs) })
    } catch (cause) {
      throw new VqStorageError('EMBEDDER_FAILED', `embedder openai:${model}: POST ${url} failed: ${(cause as Error).message}`, { cause })
    }
    const body = await res.text().catch(() => '')
    if (!res.ok)
      throw new VqStorageError(
        'EMBEDDER_FAILED',
        `embedder openai:${model}: POST ${url} returned HTTP ${res.status}: ${body.slice(0, 200)}`,
      )
    let json: { data?: { index?: number; embedding?: unknown }[] }
    try {
      json = JSON.parse(body)
    } catch (cause) {
      throw new VqFormatError('EMBEDDER_FAILED', `embedder openai:${model}: ${url} returned invalid JSON: ${body.slice(0, 200)}`, { cause })
    }
    const data = json?.data
    if (!Array.isArray(data) || data.length !== input.length)
      throw new VqFormatError(
        'EMBEDDER_FAILED',
        `embedder openai:${model}: expected ${input.length} embeddings, got ${Array.isArray(data) ? data.length : 'no data array'}`,
      )
    const sorted = [...data].sort((x, y) => (x.index ?? 0) - (y.index ?? 0))
    return sorted.map((item, i) => {
      const e = item.embedding
      if (!Array.isArray(e) || e.length === 0)
        throw new VqFormatError('EMBEDDER_FAILED', `embedder openai:${model}: embedding ${i} is not a number array`)
      if (dim !== undefined && e.length !== dim)
        throw new VqFormatError('EMBEDDER_MISMATCH', `embedder openai:${model}: embedding ${i} has dimension ${e.length}, expected ${dim}`)
      const v = new Float32Array(e.length)
      for (let j = 0; j < v.length; j++) {
        const x: unknown = e[j]
        if (typeof x === 'number' && Number.isFinite(x)) v[j] = x
        else throw new VqFormatError('EMBEDDER_FAILED', `embedder openai:${model}: embedding ${i} has a non-finite value at ${j}`)
      }
      return v
    })
  }

  let dim = options.dim
  if (dim === undefined) dim = (await request(['dimension probe'], undefined))[0]!.length
  else if (!Number.isInteger(dim) || dim < 1) throw new VqOptionError('BAD_OPTION', `dim must be a positive integer, got ${dim}`)
  const d = dim
  return {
    name: `openai:${model}@${d}`,
    dim: d,
    spec: { kind: 'openai', baseUrl, model, dim: d },
    async embed(texts) {
      const out = new Float32Array(texts.length * d)
      for (let s = 0; s < texts.length; s += batchSize) {
        const rows = await request(texts.slice(s, s + batchSize), d)
        for (let i = 0; i < rows.length; i++) out.set(rows[i]!, (s + i) * d)
      }
      return out
    },
  }
}
