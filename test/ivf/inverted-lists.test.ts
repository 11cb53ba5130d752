/**
 * InvertedLists: what survives where after appends that relocate a list or re-lay out the
 * arena, and after removals; the order of the remaining items; and the stamps that tell
 * scanners a list changed.
 */
import { describe, expect, it } from 'vitest'
import { InvertedLists, type ListsView } from '../../src/ivf/inverted-lists.js'

const CS = 3
const RS = 2

/** Items with ids `ids` in lists `lists`: code [id&255, id>>8, 7], refine [id&255, 1], term id + 0.5, seq 2*id. */
function batch(ids: number[], lists: number[]): [number[], number[], number[], Uint8Array, Uint8Array, Float32Array] {
  const codes = new Uint8Array(ids.length * CS)
  const refine = new Uint8Array(ids.length * RS)
  const terms = new Float32Array(ids.length)
  ids.forEach((id, i) => {
    codes.set([id & 255, id >> 8, 7], i * CS)
    refine.set([id & 255, 1], i * RS)
    terms[i] = id + 0.5
  })
  return [lists, ids, ids.map((id) => 2 * id), codes, refine, terms]
}

/** The ids of list l in slot order, checking that every slot's code, refine code, term and seq belong to its id. */
function items(view: ListsView, l: number): number[] {
  const out: number[] = []
  for (let s = view.start[l]!; s < view.start[l]! + view.size[l]!; s++) {
    const id = view.ids[s]!
    expect(Array.from(view.codes.subarray(s * CS, (s + 1) * CS))).toEqual([id & 255, id >> 8, 7])
    expect(Array.from(view.refine!.subarray(s * RS, (s + 1) * RS))).toEqual([id & 255, 1])
    expect(view.terms![s]).toBe(id + 0.5)
    expect(view.seqs[s]).toBe(2 * id)
    out.push(id)
  }
  return out
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i)

describe('InvertedLists', () => {
  it('appends keep the batch order within each list and bump only the stamps of lists that grew', () => {
    const lists = new InvertedLists(3, CS, RS, true, 64)
    lists.append(...batch([10, 11, 12, 13], [0, 2, 0, 2]))
    const v1 = lists.view()
    expect(items(v1, 0)).toEqual([10, 12])
    expect(items(v1, 1)).toEqual([])
    expect(items(v1, 2)).toEqual([11, 13])
    expect(v1.count).toBe(4)
    lists.append(...batch([14, 15], [2, 2]))
    const v2 = lists.view()
    expect(items(v2, 2)).toEqual([11, 13, 14, 15])
    expect(v2.stamps[2]).toBeGreaterThan(v1.stamps[2]!)
    expect(v2.stamps[0]).toBe(v1.stamps[0])
    expect(v2.stamps[1]).toBe(v1.stamps[1])
    // A view is a snapshot of sizes and stamps.
    expect(v1.size[2]).toBe(2)
    expect(lists.slotOf(14)).toBe(v2.start[2]! + 2)
    expect(Array.from(lists.codeAt(lists.slotOf(14)))).toEqual([14, 0, 7])
    expect(lists.slotOf(99)).toBe(-1)
  })

  it('a list that outgrows its range moves to the end of the arena with its items in order; the others stay put', () => {
    const lists = new InvertedLists(3, CS, RS, true, 200)
    lists.append(...batch(range(0, 8), Array(8).fill(0)))
    lists.append(...batch(range(100, 108), Array(8).fill(1)))
    lists.append(...batch(range(200, 208), Array(8).fill(2)))
    const before = lists.view()
    // Lists got 8 slots each; 4 more items do not fit list 1's range.
    lists.append(...batch(range(108, 112), Array(4).fill(1)))
    const after = lists.view()
    expect(after.codes).toBe(before.codes)
    expect(after.start[1]).toBeGreaterThan(before.start[2]!)
    expect(after.start[0]).toBe(before.start[0])
    expect(after.start[2]).toBe(before.start[2])
    expect(items(after, 1)).toEqual(range(100, 112))
    expect(items(after, 0)).toEqual(range(0, 8))
    expect(items(after, 2)).toEqual(range(200, 208))
    expect(after.stamps[1]).toBeGreaterThan(before.stamps[1]!)
    expect(after.stamps[0]).toBe(before.stamps[0])
  })

  it('a full arena is re-laid out compactly into new buffers, every list keeping its items in order', () => {
    const lists = new InvertedLists(4, CS, RS, true, 16)
    for (let round = 0; round < 6; round++) {
      const ids = range(round * 10, round * 10 + 10)
      lists.append(
        ...batch(
          ids,
          ids.map((id) => id % 4),
        ),
      )
    }
    const before = lists.view()
    lists.append(...batch(range(1000, 1040), Array(40).fill(3)))
    const after = lists.view()
    expect(after.codes).not.toBe(before.codes)
    expect(after.count).toBe(100)
    for (let l = 0; l < 3; l++) {
      expect(items(after, l)).toEqual(range(0, 60).filter((id) => id % 4 === l))
      // Moved, not changed: the stamps of lists that got nothing stay.
      expect(after.stamps[l]).toBe(before.stamps[l])
    }
    expect(items(after, 3)).toEqual([...range(0, 60).filter((id) => id % 4 === 3), ...range(1000, 1040)])
    // Ranges do not overlap.
    const spans = [0, 1, 2, 3].map((l) => [after.start[l]!, after.start[l]! + after.size[l]!] as const).sort((a, b) => a[0] - b[0])
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1])
  })

  it('remove keeps the order of the remaining items and changes the stamps of exactly the lists it changed', () => {
    const lists = new InvertedLists(3, CS, RS, true, 64)
    lists.append(
      ...batch(
        range(0, 30),
        range(0, 30).map((i) => i % 3),
      ),
    )
    const before = lists.view()
    expect(lists.remove(new Set([0, 3, 4, 5, 27, 99]))).toBe(5)
    const after = lists.view()
    expect(after.count).toBe(25)
    expect(items(after, 0)).toEqual(range(0, 30).filter((i) => i % 3 === 0 && ![0, 3, 27].includes(i)))
    expect(items(after, 1)).toEqual(range(0, 30).filter((i) => i % 3 === 1 && i !== 4))
    expect(items(after, 2)).toEqual(range(0, 30).filter((i) => i % 3 === 2 && i !== 5))
    for (let l = 0; l < 3; l++) expect(after.stamps[l]).toBeGreaterThan(before.stamps[l]!)
    // Removing nothing, or only list 1's items, changes nothing else.
    expect(lists.remove(new Set([99]))).toBe(0)
    expect(lists.remove(new Set([7, 10]))).toBe(2)
    const last = lists.view()
    expect(items(last, 1)).toEqual(range(0, 30).filter((i) => i % 3 === 1 && ![4, 7, 10].includes(i)))
    expect(last.stamps[1]).toBeGreaterThan(after.stamps[1]!)
    expect(last.stamps[0]).toBe(after.stamps[0])
    expect(last.stamps[2]).toBe(after.stamps[2])
    // Appends after a removal go after the remaining items.
    lists.append(...batch([3], [0]))
    expect(items(lists.view(), 0).at(-1)).toBe(3)
  })

  it('build() lays out each list with exactly its items (plus slack), in input order', () => {
    const ids = range(0, 50)
    const lists = InvertedLists.build(
      5,
      CS,
      RS,
      ...(batch(
        ids,
        ids.map((i) => (i * 7) % 5),
      ) as [number[], number[], number[], Uint8Array, Uint8Array, Float32Array]),
      0,
    )
    const v = lists.view()
    for (let l = 0; l < 5; l++) {
      expect(items(v, l)).toEqual(ids.filter((i) => (i * 7) % 5 === l))
      if (l > 0) expect(v.start[l]).toBe(v.start[l - 1]! + v.size[l - 1]!)
    }
  })

  it('each instance has its own identity, carried by its views', () => {
    const a = new InvertedLists(2, CS, 0, false)
    const b = new InvertedLists(2, CS, 0, false)
    expect(a.uid).not.toBe(b.uid)
    expect(Number.isSafeInteger(a.uid) && a.uid > 0).toBe(true)
    expect(a.view().uid).toBe(a.uid)
    expect(a.view().terms).toBeNull()
    expect(a.view().refine).toBeNull()
  })
})
