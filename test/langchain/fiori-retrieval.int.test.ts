/**
 * Acceptance: a LangChain retrieval chain over the SAP Fiori documentation (the 778 records
 * of the npm package @sap-ux/fiori-docs-embeddings, one Document each) returns the same
 * top-4 documents, in the same order, with vqlite as the store (description 'Flat': exact
 * search) as with LangChain's MemoryVectorStore, on 20 questions. Both stores get the same
 * embeddings: vqlite's offline SIF-GloVe embedder as LangChain Embeddings (VqliteEmbeddings),
 * the documents embedded once and added to both with addVectors, the questions embedded by
 * each retriever. The chain is retriever.pipe(formatDocs), as a RAG prompt would use it.
 */
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory'
import { Document, type DocumentInterface } from '@langchain/core/documents'
import { type Runnable, RunnableLambda } from '@langchain/core/runnables'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqliteEmbeddings, VqliteVectorStore } from 'vqlite/langchain'
import { createSifGloveEmbedder } from 'vqlite/text'
import { loadFioriDocs } from '../../datasets/index.js'

const QUESTIONS = [
  'How do I deploy an SAP Fiori application to Cloud Foundry?',
  'How do I deploy my application to an ABAP system?',
  'How can I undeploy an application?',
  'What fields does the ui5-deploy.yaml deployment configuration have?',
  'How do I add a filter field to a list report?',
  'How do I add a chart to the list report page?',
  'How do I internationalize the texts of my application with i18n?',
  'How do I write OPA5 integration tests for a Fiori elements app?',
  'How do I add a custom action to the object page header?',
  'How do I configure the SAP Fiori launchpad inbound navigation in manifest.json?',
  'How do I use guided development to change the code?',
  'How do I add a new section to the object page?',
  'How do I add a column to a table?',
  'Which annotations define a field group on a form?',
  'How do I preview the application with mock data?',
  'How do I connect the application to an OData service?',
  'How do I create a flexible column layout?',
  'How do I enable draft handling and editing?',
  'How do I create a custom page extension with a controller?',
  'How do I configure value help for a field?',
]

const formatDocs = (docs: DocumentInterface[]): string => docs.map((d) => `[${d.id}] ${d.metadata['title']}\n${d.pageContent}`).join('\n\n')

let vq: VqliteVectorStore
let memory: MemoryVectorStore

beforeAll(async () => {
  const fiori = await loadFioriDocs()
  const docs = fiori.records.map(
    (r) => new Document({ id: r.id, pageContent: r.content, metadata: { title: r['title'], category: r['category'], path: r['path'] } }),
  )
  const embeddings = new VqliteEmbeddings(await createSifGloveEmbedder())
  const vectors = await embeddings.embedDocuments(docs.map((d) => d.pageContent))
  vq = new VqliteVectorStore(embeddings, { description: 'Flat' })
  await vq.addVectors(vectors, docs)
  memory = new MemoryVectorStore(embeddings)
  await memory.addVectors(vectors, docs)
}, 120_000)
afterAll(() => vq?.close())

describe('retrieval chain over the Fiori docs: vqlite (Flat) against MemoryVectorStore', () => {
  it('778 documents in the store', () => {
    expect(vq.size).toBe(778)
    expect(vq.index?.description).toBe('Flat')
  })

  it('the same top-4 documents, in the same order, on all 20 questions', async () => {
    const chain = (r: Runnable<string, DocumentInterface[]>) => r.pipe(RunnableLambda.from(formatDocs))
    const ours = chain(vq.asRetriever(4))
    const theirs = chain(memory.asRetriever(4))
    for (const q of QUESTIONS) {
      const [a, b] = [await ours.invoke(q), await theirs.invoke(q)]
      expect(a.length).toBeGreaterThan(0)
      expect(a, q).toBe(b)
      // The scores agree too: float32 cosine against MemoryVectorStore's float64 one (measured: within 3.7e-8).
      const [sa, sb] = [await vq.similaritySearchWithScore(q, 4), await memory.similaritySearchWithScore(q, 4)]
      expect(sa.map(([d]) => d.id)).toEqual(sb.map(([d]) => d.id))
      for (const [i, [, s]] of sa.entries()) expect(Math.abs(s - sb[i]![1])).toBeLessThan(1e-6)
    }
  })

  it('the retrieved documents answer the question (the deployment guide for the first one)', async () => {
    const top = await vq.asRetriever(4).invoke(QUESTIONS[0]!)
    expect(top.some((d) => /deploy/i.test(String(d.metadata['title'])))).toBe(true)
  })
})
