/**
 * Streaming adds (index.addFile / addStream): ids are row numbers, one transaction per
 * block, an untrained index trained on a seeded sample, and a call interrupted after any
 * number of blocks, then run again, ends with the same index as an uninterrupted one
 * (count, stored vectors, search results).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type StreamAddProgress, VqError, VqIndex } from '../../src/index.js'
import { Rng } from '../../src/util/random.js'
import { closeIndexesAfterEach } from '../helpers/indexes.js'

closeIndexesAfterEach()
const dir = mkdtempSync(join(tmpdir(), 'vqlite-stream-add-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const n = 6000
const d = 16
const rng = new Rng(21)
const x = new Float32Array(n * d).map(() => rng.normal())
const file = join(dir, 'base.fvecs')
{
  const rec = 4 + 4 * d
  const b = Buffer.alloc(n * rec)
  for (let i = 0; i < n; i++) {
    b.writeInt32LE(d, i * rec)
    for (let t = 0; t < d; t++) b.writeFloatLE(x[i * d + t]!, i * rec + 4 + 4 * t)
  }
  writeFileSync(file, b)
}
const queries = new Float32Array(20 * d).map(() => rng.normal())
const description = 'IVF16,PQ8,RFlat'
let seq = 0
const fresh = (): VqIndex<unknown, number> =>
  VqIndex.create(join(dir, `i${seq++}.vq`), { dim: d, description, storeVectors: 'float32', threads: 1 })

function results(index: VqIndex<unknown, number>): number[][] {
  const out: number[][] = []
  for (let q = 0; q < 20; q++) out.push(Array.from(index.search(queries.subarray(q * d, (q + 1) * d), 10, { nprobe: 4 }).ids))
  return out
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    expect(e).toBeInstanceOf(VqError)
    return (e as VqError).code
  }
  return 'no error'
}

describe('addFile', () => {
  it('adds every row with id = row, trained on a sample, in blocks', async () => {
    const index = fresh()
    const events: StreamAddProgress[] = []
    const r = await index.addFile(file, { blockRows: 1000, train: { sample: 3000 }, onProgress: (p) => events.push(p) })
    expect(r).toEqual({ added: n, resumedAt: 0, rows: n, trained: true })
    expect(index.size).toBe(n)
    expect(index.manifest.training?.vectors).toBe(3000)
    for (const id of [0, 1, 2999, n - 1]) expect(index.get(id)?.vector).toEqual(x.subarray(id * d, (id + 1) * d))
    expect(events.filter((e) => e.phase === 'adding').map((e) => e.done)).toEqual([1000, 2000, 3000, 4000, 5000, 6000])
  })

  it.each([0, 1, 3, 5])('interrupted after %i blocks, then rerun: the same index as an uninterrupted build', async (blocks) => {
    const whole = fresh()
    await whole.addFile(file, { blockRows: 1000, train: { sample: 3000 } })
    const index = fresh()
    const stop = new AbortController()
    const first = index.addFile(file, {
      blockRows: 1000,
      train: { sample: 3000 },
      signal: stop.signal,
      onProgress: (p) => {
        if ((p.phase === 'adding' && p.done >= blocks * 1000) || (blocks === 0 && p.phase === 'training')) stop.abort()
      },
    })
    expect(await code(first)).toBe('ABORTED')
    expect(index.size).toBe(blocks === 0 ? 0 : blocks * 1000)
    const r = await index.addFile(file, { blockRows: 700, train: { sample: 3000 } })
    expect(r.resumedAt).toBe(blocks * 1000)
    expect(r.rows).toBe(n)
    expect(index.size).toBe(n)
    expect(results(index)).toEqual(results(whole))
    const again = await index.addFile(file)
    expect(again).toEqual({ added: 0, resumedAt: n, rows: n, trained: false })
  })

  it('a range of rows, resumed inside the range', async () => {
    const index = fresh()
    const stop = new AbortController()
    const first = index.addFile(file, {
      start: 2000,
      end: 4500,
      blockRows: 1000,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.phase === 'adding' && p.done >= 1000) stop.abort()
      },
    })
    expect(await code(first)).toBe('ABORTED')
    expect(index.size).toBe(1000)
    const r = await index.addFile(file, { start: 2000, end: 4500, blockRows: 300 })
    expect(r).toEqual({ added: 1500, resumedAt: 3000, rows: 2500, trained: false })
    expect(index.has(1999) || index.has(4500)).toBe(false)
    expect(index.get(2000)?.vector).toEqual(x.subarray(2000 * d, 2001 * d))
    expect(index.get(4499)?.vector).toEqual(x.subarray(4499 * d, 4500 * d))
    expect(await code(index.addFile(file, { start: 10, end: 5 }))).toBe('BAD_OPTION')
    expect(await code(index.addFile(file, { start: n + 1 }))).toBe('BAD_OPTION')
  })

  it('rows, idBase, and the refusals that change nothing', async () => {
    const index = fresh()
    await index.addFile(file, { end: 2500, idBase: 10_000, blockRows: 1000 })
    expect(index.size).toBe(2500)
    expect(index.has(10_000) && index.has(12_499) && !index.has(12_500)).toBe(true)
    expect(await code(index.addFile(file, { end: 3000, idBase: 10_000, resume: false }))).toBe('ID_EXISTS')
    await index.add([14_000], x.subarray(0, d))
    expect(await code(index.addFile(file, { idBase: 10_000 }))).toBe('ID_EXISTS')
    expect(index.size).toBe(2501)
    expect(await code(index.addFile(file, { blockRows: 0 }))).toBe('BAD_OPTION')
    expect(await code(index.addFile(file, { idBase: -1 }))).toBe('BAD_OPTION')
    expect(await code(index.addFile(file, { bogus: 1 } as never))).toBe('UNKNOWN_OPTION')
    expect(await code(index.addFile(join(dir, 'missing.fvecs')))).toBe('NOT_FOUND')
    const other = VqIndex.create(join(dir, `i${seq++}.vq`), { dim: d + 1, description: 'IVF16,PQ1,RFlat', storeVectors: 'float32' })
    expect(await code(other.addFile(file))).toBe('DIMENSION_MISMATCH')
    expect(await code(fresh().addFile(file, { train: false }))).toBe('NOT_TRAINED')
    const strings = VqIndex.create(join(dir, `i${seq++}.vq`), { dim: d, description, storeVectors: 'float32', ids: 'string' })
    expect(await code(strings.addFile(file))).toBe('ID_KIND')
    expect(index.size).toBe(2501)
  })
})

describe('addStream', () => {
  function* blocks(size: number): Generator<{ start: number; n: number; x: Float32Array }> {
    for (let s = 0; s < n; s += size) {
      const m = Math.min(size, n - s)
      yield { start: s, n: m, x: x.slice(s * d, (s + m) * d) }
    }
  }

  it('trains on the first block, adds the rest, resumes where the committed rows end', async () => {
    const index = fresh()
    const stop = new AbortController()
    const first = index.addStream(blocks(1500), {
      signal: stop.signal,
      onProgress: (p) => {
        if (p.done >= 3000) stop.abort()
      },
    })
    expect(await code(first)).toBe('ABORTED')
    expect(index.size).toBe(3000)
    expect(index.manifest.training?.vectors).toBe(1500)
    const r = await index.addStream(blocks(1000))
    expect(r).toEqual({ added: 3000, resumedAt: 3000, rows: n, trained: false })
    for (const id of [0, 2999, 3000, n - 1]) expect(index.get(id)?.vector).toEqual(x.subarray(id * d, (id + 1) * d))
  })

  it('a gap between blocks or a block of the wrong size is refused', async () => {
    const index = fresh()
    await index.addStream(blocks(1000), { end: 1000 })
    expect(index.size).toBe(1000)
    const gap = [{ start: 1500, n: 10, x: x.slice(0, 10 * d) }]
    expect(await code(index.addStream(gap))).toBe('BAD_VECTORS')
    const bad = [{ start: 1000, n: 10, x: x.slice(0, 9 * d) }]
    expect(await code(index.addStream(bad))).toBe('DIMENSION_MISMATCH')
    expect(index.size).toBe(1000)
  })
})
