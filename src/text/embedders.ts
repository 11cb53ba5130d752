/**
 * Embedders from their specs (EmbedderSpec, stored in text indexes): embedderFromSpec
 * makes one, checkEmbedderSpec validates a spec read from a file or built by a caller.
 */
import { VqOptionError } from '../errors.js'
import type { Embedder, EmbedderSpec } from './embedder.js'
import { createOpenAIEmbedder } from './openai-embedder.js'
import { createSifGloveEmbedder } from './sif-glove.js'
import type { TransformersDtype } from './transformers-embedder.js'

/** Options of embedderFromSpec that are not part of the spec (machine-local or secret). */
export interface EmbedderFromSpecOptions {
  /** sif-glove: dataset cache directory. */
  readonly cacheDir?: string
  /** sif-glove: progress messages (the one-time conversion of the GloVe JSON). */
  readonly onProgress?: (message: string) => void
  /** openai: bearer token. Default: process.env.OPENAI_API_KEY. */
  readonly apiKey?: string
  /** openai: fetch implementation. */
  readonly fetch?: typeof globalThis.fetch
}

const show = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}

/** The spec checked (VqOptionError BAD_OPTION naming the value otherwise), as a fresh plain object. */
export function checkEmbedderSpec(value: unknown): EmbedderSpec {
  const bad = (why: string): never => {
    throw new VqOptionError('BAD_OPTION', `bad embedder spec ${show(value)}: ${why}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('expected an object with a "kind"')
  const o = value as Record<string, unknown>
  const str = (key: string, optional = false): string | undefined => {
    const v = o[key]
    if (v === undefined && optional) return undefined
    if (typeof v !== 'string' || v === '') return bad(`"${key}" must be a non-empty string`)
    return v
  }
  const allow = (keys: string[]): void => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`unknown field "${k}"`)
  }
  switch (o['kind']) {
    case 'sif-glove':
      allow(['kind'])
      return { kind: 'sif-glove' }
    case 'openai': {
      allow(['kind', 'baseUrl', 'model', 'dim'])
      const baseUrl = str('baseUrl')!
      if (!/^https?:\/\//.test(baseUrl)) bad('"baseUrl" must be an http(s) URL')
      const model = str('model')!
      const dim = o['dim']
      if (dim !== undefined && (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)) bad('"dim" must be a positive integer')
      return { kind: 'openai', baseUrl, model, ...(dim !== undefined ? { dim: dim as number } : {}) }
    }
    case 'transformers': {
      allow(['kind', 'model', 'dtype'])
      const model = str('model')!
      const dtype = str('dtype', true)
      return { kind: 'transformers', model, ...(dtype !== undefined ? { dtype } : {}) }
    }
    default:
      return bad('"kind" must be "sif-glove", "openai" or "transformers"')
  }
}

/**
 * Makes the embedder a spec describes: sif-glove (loads GloVe, about a second), openai (an
 * OpenAI-compatible HTTP endpoint; the key from options.apiKey or OPENAI_API_KEY, never
 * from the spec). A bad spec is VqOptionError BAD_OPTION.
 */
export async function embedderFromSpec(spec: EmbedderSpec, options: EmbedderFromSpecOptions = {}): Promise<Embedder> {
  const s = checkEmbedderSpec(spec)
  switch (s.kind) {
    case 'sif-glove':
      return createSifGloveEmbedder({
        ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      })
    case 'openai':
      return createOpenAIEmbedder({
        baseUrl: s.baseUrl,
        model: s.model,
        ...(s.dim !== undefined ? { dim: s.dim } : {}),
        ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      })
    case 'transformers': {
      const { createTransformersEmbedder } = await import('./transformers-embedder.js')
      const dtype = s.dtype as TransformersDtype | undefined
      return createTransformersEmbedder({
        model: s.model,
        ...(dtype !== undefined ? { dtype } : {}),
        ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      })
    }
  }
}
