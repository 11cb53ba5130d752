// Leaves a file as a writer killed mid-way leaves it, deterministically (the read-only tests).
// Usage: node die-after.mjs PATH wal|journal
//   wal:     opens PATH with vqlite (the build, dist/), adds ids 100000..100009 (metadata
//            { late: true, text: 'late amber' }), prints "committed", then SIGKILLs itself:
//            the commit is in PATH-wal only (a hot WAL).
//   journal: opens PATH with better-sqlite3 in rollback-journal mode, overwrites every stored
//            vector in one transaction with a one-page cache (so SQLite writes changed pages
//            into PATH before the commit), then SIGKILLs itself: a hot PATH-journal, and a file
//            whose pages are half-written until the journal is rolled back.
import { writeSync } from 'node:fs'

const [path, mode] = process.argv.slice(2)
if (mode === 'wal') {
  const { VqIndex } = await import(new URL('../../../dist/src/index.js', import.meta.url).href)
  const index = VqIndex.open(path, { threads: 0 })
  const ids = Array.from({ length: 10 }, (_, i) => 100000 + i)
  const x = new Float32Array(ids.length * index.manifest.dim).map((_, i) => Math.sin(i))
  await index.add(
    ids,
    x,
    ids.map(() => ({ late: true, text: 'late amber' })),
  )
  writeSync(1, 'committed\n')
} else {
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(path)
  db.pragma('journal_mode = DELETE')
  db.pragma('cache_size = 1')
  db.exec('BEGIN IMMEDIATE')
  db.exec('UPDATE vq_vectors SET vector = zeroblob(length(vector))')
  db.exec('UPDATE vq_metadata SET json = \'{"overwritten":true}\'')
  writeSync(1, 'written\n')
}
process.kill(process.pid, 'SIGKILL')
