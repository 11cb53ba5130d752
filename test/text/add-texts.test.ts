/** TextIndex.addTexts, deleteSource and stats (a toy embedder: no GloVe needed). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqError } from '../../src/errors.js'
import { TextIndex } from '../../src/text/text-index.js'
import { toyEmbedder } from '../helpers/hash-embedder.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-addtexts-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    if (e instanceof VqError) return `${e.name} ${e.code}`
    throw e
  }
  throw new Error('expected a VqError')
}

describe('TextIndex.addTexts / deleteSource / stats', () => {
  it('adds texts under their sources, replaces a changed source, keeps an unchanged one, and searches them', async () => {
    const ix = await TextIndex.create(join(dir, 'a.vqlite'), toyEmbedder(), { description: 'Flat' })
    try {
      expect(ix.stats()).toEqual({ chunks: 0, sources: 0, embedder: { name: 'toy/v1', dim: 6 }, description: 'Flat', root: null })
      const r = await ix.addTexts([
        { source: 'notes/cats', text: 'Cats are pets that sleep all day.' },
        { source: 'notes/market', text: 'The stock market fell on Monday.' },
        { source: 'empty', text: '   ' },
      ])
      expect(r).toEqual({ sourcesAdded: 3, sourcesUnchanged: 0, chunksAdded: 2, chunksRemoved: 0 })
      expect(ix.stats()).toMatchObject({ chunks: 2, sources: 3, root: null })
      const hits = await ix.search('pets', { mode: 'keyword', k: 5 })
      expect(hits.map((h) => h.source)).toEqual(['notes/cats'])
      expect(hits[0]!.snippet.highlights.length).toBe(1)
      // unchanged: nothing done; changed: the old chunks replaced
      expect(await ix.addTexts([{ source: 'notes/cats', text: 'Cats are pets that sleep all day.' }])).toEqual({
        sourcesAdded: 0,
        sourcesUnchanged: 1,
        chunksAdded: 0,
        chunksRemoved: 0,
      })
      // a chunking other than the index's is refused, nothing changed
      await expect(ix.addTexts([{ source: 'notes/cats', text: 'Dogs bark.' }], { chunk: { size: 100 } })).rejects.toMatchObject({
        code: 'BAD_OPTION',
      })
      expect(await ix.addTexts([{ source: 'notes/cats', text: 'Dogs bark at the mailman.' }])).toMatchObject({
        sourcesAdded: 1,
        chunksAdded: 1,
        chunksRemoved: 1,
      })
      expect(await ix.search('pets', { mode: 'keyword' })).toEqual([])
      expect((await ix.search('mailman', { mode: 'keyword' }))[0]!.source).toBe('notes/cats')
      const all = await ix.search('market mailman', { mode: 'keyword' })
      expect(all.map((h) => h.source).sort()).toEqual(['notes/cats', 'notes/market'])
      const prefixed = await ix.search('market mailman', { mode: 'hybrid', filter: { source: { $prefix: 'notes/m' } } })
      expect(prefixed.map((h) => h.source)).toEqual(['notes/market'])
      expect(ix.stats()).toMatchObject({ chunks: 2, sources: 3 })
    } finally {
      await ix.close()
    }
  })

  it('deleteSource removes the chunks and the source; unknown source UNKNOWN_ID; bad items BAD_ARGUMENT', async () => {
    const path = join(dir, 'b.vqlite')
    const ix = await TextIndex.create(path, toyEmbedder(), { description: 'Flat' })
    try {
      await ix.addTexts([
        { source: 'a', text: 'How to deploy to the cloud.' },
        { source: 'b', text: 'Cats are pets.' },
      ])
      expect(await ix.deleteSource('a')).toBe(1)
      expect(ix.stats()).toMatchObject({ chunks: 1, sources: 1 })
      expect(await ix.search('deploy', { mode: 'keyword' })).toEqual([])
      expect(await codeOf(ix.deleteSource('a'))).toBe('VqInputError UNKNOWN_ID')
      expect(await codeOf(ix.deleteSource('toString'))).toBe('VqInputError UNKNOWN_ID')
      expect(await codeOf(ix.deleteSource(''))).toBe('VqInputError BAD_ARGUMENT')
      expect(await codeOf(ix.addTexts('x' as never))).toBe('VqInputError BAD_ARGUMENT')
      expect(await codeOf(ix.addTexts([{ source: '', text: 'x' }]))).toBe('VqInputError BAD_ARGUMENT')
      expect(await codeOf(ix.addTexts([{ source: 'c', text: 3 as never }]))).toBe('VqInputError BAD_ARGUMENT')
      expect(await codeOf(ix.addTexts([null as never]))).toBe('VqInputError BAD_ARGUMENT')
      expect(
        await codeOf(
          ix.addTexts([
            { source: 'c', text: 'x' },
            { source: 'c', text: 'y' },
          ]),
        ),
      ).toBe('VqInputError BAD_ARGUMENT')
      expect(ix.stats()).toMatchObject({ chunks: 1, sources: 1 })
    } finally {
      await ix.close()
    }
    // the changes are in the file
    const again = await TextIndex.open(path, toyEmbedder(), { readonly: true })
    try {
      expect(again.stats()).toMatchObject({ chunks: 1, sources: 1 })
      expect(await codeOf(again.addTexts([{ source: 'z', text: 'cloud' }]))).toMatch(/^Vq\w+Error \w+$/)
    } finally {
      await again.close()
    }
  })

  it('concurrent writes run one at a time; texts and files share the source table', async () => {
    const ix = await TextIndex.create(join(dir, 'c.vqlite'), toyEmbedder(), { description: 'Flat' })
    try {
      writeFileSync(join(dir, 'file.md'), 'The stock market notes.')
      await ix.indexFiles([join(dir, 'file.md')], { root: dir })
      await Promise.all(Array.from({ length: 8 }, (_, i) => ix.addTexts([{ source: `t${i}`, text: `cats number ${i} are pets` }])))
      const s = ix.stats()
      expect(s).toMatchObject({ chunks: 9, sources: 9, root: dir })
      const hits = await ix.search('pets', { mode: 'keyword', k: 20 })
      expect(new Set(hits.map((h) => h.source)).size).toBe(8)
      await Promise.all([ix.deleteSource('t1'), ix.deleteSource('t2'), ix.deleteSource('file.md')])
      expect(ix.stats()).toMatchObject({ chunks: 6, sources: 6 })
      // a re-index of the file adds it back (its entry is gone)
      expect((await ix.indexFiles([join(dir, 'file.md')])).filesIndexed).toBe(1)
    } finally {
      await ix.close()
    }
  })
})
