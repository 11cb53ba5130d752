import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError } from '../../src/errors.js'
import { embedderFromSpec } from '../../src/text/embedders.js'
import { TextIndex } from '../../src/text/text-index.js'
import { createTransformersEmbedder } from '../../src/text/transformers-embedder.js'
import { referenceEmbedding, type TinyModel, writeTinyModel } from '../helpers/tiny-onnx-model.js'

const available = await import('@huggingface/transformers').then(
  () => true,
  () => false,
)

const DOCS = {
  'pets.txt': 'Cats and dogs are friendly pets that sleep at home.',
  'cloud.txt': 'Deploy the server to the cloud with a container image.',
  'market.txt': 'The stock market rose today as traders bought shares.',
  'garden.txt': 'Water the tomato plants in the garden every morning.',
}
const EXTRA = 'a short text and an other much longer sentence about cats dogs server cloud market garden'
const WORDS = [...Object.values(DOCS), EXTRA]
  .join(' ')
  .toLowerCase()
  .match(/[a-z0-9]+/g)!
  .concat(['.', ','])

const cosine = (a: Float32Array, b: Float32Array): number => {
  let d = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!
    na += a[i]! ** 2
    nb += b[i]! ** 2
  }
  return d / Math.sqrt(na * nb)
}
const maxDiff = (a: Float32Array, b: Float32Array): number => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)))

describe.skipIf(!available)('createTransformersEmbedder (tiny ONNX model built by the test)', () => {
  let dir: string
  let model: TinyModel
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vqlite-tjs-'))
    model = writeTinyModel(join(dir, 'tiny-bert'), WORDS, { hidden: 16 })
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('fp32: dim = hidden_size, vectors equal the plain-JS reference; batches with padding equal one at a time', async () => {
    const e = await createTransformersEmbedder({ model: model.dir, batchSize: 3 })
    expect(e.dim).toBe(16)
    expect(e.name).toMatch(/^transformers:tiny-bert#[0-9a-f]{8}\/fp32\/mean$/)
    const texts = [...Object.values(DOCS), 'cats', EXTRA, 'unknownword cats']
    const all = await e.embed(texts)
    expect(all.length).toBe(texts.length * 16)
    for (let i = 0; i < texts.length; i++) {
      const row = all.subarray(i * 16, (i + 1) * 16)
      expect(maxDiff(row, referenceEmbedding(model, texts[i]!)), texts[i]).toBeLessThan(1e-5)
      const alone = await e.embed([texts[i]!])
      expect(maxDiff(row, alone), texts[i]).toBeLessThan(1e-5)
    }
    // blank texts keep the all-zero row of the Embedder contract
    const blank = await e.embed(['', 'cats', '   '])
    expect(Array.from(blank.subarray(0, 16)).every((x) => x === 0)).toBe(true)
    expect(Array.from(blank.subarray(32, 48)).every((x) => x === 0)).toBe(true)
    expect(maxDiff(blank.subarray(16, 32), referenceEmbedding(model, 'cats'))).toBeLessThan(1e-5)
  })

  it('q8 loads onnx/model_quantized.onnx: close to fp32, equal to the reference with dequantized weights', async () => {
    const f = await createTransformersEmbedder({ model: model.dir })
    const q = await createTransformersEmbedder({ model: model.dir, dtype: 'q8' })
    expect(q.name).toMatch(/\/q8\/mean$/)
    expect(q.name).not.toBe(f.name)
    const texts = Object.values(DOCS)
    const vf = await f.embed(texts)
    const vq = await q.embed(texts)
    for (let i = 0; i < texts.length; i++) {
      const rf = vf.subarray(i * 16, (i + 1) * 16)
      const rq = vq.subarray(i * 16, (i + 1) * 16)
      expect(maxDiff(rf, rq)).toBeGreaterThan(0) // really another model
      expect(cosine(rf, rq)).toBeGreaterThan(0.99)
      // ONNX Runtime may fuse DequantizeLinear + MatMul into an integer kernel that also
      // quantizes the activations, hence a looser bound than for fp32.
      const ref = referenceEmbedding(model, texts[i]!, true)
      expect(cosine(rq, ref)).toBeGreaterThan(0.9999)
      expect(maxDiff(rq, ref)).toBeLessThan(5e-3)
    }
  })

  it('cls pooling and normalize: false change the vectors and the name', async () => {
    const c = await createTransformersEmbedder({ model: model.dir, pooling: 'cls', normalize: false })
    expect(c.name).toMatch(/\/fp32\/cls\/raw$/)
    const v = await c.embed(['cats', 'market'])
    // [CLS] is the first token in both, and this model has no attention: same vector
    expect(maxDiff(v.subarray(0, 16), v.subarray(16, 32))).toBeLessThan(1e-6)
  })

  it('two different folders with the same basename get different names', async () => {
    const other = writeTinyModel(join(dir, 'b', 'tiny-bert'), WORDS, { hidden: 8, seed: 7 })
    const a = await createTransformersEmbedder({ model: model.dir })
    const b = await createTransformersEmbedder({ model: other.dir })
    expect(b.dim).toBe(8)
    expect(a.name).not.toBe(b.name)
  })

  it('a TextIndex built with it finds the document sharing words with the query', async () => {
    // a random 16-d model is too small for word overlap to dominate; 128-d is enough
    const wide = writeTinyModel(join(dir, 'wide'), WORDS, { hidden: 128 })
    const e = await createTransformersEmbedder({ model: wide.dir })
    const docs = join(dir, 'docs')
    mkdirSync(docs)
    for (const [name, text] of Object.entries(DOCS)) writeFileSync(join(docs, name), text)
    const ix = await TextIndex.create(join(dir, 't.vqlite'), e, { description: 'Flat' })
    try {
      const r = await ix.indexFiles([docs])
      expect(r.filesIndexed).toBe(4)
      const queries: Record<string, string> = {
        'pets.txt': 'friendly cats and dogs',
        'cloud.txt': 'deploy a container to the cloud',
        'market.txt': 'stock market traders',
        'garden.txt': 'tomato plants garden',
      }
      for (const [file, query] of Object.entries(queries)) {
        const hits = await ix.search(query, { k: 1, mode: 'vector' })
        expect(hits[0]!.source.endsWith(file), query).toBe(true)
      }
    } finally {
      await ix.close()
    }
    // the spec is stored: reopened without an embedder, the index makes the same one again
    expect(e.spec).toEqual({ kind: 'transformers', model: wide.dir, dtype: 'fp32' })
    const again = await TextIndex.openWithStoredEmbedder(join(dir, 't.vqlite'))
    try {
      const hits = await again.search('tomato plants garden', { k: 1, mode: 'vector' })
      expect(hits[0]!.source.endsWith('garden.txt')).toBe(true)
      expect(again.embedder?.name).toBe(e.name)
    } finally {
      await again.close()
    }
    // quantized weights by spec
    const q8 = await embedderFromSpec({ kind: 'transformers', model: wide.dir, dtype: 'q8' })
    expect(q8.name).toContain('/q8/')
    expect(q8.dim).toBe(128)
  })

  it('errors: missing folder, no ONNX file for the dtype, corrupt model.onnx, bad config.json, bad options', async () => {
    const code = async (p: Promise<unknown>): Promise<string> => {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(VqError)
      return (err as VqError).code
    }
    await expect(code(createTransformersEmbedder({ model: join(dir, 'nope') }))).resolves.toBe('NOT_FOUND')
    await expect(code(createTransformersEmbedder({ model: model.dir, dtype: 'fp16' }))).resolves.toBe('NOT_FOUND')
    const noOnnx = join(dir, 'no-onnx')
    cpSync(model.dir, noOnnx, { recursive: true })
    rmSync(join(noOnnx, 'onnx'), { recursive: true })
    await expect(createTransformersEmbedder({ model: noOnnx })).rejects.toMatchObject({ code: 'NOT_FOUND', message: /onnx.model\.onnx/ })
    const corrupt = join(dir, 'corrupt')
    cpSync(model.dir, corrupt, { recursive: true })
    writeFileSync(join(corrupt, 'onnx', 'model.onnx'), Buffer.from('this is not an onnx protobuf'))
    await expect(createTransformersEmbedder({ model: corrupt })).rejects.toMatchObject({
      code: 'BAD_FILE',
      message: /cannot load the model/,
    })
    const badConfig = join(dir, 'bad-config')
    cpSync(model.dir, badConfig, { recursive: true })
    writeFileSync(join(badConfig, 'config.json'), '{ not json')
    await expect(createTransformersEmbedder({ model: badConfig })).rejects.toMatchObject({ code: 'BAD_FILE' })
    await expect(code(createTransformersEmbedder({ model: model.dir, batchSize: 0 }))).resolves.toBe('BAD_OPTION')
    await expect(code(createTransformersEmbedder({ model: model.dir, dtype: 'q3' as 'q8' }))).resolves.toBe('BAD_OPTION')
    await expect(code(createTransformersEmbedder({ model: '' }))).resolves.toBe('BAD_OPTION')
    // a hub id with downloads forbidden and nothing cached
    await expect(
      code(createTransformersEmbedder({ model: 'nobody/not-a-model', localOnly: true, cacheDir: join(dir, 'hub-cache') })),
    ).resolves.toBe('EMBEDDER_FAILED')
  })
})
