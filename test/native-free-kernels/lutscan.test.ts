import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createReferenceLutScan,
  createWasmKernels,
  fastScanPackedSize,
  getKernels,
  heapInit,
  type LutScan,
  type LutScanSegment,
  lutScanEstimate,
  lutScanEstimates,
  lutScanSearchReference,
  lutScanUnpack,
  wasmAvailable,
} from '../../native-free-kernels/index.js'
import { WasmRuntime } from '../../native-free-kernels/wasm/index.js'
import { Rng } from '../../src/util/random.js'
import { makeSegment, type Seg } from '../helpers/lutscan.js'

const run = wasmAvailable() ? describe : describe.skip

/** A byte table for m sub-codes: full range 0..255, or small integers as a query of few bits gives. */
function makeTable(m: number, rng: Rng, max = rng.int(2) === 0 ? 255 : 1 + rng.int(63)): Uint8Array {
  return Uint8Array.from({ length: m * 16 }, () => rng.int(max + 1))
}

const consts3 = (rng: Rng): number[] => [rng.float() * 0.1 - 0.02, rng.float() * 4 - 2, rng.float() * 2 - 1]

/** Sizes around the block of 32. */
const sizeArb = fc.oneof(fc.constantFrom(0, 1, 2, 31, 32, 33, 63, 64, 65), fc.integer({ min: 0, max: 300 }))

function sameBits(got: Float32Array, want: Float32Array, n: number, what: string): void {
  for (let i = 0; i < n; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what}: item ${i}: ${got[i]} vs ${want[i]}`)
  }
}

describe('lookup-table scan reference (reference/lutscan.ts)', () => {
  it('fastScanPack then lutScanUnpack gives the sub-codes back, random m 1..200 and n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), sizeArb, fc.integer(), (m, n, seed) => {
        const s = makeSegment(n, m, new Rng(seed))
        const back = lutScanUnpack(s.packed, 0, n, m)
        expect(back.length).toBe(n * m)
        const bad = back.findIndex((v, i) => v !== s.codes[i])
        expect(bad, `m=${m} n=${n}: first difference`).toBe(-1)
      }),
      { seed: 16, numRuns: 60 },
    )
  })

  it('lutScanEstimate is float32 arithmetic in the documented order (stepwise through a Float32Array)', () => {
    const rng = new Rng(3)
    const t = new Float32Array(8)
    for (let trial = 0; trial < 2000; trial++) {
      const raw = rng.int(200 * 255 + 1)
      t.set([rng.normal(), rng.normal() * 10, rng.normal() * 1e-3, rng.normal(), rng.normal() * 100])
      const [a, b, alpha, beta, gamma] = t
      t[5] = alpha! * raw
      t[5] = t[5]! + beta!
      t[5] = b! * t[5]!
      t[5] = a! + t[5]!
      t[5] = t[5]! + gamma!
      expect(Object.is(lutScanEstimate(raw, a!, b!, alpha!, beta!, gamma!), t[5])).toBe(true)
    }
    // Not the float64 value: each step rounds.
    expect(lutScanEstimate(3, 0.1, 0.3, 0.7, 0.9, 0.11)).toBe(
      Math.fround(
        Math.fround(Math.fround(0.1) + Math.fround(Math.fround(0.3) * Math.fround(Math.fround(Math.fround(0.7) * 3) + Math.fround(0.9)))) +
          Math.fround(0.11),
      ),
    )
  })
})

run('WebAssembly lookup-table scan against the reference', () => {
  const w = wasmAvailable() ? getKernels('wasm') : null

  it('estimates(): the bits of the reference, random m 1..200 (odd, even), n 0..300, tables 0..255, negative b', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), sizeArb, fc.integer(), (m, n, seed) => {
        const rng = new Rng(seed)
        const ls = w!.createLutScan!(m)
        const s = makeSegment(n, m, rng)
        ls.setSegment(7, s.packed, n, s.a, s.b)
        const table = makeTable(m, rng)
        const [alpha, beta, gamma] = consts3(rng)
        const want = new Float32Array(n + 1).fill(-7)
        const got = new Float32Array(n + 1).fill(-7)
        lutScanEstimates(s.codes, n, m, table, s.a, s.b, alpha!, beta!, gamma!, want)
        ls.estimates(7, table, alpha!, beta!, gamma!, got)
        sameBits(got, want, n, `m=${m} n=${n}`)
        expect(got[n]).toBe(-7)
        ls.free()
      }),
      { seed: 160, numRuns: 60 },
    )
  })

  it('estimates() with m past the u16 range (sums widened to 32 bits): every entry 255 and random', () => {
    for (const m of [256, 257, 258, 300, 513, 768]) {
      const rng = new Rng(m)
      const n = 70
      const ls = w!.createLutScan!(m)
      const s = makeSegment(n, m, rng)
      ls.setSegment(0, s.packed, n, new Float32Array(n), new Float32Array(n).fill(1))
      const got = new Float32Array(n)
      // a = 0, b = 1, alpha = 1, beta = gamma = 0: est = raw, = 255 m with a full table.
      ls.estimates(0, new Uint8Array(m * 16).fill(255), 1, 0, 0, got)
      for (let i = 0; i < n; i++) expect(got[i]).toBe(255 * m)
      const table = makeTable(m, rng, 255)
      const want = new Float32Array(n)
      ls.setSegment(0, s.packed, n, s.a, s.b)
      lutScanEstimates(s.codes, n, m, table, s.a, s.b, 0.01, -0.5, 0.25, want)
      ls.estimates(0, table, 0.01, -0.5, 0.25, got)
      sameBits(got, want, n, `m=${m}`)
      ls.free()
    }
  })

  /** Runs search on both sides from the same heap and checks the raw heap arrays are equal. */
  function bothSearch(
    ls: LutScan,
    segments: Array<LutScanSegment | undefined>,
    m: number,
    segs: Int32Array,
    tables: Uint8Array,
    consts: Float32Array,
    k: number,
    hd: Float32Array,
    hl: Float64Array,
    what: string,
  ): void {
    const rd = hd.slice()
    const rl = hl.slice()
    const want = lutScanSearchReference(segments, m, segs, segs.length, tables, consts, k, rd, rl)
    const got = ls.search(segs, segs.length, tables, consts, k, hd, hl)
    expect(got, `${what}: scanned`).toBe(want)
    // The same candidates offered in the same order: the same heap, slot for slot.
    expect(Array.from(hl), `${what}: labels`).toEqual(Array.from(rl))
    sameBits(hd, rd, k, `${what}: distances`)
  }

  it('search(): the heap of the reference, slot for slot, over many segments with their own tables, k up to beyond the items', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(sizeArb, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(1, 2, 10, 100, 5000),
        fc.integer(),
        (m, sizes, k, seed) => {
          const rng = new Rng(seed)
          const ls = w!.createLutScan!(m)
          const segments: Array<Seg | undefined> = []
          sizes.forEach((n, s) => {
            segments[3 * s] = makeSegment(n, m, rng)
            ls.setSegment(3 * s, segments[3 * s]!.packed, n, segments[3 * s]!.a, segments[3 * s]!.b)
          })
          // Segments in any order, some twice, one never set (3s + 1: empty).
          const segs = Int32Array.from({ length: sizes.length + 2 }, () => 3 * rng.int(sizes.length) + (rng.int(8) === 0 ? 1 : 0))
          const tables = Uint8Array.from({ length: segs.length * m * 16 }, () => rng.int(256))
          const consts = Float32Array.from({ length: segs.length * 3 }, (_, j) => consts3(rng)[j % 3]!)
          const hd = new Float32Array(k)
          const hl = new Float64Array(k)
          heapInit(k, hd, hl)
          bothSearch(ls, segments, m, segs, tables, consts, k, hd, hl, `m=${m} k=${k}`)
          // A second call continues from the heap the first left.
          for (let j = 0; j < consts.length; j += 3) consts[j + 1] = consts[j + 1]! - 0.5
          bothSearch(ls, segments, m, segs, tables, consts, k, hd, hl, `m=${m} k=${k}, again`)
          ls.free()
        },
      ),
      { seed: 1616, numRuns: 50 },
    )
  })

  it('search(): equal estimates are kept by the smaller label (heapPush ties), across segments', () => {
    const m = 5
    const ls = w!.createLutScan!(m)
    const segments: LutScanSegment[] = []
    const rng = new Rng(9)
    for (let s = 0; s < 3; s++) {
      const g = makeSegment(40, m, rng)
      // b = 0: every estimate is a + gamma = 1.5 exactly.
      segments.push({ ...g, a: new Float32Array(40).fill(1), b: new Float32Array(40) })
      ls.setSegment(s, g.packed, 40, segments[s]!.a, segments[s]!.b)
    }
    const segs = Int32Array.from([2, 0, 1])
    const tables = Uint8Array.from({ length: 3 * m * 16 }, () => rng.int(256))
    const consts = Float32Array.from([0.3, 1, 0.5, 0.1, 2, 0.5, 1, -3, 0.5])
    const k = 7
    const hd = new Float32Array(k)
    const hl = new Float64Array(k)
    heapInit(k, hd, hl)
    bothSearch(ls, segments, m, segs, tables, consts, k, hd, hl, 'ties')
    expect(Array.from(hl).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(Array.from(hd)).toEqual(new Array(k).fill(1.5))
    ls.free()
  })

  it('search(): non-finite estimates as the reference (NaN never enters; Infinity enters a heap with empty slots)', () => {
    const m = 4
    const n = 70
    const ls = w!.createLutScan!(m)
    const rng = new Rng(11)
    const g = makeSegment(n, m, rng)
    const pick = [Number.NaN, Infinity, -Infinity, 0, -0, 1e38, -1e38]
    const a = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? pick[rng.int(pick.length)]! : rng.float()))
    const b = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? pick[rng.int(pick.length)]! : rng.float() - 0.5))
    const seg = { ...g, a, b }
    ls.setSegment(0, g.packed, n, a, b)
    const tables = makeTable(m, rng)
    const got = new Float32Array(n)
    const want = new Float32Array(n)
    ls.estimates(0, tables, 0.5, -1, 0.25, got)
    lutScanEstimates(g.codes, n, m, tables, a, b, 0.5, -1, 0.25, want)
    sameBits(got, want, n, 'non-finite')
    expect(want.some((v) => Number.isNaN(v))).toBe(true)
    expect(want.some((v) => v === Infinity)).toBe(true)
    for (const k of [3, 80]) {
      const hd = new Float32Array(k)
      const hl = new Float64Array(k)
      heapInit(k, hd, hl)
      bothSearch(ls, [seg], m, Int32Array.of(0), tables, Float32Array.of(0.5, -1, 0.25), k, hd, hl, `non-finite k=${k}`)
    }
    ls.free()
  })

  it('search(): k = 0 leaves the heap alone and counts the codes; an empty list of segments scans nothing', () => {
    const m = 3
    const ls = w!.createLutScan!(m)
    const g = makeSegment(50, m, new Rng(1))
    ls.setSegment(0, g.packed, 50, g.a, g.b)
    const tables = new Uint8Array(m * 16)
    const consts = new Float32Array(3)
    expect(ls.search(Int32Array.of(0), 1, tables, consts, 0, new Float32Array(0), new Float64Array(0))).toBe(50)
    const hd = new Float32Array(2)
    const hl = new Float64Array(2)
    heapInit(2, hd, hl)
    expect(ls.search(new Int32Array(0), 0, tables, consts, 2, hd, hl)).toBe(0)
    expect(Array.from(hl)).toEqual([-1, -1])
    ls.free()
  })

  it('segments replaced with other sizes (larger, smaller, empty) are scanned as replaced', () => {
    const m = 33
    const ls = w!.createLutScan!(m)
    const rng = new Rng(4)
    const segments: Array<Seg | undefined> = []
    for (const sizes of [
      [10, 500, 0],
      [700, 3, 65],
      [0, 1, 33],
      [31, 2000, 64],
    ]) {
      sizes.forEach((n, s) => {
        segments[s] = makeSegment(n, m, rng)
        ls.setSegment(s, segments[s]!.packed, n, segments[s]!.a, segments[s]!.b)
      })
      const segs = Int32Array.of(0, 1, 2)
      const tables = Uint8Array.from({ length: 3 * m * 16 }, () => rng.int(256))
      const consts = Float32Array.from({ length: 9 }, (_, j) => consts3(rng)[j % 3]!)
      for (const k of [1, 16, 3000]) {
        const hd = new Float32Array(k)
        const hl = new Float64Array(k)
        heapInit(k, hd, hl)
        bothSearch(ls, segments, m, segs, tables, consts, k, hd, hl, `sizes ${sizes} k=${k}`)
      }
      for (let s = 0; s < 3; s++) {
        const n = sizes[s]!
        const want = new Float32Array(n)
        const got = new Float32Array(n)
        lutScanEstimates(segments[s]!.codes, n, m, tables, segments[s]!.a, segments[s]!.b, consts[0]!, consts[1]!, consts[2]!, want)
        ls.estimates(s, tables, consts[0]!, consts[1]!, consts[2]!, got)
        sameBits(got, want, n, `sizes ${sizes} seg ${s}`)
      }
    }
    ls.free()
  })

  it('createReferenceLutScan: the same interface gives the same heaps and estimates as the wasm engine', () => {
    const m = 9
    const rng = new Rng(21)
    const engines = [w!.createLutScan!(m), createReferenceLutScan(m)]
    for (const sizes of [
      [100, 0, 37],
      [5, 64, 1000],
    ]) {
      sizes.forEach((n, s) => {
        const g = makeSegment(n, m, rng)
        for (const e of engines) e.setSegment(s, g.packed, n, g.a, g.b)
      })
      const segs = Int32Array.of(2, 0, 1, 5)
      const tables = Uint8Array.from({ length: segs.length * m * 16 }, () => rng.int(256))
      const consts = Float32Array.from({ length: segs.length * 3 }, (_, j) => consts3(rng)[j % 3]!)
      const heaps = engines.map((e) => {
        const hd = new Float32Array(20)
        const hl = new Float64Array(20)
        heapInit(20, hd, hl)
        const scanned = e.search(segs, segs.length, tables, consts, 20, hd, hl)
        expect(scanned).toBe(sizes.reduce((x, y) => x + y, 0))
        return [Array.from(hd), Array.from(hl)]
      })
      expect(heaps[0]).toEqual(heaps[1])
      const outs = engines.map((e) => {
        const out = new Float32Array(sizes[2]!)
        e.estimates(2, tables, consts[0]!, consts[1]!, consts[2]!, out)
        return out
      })
      sameBits(outs[0]!, outs[1]!, sizes[2]!, `sizes ${sizes}`)
    }
    for (const e of engines) {
      expect(e.bytes).toBeGreaterThan(0)
      e.free()
      expect(e.bytes).toBe(0)
    }
  })

  it('bytes counts the memory held; free() releases it for reuse; use after free and bad sizes throw VqError INTERNAL', () => {
    const bytes = readFileSync(new URL('../../native-free-kernels/wasm/kernels.wasm', import.meta.url))
    const api = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly
    const rt = new WasmRuntime(new api.Module(bytes))
    const k = createWasmKernels(rt)
    const m = 50
    const n = 40_000
    const g = makeSegment(n, m, new Rng(2))
    const grow = (): number => {
      const ls = k.createLutScan!(m)
      ls.setSegment(0, g.packed, n, g.a, g.b)
      ls.setSegment(1, g.packed, n, g.a, g.b)
      const held = ls.bytes
      expect(held).toBeGreaterThanOrEqual(2 * (fastScanPackedSize(n, m) + Math.ceil(n / 32) * 256))
      ls.free()
      expect(ls.bytes).toBe(0)
      return rt.x.memory.buffer.byteLength
    }
    const first = grow()
    // Freed memory is reused: ten more rounds do not grow the module's memory.
    for (let r = 0; r < 10; r++) expect(grow()).toBe(first)

    const ls = k.createLutScan!(m)
    const internal = expect.objectContaining({ code: 'INTERNAL' })
    expect(() => ls.setSegment(0, g.packed.subarray(1), n, g.a, g.b)).toThrow(internal)
    expect(() => ls.setSegment(0, g.packed, n, g.a.subarray(1), g.b)).toThrow(internal)
    expect(() => ls.setSegment(-1, g.packed, n, g.a, g.b)).toThrow(internal)
    ls.setSegment(0, g.packed, 100, g.a, g.b)
    expect(() =>
      ls.search(Int32Array.of(0), 1, new Uint8Array(m * 16 - 1), new Float32Array(3), 1, new Float32Array(1), new Float64Array(1)),
    ).toThrow(internal)
    expect(() =>
      ls.search(Int32Array.of(0), 1, new Uint8Array(m * 16), new Float32Array(2), 1, new Float32Array(1), new Float64Array(1)),
    ).toThrow(internal)
    expect(() => ls.estimates(0, new Uint8Array(m * 16), 1, 0, 0, new Float32Array(99))).toThrow(internal)
    ls.free()
    expect(() => ls.setSegment(0, g.packed, n, g.a, g.b)).toThrow(internal)
    expect(() =>
      ls.search(Int32Array.of(0), 1, new Uint8Array(m * 16), new Float32Array(3), 1, new Float32Array(1), new Float64Array(1)),
    ).toThrow(internal)
    expect(() => k.createLutScan!(0)).toThrow(internal)
    expect(() => k.createLutScan!(65794)).toThrow(internal)
  })
})
