/** copyLists (refresh's copy-on-write while pooled searches run): same items, same order, new arenas. */
import { describe, expect, it } from 'vitest'
import { copyLists } from '../../src/engine/loader.js'
import { InvertedLists, type ListsView } from '../../src/ivf/inverted-lists.js'

/** Per list: ids, seqs, codes, refine codes and terms in list order. */
function contents(v: ListsView): unknown[] {
  const out: unknown[] = []
  for (let l = 0; l < v.nlist; l++) {
    const s = v.start[l]!
    const n = v.size[l]!
    out.push({
      ids: Array.from(v.ids.subarray(s, s + n)),
      seqs: Array.from(v.seqs.subarray(s, s + n)),
      codes: Array.from(v.codes.subarray(s * v.codeSize, (s + n) * v.codeSize)),
      refine: v.refine ? Array.from(v.refine.subarray(s * v.refineSize, (s + n) * v.refineSize)) : null,
      terms: v.terms ? Array.from(v.terms.subarray(s, s + n)) : null,
    })
  }
  return out
}

describe('copyLists', () => {
  for (const [refineSize, withTerms] of [
    [0, false],
    [3, true],
  ] as const) {
    it(`copies every list in order (refine ${refineSize} bytes, terms ${withTerms}) into arenas the original does not share`, () => {
      const nlist = 4
      const cs = 5
      const n = 300
      const lists = Int32Array.from({ length: n }, (_, i) => (i * 7) % nlist)
      const ids = Float64Array.from({ length: n }, (_, i) => 1000 + i)
      const seqs = Uint32Array.from({ length: n }, (_, i) => i + 1)
      const codes = Uint8Array.from({ length: n * cs }, (_, i) => (i * 31) & 255)
      const refine = refineSize > 0 ? Uint8Array.from({ length: n * refineSize }, (_, i) => (i * 17) & 255) : null
      const terms = withTerms ? Float32Array.from({ length: n }, (_, i) => i / 8) : null
      const original = new InvertedLists(nlist, cs, refineSize, withTerms, 16)
      original.append(lists, ids, seqs, codes, refine, terms)
      original.remove(new Set([1000, 1005, 1100, 1299]))
      const want = contents(original.view())

      const copy = copyLists(original, withTerms)
      expect(copy.count).toBe(original.count)
      expect(contents(copy.view())).toEqual(want)
      expect(copy.view().codes.buffer).not.toBe(original.view().codes.buffer)
      // Changing the copy leaves the original (what the workers read) as it was.
      copy.remove(new Set([1001, 1002, 1003]))
      expect(contents(original.view())).toEqual(want)
      expect(copy.count).toBe(original.count - 3)
    })
  }
})
