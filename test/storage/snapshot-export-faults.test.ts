/**
 * export() refused by the file system: a missing folder (NOT_FOUND), a full disk
 * (IO_ERROR "disk full", on a 256 KiB tmpfs), a read-only file system (READ_ONLY, the
 * tmpfs remounted read-only), a folder without write permission (READ_ONLY; not testable
 * as root, who ignores permissions). Each time no partial snapshot is left and the index
 * is untouched. The tmpfs cases need root and mount(8); elsewhere they are skipped with
 * the reason.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type VqError, VqIndex, VqStorageError } from '../../src/index.js'
import { randomVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-expfault-'))
const mnt = join(dir, 'mnt')
mkdirSync(mnt)
const d = 64
const n = 2000 // about 560 KB of snapshot: more than the 256 KiB tmpfs holds
const x = randomVectors(n, d, 31)
let index: VqIndex
let before: ReturnType<VqIndex['search']>

/** Why the tmpfs cases cannot run here, or null when the tmpfs is mounted. */
const noTmpfs: string | null = (() => {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`
  if (process.getuid?.() !== 0) return 'not root: mount -t tmpfs needs root'
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'pipe' })
    return null
  } catch (e) {
    return `mount -t tmpfs failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`
  }
})()

beforeAll(async () => {
  index = VqIndex.create(join(dir, 'ix.vqlite'), { dim: d, description: 'IVF4,PQ8,RFlat', storeVectors: 'float32', threads: 0 })
  await index.train(x, { seed: 1 })
  await index.add(
    Array.from({ length: n }, (_, i) => i),
    x,
  )
  before = index.search(x.subarray(0, d), 10, { refineFactor: 4 })
})
afterAll(async () => {
  await index.close()
  if (noTmpfs === null) execFileSync('umount', [mnt])
  rmSync(dir, { recursive: true, force: true })
})

async function exportError(path: string): Promise<VqError> {
  const e = await index.export(path).then(
    () => undefined,
    (err: unknown) => err,
  )
  if (e === undefined) throw new Error(`export to ${path} succeeded`)
  return e as VqError
}

/** The index answers as before and its file is intact. */
function expectUntouched(): void {
  expect(index.size).toBe(n)
  expect(index.search(x.subarray(0, d), 10, { refineFactor: 4 })).toEqual(before)
  expect(index.integrityCheck()).toBe('ok')
}

describe('export refused by the file system', () => {
  it('a missing folder is NOT_FOUND naming the path; nothing is created', async () => {
    const listed = readdirSync(dir).sort()
    const e = await exportError(join(dir, 'no', 'such', 'folder', 's.snapshot'))
    expect(e).toBeInstanceOf(VqStorageError)
    expect(e.code).toBe('NOT_FOUND')
    expect(e.message).toContain(join(dir, 'no', 'such', 'folder', 's.snapshot'))
    expect(readdirSync(dir).sort()).toEqual(listed)
    expectUntouched()
  })

  it('a path under a file (not a folder) is NOT_FOUND', async () => {
    writeFileSync(join(dir, 'plain'), 'x')
    const e = await exportError(join(dir, 'plain', 's.snapshot'))
    expect(e).toBeInstanceOf(VqStorageError)
    expect(e.code).toBe('NOT_FOUND')
    rmSync(join(dir, 'plain'))
    expectUntouched()
  })

  it('a folder without write permission is READ_ONLY', async (ctx) => {
    if (process.getuid?.() === 0) ctx.skip('running as root, which ignores folder permissions (EACCES cannot happen)')
    const locked = join(dir, 'locked')
    mkdirSync(locked)
    chmodSync(locked, 0o500)
    try {
      const e = await exportError(join(locked, 's.snapshot'))
      expect(e.code).toBe('READ_ONLY')
      expect(readdirSync(locked)).toEqual([])
    } finally {
      chmodSync(locked, 0o700)
    }
    expectUntouched()
  })

  it('a full disk is IO_ERROR "disk full"; no partial snapshot is left', async (ctx) => {
    if (noTmpfs !== null) ctx.skip(noTmpfs)
    const e = await exportError(join(mnt, 's.snapshot'))
    expect(e).toBeInstanceOf(VqStorageError)
    expect(e.code).toBe('IO_ERROR')
    expect(e.message).toMatch(/disk full/)
    expect(e.message).toContain(join(mnt, 's.snapshot'))
    expect(readdirSync(mnt)).toEqual([])
    expectUntouched()
    // The space is free again: a small file fits.
    writeFileSync(join(mnt, 'small'), Buffer.alloc(64 * 1024))
    rmSync(join(mnt, 'small'))
  })

  it('import into a full disk is IO_ERROR "disk full" and leaves nothing behind', async (ctx) => {
    if (noTmpfs !== null) ctx.skip(noTmpfs)
    const snap = join(dir, 'ok.snapshot')
    await index.export(snap)
    let e: unknown
    try {
      VqIndex.import(snap, join(mnt, 'copy.vqlite'))
    } catch (err) {
      e = err
    }
    expect(e).toBeInstanceOf(VqStorageError)
    expect((e as VqError).code).toBe('IO_ERROR')
    expect((e as VqError).message).toMatch(/disk full/)
    expect(readdirSync(mnt)).toEqual([])
    rmSync(snap)
  })

  it('a read-only file system is READ_ONLY; nothing is created', async (ctx) => {
    if (noTmpfs !== null) ctx.skip(noTmpfs)
    execFileSync('mount', ['-o', 'remount,ro', mnt])
    try {
      const e = await exportError(join(mnt, 's.snapshot'))
      expect(e).toBeInstanceOf(VqStorageError)
      expect(e.code).toBe('READ_ONLY')
      expect(e.message).toMatch(/read-only/)
      expect(readdirSync(mnt)).toEqual([])
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt])
    }
    expectUntouched()
  })
})
