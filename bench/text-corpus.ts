/**
 * index-text on a folder of ~2,000 Markdown files (every *.md under node_modules, copied
 * keeping their relative paths): first indexing, re-indexing unchanged, then after
 * deleting 10 files and renaming 5; checks that search finds none of the old paths and all
 * the new ones (by a source filter).
 *
 *   npm run build && node cli/dist/bench/text-corpus.js [--files 2000] [--from node_modules]
 *
 * Writes bench/results/text-corpus.json.
 */
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { glob } from 'tinyglobby'
import { createSifGloveEmbedder, TextIndex } from 'vqlite/text'
import { machineInfo, saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '2000' },
    from: { type: 'string', default: '/work/main/node_modules' },
    out: { type: 'string', default: 'bench/results/text-corpus.json' },
  },
})
const from = resolve(values.from)
const out = resolve(values.out)
const found = (await glob('**/*.md', { cwd: from, followSymbolicLinks: true })).sort().slice(0, Number(values.files))
const dir = mkdtempSync(join(tmpdir(), 'vqlite-corpus-'))
const corpus = join(dir, 'corpus')
for (const f of found) {
  mkdirSync(dirname(join(corpus, f)), { recursive: true })
  copyFileSync(join(from, f), join(corpus, f))
}
const embedder = await createSifGloveEmbedder({ onProgress: (m) => console.log(m) })
const cwd = process.cwd()
process.chdir(dir)
try {
  const ix = await TextIndex.create(join(dir, 'c.vqlite'), embedder)
  const time = async (label: string) => {
    const t = performance.now()
    const r = await ix.indexFiles(['corpus'])
    const s = (performance.now() - t) / 1000
    console.log(
      `${label}: ${s.toFixed(2)} s, ${r.filesIndexed} indexed, ${r.filesUnchanged} unchanged, ${r.duplicates.length} duplicates, ${r.removed.length} removed, ${r.chunksAdded} chunks added, ${r.errors.length} errors`,
    )
    return { seconds: s, ...r, removed: r.removed.length, duplicates: r.duplicates.length, errors: r.errors.length }
  }
  const first = await time('first')
  const unchanged = await time('unchanged')
  // delete 10 and rename 5 of the files that were indexed on their own (not duplicates)
  const step = Math.max(1, Math.floor(found.length / 15))
  const own = found.filter((_, i) => i % step === 1).slice(0, 15)
  const deleted = own.slice(0, 10).map((f) => `corpus/${f}`)
  const renamed = own.slice(10, 15).map((f) => [`corpus/${f}`, `corpus/${f.replace(/\.md$/, '.renamed.md')}`] as const)
  for (const f of deleted) rmSync(join(dir, f))
  for (const [a, b] of renamed) renameSync(join(dir, a), join(dir, b))
  const changed = await time('after 10 deleted + 5 renamed')
  const gone = [...deleted, ...renamed.map(([a]) => a)]
  let oldFound = 0
  for (const s of gone) oldFound += (await ix.index.find({ source: s }, 1)).length
  let newFound = 0
  for (const [, b] of renamed) {
    // found by a source filter, or recorded as a duplicate of an indexed file (no chunks of its own)
    const table = ix.index.getProperty('text-sources') as { files: Record<string, unknown> }
    if ((await ix.index.find({ source: b }, 1)).length > 0 || table.files[b] !== undefined) newFound++
  }
  console.log(`old paths found: ${oldFound} of ${gone.length}; new paths found: ${newFound} of ${renamed.length}`)
  console.log(`re-index unchanged / first: ${((100 * unchanged.seconds) / first.seconds).toFixed(1)} %`)
  await ix.close()
  saveJson(out, {
    machine: machineInfo(),
    files: found.length,
    first,
    unchanged,
    changed,
    oldFound,
    newFound,
    renamed: renamed.length,
    unchangedRatio: unchanged.seconds / first.seconds,
  })
} finally {
  process.chdir(cwd)
  rmSync(dir, { recursive: true, force: true })
}
