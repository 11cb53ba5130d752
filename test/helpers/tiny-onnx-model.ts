/**
 * Builds a tiny BERT-like feature-extraction model that transformers.js can load, without any
 * download: config.json (model_type bert), a WordPiece tokenizer.json over a small whole-word
 * vocabulary, tokenizer_config.json, onnx/model.onnx (fp32) and onnx/model_quantized.onnx
 * (the same weights as int8 + DequantizeLinear). The graph is
 * last_hidden_state = Tanh(MatMul(Gather(E, input_ids), W)); attention_mask and
 * token_type_ids are declared inputs (transformers.js feeds them) but unused.
 * The ONNX protobuf is encoded with protobufjs from an inline descriptor of the messages used.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import protobuf from 'protobufjs'
import { Rng } from '../../src/util/random.js'

export const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const
export const PAD = 0
export const UNK = 1
export const CLS = 2
export const SEP = 3

export interface TinyModel {
  readonly dir: string
  readonly hidden: number
  readonly vocab: readonly string[]
  /** Embedding table, vocab.length * hidden, row-major. */
  readonly E: Float32Array
  /** Projection, hidden * hidden, row-major (x @ W). */
  readonly W: Float32Array
  /** The dequantized weights that model_quantized.onnx computes with. */
  readonly Eq: Float32Array
  readonly Wq: Float32Array
}

const onnxDescriptor = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: {
            Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
          },
        },
      },
    },
  },
}

const FLOAT = 1
const INT8 = 3
const INT64 = 7

/** Deterministic floats in [-1, 1) (the project's seeded Rng). */
function prng(seed: number): () => number {
  const rng = new Rng(seed)
  return () => rng.float() * 2 - 1
}

function quantize(x: Float32Array): { q: Int8Array; scale: number; deq: Float32Array } {
  let max = 0
  for (const v of x) max = Math.max(max, Math.abs(v))
  const scale = Math.fround(max / 127)
  const q = new Int8Array(x.length)
  const deq = new Float32Array(x.length)
  for (let i = 0; i < x.length; i++) {
    q[i] = Math.max(-127, Math.min(127, Math.round(x[i]! / scale)))
    deq[i] = q[i]! * scale
  }
  return { q, scale, deq }
}

const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

function encodeModel(
  E: Float32Array | null,
  W: Float32Array | null,
  quant: { E: ReturnType<typeof quantize>; W: ReturnType<typeof quantize> } | null,
  V: number,
  H: number,
): Uint8Array {
  const root = protobuf.Root.fromJSON(onnxDescriptor)
  const Model = root.lookupType('onnx.ModelProto')
  const dyn = (names: string[]) => ({ dim: names.map((n) => (/^\d+$/.test(n) ? { dimValue: Number(n) } : { dimParam: n })) })
  const vi = (name: string, elemType: number, shape: string[]) => ({ name, type: { tensorType: { elemType, shape: dyn(shape) } } })
  const initializer: object[] = []
  const node: object[] = []
  if (quant) {
    initializer.push(
      { name: 'E_q', dims: [V, H], dataType: INT8, rawData: bytes(quant.E.q) },
      { name: 'E_scale', dims: [], dataType: FLOAT, rawData: bytes(new Float32Array([quant.E.scale])) },
      { name: 'E_zp', dims: [], dataType: INT8, rawData: new Uint8Array([0]) },
      { name: 'W_q', dims: [H, H], dataType: INT8, rawData: bytes(quant.W.q) },
      { name: 'W_scale', dims: [], dataType: FLOAT, rawData: bytes(new Float32Array([quant.W.scale])) },
      { name: 'W_zp', dims: [], dataType: INT8, rawData: new Uint8Array([0]) },
    )
    node.push(
      { opType: 'DequantizeLinear', name: 'deq_E', input: ['E_q', 'E_scale', 'E_zp'], output: ['E'] },
      { opType: 'DequantizeLinear', name: 'deq_W', input: ['W_q', 'W_scale', 'W_zp'], output: ['W'] },
    )
  } else {
    initializer.push(
      { name: 'E', dims: [V, H], dataType: FLOAT, rawData: bytes(E!) },
      { name: 'W', dims: [H, H], dataType: FLOAT, rawData: bytes(W!) },
    )
  }
  node.push(
    { opType: 'Gather', name: 'embed', input: ['E', 'input_ids'], output: ['x'], attribute: [{ name: 'axis', type: 2, i: 0 }] },
    { opType: 'MatMul', name: 'proj', input: ['x', 'W'], output: ['y'] },
    { opType: 'Tanh', name: 'act', input: ['y'], output: ['last_hidden_state'] },
  )
  const model = {
    irVersion: 8,
    producerName: 'vqlite-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny-bert',
      node,
      initializer,
      input: [
        vi('input_ids', INT64, ['batch', 'seq']),
        vi('attention_mask', INT64, ['batch', 'seq']),
        vi('token_type_ids', INT64, ['batch', 'seq']),
      ],
      output: [vi('last_hidden_state', FLOAT, ['batch', 'seq', String(H)])],
    },
  }
  return Model.encode(Model.fromObject(model)).finish()
}

/** Writes the model into dir (created) from the given words (lowercased, deduplicated). */
export function writeTinyModel(dir: string, words: readonly string[], options: { hidden?: number; seed?: number } = {}): TinyModel {
  const H = options.hidden ?? 16
  const vocab = [...SPECIAL, ...new Set(words.map((w) => w.toLowerCase()))]
  const V = vocab.length
  const rand = prng(options.seed ?? 42)
  const E = new Float32Array(V * H).map(() => rand())
  const W = new Float32Array(H * H).map(() => rand() / Math.sqrt(H))
  const qE = quantize(E)
  const qW = quantize(W)
  mkdirSync(join(dir, 'onnx'), { recursive: true })
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ model_type: 'bert', architectures: ['BertModel'], hidden_size: H, vocab_size: V, max_position_embeddings: 512 }),
  )
  const special = (s: string, id: number) => ({
    id,
    content: s,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  })
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL.map((s, i) => special(s, i)),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '[SEP]', type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '[SEP]', type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: '[SEP]', type_id: 1 } },
        ],
        special_tokens: {
          '[CLS]': { id: '[CLS]', ids: [CLS], tokens: ['[CLS]'] },
          '[SEP]': { id: '[SEP]', ids: [SEP], tokens: ['[SEP]'] },
        },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab: Object.fromEntries(vocab.map((w, i) => [w, i])),
      },
    }),
  )
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 512,
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      mask_token: '[MASK]',
    }),
  )
  writeFileSync(join(dir, 'onnx', 'model.onnx'), encodeModel(E, W, null, V, H))
  writeFileSync(join(dir, 'onnx', 'model_quantized.onnx'), encodeModel(null, null, { E: qE, W: qW }, V, H))
  return { dir, hidden: H, vocab, E, W, Eq: qE.deq, Wq: qW.deq }
}

/**
 * Reference embedding in plain JS: [CLS] + words (lowercased, split on non-alphanumerics,
 * unknown words → [UNK]) + [SEP], each row tanh(E[id] @ W), mean over tokens, L2-normalised.
 */
export function referenceEmbedding(model: TinyModel, text: string, quantized = false): Float32Array {
  const E = quantized ? model.Eq : model.E
  const W = quantized ? model.Wq : model.W
  const H = model.hidden
  const index = new Map(model.vocab.map((w, i) => [w, i]))
  const tokens = text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []
  const ids = [CLS, ...tokens.map((t) => index.get(t) ?? UNK), SEP]
  const sum = new Float64Array(H)
  for (const id of ids)
    for (let j = 0; j < H; j++) {
      let y = 0
      for (let k = 0; k < H; k++) y += E[id * H + k]! * W[k * H + j]!
      sum[j] = sum[j]! + Math.tanh(y)
    }
  let norm = 0
  for (let j = 0; j < H; j++) norm += (sum[j]! / ids.length) ** 2
  norm = Math.sqrt(norm)
  return Float32Array.from(sum, (s) => s / ids.length / norm)
}
