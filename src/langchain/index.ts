/**
 * LangChain.js integration (import from "vqlite/langchain"; needs the optional peer
 * dependency @langchain/core, which no other entry point loads): VqliteVectorStore, a
 * LangChain VectorStore over a vqlite index file, and VqliteEmbeddings, a vqlite Embedder
 * (such as the offline SIF-GloVe one) as LangChain Embeddings.
 */

export { VqliteEmbeddings } from './embeddings.js'
export type { StoredDocument, VqliteAddOptions, VqliteOpenArgs, VqliteStoreArgs } from './store.js'
export { VqliteVectorStore } from './store.js'
