/**
 * VqliteVectorStore against LangChain's contract, with @langchain/core's own test embeddings
 * (SyntheticEmbeddings: a deterministic vector per text; FakeEmbeddings: one vector for all)
 * and, as the reference, MemoryVectorStore (@langchain/classic) fed the same documents:
 * same rankings, same cosine-similarity scores, same MMR picks, same filtered results.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory'
import { Document, type DocumentInterface } from '@langchain/core/documents'
import { RunnableLambda } from '@langchain/core/runnables'
import { FakeEmbeddings, SyntheticEmbeddings } from '@langchain/core/utils/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { type Filter, VqFormatError, VqIndex, VqInputError, VqStateError, VqStorageError } from 'vqlite'
import { VqliteEmbeddings, VqliteVectorStore } from 'vqlite/langchain'
import { Rng } from '../../src/util/random.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-langchain-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const newPath = (): string => join(dir, `store-${files++}.vqlite`)

const WORDS = ['apple', 'banana', 'cherry', 'deploy', 'cloud', 'foundry', 'table', 'filter', 'chart', 'route', 'model', 'view']
const TOPICS = ['fruit', 'tools', 'ui']

/** n seeded documents: a few words each, with metadata to filter on (topic, year, rank, nested author). */
function corpus(n: number, seed: number): Document[] {
  const rng = new Rng(seed)
  return Array.from({ length: n }, (_, i) => {
    const words = Array.from({ length: 3 + rng.int(5) }, () => WORDS[rng.int(WORDS.length)]!)
    return new Document({
      id: `doc-${i}`,
      pageContent: `${words.join(' ')} number ${i}`,
      metadata: { topic: TOPICS[i % 3]!, year: 2000 + (i % 25), rank: i, author: { name: i % 2 === 0 ? 'ada' : 'bob' } },
    })
  })
}

const embeddings = new SyntheticEmbeddings({ vectorSize: 24 })
const docs = corpus(120, 1)
const queries = ['apple cloud table', 'deploy to cloud foundry', 'chart view model', 'banana banana route', 'filter the table']

/**
 * Same results as the reference, ties aside: the scores agree pointwise, and so do the ids
 * wherever a score is not tied with a neighbour (tied documents may come in either order).
 */
function expectSameRanking(ours: [DocumentInterface, number][], ref: [DocumentInterface, number][]): void {
  expect(ours.length).toBe(ref.length)
  const tol = 1e-5
  ours.forEach(([doc, score], i) => {
    const [refDoc, refScore] = ref[i]!
    expect(score).toBeCloseTo(refScore, 5)
    const tied = (j: number): boolean => j >= 0 && j < ref.length && Math.abs(ref[j]![1] - refScore) < tol
    if (!tied(i - 1) && !tied(i + 1)) {
      expect(doc.id).toBe(refDoc.id)
      expect(doc.pageContent).toBe(refDoc.pageContent)
      expect(doc.metadata).toEqual(refDoc.metadata)
    }
  })
}

async function rejectsWith(p: Promise<unknown>, cls: new (...a: never[]) => Error, code: string): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(cls)
  expect((e as { code?: string }).code).toBe(code)
}

describe('VqliteVectorStore', () => {
  it('ranks and scores as MemoryVectorStore (cosine similarity, higher is better)', async () => {
    const store = await VqliteVectorStore.fromDocuments(docs, embeddings)
    const ref = await MemoryVectorStore.fromDocuments(docs, embeddings)
    expect(store.size).toBe(docs.length)
    expect(store.index?.description).toBe('Flat')
    for (const q of queries) {
      const ours = await store.similaritySearchWithScore(q, 10)
      expectSameRanking(ours, await ref.similaritySearchWithScore(q, 10))
      for (let i = 1; i < ours.length; i++) expect(ours[i]![1]).toBeLessThanOrEqual(ours[i - 1]![1])
    }
    // A stored text's own embedding is its nearest neighbour, at similarity 1.
    const [[self, score]] = (await store.similaritySearchWithScore(docs[7]!.pageContent, 1)) as [[DocumentInterface, number]]
    expect(self.id).toBe('doc-7')
    expect(score).toBeCloseTo(1, 6)
    await store.close()
  })

  it('keeps document ids, takes the ids option, and gives the others new UUIDs', async () => {
    const store = new VqliteVectorStore(embeddings)
    const a = await store.addDocuments([
      new Document({ id: 'kept', pageContent: 'apple table' }),
      new Document({ pageContent: 'banana view' }),
    ])
    expect(a[0]).toBe('kept')
    expect(a[1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const b = await store.addDocuments([new Document({ id: 'ignored', pageContent: 'cherry chart' })], { ids: ['chosen'] })
    expect(b).toEqual(['chosen'])
    const found = await store.getByIds(['kept', a[1]!, 'chosen', 'ignored'])
    expect(found.map((d) => d?.pageContent)).toEqual(['apple table', 'banana view', 'cherry chart', undefined])
    expect(found[0]).toBeInstanceOf(Document)
    expect(found[0]?.id).toBe('kept')
    await store.close()
  })

  it('re-adding an id replaces the document (upsert)', async () => {
    const store = await VqliteVectorStore.fromDocuments(docs.slice(0, 10), embeddings)
    const edited = new Document({ id: 'doc-3', pageContent: 'deploy cloud foundry', metadata: { topic: 'edited' } })
    await store.addDocuments([edited])
    expect(store.size).toBe(10)
    const [[top]] = (await store.similaritySearchWithScore('deploy cloud foundry', 1)) as [[DocumentInterface, number]]
    expect([top.id, top.pageContent, top.metadata]).toEqual(['doc-3', 'deploy cloud foundry', { topic: 'edited' }])
    await store.close()
  })

  it('filters on the documents metadata as MemoryVectorStore filters with the same predicate', async () => {
    const store = await VqliteVectorStore.fromDocuments(docs, embeddings)
    const ref = await MemoryVectorStore.fromDocuments(docs, embeddings)
    type Meta = { topic: string; year: number; rank: number; author: { name: string } }
    const cases: [Filter, (m: Meta) => boolean][] = [
      [{ topic: 'tools' }, (m) => m.topic === 'tools'],
      [{ year: { $gte: 2020 } }, (m) => m.year >= 2020],
      [{ 'author.name': 'ada', topic: { $in: ['ui', 'fruit'] } }, (m) => m.author.name === 'ada' && ['ui', 'fruit'].includes(m.topic)],
      [{ $or: [{ rank: { $lt: 5 } }, { $not: { topic: { $ne: 'ui' } } }] }, (m) => m.rank < 5 || m.topic === 'ui'],
      [
        { $and: [{ year: { $gt: 2003 } }, { year: { $lte: 2006 } }], $not: { 'author.name': 'bob' } },
        (m) => m.year > 2003 && m.year <= 2006 && m.author.name !== 'bob',
      ],
    ]
    for (const [filter, predicate] of cases) {
      for (const q of queries.slice(0, 3)) {
        const ours = await store.similaritySearchWithScore(q, 8, filter)
        expect(ours.length).toBe(8)
        for (const [d] of ours) expect(predicate(d.metadata as Meta)).toBe(true)
        expectSameRanking(ours, await ref.similaritySearchWithScore(q, 8, (d) => predicate(d.metadata as Meta)))
      }
    }
    // Fewer matches than k: all of them, no padding.
    expect((await store.similaritySearch('apple', 10, { rank: { $in: [3, 4, 5] } })).map((d) => d.id).sort()).toEqual([
      'doc-3',
      'doc-4',
      'doc-5',
    ])
    expect(await store.similaritySearch('apple', 10, { topic: 'none' })).toEqual([])
    // $id is the document id.
    expect((await store.similaritySearch('apple', 3, { $id: { $in: ['doc-9', 'doc-11'] } })).map((d) => d.id).sort()).toEqual([
      'doc-11',
      'doc-9',
    ])
    await rejectsWith(store.similaritySearch('apple', 3, { year: { $near: 3 } }), VqInputError, 'BAD_FILTER')
    await rejectsWith(store.similaritySearch('apple', 3, ((d: DocumentInterface) => d.id === 'doc-1') as never), VqInputError, 'BAD_FILTER')
    await store.close()
  })

  it('delete({ ids }) removes documents; unknown ids are skipped', async () => {
    const store = await VqliteVectorStore.fromDocuments(docs.slice(0, 20), embeddings)
    await store.delete({ ids: ['doc-1', 'doc-2', 'no-such-doc'] })
    expect(store.size).toBe(18)
    const left = await store.similaritySearch(docs[1]!.pageContent, 20)
    expect(left.length).toBe(18)
    expect(left.map((d) => d.id)).not.toContain('doc-1')
    expect(left.map((d) => d.id)).not.toContain('doc-2')
    expect(await store.getByIds(['doc-1'])).toEqual([undefined])
    await rejectsWith(store.delete(), VqInputError, 'BAD_ARGUMENT')
    await rejectsWith(store.delete({ filter: { topic: 'ui' } } as never), VqInputError, 'BAD_ARGUMENT')
    await store.close()
  })

  it('maxMarginalRelevanceSearch picks what MemoryVectorStore picks, and diversifies', async () => {
    const store = await VqliteVectorStore.fromDocuments(docs, embeddings)
    const ref = await MemoryVectorStore.fromDocuments(docs, embeddings)
    for (const q of queries) {
      for (const lambda of [0, 0.5, 1]) {
        const options = { k: 5, fetchK: 30, lambda }
        const ours = await store.maxMarginalRelevanceSearch(q, options)
        const theirs = await ref.maxMarginalRelevanceSearch(q, options)
        expect(ours.length).toBe(5)
        // The candidates are the same 30 (ties aside), so MMR over the same vectors picks the same.
        const refTop = await ref.similaritySearchWithScore(q, 31)
        if (Math.abs(refTop[29]![1] - refTop[30]![1]) > 1e-5) expect(ours.map((d) => d.id)).toEqual(theirs.map((d) => d.id))
      }
    }
    // Near-duplicates: pure relevance returns the copies, MMR (lambda 0.3) spreads out.
    const dup = new VqliteVectorStore(embeddings)
    await dup.addDocuments([
      ...Array.from({ length: 4 }, (_, i) => new Document({ id: `copy-${i}`, pageContent: 'deploy cloud foundry' })),
      new Document({ id: 'other-1', pageContent: 'deploy the cloud' }),
      new Document({ id: 'other-2', pageContent: 'banana chart view' }),
    ])
    const plain = await dup.similaritySearch('deploy cloud foundry', 2)
    expect(plain.map((d) => d.id?.startsWith('copy-'))).toEqual([true, true])
    const mmr = await dup.maxMarginalRelevanceSearch('deploy cloud foundry', { k: 2, fetchK: 6, lambda: 0.3 })
    expect(mmr[0]!.id?.startsWith('copy-')).toBe(true)
    expect(mmr[1]!.id?.startsWith('copy-')).toBe(false)
    // With a filter, only matching candidates.
    const filtered = await store.maxMarginalRelevanceSearch('apple cloud', { k: 4, fetchK: 12, filter: { topic: 'ui' } })
    expect(filtered.length).toBe(4)
    for (const d of filtered) expect(d.metadata['topic']).toBe('ui')
    await Promise.all([store.close(), dup.close()])
  })

  it('fromTexts takes one metadata object per text or one for all', async () => {
    const texts = ['apple banana', 'cloud foundry', 'chart view']
    const each = await VqliteVectorStore.fromTexts(texts, [{ n: 0 }, { n: 1 }, { n: 2 }], embeddings)
    const [[hit]] = (await each.similaritySearchWithScore('cloud foundry', 1)) as [[DocumentInterface, number]]
    expect([hit.pageContent, hit.metadata]).toEqual(['cloud foundry', { n: 1 }])
    const shared = await VqliteVectorStore.fromTexts(texts, { source: 'notes' }, embeddings)
    for (const d of await shared.similaritySearch('apple', 3)) expect(d.metadata).toEqual({ source: 'notes' })
    await rejectsWith(VqliteVectorStore.fromTexts(texts, [{ n: 0 }], embeddings), VqInputError, 'BAD_ARGUMENT')
    await Promise.all([each.close(), shared.close()])
  })

  it('asRetriever returns the top k documents, filtered, or by MMR, inside a runnable chain', async () => {
    const store = await VqliteVectorStore.fromDocuments(docs, embeddings)
    const q = 'deploy to cloud foundry'
    const top4 = (await store.similaritySearch(q, 4)).map((d) => d.id)
    const retriever = store.asRetriever(4)
    expect((await retriever.invoke(q)).map((d) => d.id)).toEqual(top4)
    const chain = retriever.pipe(RunnableLambda.from((found: DocumentInterface[]) => found.map((d) => d.id).join(',')))
    expect(await chain.invoke(q)).toBe(top4.join(','))
    const ui = store.asRetriever({ k: 3, filter: { topic: 'ui' } })
    const uiDocs = await ui.invoke(q)
    expect(uiDocs.map((d) => d.metadata['topic'])).toEqual(['ui', 'ui', 'ui'])
    expect(uiDocs.map((d) => d.id)).toEqual((await store.similaritySearch(q, 3, { topic: 'ui' })).map((d) => d.id))
    const mmr = store.asRetriever({ k: 3, searchType: 'mmr', searchKwargs: { fetchK: 10, lambda: 0.2 } })
    expect((await mmr.invoke(q)).map((d) => d.id)).toEqual(
      (await store.maxMarginalRelevanceSearch(q, { k: 3, fetchK: 10, lambda: 0.2 })).map((d) => d.id),
    )
    await store.close()
  })

  it('persists to a file, reopens with VqliteVectorStore.open, and keeps adding there', async () => {
    const path = newPath()
    const store = await VqliteVectorStore.fromDocuments(docs.slice(0, 50), embeddings, { path })
    const before = await store.similaritySearchWithScore(queries[1]!, 5, { topic: 'tools' })
    await store.close()
    await rejectsWith(store.similaritySearch(queries[1]!, 5), VqStateError, 'CLOSED')

    const again = await VqliteVectorStore.open(path, embeddings)
    expect(again.size).toBe(50)
    const after = await again.similaritySearchWithScore(queries[1]!, 5, { topic: 'tools' })
    expect(after.map(([d, s]) => [d.id, d.pageContent, d.metadata, s])).toEqual(
      before.map(([d, s]) => [d.id, d.pageContent, d.metadata, s]),
    )
    await again.addDocuments(docs.slice(50, 60))
    await again.close()

    const third = await VqliteVectorStore.fromExistingIndex(embeddings, { path, readonly: true })
    expect(third.size).toBe(60)
    await rejectsWith(third.addDocuments(docs.slice(60, 61)), VqStateError, 'READ_ONLY')
    await third.close()
    // A new store refuses an existing file; open refuses a vqlite index that is not a store.
    expect(() => new VqliteVectorStore(embeddings, { path, dim: 24 })).toThrow(VqStorageError)
    for (const ids of ['string', 'integer'] as const) {
      const plainPath = newPath()
      const plain = VqIndex.create(plainPath, { dim: 4, metric: 'cosine', ids })
      await plain.close()
      await rejectsWith(VqliteVectorStore.open(plainPath, embeddings), VqFormatError, 'BAD_FILE')
    }
  })

  it('trains a quantized description on the first batch', async () => {
    const store = await VqliteVectorStore.fromDocuments(docs, embeddings, { description: 'SQ8', train: { seed: 3 } })
    expect(store.index?.isTrained).toBe(true)
    const ref = await MemoryVectorStore.fromDocuments(docs, embeddings)
    const ours = await store.similaritySearchWithScore(queries[0]!, 5)
    const theirs = await ref.similaritySearchWithScore(queries[0]!, 5)
    // SQ8 scores are approximate: within 0.02 of the exact ones.
    for (const [i, [, s]] of ours.entries()) expect(Math.abs(s - theirs[i]![1])).toBeLessThan(0.02)
    await store.close()
  })

  it('FakeEmbeddings (one vector for every text): k results, all at similarity 1', async () => {
    const store = await VqliteVectorStore.fromTexts(['a', 'b', 'c', 'd', 'e'], {}, new FakeEmbeddings())
    const found = await store.similaritySearchWithScore('anything', 3)
    expect(found.length).toBe(3)
    for (const [, s] of found) expect(s).toBeCloseTo(1, 6)
    await store.close()
  })

  it('an empty store finds nothing; bad input is a typed error before anything is written', async () => {
    const store = new VqliteVectorStore(embeddings)
    expect(await store.similaritySearch('apple', 4)).toEqual([])
    expect(await store.maxMarginalRelevanceSearch('apple', { k: 2 })).toEqual([])
    expect(await store.addDocuments([])).toEqual([])
    expect(store.index).toBe(null)
    await store.addVectors([[1, 0, 0]], [new Document({ pageContent: 'x' })])
    await rejectsWith(store.addVectors([[1, 0]], [new Document({ pageContent: 'y' })]), VqInputError, 'DIMENSION_MISMATCH')
    await rejectsWith(store.addVectors([[1, 0, 0]], []), VqInputError, 'BAD_ARGUMENT')
    await rejectsWith(store.addVectors([[0, 1, 0]], [{ pageContent: 3 } as never]), VqInputError, 'BAD_ARGUMENT')
    await rejectsWith(
      store.addVectors([[0, 1, 0]], [new Document({ pageContent: 'z' })], { ids: ['a', 'b'] }),
      VqInputError,
      'BAD_ARGUMENT',
    )
    await rejectsWith(store.addVectors([[0, 0, 0]], [new Document({ pageContent: 'zero' })]), VqInputError, 'ZERO_VECTOR')
    await rejectsWith(store.similaritySearchVectorWithScore([1, 0], 1), VqInputError, 'DIMENSION_MISMATCH')
    await rejectsWith(store.similaritySearchVectorWithScore('apple' as never, 1), VqInputError, 'BAD_VECTORS')
    await rejectsWith(store.addVectors([null as never], [new Document({ pageContent: 'n' })]), VqInputError, 'BAD_VECTORS')
    expect(store.size).toBe(1)
    await store.close()
  })

  it('scores under the ip and l2 metrics: the inner product and the negated squared distance', async () => {
    const doc = new Document({ pageContent: 'x' })
    const ip = new VqliteVectorStore(embeddings, { metric: 'ip' })
    await ip.addVectors([[1, 2, 3]], [doc])
    expect((await ip.similaritySearchVectorWithScore([2, 0, 1], 1))[0]![1]).toBeCloseTo(5, 5)
    const l2 = new VqliteVectorStore(embeddings, { metric: 'l2' })
    await l2.addVectors([[1, 2, 3]], [doc])
    expect((await l2.similaritySearchVectorWithScore([2, 0, 1], 1))[0]![1]).toBeCloseTo(-9, 5)
    await Promise.all([ip.close(), l2.close()])
  })
})

describe('VqliteEmbeddings', () => {
  it('wraps a vqlite Embedder as LangChain Embeddings', async () => {
    const embedder = {
      name: 'lengths/v1',
      dim: 2,
      embed: async (texts: readonly string[]) => Float32Array.from(texts.flatMap((t) => [t.length, 1])),
    }
    const e = new VqliteEmbeddings(embedder)
    expect(await e.embedDocuments(['ab', 'abcd'])).toEqual([
      [2, 1],
      [4, 1],
    ])
    expect(await e.embedQuery('abc')).toEqual([3, 1])
    await rejectsWith(e.embedQuery(3 as never), VqInputError, 'BAD_ARGUMENT')
    expect(() => new VqliteEmbeddings({} as never)).toThrow(VqInputError)
  })
})
