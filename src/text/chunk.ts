/**
 * Splits a text into overlapping chunks of about `size` characters: each chunk ends at a
 * paragraph break, else a sentence end, else a space, when one lies in its last third;
 * the next chunk starts `overlap` characters before the previous one ended (moved forward
 * to a word start). Offsets are UTF-16 indexes into the text, end exclusive.
 */
export interface Chunk {
  readonly text: string
  readonly start: number
  readonly end: number
}

export interface ChunkOptions {
  /** Target characters per chunk. Default 800. */
  readonly size?: number
  /** Characters shared by consecutive chunks. Default 100 (at most size / 2). */
  readonly overlap?: number
}

export function chunkText(text: string, options: ChunkOptions = {}): Chunk[] {
  const size = Math.max(1, Math.floor(options.size ?? 800))
  const overlap = Math.min(Math.floor(size / 2), Math.max(0, Math.floor(options.overlap ?? 100)))
  const out: Chunk[] = []
  let start = skipSpace(text, 0)
  while (start < text.length) {
    let end = Math.min(text.length, start + size)
    if (end < text.length) end = breakBefore(text, start + Math.floor((2 * size) / 3), end)
    const piece = text.slice(start, end).trimEnd()
    if (piece.trim() !== '') out.push({ text: piece, start, end: start + piece.length })
    if (end >= text.length) break
    let next = Math.max(start + 1, end - overlap)
    // move forward to the start of a word
    while (next < end && !/\s/.test(text[next - 1] ?? ' ')) next++
    start = skipSpace(text, next)
  }
  return out
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i]!)) i++
  return i
}

/** The best break position in [from, to]: after a blank line, else a sentence end, else a space; else `to`. */
function breakBefore(text: string, from: number, to: number): number {
  const window = text.slice(from, to)
  for (const re of [/\n\s*\n/g, /[.!?]\s/g, /\s/g]) {
    let last = -1
    for (const m of window.matchAll(re)) last = m.index! + m[0].length
    if (last > 0) return from + last
  }
  return to
}
