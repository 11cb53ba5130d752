/**
 * An embedder running a feature-extraction model with transformers.js (the optional peer
 * package @huggingface/transformers, ONNX Runtime underneath): a Hugging Face hub id such as
 * "Xenova/all-MiniLM-L6-v2" (downloaded once into the transformers.js cache) or a local model
 * folder (config.json, tokenizer.json, tokenizer_config.json, onnx/model*.onnx). `dtype` picks
 * the ONNX file as transformers.js does: fp32 → onnx/model.onnx, q8 → onnx/model_quantized.onnx,
 * fp16 → model_fp16.onnx, int8/uint8/q4 → model_int8/_uint8/_q4.onnx.
 *
 * Errors: MISSING_DEPENDENCY (package not installed), VqStorageError NOT_FOUND (missing folder
 * or ONNX file), VqFormatError BAD_FILE (unreadable config.json, a model ONNX Runtime refuses),
 * VqStorageError EMBEDDER_FAILED (download or inference failure), VqFormatError
 * EMBEDDER_MISMATCH (output dimension differs from config.json's hidden_size).
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, isAbsolute, join, resolve } from 'node:path'
import { VqError, VqFormatError, VqOptionError, VqStorageError } from '../errors.js'
import type { Embedder } from './embedder.js'

export type TransformersDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4'

/** Options of createTransformersEmbedder. */
export interface TransformersEmbedderOptions {
  /** Hub id ("Xenova/all-MiniLM-L6-v2") or a local folder path (absolute, or starting with . or an existing folder). */
  readonly model: string
  /** Which ONNX weights to load. Default fp32 (q8 = onnx/model_quantized.onnx). */
  readonly dtype?: TransformersDtype
  /** How token vectors become a text vector. Default mean (over the attention mask). */
  readonly pooling?: 'mean' | 'cls'
  /** L2-normalise the vectors. Default true. */
  readonly normalize?: boolean
  /** Where transformers.js caches downloaded models. Default: its own cache. */
  readonly cacheDir?: string
  /** Never download. Default: true for a local folder, false for a hub id. */
  readonly localOnly?: boolean
  /** Texts per inference call. Default 32. */
  readonly batchSize?: number
  /** Download/loading progress, as transformers.js reports it. */
  readonly onProgress?: (info: unknown) => void
}

const DTYPES: readonly TransformersDtype[] = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4']
const SUFFIX: Record<TransformersDtype, string> = { fp32: '', fp16: '_fp16', q8: '_quantized', int8: '_int8', uint8: '_uint8', q4: '_q4' }

interface OutputTensor {
  readonly dims: readonly number[]
  readonly data: ArrayLike<number>
}
type Extractor = (texts: string[], options: { pooling: string; normalize: boolean }) => Promise<OutputTensor>
interface TransformersModule {
  pipeline(task: 'feature-extraction', model: string, options: Record<string, unknown>): Promise<unknown>
}

async function loadTransformers(): Promise<TransformersModule> {
  const name = '@huggingface/transformers'
  try {
    return (await import('@huggingface/transformers')) as unknown as TransformersModule
  } catch (cause) {
    const code = (cause as { code?: unknown }).code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw cause
    throw new VqError(
      'MISSING_DEPENDENCY',
      `the transformers.js embedder needs the npm package ${name}; install it with: npm install ${name}`,
      {
        cause,
      },
    )
  }
}

const looksLikePath = (s: string): boolean => isAbsolute(s) || s.startsWith('.') || s.startsWith('~') || s.includes('\\')

/** Loads the model (and embeds one probe text to learn the dimension). */
export async function createTransformersEmbedder(options: TransformersEmbedderOptions): Promise<Embedder> {
  const { model } = options
  if (typeof model !== 'string' || model === '')
    throw new VqOptionError('BAD_OPTION', `model must be a non-empty string, got ${JSON.stringify(model)}`)
  const dtype = options.dtype ?? 'fp32'
  if (!DTYPES.includes(dtype))
    throw new VqOptionError('BAD_OPTION', `dtype must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`)
  const pooling = options.pooling ?? 'mean'
  if (pooling !== 'mean' && pooling !== 'cls')
    throw new VqOptionError('BAD_OPTION', `pooling must be mean or cls, got ${JSON.stringify(pooling)}`)
  const normalize = options.normalize ?? true
  const batchSize = options.batchSize ?? 32
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new VqOptionError('BAD_OPTION', `batchSize must be a positive integer, got ${batchSize}`)

  const isDir = (p: string): boolean => {
    try {
      return statSync(p).isDirectory()
    } catch {
      return false
    }
  }
  const local = looksLikePath(model) || isDir(model)
  let id = model
  let nameModel = model
  let hiddenSize: number | undefined
  if (local) {
    const dir = resolve(model)
    if (!isDir(dir)) throw new VqStorageError('NOT_FOUND', `embedder transformers: model folder ${dir} does not exist`)
    const configPath = join(dir, 'config.json')
    let configText: string
    try {
      configText = readFileSync(configPath, 'utf8')
    } catch (cause) {
      throw new VqStorageError('NOT_FOUND', `embedder transformers: model folder ${dir} has no readable config.json`, { cause })
    }
    try {
      const h = (JSON.parse(configText) as { hidden_size?: unknown }).hidden_size
      if (typeof h === 'number') hiddenSize = h
    } catch (cause) {
      throw new VqFormatError('BAD_FILE', `embedder transformers: ${configPath} is not valid JSON`, { cause })
    }
    const onnxPath = join(dir, 'onnx', `model${SUFFIX[dtype]}.onnx`)
    if (!existsSync(onnxPath))
      throw new VqStorageError(
        'NOT_FOUND',
        `embedder transformers: model folder ${dir} has no ${join('onnx', basename(onnxPath))} (for dtype ${dtype})`,
      )
    id = dir
    nameModel = `${basename(dir)}#${createHash('sha256').update(configText).digest('hex').slice(0, 8)}`
  }
  const localOnly = options.localOnly ?? local
  const label = `embedder transformers:${model} (${dtype})`

  const { pipeline } = await loadTransformers()
  let extractor: Extractor
  try {
    extractor = (await pipeline('feature-extraction', id, {
      dtype,
      device: 'cpu',
      local_files_only: localOnly,
      ...(options.cacheDir ? { cache_dir: options.cacheDir } : {}),
      ...(options.onProgress ? { progress_callback: options.onProgress } : {}),
    })) as Extractor
  } catch (cause) {
    const message = (cause as Error)?.message ?? String(cause)
    if (local) throw new VqFormatError('BAD_FILE', `${label}: cannot load the model: ${message}`, { cause })
    throw new VqStorageError('EMBEDDER_FAILED', `${label}: cannot load the model: ${message}`, { cause })
  }

  const run = async (texts: string[]): Promise<OutputTensor> => {
    let out: OutputTensor
    try {
      out = await extractor(texts, { pooling, normalize })
    } catch (cause) {
      throw new VqStorageError('EMBEDDER_FAILED', `${label}: inference failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    }
    if (!out || !Array.isArray(out.dims) || out.dims.length !== 2 || out.dims[0] !== texts.length)
      throw new VqFormatError('EMBEDDER_FAILED', `${label}: expected a ${texts.length} x dim output, got dims ${JSON.stringify(out?.dims)}`)
    return out
  }

  const probe = await run(['dimension probe'])
  const dim = probe.dims[1]!
  if (hiddenSize !== undefined && dim !== hiddenSize)
    throw new VqFormatError(
      'EMBEDDER_MISMATCH',
      `${label}: the model outputs dimension ${dim} but config.json says hidden_size ${hiddenSize}`,
    )

  return {
    name: `transformers:${nameModel}/${dtype}/${pooling}${normalize ? '' : '/raw'}`,
    dim,
    // recorded in indexes so that the CLI and openWithStoredEmbedder can make it again
    // (the spec has the defaults' pooling and normalisation only)
    ...(pooling === 'mean' && normalize ? { spec: { kind: 'transformers' as const, model: local ? id : model, dtype } } : {}),
    async embed(texts) {
      const out = new Float32Array(texts.length * dim)
      // Blank texts keep their all-zero row (the Embedder contract); the rest go in batches.
      const todo: number[] = []
      for (let i = 0; i < texts.length; i++) if (texts[i]!.trim() !== '') todo.push(i)
      for (let s = 0; s < todo.length; s += batchSize) {
        const rows = todo.slice(s, s + batchSize)
        const res = await run(rows.map((i) => texts[i]!))
        if (res.dims[1] !== dim) throw new VqFormatError('EMBEDDER_MISMATCH', `${label}: output dimension ${res.dims[1]}, expected ${dim}`)
        for (let r = 0; r < rows.length; r++) {
          const off = rows[r]! * dim
          for (let j = 0; j < dim; j++) {
            const x = res.data[r * dim + j]!
            if (!Number.isFinite(x))
              throw new VqFormatError('EMBEDDER_FAILED', `${label}: non-finite value in the embedding of text ${rows[r]}`)
            out[off + j] = x
          }
        }
      }
      return out
    },
  }
}
