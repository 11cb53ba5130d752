/**
 * NumPy .npy files (format versions 1-3) read whole as an n x d float32 matrix: 2-D (or
 * 1-D, as one row) C-order arrays of float32, float64, int32, int64, uint8 or int8. The
 * parsing is the library's block reader (vqlite's readVectorBlocks), which also reads files
 * too large to hold; this is its whole-file form for the CLI and the benches.
 */
import { readVectorBlocks, vectorFileInfo } from 'vqlite'

/** Reads an .npy file as an n x d float32 matrix. */
export async function readNpy(path: string): Promise<{ data: Float32Array; n: number; d: number }> {
  const { n, d } = await vectorFileInfo(path)
  const data = new Float32Array(n * d)
  for await (const b of readVectorBlocks(path)) data.set(b.x, b.start * d)
  return { data, n, d }
}
