/**
 * VqliteEmbeddings: a vqlite Embedder (such as the offline SIF-GloVe one of vqlite/text) as
 * LangChain Embeddings, so that documents and queries are embedded alike by any LangChain
 * vector store.
 */
import { VqInputError } from '../errors.js'
import type { Embedder } from '../text/embedder.js'
import { showValue } from '../validate.js'
import { Embeddings } from './core.js'

export class VqliteEmbeddings extends Embeddings {
  /** The wrapped embedder. */
  readonly embedder: Embedder

  /** Embeds in the calling thread, without LangChain's AsyncCaller retries: a local embedder fails for good. */
  constructor(embedder: Embedder) {
    super({})
    if (embedder === null || typeof embedder !== 'object' || typeof embedder.embed !== 'function' || !Number.isInteger(embedder.dim)) {
      throw new VqInputError('BAD_ARGUMENT', `VqliteEmbeddings needs a vqlite Embedder ({ name, dim, embed }), got ${showValue(embedder)}`)
    }
    this.embedder = embedder
  }

  /** One embedding per text (an all-zero one for a text with no word the embedder knows). */
  override async embedDocuments(texts: string[]): Promise<number[][]> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new VqInputError('BAD_ARGUMENT', `embedDocuments takes an array of strings, got ${showValue(texts)}`)
    }
    const d = this.embedder.dim
    const x = await this.embedder.embed(texts)
    return texts.map((_, i) => Array.from(x.subarray(i * d, (i + 1) * d)))
  }

  override async embedQuery(text: string): Promise<number[]> {
    if (typeof text !== 'string') throw new VqInputError('BAD_ARGUMENT', `embedQuery takes a string, got ${showValue(text)}`)
    const [row] = await this.embedDocuments([text])
    return row!
  }
}
