/** The library's GloVe loader (the SIF embedder's vectors) and the cache directory it uses. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { VqFormatError } from '../../src/errors.js'
import { GLOVE_PACKAGE, loadGlove, resolveOptionalPackage } from '../../src/text/glove.js'
import { defaultCacheDir } from '../../src/util/cache-dir.js'
import { expectMissingDependency } from '../helpers/errors.js'

const root = mkdtempSync(join(tmpdir(), 'vqlite-glove-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
afterEach(() => vi.unstubAllEnvs())

/** A converted cache as loadGlove writes it: words.txt and TEXMEX rows (int32 d, then d float32). */
function writeCache(cacheDir: string, words: string[], rows: number[][]): string {
  const dir = join(cacheDir, `glove-6b-100d-${resolveOptionalPackage(GLOVE_PACKAGE, 'this test').version}`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'words.txt'), words.join('\n'))
  const buf = Buffer.alloc(rows.reduce((s, r) => s + 4 + 4 * r.length, 0))
  let at = 0
  for (const r of rows) {
    buf.writeInt32LE(r.length, at)
    r.forEach((v, t) => {
      buf.writeFloatLE(v, at + 4 + 4 * t)
    })
    at += 4 + 4 * r.length
  }
  writeFileSync(join(dir, 'vectors.fvecs'), buf)
  return dir
}

describe('defaultCacheDir', () => {
  it('is $VQLITE_CACHE_DIR, else $XDG_CACHE_HOME/vqlite, else ~/.cache/vqlite', () => {
    vi.stubEnv('VQLITE_CACHE_DIR', '/tmp/a')
    vi.stubEnv('XDG_CACHE_HOME', '/tmp/b')
    expect(defaultCacheDir()).toBe('/tmp/a')
    vi.stubEnv('VQLITE_CACHE_DIR', '')
    expect(defaultCacheDir()).toBe(join('/tmp/b', 'vqlite'))
    vi.stubEnv('XDG_CACHE_HOME', '')
    expect(defaultCacheDir()).toBe(join(homedir(), '.cache', 'vqlite'))
  })
})

describe('loadGlove', () => {
  it('reads a converted cache (words in order, row-major vectors) without parsing the package JSON', async () => {
    const cacheDir = join(root, 'ok')
    writeCache(
      cacheDir,
      ['the', 'of', 'and'],
      [
        [1, 2],
        [3.5, -4],
        [0.25, 6],
      ],
    )
    const g = await loadGlove({ cacheDir })
    expect([g.n, g.d]).toEqual([3, 2])
    expect(g.words).toEqual(['the', 'of', 'and'])
    expect(Array.from(g.vectors)).toEqual([1, 2, 3.5, -4, 0.25, 6])
  })

  it('defaults to defaultCacheDir()', async () => {
    const cacheDir = join(root, 'env')
    writeCache(cacheDir, ['x'], [[7, 8, 9]])
    vi.stubEnv('VQLITE_CACHE_DIR', cacheDir)
    expect(Array.from((await loadGlove()).vectors)).toEqual([7, 8, 9])
  })

  it('a damaged cache is VqFormatError BAD_FILE saying to delete the folder', async () => {
    const mixed = join(root, 'mixed')
    writeCache(
      mixed,
      ['a', 'b'],
      [
        [1, 2],
        [3, 4, 5],
      ],
    )
    await expect(loadGlove({ cacheDir: mixed })).rejects.toThrow(VqFormatError)
    await expect(loadGlove({ cacheDir: mixed })).rejects.toThrow(/delete its folder/)
    const counts = join(root, 'counts')
    writeCache(
      counts,
      ['a', 'b', 'c'],
      [
        [1, 2],
        [3, 4],
      ],
    )
    await expect(loadGlove({ cacheDir: counts })).rejects.toMatchObject({
      code: 'BAD_FILE',
      message: expect.stringMatching(/3 words for 2 vectors/),
    })
  })

  it('a missing optional package is VqError MISSING_DEPENDENCY naming the install command', () => {
    expectMissingDependency((name) => resolveOptionalPackage(name, 'this test'))
  })
})
