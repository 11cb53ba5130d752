/**
 * Read-only media and files left by a killed writer.
 *
 * On a writable medium, a file whose last writer was killed (a hot WAL, or a hot rollback
 * journal with half-written pages in the file) is recovered by the next open, read-only
 * or writable: a crash anywhere leaves a file that the next open recovers.
 *
 * On a read-only medium (a small tmpfs remounted read-only; we need root for mount, and
 * the tests are skipped with the reason where mount fails):
 * - a clean index opened writable is READ_ONLY (VqStorageError, its message blaming the
 *   read-only file system / medium, not the folder), the file unchanged; opened { readonly: true } everything reads:
 *   get, search, find, keywordSearch, properties (support/corpus.ts's probe);
 * - a hot WAL: read-only, either opened with the committed batch, or refused READ_ONLY
 *   telling the user to open it once where it is writable; never an older state;
 * - a hot rollback journal cannot be rolled back there, and the file's pages are
 *   half-written: the contract is a typed refusal, VqStorageError READ_ONLY, whose message
 *   says the file needs recovery by a writable open where the medium is writable. Reading
 *   the half-written pages would be a silent wrong answer.
 * Special paths (a FIFO, a folder) are refused with a typed error, and a FIFO never hangs.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex, VqStorageError } from '../../src/index.js'
import { startNode } from '../helpers/child.js'
import { buildOriginal, fileState, type Original, probe } from './support/corpus.js'

const SEED = 0x0420
const dieAfter = join(import.meta.dirname, 'support/die-after.mjs')
const openAs = join(import.meta.dirname, '../fixtures/open-as.mjs')
const dir = mkdtempSync(join(tmpdir(), 'vqlite-readonly-'))
const mnt = join(dir, 'mnt')
mkdirSync(mnt)
// Mounted at collection time, so a machine where mount fails skips with the reason.
const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { encoding: 'utf8' })
const mounted = mount.status === 0
const why = mounted ? '' : `mount -t tmpfs failed (${(mount.stderr || mount.error?.message || `exit ${mount.status}`).trim()}); needs root`
if (!mounted) process.stdout.write(`read-only media tests skipped: ${why}\n`)
afterAll(() => {
  if (mounted) {
    const u = spawnSync('umount', [mnt])
    if (u.status !== 0) spawnSync('umount', ['-l', mnt])
  }
  rmSync(dir, { recursive: true, force: true })
})

let original: Original
const LATE = Array.from({ length: 10 }, (_, i) => 100000 + i)

/** Copies path (and its side files) to to. */
function copyWithSideFiles(path: string, to: string): void {
  for (const s of ['', '-wal', '-shm', '-journal']) if (existsSync(path + s)) copyFileSync(path + s, to + s)
}

/** Runs die-after.mjs on path; expects it to kill itself after its write. */
async function killedWriter(path: string, mode: 'wal' | 'journal'): Promise<void> {
  const c = startNode(dieAfter, [path, mode])
  const exit = await c.waitExit(30_000)
  expect(exit.signal, c.stderr()).toBe('SIGKILL')
  expect(c.stdout()).toMatch(mode === 'wal' ? /committed/ : /written/)
  expect(existsSync(`${path}-${mode === 'wal' ? 'wal' : 'journal'}`)).toBe(true)
}

/** The original items are there, identical (and with a hot WAL, the committed late batch too). */
function expectOriginal(index: VqIndex, late: boolean): void {
  expect(index.size).toBe(original.items.size + (late ? LATE.length : 0))
  for (const [id, item] of original.items) {
    const got = index.get(id)
    expect(got?.vector, `id ${id}`).toEqual(item.vector)
    expect(got?.metadata, `id ${id}`).toEqual(item.metadata)
  }
  if (late) for (const id of LATE) expect(index.get(id)?.metadata).toEqual({ late: true, text: 'late amber' })
}

beforeAll(async () => {
  original = await buildOriginal(join(dir, 'clean.vqlite'), SEED)
  copyFileSync(original.path, join(dir, 'hot-wal.vqlite'))
  await killedWriter(join(dir, 'hot-wal.vqlite'), 'wal')
  copyFileSync(original.path, join(dir, 'hot-journal.vqlite'))
  await killedWriter(join(dir, 'hot-journal.vqlite'), 'journal')
}, 60_000)

describe('a file left by a killed writer, on a writable medium, is recovered by the next open', () => {
  for (const readonly of [true, false]) {
    it(`a hot WAL, opened ${readonly ? 'read-only' : 'writable'}: the committed batch is there`, async () => {
      const p = join(dir, `wal-${readonly ? 'ro' : 'rw'}.vqlite`)
      copyWithSideFiles(join(dir, 'hot-wal.vqlite'), p)
      const index = VqIndex.open(p, { readonly, threads: 0 })
      expectOriginal(index, true)
      expect(index.integrityCheck()).toBe('ok')
      await index.close()
    })
    it(`a hot rollback journal, opened ${readonly ? 'read-only' : 'writable'}: rolled back, the original items intact`, async () => {
      const p = join(dir, `journal-${readonly ? 'ro' : 'rw'}.vqlite`)
      copyWithSideFiles(join(dir, 'hot-journal.vqlite'), p)
      const index = VqIndex.open(p, { readonly, threads: 0 })
      expectOriginal(index, false)
      expect(index.integrityCheck()).toBe('ok')
      await index.close()
    })
  }
})

describe.skipIf(!mounted)(`a read-only medium${why ? ` (skipped: ${why})` : ''}`, () => {
  const ro = (name: string): string => join(mnt, name)
  beforeAll(() => {
    copyWithSideFiles(original.path, ro('clean.vqlite'))
    copyWithSideFiles(join(dir, 'hot-wal.vqlite'), ro('hot-wal.vqlite'))
    copyWithSideFiles(join(dir, 'hot-journal.vqlite'), ro('hot-journal.vqlite'))
    const r = spawnSync('mount', ['-o', 'remount,ro', mnt], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
  })

  /** Expects open(path, { readonly }) to be refused with VqStorageError READ_ONLY matching message, the files unchanged. */
  function expectReadOnlyRefusal(path: string, readonly: boolean, message: RegExp): void {
    const before = fileState(path)
    let caught: unknown
    try {
      VqIndex.open(path, { readonly, threads: 0 }).close()
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(VqStorageError)
    expect((caught as VqError).code).toBe('READ_ONLY')
    // (The path itself is left out: 'hot-journal.vqlite' must not satisfy /journal/.)
    expect((caught as VqError).message.replaceAll(path, '<path>')).toMatch(message)
    expect(fileState(path)).toBe(before)
  }

  it('a clean index opened writable: READ_ONLY, blaming the medium, file unchanged', () => {
    expectReadOnlyRefusal(ro('clean.vqlite'), false, /read-only (file system|medium)/i)
  })

  it('a clean index opened { readonly: true }: get, search, find, keywordSearch and properties all work', async () => {
    const r = await probe(ro('clean.vqlite'), original, true, new Set(['opened']))
    expect({ outcome: r.outcome, problems: r.problems, silent: r.silent }).toEqual({ outcome: 'opened', problems: [], silent: [] })
  })

  it('a hot WAL opened writable: READ_ONLY, file unchanged', () => {
    expectReadOnlyRefusal(ro('hot-wal.vqlite'), false, /read-only (file system|medium)/i)
  })

  it('a hot WAL opened { readonly: true }: the committed batch, or READ_ONLY saying to open it where it is writable', async () => {
    const path = ro('hot-wal.vqlite')
    let index: VqIndex | undefined
    try {
      index = VqIndex.open(path, { readonly: true, threads: 0 })
    } catch (e) {
      expect(e).toBeInstanceOf(VqStorageError)
      expect((e as VqError).code).toBe('READ_ONLY')
      expect((e as VqError).message).toMatch(/writable/i)
    }
    if (index) {
      expectOriginal(index, true)
      await index.close()
    }
  })

  it('a hot journal opened writable: READ_ONLY, file unchanged', () => {
    expectReadOnlyRefusal(ro('hot-journal.vqlite'), false, /read-only (file system|medium)/i)
  })

  it('a hot journal opened { readonly: true }: READ_ONLY saying the file needs recovery where it is writable, never the half-written pages', () => {
    expectReadOnlyRefusal(ro('hot-journal.vqlite'), true, /journal|recover/i)
    expectReadOnlyRefusal(ro('hot-journal.vqlite'), true, /writable/i)
  })
})

describe('special paths are refused with a typed error', () => {
  it.skipIf(process.platform === 'win32')(
    'a FIFO, writable and read-only: a typed error within seconds, never a hang',
    async () => {
      const fifo = join(dir, 'fifo.vqlite')
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
      for (const what of ['open', 'open-readonly']) {
        const c = startNode(openAs, [what, fifo])
        const exit = await c.waitExit(10_000).catch(async (e: unknown) => {
          await c.stop('SIGKILL')
          throw e
        })
        expect(exit.code, c.stderr()).toBe(0)
        const r = JSON.parse(c.stdout().trim().split('\n').pop()!) as { code?: string; name?: string }
        expect(r.name, c.stdout()).toMatch(/^Vq\w*Error$/)
        expect(r.code).toBeTruthy()
      }
    },
    60_000,
  )

  for (const readonly of [false, true]) {
    it(`a folder, ${readonly ? 'read-only' : 'writable'}: a VqError, the folder unchanged`, () => {
      const folder = join(dir, `folder-${readonly ? 'ro' : 'rw'}.vqlite`)
      mkdirSync(folder)
      let caught: unknown
      try {
        VqIndex.open(folder, { readonly, threads: 0 }).close()
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(VqError)
      expect(['CANNOT_OPEN', 'NOT_SQLITE', 'BAD_FILE', 'NOT_FOUND']).toContain((caught as VqError).code)
      expect(existsSync(`${folder}-wal`) || existsSync(`${folder}-journal`)).toBe(false)
    })
  }
})
