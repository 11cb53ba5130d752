/**
 * Pad<d>: zero dimensions appended before the codecs. An index "Pad112,<rest>" over 100-d
 * vectors gives exactly the results of "<rest>" over the same vectors zero-padded to 112
 * (same seed: same training, same codes, same distances), for PQ, IVF-PQ with residuals and
 * the 4-bit fast-scan path, with exact re-ranking; it persists, reconstructs to 100-d, and
 * bad pads are typed errors.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { VqError } from '../../src/errors.js'
import { formatIndexDescription, minTrainingVectors, parseIndexDescription } from '../../src/factory/parse.js'
import { PadTransform } from '../../src/transforms/pad.js'
import { VqIndex } from '../../src/vq-index.js'
import { randomVectors } from '../helpers/data.js'

const dir = mkdtempSync(join(tmpdir(), 'vqlite-pad-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const d = 100
const dp = 112
const n = 1500
const nq = 30

function padded(x: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(rows * dp)
  for (let i = 0; i < rows; i++) out.set(x.subarray(i * d, (i + 1) * d), i * dp)
  return out
}

describe('PadTransform', () => {
  it('appends zeros and reverse drops them', () => {
    const t = new PadTransform(3, 5)
    const out = new Float32Array(10).fill(9)
    t.apply(Float32Array.of(1, 2, 3, 4, 5, 6), 2, out)
    expect([...out]).toEqual([1, 2, 3, 0, 0, 4, 5, 6, 0, 0])
    const back = new Float32Array(6)
    t.reverse(out, 2, back)
    expect([...back]).toEqual([1, 2, 3, 4, 5, 6])
    expect(() => new PadTransform(8, 7)).toThrow(VqError)
    expect(() => new PadTransform(8, 2.5)).toThrow(VqError)
  })

  it('parses and formats as FAISS names it', () => {
    const spec = parseIndexDescription('Pad112,IVF64,PQ16,RFlat')
    expect(spec.transform).toEqual({ kind: 'pad', dOut: 112 })
    expect(formatIndexDescription(spec, 100)).toBe('Pad112,IVF64,PQ16,RFlat')
    expect(minTrainingVectors('Pad112,IVF64,PQ16x4')).toBe(64)
    expect(() => parseIndexDescription('Pad112,OPQ16,PQ16')).toThrow(VqError)
  })
})

describe('an index with Pad<d> equals the index over zero-padded vectors', () => {
  const x = randomVectors(n, d, 11)
  const q = randomVectors(nq, d, 12)
  for (const [rest, metric] of [
    ['PQ28', 'l2'],
    ['IVF16,PQ16,RFlat', 'l2'],
    ['IVF16,PQ16x4', 'l2'],
    ['IVF16,PQ8x4,RFlat', 'ip'],
  ] as const) {
    it(`Pad112,${rest} (${metric}) on ${d}-d = ${rest} on ${dp}-d`, async () => {
      const a = VqIndex.create(join(dir, `a-${rest}-${metric}.vqlite`), {
        dim: d,
        metric,
        description: `Pad${dp},${rest}`,
        storeVectors: 'float32',
      })
      const b = VqIndex.create(join(dir, `b-${rest}-${metric}.vqlite`), { dim: dp, metric, description: rest, storeVectors: 'float32' })
      await a.train(x, { seed: 5 })
      await b.train(padded(x, n), { seed: 5 })
      const ids = Array.from({ length: n }, (_, i) => i)
      await a.add(ids, x)
      await b.add(ids, padded(x, n))
      expect(a.description).toBe(`Pad${dp},${rest}`)
      for (let i = 0; i < nq; i++) {
        const ra = a.search(q.subarray(i * d, (i + 1) * d), 10, { nprobe: 4 })
        const rb = b.search(padded(q.subarray(i * d, (i + 1) * d), 1), 10, { nprobe: 4 })
        expect([...ra.ids]).toEqual([...rb.ids])
        for (let j = 0; j < 10; j++) expect(ra.distances[j]).toBeCloseTo(rb.distances[j]!, 4)
      }
      // worker threads rebuild the model from its spec: the same answers
      const batch = await a.searchBatch(q, 10, { nprobe: 4, threads: 2 })
      const one = a.search(q.subarray((nq - 1) * d), 10, { nprobe: 4 })
      expect([...batch.ids.subarray((nq - 1) * 10, nq * 10)]).toEqual([...one.ids])
      const rec = a.reconstruct(7)
      expect(rec.length).toBe(d)
      expect([...rec]).toEqual([...b.reconstruct(7).subarray(0, d)])
      await a.close()
      await b.close()
      // persisted: the reopened index answers the same
      const a2 = VqIndex.open(join(dir, `a-${rest}-${metric}.vqlite`))
      const b2 = VqIndex.open(join(dir, `b-${rest}-${metric}.vqlite`))
      const ra = a2.search(q.subarray(0, d), 10, { nprobe: 4 })
      const rb = b2.search(padded(q.subarray(0, d), 1), 10, { nprobe: 4 })
      expect([...ra.ids]).toEqual([...rb.ids])
      await a2.close()
      await b2.close()
    })
  }

  it('refuses a pad below the dimension, PQ m not dividing the padded dimension, and FAISS export (typed)', async () => {
    const bad = (description: string) => () => VqIndex.create(join(dir, `bad-${description}.vqlite`), { dim: d, description })
    expect(bad('Pad96,PQ16')).toThrow(VqError)
    expect(bad('Pad110,PQ16')).toThrow(/must divide/)
    try {
      bad('PQ16')()
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(VqError)
      expect((e as VqError).code).toBe('BAD_OPTION')
      expect((e as Error).message).toContain('Pad112')
    }
    const ix = VqIndex.create(join(dir, 'faiss.vqlite'), { dim: d, description: 'Pad104,PQ8' })
    await ix.train(randomVectors(300, d, 3))
    await expect(ix.toFaiss(join(dir, 'x.faiss'))).rejects.toBeInstanceOf(VqError)
    await ix.close()
  })
})
