/**
 * A disk that fills up for real: a small tmpfs (mounting needs root; where it cannot be
 * mounted the suite is skipped, its name saying why). add fills the disk until it fails
 * with IO_ERROR "disk full"; then add, createTextIndex, retrain, setProperty and close()
 * on the full disk fail the same way (or fit, and commit whole), and each failure leaves
 * memory and file as they were; reads go on working; once a filler file is deleted, the
 * same write succeeds.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 16
const SIZE = '2m'
const FILLERS = 5
const FILLER_BYTES = 96 * 1024

const dir = mkdtempSync(join(tmpdir(), 'vq-diskfull-'))
/** Why the tmpfs could not be mounted ('' when it is). */
const skipReason = (() => {
  if (process.platform !== 'linux') return `tmpfs needs Linux (this is ${process.platform})`
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', dir], { stdio: 'pipe' })
    return ''
  } catch (e) {
    return `cannot mount a tmpfs here: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}`
  }
})()
const open: VqIndex[] = []

afterAll(async () => {
  for (const ix of open) await ix.close().catch(() => undefined)
  if (skipReason === '') execFileSync('umount', [dir])
  rmSync(dir, { recursive: true, force: true })
})

let nextId = 0
let seed = 100
/** A batch of new items with some metadata text (each call new ids). */
function batch(count: number): { ids: number[]; x: Float32Array; meta: { text: string; pad: string }[] } {
  const ids = Array.from({ length: count }, () => nextId++)
  return {
    ids,
    x: clusteredVectors(count, d, 4, seed++),
    meta: ids.map((i) => ({ text: `alpha item${i} ${i % 3 === 0 ? 'beta' : 'gamma'}`, pad: 'p'.repeat(200) })),
  }
}

const probe = clusteredVectors(2, d, 4, 7)

function observe(ix: VqIndex): unknown {
  const r = ix.search(probe.subarray(0, d), 5, { nprobe: 4 })
  const tf = ix.textField
  return {
    size: ix.size,
    manifest: ix.manifest,
    search: [Array.from(r.ids), Array.from(r.distances)],
    first: ix.get(0),
    textField: tf,
    keywords: tf ? Array.from(ix.keywordSearch('beta', 5).ids) : null,
    property: ix.getProperty('big') ?? null,
    found: ix.find({ text: { $exists: true } }, 3).map((f) => f.id),
  }
}

function observeFile(path: string): unknown {
  const ro = VqIndex.open(path, { readonly: true, threads: 0 })
  try {
    return observe(ro)
  } finally {
    void ro.close()
  }
}

/** Adds small batches until the disk is full; returns the error (IO_ERROR, disk full). */
async function fillUp(ix: VqIndex): Promise<VqError> {
  for (let i = 0; i < 10_000; i++) {
    const b = batch(4)
    const before = observe(ix)
    try {
      await ix.add(b.ids, b.x, b.meta)
    } catch (e) {
      expect(e).toBeInstanceOf(VqError)
      expect(e).toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/disk full/) })
      expect(observe(ix)).toEqual(before)
      return e as VqError
    }
  }
  throw new Error('the disk never filled up')
}

let fillers = 0
function freeSpace(): void {
  rmSync(join(dir, `filler${fillers++}`))
}

describe.skipIf(skipReason !== '')(`disk full${skipReason === '' ? '' : ` (skipped: ${skipReason})`}`, () => {
  const path = join(dir, 'full.vq')

  it('setup: an index and filler files on the tmpfs', async () => {
    const ix = VqIndex.create(path, { dim: d, description: 'IVF4,SQ8', storeVectors: 'float32', threads: 0 })
    open.push(ix)
    const b = batch(200)
    await ix.add(b.ids, b.x, b.meta, { train: { seed: 1 } })
    for (let i = 0; i < FILLERS; i++) writeFileSync(join(dir, `filler${i}`), Buffer.alloc(FILLER_BYTES, 1))
  })

  /** On a full disk, `write` fails with IO_ERROR and changes nothing (or fits, commits whole, and the disk is filled again). */
  async function refusedWhenFull(name: string, write: (ix: VqIndex) => Promise<unknown>): Promise<void> {
    const ix = open[0]!
    for (let attempt = 0; attempt < 20; attempt++) {
      await fillUp(ix)
      const before = observe(ix)
      expect(observeFile(path)).toEqual(before)
      const error = await write(ix).then(
        () => undefined,
        (e: unknown) => e,
      )
      if (error === undefined) {
        // It fitted: committed whole, in memory and file alike. Fill up again and retry.
        expect(observeFile(path)).toEqual(observe(ix))
        continue
      }
      expect(error, name).toBeInstanceOf(VqError)
      expect(error, `${name}: ${(error as Error).message}`).toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/disk full/) })
      expect(observe(ix), `${name}: memory`).toEqual(before)
      expect(observeFile(path), `${name}: file`).toEqual(before)
      freeSpace()
      await write(ix)
      const after = observe(ix)
      expect(after).not.toEqual(before)
      expect(observeFile(path)).toEqual(after)
      return
    }
    throw new Error(`${name} never failed on a full disk`)
  }

  it('add', async () => {
    await refusedWhenFull('add', (ix) => {
      const b = batch(40)
      return ix.add(b.ids, b.x, b.meta)
    })
  })

  it('createTextIndex', async () => {
    await refusedWhenFull('createTextIndex', (ix) => ix.createTextIndex('text'))
    // The text index is kept current by later adds.
    const ix = open[0]!
    const b = batch(3)
    await ix.add(b.ids, b.x, b.meta)
    expect(ix.textField).toBe('text')
  })

  it('retrain', async () => {
    await refusedWhenFull('retrain', (ix) => ix.retrain({ seed: 2 }))
  })

  it('setProperty', async () => {
    let round = 0
    await refusedWhenFull('setProperty', (ix) => ix.setProperty('big', { round: round++, blob: 'b'.repeat(40_000) }))
  })

  it('close() on a full disk leaves the handle closed and the file as committed', async () => {
    const ix = open[0]!
    await fillUp(ix)
    const before = observe(ix)
    const error = await ix.close().then(
      () => undefined,
      (e: unknown) => e,
    )
    if (error !== undefined) expect(error).toBeInstanceOf(VqError)
    expect(() => ix.get(0)).toThrow(expect.objectContaining({ code: 'CLOSED' }))
    await ix.close()
    expect(observeFile(path)).toEqual(before)
    freeSpace()
    const again = VqIndex.open(path, { threads: 0 })
    open.push(again)
    expect(observe(again)).toEqual(before)
    const b = batch(5)
    await again.add(b.ids, b.x, b.meta)
    expect(again.size).toBe((before as { size: number }).size + 5)
    expect(again.integrityCheck()).toBe('ok')
  })
})
