import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { minTrainingVectors, type VqError, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vq-reconf-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const d = 16
const n = 600
const x = clusteredVectors(n, d, 12, 7)
const q = clusteredVectors(40, d, 12, 99)
const ids = Array.from({ length: n }, (_, i) => i)

/** recall@10 of index against exact search over x. */
async function recall(index: VqIndex, opts: { nprobe?: number; refineFactor?: number } = {}): Promise<number> {
  const exact = VqIndex.create(':memory:', { dim: d })
  await exact.add(ids, x)
  let hit = 0
  const nq = q.length / d
  for (let i = 0; i < nq; i++) {
    const qi = q.subarray(i * d, (i + 1) * d)
    const want = new Set(Array.from(exact.search(qi, 10).ids as ArrayLike<number>))
    for (const id of Array.from(index.search(qi, 10, opts).ids as ArrayLike<number>)) if (want.has(id)) hit++
  }
  await exact.close()
  return hit / (nq * 10)
}

async function codeOf(e: unknown): Promise<string> {
  return (e as VqError).code
}

describe('reconfigure()', () => {
  it('Flat -> IVF,PQ,RFlat: new description in memory and on reopen, recall checked against exact', async () => {
    const path = join(dir, 'flat.vq')
    const a = VqIndex.create(path, { dim: d, storeVectors: 'float32' })
    await a.add(ids, x)
    expect(a.description).toBe('Flat')
    const reader = VqIndex.open(path, { readonly: true })
    await a.reconfigure('IVF8,PQ4x4,RFlat')
    expect(a.description).toBe('IVF8,PQ4x4,RFlat')
    expect(a.spec.ivf?.nlist).toBe(8)
    expect(a.count()).toBe(n)
    expect(await recall(a, { nprobe: 8, refineFactor: 10 })).toBeGreaterThan(0.9)
    expect(reader.refresh()).toBe(true)
    expect(reader.description).toBe('IVF8,PQ4x4,RFlat')
    expect(await recall(reader, { nprobe: 8, refineFactor: 10 })).toBeGreaterThan(0.9)
    await reader.close()
    await a.close()
    const b = VqIndex.open(path)
    expect(b.description).toBe('IVF8,PQ4x4,RFlat')
    expect(await recall(b, { nprobe: 8, refineFactor: 10 })).toBeGreaterThan(0.9)
    // adds after the switch go through the new model
    await b.add([n], x.subarray(0, d))
    expect(b.count()).toBe(n + 1)
    await b.close()
  })

  it('SQ8 -> IVF,SQ8 and PQ -> Flat', async () => {
    const a = VqIndex.create(':memory:', { dim: d, description: 'SQ8', storeVectors: 'float32' })
    await a.add(ids, x, undefined, { train: true })
    await a.reconfigure('IVF4,SQ8')
    expect(a.description).toBe('IVF4,SQ8')
    expect(await recall(a, { nprobe: 4 })).toBeGreaterThan(0.85)
    await a.close()
    const p = VqIndex.create(':memory:', { dim: d, description: 'PQ4x4', storeVectors: 'float16' })
    await p.add(ids, x, undefined, { train: true })
    await p.reconfigure('Flat')
    expect(p.description).toBe('Flat')
    expect(await recall(p)).toBeGreaterThan(0.95)
    await p.close()
  })

  it('refuses a bad description, too few vectors, no stored vectors, and an abort: nothing changes', async () => {
    const path = join(dir, 'refused.vq')
    const a = VqIndex.create(path, { dim: d, storeVectors: 'float32' })
    await a.add(ids.slice(0, 100), x.subarray(0, 100 * d))
    const before = readFileSync(path)
    const reader = VqIndex.open(path, { readonly: true })
    expect(await a.reconfigure('IVF8,Bogus').catch(codeOf)).toBe('BAD_DESCRIPTION')
    expect(await a.reconfigure('PQ5').catch(codeOf)).toBe('BAD_OPTION') // 5 does not divide 16
    expect(await a.reconfigure('IVF200,SQ8').catch(codeOf)).toBe('TOO_FEW_TRAINING_POINTS')
    const ac = new AbortController()
    ac.abort()
    expect(await a.reconfigure('IVF4,SQ8', { signal: ac.signal }).catch(codeOf)).toBe('ABORTED')
    // aborted mid-training (from the first progress report)
    const mid = new AbortController()
    const midway = a.reconfigure('IVF4,PQ4x4', { signal: mid.signal, onProgress: () => mid.abort() })
    expect(await midway.catch(codeOf)).toBe('ABORTED')
    expect(a.description).toBe('Flat')
    expect(a.search(x.subarray(0, d), 1).ids[0]).toBe(0)
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(reader.refresh()).toBe(false) // no commit reached the file
    await reader.close()
    await a.close()
    expect(VqIndex.open(path, { readonly: true }).description).toBe('Flat')
    const none = VqIndex.create(':memory:', { dim: d })
    await none.add([1], x.subarray(0, d))
    expect(await none.reconfigure('SQ8').catch(codeOf)).toBe('NO_VECTORS')
  })

  it('a string-id index keeps its keys', async () => {
    const a = VqIndex.create(':memory:', { dim: d, ids: 'string', storeVectors: 'float32' })
    const keys = ids.map((i) => `doc-${i}`)
    await a.add(keys, x)
    await a.reconfigure('IVF4,SQ8')
    const r = a.search(x.subarray(5 * d, 6 * d), 1, { nprobe: 4 })
    expect(r.ids[0]).toBe('doc-5')
    expect(a.has('doc-599')).toBe(true)
    await a.close()
  })

  it('minTrainingVectors', () => {
    expect(minTrainingVectors('Flat')).toBe(1)
    expect(minTrainingVectors('IVF64,PQ16,RFlat')).toBe(256)
    expect(minTrainingVectors('IVF1024,PQ16x4')).toBe(1024)
    expect(minTrainingVectors('IVF256,SQ8')).toBe(256)
    expect(() => minTrainingVectors('nope')).toThrow()
  })
})
