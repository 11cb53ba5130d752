import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqError } from '../../src/errors.js'
import { TextIndex } from '../../src/text/text-index.js'
import { walkPaths } from '../../src/text/walk.js'
import { toyEmbedder } from '../helpers/hash-embedder.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-corpus-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function makeTree(root: string): void {
  mkdirSync(join(root, 'notes', 'sub', 'build'), { recursive: true })
  mkdirSync(join(root, 'notes', '.hidden'), { recursive: true })
  writeFileSync(join(root, 'notes', 'a.md'), 'How to deploy to the cloud.')
  writeFileSync(join(root, 'notes', 'b.txt'), 'Cats are pets.')
  writeFileSync(join(root, 'notes', 'README'), 'The stock market notes.')
  writeFileSync(join(root, 'notes', 'copy.md'), 'Cats are pets.')
  writeFileSync(join(root, 'notes', '.secret.md'), 'hidden cloud')
  writeFileSync(join(root, 'notes', '.hidden', 'x.md'), 'hidden deploy')
  writeFileSync(join(root, 'notes', 'blob'), Buffer.from([0, 1, 2, 3, 0, 255, 0, 7]))
  writeFileSync(join(root, 'notes', 'image.png'), 'not text really')
  writeFileSync(join(root, 'notes', 'sub', '.gitignore'), 'build/\nskip.md\n')
  writeFileSync(join(root, 'notes', 'sub', 'keep.md'), 'market stock keep')
  writeFileSync(join(root, 'notes', 'sub', 'skip.md'), 'ignored by the nested gitignore')
  writeFileSync(join(root, 'notes', 'sub', 'build', 'out.md'), 'ignored build output')
  writeFileSync(join(root, 'notes', '.gitignore'), 'ignored.txt\n')
  writeFileSync(join(root, 'notes', 'ignored.txt'), 'ignored at the top')
}

describe('walkPaths', () => {
  it('walks folders with nested .gitignore, skips hidden and binary files, keeps extensionless text; globs', async () => {
    const root = join(dir, 'walk')
    makeTree(root)
    const w = await walkPaths(['notes'], { cwd: root })
    const rel = w.files.map((f) => f.slice(root.length + 1)).sort()
    expect(rel).toEqual(['notes/README', 'notes/a.md', 'notes/b.txt', 'notes/copy.md', 'notes/sub/keep.md'])
    expect(w.folders).toEqual([join(root, 'notes')])
    const g = await walkPaths(['notes/*.md', 'missing.md'], { cwd: root })
    expect(g.files.map((f) => f.slice(root.length + 1))).toEqual(['notes/a.md', 'notes/copy.md'])
    expect(g.errors).toEqual([{ file: 'missing.md', message: 'no such file [NOT_FOUND]' }])
  })
})

describe('TextIndex folders', () => {
  it('relative sources, filters and $prefix, duplicates, prune after delete and rename, unchanged re-index does nothing', async () => {
    const root = join(dir, 'ix')
    makeTree(root)
    const cwd = process.cwd()
    process.chdir(root)
    try {
      const ix = await TextIndex.create(join(root, 't.vqlite'), toyEmbedder(), { description: 'Flat' })
      const r1 = await ix.indexFiles(['notes'])
      expect(r1.root).toBe(root)
      expect(r1.filesIndexed).toBe(4)
      expect(r1.duplicates).toEqual([{ file: 'notes/copy.md', of: 'notes/b.txt' }])
      expect(r1.errors).toEqual([])
      const hits = await ix.search('deploy cloud', { filter: { source: 'notes/a.md' } })
      expect(hits.map((h) => h.source)).toEqual(['notes/a.md'])
      const sub = await ix.search('market stock', { mode: 'keyword', filter: { source: { $prefix: 'notes/sub/' } } })
      expect(sub.map((h) => h.source)).toEqual(['notes/sub/keep.md'])
      await expect(ix.search('x', { filter: { source: { $prefix: 3 } } as never })).rejects.toMatchObject({ code: 'BAD_FILTER' })

      const r2 = await ix.indexFiles(['notes'])
      expect(r2).toMatchObject({ filesIndexed: 0, chunksAdded: 0, chunksRemoved: 0, removed: [], duplicates: [] })
      expect(r2.filesUnchanged).toBe(5)

      rmSync(join(root, 'notes', 'a.md'))
      renameSync(join(root, 'notes', 'sub', 'keep.md'), join(root, 'notes', 'sub', 'kept.md'))
      rmSync(join(root, 'notes', 'b.txt')) // the original of copy.md: copy.md is indexed on its own
      const r3 = await ix.indexFiles(['notes'])
      expect([...r3.removed].sort()).toEqual(['notes/a.md', 'notes/b.txt', 'notes/sub/keep.md'])
      expect(r3.filesIndexed).toBe(2)
      const all = await ix.search('cats pets market stock deploy cloud', { k: 50, mode: 'keyword' })
      const sources = new Set(all.map((h) => h.source))
      expect(sources.has('notes/a.md') || sources.has('notes/sub/keep.md') || sources.has('notes/b.txt')).toBe(false)
      expect(sources.has('notes/sub/kept.md')).toBe(true)
      expect(sources.has('notes/copy.md')).toBe(true)
      const r4 = await ix.indexFiles(['notes'], { prune: false })
      expect(r4.filesIndexed).toBe(0)

      await expect(ix.indexFiles('notes' as never)).rejects.toBeInstanceOf(VqError)
      await expect(ix.indexFiles([''])).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
      const r5 = await ix.indexFiles(['nope/'])
      expect(r5.errors).toEqual([{ file: 'nope/', message: 'no such file [NOT_FOUND]' }])
      await ix.close()
    } finally {
      process.chdir(cwd)
    }
  })
})

describe('TextIndex re-indexing by size and modification time', () => {
  it('skips files whose size and mtime are unchanged, re-reads racy files and with rehash; a duplicate whose original changed is indexed on its own', async () => {
    const root = join(dir, 'mtime')
    mkdirSync(join(root, 'docs'), { recursive: true })
    const old = new Date(Date.now() - 3_600_000)
    const put = (name: string, text: string, when: Date | null) => {
      writeFileSync(join(root, 'docs', name), text)
      if (when) utimesSync(join(root, 'docs', name), when, when)
    }
    put('a.md', 'deploy cloud', old)
    put('b.md', 'cats pets', old)
    put('c.md', 'cats pets', old) // a duplicate of b.md
    put('fresh.md', 'stock market', null) // modified just now: racy on the next call
    const ix = await TextIndex.create(join(root, 't.vqlite'), toyEmbedder(), { description: 'Flat' })
    const r1 = await ix.indexFiles([join(root, 'docs')], { root })
    expect(r1.filesIndexed).toBe(3)
    expect(r1.duplicates).toEqual([{ file: 'docs/c.md', of: 'docs/b.md' }])

    // same size, same mtime, other content: taken as unchanged (not read), as git does
    put('a.md', 'cloud deploy', old)
    // same size, racy mtime (within 2 s before the last indexing): read, hashed, re-indexed
    const fresh = statSync(join(root, 'docs', 'fresh.md')).mtime
    put('fresh.md', 'market stock', fresh)
    const r2 = await ix.indexFiles([join(root, 'docs')])
    expect(r2.filesIndexed).toBe(1)
    expect(r2.filesUnchanged).toBe(3)
    expect((await ix.search('market', { mode: 'keyword' }))[0]!.text).toBe('market stock')
    expect((await ix.search('cloud', { mode: 'keyword' }))[0]!.text).toBe('deploy cloud')

    // rehash reads everything: the edit of a.md is found
    const r3 = await ix.indexFiles([join(root, 'docs')], { rehash: true })
    expect(r3.filesIndexed).toBe(1)
    expect((await ix.search('cloud', { mode: 'keyword' }))[0]!.text).toBe('cloud deploy')

    // the original of a duplicate changes (new mtime): the duplicate gets chunks of its own
    put('b.md', 'stock cats', new Date(Date.now() - 60_000))
    const r4 = await ix.indexFiles([join(root, 'docs')])
    expect(r4.filesIndexed).toBe(2)
    const cats = await ix.search('pets', { mode: 'keyword', k: 10 })
    expect(cats.map((h) => h.source)).toEqual(['docs/c.md'])
    const r5 = await ix.indexFiles([join(root, 'docs')])
    expect(r5).toMatchObject({ filesIndexed: 0, filesUnchanged: 4, chunksAdded: 0 })
    await ix.close()
  })
})
