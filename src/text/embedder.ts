/**
 * Embedders turn texts into vectors. An index built with one embedder records its name and
 * dimension (TextIndex), so that searching it with another is a clear error rather than
 * silently wrong results.
 */
export interface Embedder {
  /** Identifies the model and its settings, e.g. "sif-glove-6b-100d/v1". */
  readonly name: string
  /** Dimension of the vectors. */
  readonly dim: number
  /**
   * Embeds texts into a texts.length * dim array (row i for texts[i]). A text with nothing
   * the embedder knows gets an all-zero row.
   */
  embed(texts: readonly string[]): Promise<Float32Array>
}
