/**
 * The parts of @langchain/core that vqlite/langchain builds on, loaded once when that entry
 * point is first imported. @langchain/core is an optional peer dependency: `vqlite`,
 * `vqlite/text` and `vqlite/kernels` never load it (the deps:check rule
 * "langchain-only-in-its-entry" keeps it so), and without it installed, importing
 * vqlite/langchain fails with VqError MISSING_DEPENDENCY naming the install command rather
 * than with Node's module-resolution error.
 */
import { VqError } from '../errors.js'

/** The peer package. */
export const LANGCHAIN_CORE = '@langchain/core'

/** Imports one module of the peer, turning "not installed" into MISSING_DEPENDENCY. */
async function importPeer<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load()
  } catch (cause) {
    const code = (cause as { code?: unknown }).code
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(String(cause))
    if (!missing || !String((cause as Error).message ?? cause).includes(LANGCHAIN_CORE)) throw cause
    throw new VqError(
      'MISSING_DEPENDENCY',
      `vqlite/langchain needs the npm package ${LANGCHAIN_CORE} (an optional peer of vqlite); install it with: npm install ${LANGCHAIN_CORE}`,
      { cause },
    )
  }
}

const [documents, embeddings, vectorstores, math] = await Promise.all([
  importPeer(() => import('@langchain/core/documents')),
  importPeer(() => import('@langchain/core/embeddings')),
  importPeer(() => import('@langchain/core/vectorstores')),
  importPeer(() => import('@langchain/core/utils/math')),
])

/** LangChain's Document class. */
export const Document: typeof documents.Document = documents.Document
/** LangChain's Embeddings base class. */
export const Embeddings: typeof embeddings.Embeddings = embeddings.Embeddings
/** LangChain's VectorStore base class. */
export const VectorStore: typeof vectorstores.VectorStore = vectorstores.VectorStore
/** LangChain's maximal marginal relevance selection (cosine similarities of the candidates). */
export const maximalMarginalRelevance: typeof math.maximalMarginalRelevance = math.maximalMarginalRelevance
