import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { heapInit, heapPushMany, heapSort } from '../../native-free-kernels/index.js'

/** The naive reference: sort all (distance, label) pairs and keep k. */
function naiveTopK(values: number[], k: number): { d: number[]; l: number[] } {
  const pairs = values.map((v, i) => [Math.fround(v), i] as const)
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const kept = pairs.slice(0, k)
  const d = kept.map((p) => p[0])
  const l = kept.map((p) => p[1])
  while (d.length < k) {
    d.push(Infinity)
    l.push(-1)
  }
  return { d, l }
}

describe('bounded top-k heap', () => {
  it('keeps the k smallest in ascending (distance, label) order, padded with -1', () => {
    // Few distinct values force many ties; k may exceed n.
    const values = fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.float({ min: -100, max: 100, noNaN: true })), { maxLength: 200 })
    fc.assert(
      fc.property(values, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 7 }), (vals, k, chunks) => {
        const dist = new Float32Array(k)
        const label = new Float64Array(k)
        heapInit(k, dist, label)
        const cand = Float32Array.from(vals)
        // Push in several chunks with label offsets, as a scan over blocks does.
        const step = Math.ceil(cand.length / chunks) || 1
        for (let o = 0; o < cand.length; o += step) {
          const part = cand.subarray(o, Math.min(cand.length, o + step))
          heapPushMany(k, dist, label, part, part.length, o)
        }
        heapSort(k, dist, label)
        const want = naiveTopK(vals, k)
        expect(Array.from(dist)).toEqual(want.d)
        expect(Array.from(label)).toEqual(want.l)
      }),
      { numRuns: 500 },
    )
  })
})
