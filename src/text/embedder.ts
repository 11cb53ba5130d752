/**
 * Embedders turn texts into vectors. An index built with one embedder records its name and
 * dimension (TextIndex), so that searching it with another is a clear error rather than
 * silently wrong results. It also records the embedder's spec, when the embedder has one,
 * so that the index can be reopened without naming the embedder again (embedderFromSpec).
 */

/**
 * How to make an embedder again: JSON-serialisable, stored in text indexes. Secrets are
 * never part of it (the OpenAI embedder reads its key from OPENAI_API_KEY).
 */
export type EmbedderSpec =
  | { readonly kind: 'sif-glove' }
  | { readonly kind: 'openai'; readonly baseUrl: string; readonly model: string; readonly dim?: number }
  | { readonly kind: 'transformers'; readonly model: string; readonly dtype?: string }

export interface Embedder {
  /** Identifies the model and its settings, e.g. "sif-glove-6b-100d/v1". */
  readonly name: string
  /** Dimension of the vectors. */
  readonly dim: number
  /** How to make this embedder again (embedderFromSpec); without it, an index built with it must be opened with the embedder given. */
  readonly spec?: EmbedderSpec
  /**
   * Embeds texts into a texts.length * dim array (row i for texts[i]). A text with nothing
   * the embedder knows gets an all-zero row.
   */
  embed(texts: readonly string[]): Promise<Float32Array>
}

/** An embedder made on first need (TextIndex loads it only for vector search and indexing). */
export type EmbedderFactory = () => Promise<Embedder>
