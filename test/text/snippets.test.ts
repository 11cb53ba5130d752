import { describe, expect, it } from 'vitest'
import { matchExpression } from '../../src/engine/keywords.js'
import { VqInputError } from '../../src/errors.js'
import { ftsHighlights } from '../../src/storage/snippets.js'

const marked = (h: { text: string; highlights: readonly (readonly [number, number])[] }) => h.highlights.map(([s, e]) => h.text.slice(s, e))

describe('FTS5 snippets and highlights', () => {
  it('marks whole tokens and their stems, never a substring of another word', () => {
    const [h] = ftsHighlights(['We concatenate the cats. Indexing indexes; a cat index.'], matchExpression('cat index'))
    expect(marked(h!)).toEqual(['cats', 'Indexing', 'indexes', 'cat', 'index'])
    expect(h!.text).toBe('We concatenate the cats. Indexing indexes; a cat index.')
  })

  it('cuts a long text around the match, and leaves a text without the words unmarked', () => {
    const long = `${'filler words here '.repeat(60)}the deployment of Cloud Foundry apps ${'more filler text '.repeat(60)}`
    const [a, b] = ftsHighlights([long, 'nothing relevant at all'], matchExpression('cloud foundry'), { tokens: 12 })
    expect(a!.text.length).toBeLessThan(200)
    expect(a!.text.startsWith('…')).toBe(true)
    expect(marked(a!)).toEqual(['Cloud', 'Foundry'])
    expect(b).toEqual({ text: 'nothing relevant at all', highlights: [] })
  })

  it('keeps spans right around non-ASCII text and drops marker characters found in the text', () => {
    const [h] = ftsHighlights(['Über straße 😀 café\u0001 crème'], matchExpression('café crème'))
    expect(marked(h!)).toEqual(['café', 'crème'])
    expect(h!.text).toBe('Über straße 😀 café crème')
  })

  it('returns the opening characters when there is no query expression, and checks the token count', () => {
    const [h] = ftsHighlights(['x'.repeat(300)], null, { wholeBelow: 10 })
    expect(h).toEqual({ text: `${'x'.repeat(10)}…`, highlights: [] })
    expect(() => ftsHighlights(['a'], matchExpression('a'), { tokens: 0 })).toThrow(VqInputError)
    expect(() => ftsHighlights(['a'], matchExpression('a'), { tokens: 65 })).toThrow(VqInputError)
  })
})
