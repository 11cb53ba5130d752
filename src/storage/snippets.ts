/**
 * Snippets and highlights by FTS5's own snippet() and highlight() functions. The index
 * file's keyword table is contentless (it keeps no copy of the text), and those functions
 * need the text; so the few texts of one result page are put in a small FTS5 table of an
 * in-memory database, with the same tokenizer as the keyword index (porter unicode61), and
 * matched there. The words marked are then exactly the tokens the keyword search matched
 * (stems included), never a substring of another word.
 */
import Database from 'better-sqlite3'
import { VqInputError } from '../errors.js'

/** A text with the spans (UTF-16 offsets into `text`, end exclusive) that matched the query. */
export interface Highlighted {
  readonly text: string
  readonly highlights: readonly (readonly [number, number])[]
}

// Marker characters given to snippet()/highlight(); any already in a text are removed first.
const OPEN = '\u0001'
const CLOSE = '\u0002'
const ELLIPSIS = '…'

/** Most tokens in one snippet (FTS5's own cap is 64). */
export const MAX_SNIPPET_TOKENS = 64

let db: Database.Database | undefined
let insert: Database.Statement | undefined
let clear: Database.Statement | undefined
let query: Database.Statement | undefined

function statements(): { insert: Database.Statement; clear: Database.Statement; query: Database.Statement } {
  if (db === undefined) {
    db = new Database(':memory:')
    db.exec("CREATE VIRTUAL TABLE s USING fts5(text, tokenize='porter unicode61')")
    insert = db.prepare('INSERT INTO s (rowid, text) VALUES (?, ?)')
    clear = db.prepare('DELETE FROM s')
    query = db.prepare(
      `SELECT rowid, CASE WHEN length(text) <= ? THEN highlight(s, 0, '${OPEN}', '${CLOSE}') ELSE snippet(s, 0, '${OPEN}', '${CLOSE}', '${ELLIPSIS}', ?) END FROM s WHERE s MATCH ?`,
    )
  }
  return { insert: insert!, clear: clear!, query: query! }
}

/**
 * For each text, the part that best matches the FTS5 MATCH expression `match` (the whole
 * text when it is at most `wholeBelow` characters, else FTS5's snippet of about `tokens`
 * tokens), with the matched tokens as highlight spans; a text the expression does not
 * match gets its first `wholeBelow` characters and no highlight.
 */
export function ftsHighlights(
  texts: readonly string[],
  match: string | null,
  options: { tokens?: number; wholeBelow?: number } = {},
): Highlighted[] {
  const tokens = options.tokens ?? 32
  const wholeBelow = options.wholeBelow ?? 240
  if (!Number.isSafeInteger(tokens) || tokens < 1 || tokens > MAX_SNIPPET_TOKENS) {
    throw new VqInputError('BAD_ARGUMENT', `snippet tokens must be an integer from 1 to ${MAX_SNIPPET_TOKENS}, got ${String(tokens)}`)
  }
  const clean = texts.map((t) => t.replaceAll(OPEN, '').replaceAll(CLOSE, ''))
  const marked = new Map<number, string>()
  if (match !== null && clean.length > 0) {
    const s = statements()
    db!.transaction(() => {
      s.clear.run()
      clean.forEach((t, i) => {
        s.insert.run(i + 1, t)
      })
      for (const [rowid, value] of s.query.raw().all(wholeBelow, tokens, match) as [number, string | null][]) {
        if (typeof value === 'string') marked.set(rowid - 1, value)
      }
      s.clear.run()
    })()
  }
  return clean.map((t, i) => {
    const m = marked.get(i)
    if (m === undefined) return { text: t.length <= wholeBelow ? t : `${t.slice(0, wholeBelow)}${ELLIPSIS}`, highlights: [] }
    return parseMarked(m)
  })
}

/** Splits a text with OPEN/CLOSE markers into the plain text and the marked spans. */
function parseMarked(marked: string): Highlighted {
  const highlights: [number, number][] = []
  let text = ''
  let start = -1
  for (const ch of marked) {
    if (ch === OPEN) start = text.length
    else if (ch === CLOSE) {
      if (start >= 0 && text.length > start) highlights.push([start, text.length])
      start = -1
    } else text += ch
  }
  return { text, highlights }
}
