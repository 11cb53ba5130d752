/**
 * index-text on a folder of ~2,000 Markdown and text files nobody here wrote (the *.md and
 * *.txt files found under system folders: Debian's /usr/share/doc, toolchains' docs, Python
 * packages' licences and READMEs; evenly sampled, copied keeping their relative paths):
 * first indexing, re-indexing unchanged, then after deleting 10 files and renaming 5;
 * checks that search finds none of the old paths and all the new ones (by a source filter).
 *
 *   npm run build && node cli/dist/bench/text-corpus.js [--files 2000] [--from /usr/share,/usr/lib]
 *     [--description IVF64,PQ16,RFlat]
 *
 * Writes bench/results/text-corpus.json (or --out).
 */
import { execFileSync } from 'node:child_process'
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
    from: { type: 'string', default: '/usr/share,/usr/lib,/root/.pyenv,/root/.rustup,/opt' },
    description: { type: 'string', default: 'SQ8' },
    out: { type: 'string', default: 'bench/results/text-corpus.json' },
  },
})
const out = resolve(values.out)
const all: { root: string; rel: string }[] = []
for (const root of values.from.split(',').map((r) => resolve(r))) {
  const rels = await glob('**/*.{md,txt}', { cwd: root, followSymbolicLinks: false, dot: false }).catch(() => [])
  for (const rel of rels.sort()) all.push({ root, rel })
}
const want = Math.min(all.length, Number(values.files))
const picked = Array.from({ length: want }, (_, i) => all[Math.floor((i * all.length) / want)]!)
const found = picked.map(({ root, rel }) => `${root.replace(/^\//, '').replace(/[/.]/g, '_')}/${rel}`)
const dir = mkdtempSync(join(tmpdir(), 'vqlite-corpus-'))
const corpus = join(dir, 'corpus')
picked.forEach(({ root, rel }, i) => {
  mkdirSync(dirname(join(corpus, found[i]!)), { recursive: true })
  copyFileSync(join(root, rel), join(corpus, found[i]!))
})
console.log(`${found.length} files sampled from ${all.length} under ${values.from}`)
// the same corpus through the CLI, process start to exit (embedder load included)
const cliPath = resolve(dirname(new URL(import.meta.url).pathname), '../cli/vqlite.js')
const cliRun = (label: string): { seconds: number; output: string } => {
  const t = performance.now()
  const output = execFileSync(
    process.execPath,
    [cliPath, 'index-text', 'corpus', '--index', 'cli.vqlite', '--description', values.description],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  ).trim()
  const seconds = (performance.now() - t) / 1000
  console.log(`cli ${label}: ${seconds.toFixed(2)} s: ${output}`)
  return { seconds, output }
}
const cliFirst = cliRun('first')
const cliUnchanged = cliRun('unchanged')
console.log(`cli re-index unchanged / first: ${((100 * cliUnchanged.seconds) / cliFirst.seconds).toFixed(1)} %`)
const embedder = await createSifGloveEmbedder({ onProgress: (m) => console.log(m) })
const cwd = process.cwd()
process.chdir(dir)
try {
  const ix = await TextIndex.create(join(dir, 'c.vqlite'), embedder, { description: values.description })
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
  const table0 = ix.index.getProperty('text-sources') as { files: Record<string, { of?: string; count: number }> }
  const ownFiles = found.filter(
    (f) => (table0.files[`corpus/${f}`]?.count ?? 0) > 0 && !found.includes(f.replace(/\.(md|txt)$/, '.renamed.$1')),
  )
  const own = Array.from({ length: 15 }, (_, i) => ownFiles[Math.floor((i * ownFiles.length) / 15) + 1]!)
  const deleted = own.slice(0, 10).map((f) => `corpus/${f}`)
  const renamed = own.slice(10, 15).map((f) => [`corpus/${f}`, `corpus/${f.replace(/\.(md|txt)$/, '.renamed.$1')}`] as const)
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
  const chunks = ix.index.size
  const finalDescription = ix.index.manifest.description
  await ix.close()
  saveJson(out, {
    machine: machineInfo(),
    files: found.length,
    from: values.from,
    description: values.description,
    chunks,
    finalDescription,
    first,
    unchanged,
    changed,
    oldFound,
    newFound,
    renamed: renamed.length,
    unchangedRatio: unchanged.seconds / first.seconds,
    cli: { first: cliFirst, unchanged: cliUnchanged, unchangedRatio: cliUnchanged.seconds / cliFirst.seconds },
  })
} finally {
  process.chdir(cwd)
  rmSync(dir, { recursive: true, force: true })
}
