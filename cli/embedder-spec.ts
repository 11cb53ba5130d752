/**
 * --embedder SPEC of index-text and search:
 *   sif-glove                      the built-in offline SIF-GloVe embedder (default for a new index)
 *   openai:MODEL@BASE_URL          an OpenAI-compatible /embeddings endpoint, e.g.
 *                                  openai:nomic-embed-text@http://localhost:11434/v1 (key: OPENAI_API_KEY)
 *   transformers:MODEL_OR_FOLDER[#DTYPE]   a Transformers.js model (hub name or local folder; #q8: its quantized weights)
 * A bad spec is VqOptionError BAD_OPTION naming the value.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { VqOptionError } from 'vqlite'
import type { EmbedderSpec } from 'vqlite/text'

export const EMBEDDER_SPEC_HELP =
  'sif-glove (default), openai:MODEL@BASE_URL (key from OPENAI_API_KEY) or transformers:MODEL_OR_FOLDER[#q8|#fp16|...]'

/** Parses an --embedder value. */
export function parseEmbedderSpec(value: string): EmbedderSpec {
  const v = value.trim()
  if (v === 'sif-glove') return { kind: 'sif-glove' }
  const bad = (why: string): never => {
    throw new VqOptionError('BAD_OPTION', `--embedder ${JSON.stringify(value)}: ${why}; expected ${EMBEDDER_SPEC_HELP}`)
  }
  if (v.startsWith('openai:')) {
    const m = /^openai:(.+?)@(https?:\/\/\S+)$/.exec(v)
    if (!m) return bad('expected openai:MODEL@BASE_URL with an http(s) base URL')
    return { kind: 'openai', model: m[1]!, baseUrl: m[2]!.replace(/\/+$/, '') }
  }
  if (v.startsWith('transformers:')) {
    const rest = v.slice('transformers:'.length)
    const hash = rest.lastIndexOf('#')
    const model = hash >= 0 ? rest.slice(0, hash) : rest
    const dtype = hash >= 0 ? rest.slice(hash + 1) : undefined
    if (model === '') return bad('no model name or folder after "transformers:"')
    if (dtype !== undefined && !['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'].includes(dtype))
      return bad(`the weights after "#" must be fp32, fp16, q8, int8, uint8 or q4, got "${dtype}"`)
    // a local folder is recorded by its absolute path, so that the index can be searched from anywhere
    return { kind: 'transformers', model: existsSync(model) ? resolve(model) : model, ...(dtype !== undefined ? { dtype } : {}) }
  }
  return bad('unknown embedder')
}
