/**
 * close(): idempotent; waits for the writes queued before it and the pooled searches in
 * flight; refuses calls made after it started with CLOSED; never leaves an unhandled
 * rejection. (The pooled searchBatch case is in fault-workers.int.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 8
const x = clusteredVectors(400, d, 4, 31)
let dir: string
let serial = 0
const unhandled: unknown[] = []
const onUnhandled = (e: unknown) => unhandled.push(e)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vq-close-'))
  process.on('unhandledRejection', onUnhandled)
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  rmSync(dir, { recursive: true, force: true })
})

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i)

describe('close()', () => {
  it('waits for writes queued before it; their results commit', async () => {
    const path = join(dir, `c${serial++}.vq`)
    const ix = VqIndex.create(path, { dim: d, description: 'IVF4,SQ8', threads: 0 })
    const train = ix.add(ids(0, 200), x.subarray(0, 200 * d), undefined, { train: { seed: 1 } })
    const add = ix.add(ids(200, 100), x.subarray(200 * d, 300 * d), undefined, { train: true })
    const prop = ix.setProperty('p', 1)
    const closing = ix.close()
    const closingAgain = ix.close()
    await expect(ix.add(ids(300, 1), x.subarray(0, d))).rejects.toMatchObject({ code: 'CLOSED' })
    expect(() => ix.search(x.subarray(0, d), 1)).toThrow(expect.objectContaining({ code: 'CLOSED' }))
    await Promise.all([train, add, prop, closing, closingAgain])
    await ix.close()
    const again = VqIndex.open(path, { threads: 0 })
    expect(again.size).toBe(300)
    expect(again.getProperty('p')).toBe(1)
    await again.close()
    expect(unhandled).toEqual([])
  })

  it('a write that fails while close waits rejects on its own; close still closes', async () => {
    const ix = VqIndex.create(':memory:', { dim: d, description: 'IVF4,SQ8', threads: 0 })
    await ix.add(ids(0, 200), x.subarray(0, 200 * d), undefined, { train: { seed: 1 } })
    const dup = ix.add([5], x.subarray(0, d))
    const closing = ix.close()
    await expect(dup).rejects.toMatchObject({ code: 'ID_EXISTS' })
    await closing
    expect(() => ix.get(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }))
    expect(unhandled).toEqual([])
  })
})
