/**
 * Each codec's list scanner (Quantizer.listScanPlan) against a plain reference: the exact
 * distance from the query to every item's reconstruction (decoded code, plus its list
 * centroid for residual codes), computed in float64. Every codec, l2 and ip, residual and
 * not, on every backend (on the WebAssembly one, 4-bit PQ goes through fast-scan unfiltered).
 */
import { describe, expect, it } from 'vitest'
import { heapInit, heapSort, type Kernels, referenceKernels, tsKernels } from '../../native-free-kernels/index.js'
import { normalizeIndexSpec, parseIndexDescription } from '../../src/factory/parse.js'
import { InvertedLists, LIST_STRIDE, type ListsView } from '../../src/ivf/inverted-lists.js'
import { IndexModel } from '../../src/search/model.js'
import { fastBackends } from '../helpers/backends.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 16
const n = 320
const nq = 2
const x = clusteredVectors(n, d, 12, 31, 0.3)
const queries = clusteredVectors(nq, d, 12, 32, 0.3)
const backends: { name: string; kernels: Kernels }[] = [{ name: 'reference', kernels: referenceKernels }, ...fastBackends]

interface Case {
  description: string
  byResidual: boolean
}
/** Descriptions scanned with codes of the vectors themselves (byResidual off), and under IVF with residual codes. PQ2: 2-byte codes scanned padded to 4 bytes. */
const direct = ['Flat', 'IVF8,Flat', 'IVF8,SQ8', 'SQ4', 'PQ2', 'IVF8,PQ8', 'PQ8x4', 'IVF8,PQ8x4']
const residual = ['IVF8,SQ8', 'IVF8,SQfp16', 'IVF8,PQ2', 'IVF8,PQ8x4']
const cases: Case[] = [
  ...direct.map((description) => ({ description, byResidual: false })),
  ...residual.map((description) => ({ description, byResidual: true })),
]

function modelFor(c: Case, metric: 'l2' | 'ip', kernels: Kernels): IndexModel {
  const parsed = parseIndexDescription(c.description)
  const spec = normalizeIndexSpec({ ...parsed, ...(parsed.ivf ? { ivf: { ...parsed.ivf, byResidual: c.byResidual } } : {}) }, d)
  return new IndexModel(spec, d, metric, kernels)
}

/** Reference distances of query qi to every item i (internal convention). */
function referenceDistances(model: IndexModel, lists: Int32Array, codes: Uint8Array, qi: number): Float64Array {
  const recon = new Float32Array(n * d)
  model.codec.decode(codes, n, recon)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let t = 0; t < d; t++) {
      const v = recon[i * d + t]! + (model.byResidual ? model.coarse.centroids[lists[i]! * d + t]! : 0)
      const q = queries[qi * d + t]!
      s += model.inner === 'l2' ? (q - v) * (q - v) : -q * v
    }
    out[i] = s
  }
  return out
}

/** Lists of the n items with ids = seqs = 0..n-1: their lists and codes (unpadded), no refine codes. */
function listsOf(model: IndexModel, lists: Int32Array, codes: Uint8Array, terms: Float32Array | null): InvertedLists {
  const ids = Array.from({ length: n }, (_, i) => i)
  return InvertedLists.build(model.coarse.nlist, model.scanCodeSize, 0, lists, ids, ids, model.padCodes(codes, n), null, terms)
}

/** Every candidate in the heap after a scan: item (its id) -> distance. */
function collect(view: ListsView, hd: Float32Array, hl: Float64Array, k: number): Map<number, number> {
  heapSort(k, hd, hl)
  const got = new Map<number, number>()
  for (let j = 0; j < k && hl[j]! >= 0; j++) {
    const l = Math.floor(hl[j]! / LIST_STRIDE)
    got.set(view.ids[view.start[l]! + hl[j]! - l * LIST_STRIDE]!, hd[j]!)
  }
  return got
}

/**
 * Expects no allowed item whose scanned distance is missing or off; the mismatches are listed
 * in one expect (thousands of items), under the message what.
 */
function expectNoMismatches(
  got: Map<number, number>,
  want: Float64Array,
  allowed: (i: number) => boolean,
  tol: number,
  what: string,
): void {
  const bad: string[] = []
  let count = 0
  for (let i = 0; i < n; i++) {
    if (!allowed(i)) continue
    count++
    const g = got.get(i)
    if (g === undefined || !(Math.abs(g - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)))) bad.push(`item ${i}: ${g} vs ${want[i]}`)
  }
  if (got.size !== count) bad.push(`${got.size} candidates, ${count} allowed items`)
  expect(bad, what).toEqual([])
}

describe('list scanners equal brute force over the reconstructions', () => {
  for (const c of cases) {
    for (const metric of ['l2', 'ip'] as const) {
      it(`${c.description}${c.byResidual ? ' (residual)' : ''} / ${metric}`, async () => {
        const trainer = modelFor(c, metric, tsKernels)
        // Few iterations: the scanners are checked, not the codebooks.
        await trainer.train(x, n, { seed: 3, iterations: 4, ivfIterations: 4 })
        const arrays = trainer.exportArrays()
        for (const { name, kernels } of backends) {
          const model = modelFor(c, metric, kernels)
          model.loadArrays(arrays)
          const enc = model.encode(x, n)
          expect(enc.terms !== null).toBe(model.usesTerms)
          const view = listsOf(model, enc.lists, enc.codes, enc.terms).view()
          const scanner = model.scan.create()
          const hd = new Float32Array(n)
          const hl = new Float64Array(n)
          const probeLists = new Float64Array(model.coarse.nlist)
          const probeDist = new Float32Array(model.coarse.nlist)
          // Every other seq allowed.
          const bits = new Uint8Array(Math.ceil(n / 8)).fill(0x55)
          const tol = name === 'wasm' ? 2e-5 : 1e-5
          for (let qi = 0; qi < nq; qi++) {
            const want = referenceDistances(model, enc.lists, enc.codes, qi)
            const probed = model.coarse.probe(queries, qi * d, model.coarse.nlist, probeLists, probeDist)
            scanner.setQuery(queries, qi * d)
            heapInit(n, hd, hl)
            expect(scanner.scanProbed(view, probeLists, probeDist, probed, n, hd, hl)).toBe(n)
            expectNoMismatches(collect(view, hd, hl, n), want, () => true, tol, name)

            // Filtered, list by list: scanList and scanAllowed offer exactly the allowed items.
            for (const mode of ['list', 'allowed'] as const) {
              heapInit(n, hd, hl)
              let offered = 0
              for (let pi = 0; pi < probed; pi++) {
                const l = probeLists[pi]!
                if (view.size[l] === 0) continue
                offered +=
                  mode === 'list'
                    ? scanner.scanList(view, l, probeDist[pi]!, bits, n, hd, hl)
                    : scanner.scanAllowed(view, l, probeDist[pi]!, bits, n, hd, hl)
              }
              expect(offered).toBe(n / 2)
              expectNoMismatches(collect(view, hd, hl, n), want, (i) => i % 2 === 0, tol, `${name} ${mode}`)
            }

            // A small heap keeps the k best (near-ties aside).
            const k = 5
            heapInit(k, hd, hl)
            scanner.scanProbed(view, probeLists, probeDist, probed, k, hd, hl)
            const top = collect(view, hd, hl, k)
            const kth = Array.from(want).sort((a, b) => a - b)[k - 1]!
            expect(top.size).toBe(k)
            expectNoMismatches(top, want, (i) => top.has(i), tol, `${name} top ${k}`)
            for (const id of top.keys()) expect(want[id]!).toBeLessThanOrEqual(kth + tol * Math.max(1, Math.abs(kth)))
          }
        }
      })
    }
  }
})

describe('derived copies of lists (resident codes, fast-scan segments) follow the lists', () => {
  for (const description of ['IVF8,PQ8', 'IVF8,SQ8', 'IVF8,PQ8x4', 'PQ8x4']) {
    it(`${description}: one scanner over other lists with the same sizes and stamps, then over a changed list`, async () => {
      const trainer = modelFor({ description, byResidual: description.startsWith('IVF') }, 'l2', tsKernels)
      await trainer.train(x, n, { seed: 3, iterations: 4, ivfIterations: 4 })
      for (const { name, kernels } of backends) {
        const model = modelFor({ description, byResidual: description.startsWith('IVF') }, 'l2', kernels)
        model.loadArrays(trainer.exportArrays())
        const a = model.encode(x, n)
        // Other codes in the same lists: b's lists have the same sizes and (fresh) stamps as a's.
        const shifted = x.map((v, i) => v + 0.2 * Math.sin(i))
        const bCodes = model.encode(shifted, n).codes
        const bTerms = model.usesTerms ? model.residualTerms(a.lists, bCodes, n) : null
        const ids = Array.from({ length: n }, (_, i) => i)
        const la = listsOf(model, a.lists, a.codes, a.terms)
        const lb = listsOf(model, a.lists, bCodes, bTerms)
        expect(lb.view().stamps).toEqual(la.view().stamps)
        const scanner = model.scan.create()
        const hd = new Float32Array(n)
        const hl = new Float64Array(n)
        const nlist = model.coarse.nlist
        const probeLists = new Float64Array(nlist)
        const probeDist = new Float32Array(nlist)
        const tol = name === 'wasm' ? 2e-5 : 1e-5
        const check = (lists: InvertedLists, codes: Uint8Array, what: string): void => {
          const view = lists.view()
          const want = referenceDistances(model, a.lists, codes, 0)
          const probed = model.coarse.probe(queries, 0, nlist, probeLists, probeDist)
          scanner.setQuery(queries, 0)
          heapInit(n, hd, hl)
          scanner.scanProbed(view, probeLists, probeDist, probed, n, hd, hl)
          expectNoMismatches(collect(view, hd, hl, n), want, () => true, tol, `${name} ${what}`)
        }
        check(la, a.codes, 'lists a')
        check(lb, bCodes, 'lists b')
        // Items of list 0 removed and added back with b's codes: the list changes, its size does not.
        const in0 = ids.filter((i) => a.lists[i] === 0)
        la.remove(new Set(in0))
        const codes0 = new Uint8Array(in0.length * model.scanCodeSize)
        const padded = model.padCodes(bCodes, n)
        in0.forEach((id, j) => {
          codes0.set(padded.subarray(id * model.scanCodeSize, (id + 1) * model.scanCodeSize), j * model.scanCodeSize)
        })
        la.append(
          in0.map(() => 0),
          in0,
          in0,
          codes0,
          null,
          bTerms ? Float32Array.from(in0, (id) => bTerms[id]!) : null,
        )
        const mixed = new Uint8Array(a.codes)
        for (const id of in0) mixed.set(bCodes.subarray(id * model.codeSize, (id + 1) * model.codeSize), id * model.codeSize)
        check(la, mixed, 'list 0 changed')
      }
    })
  }
})

describe('lookup-table versions are per scanner', () => {
  it('two scanners at the same version, used alternately, each scan with their own table', async () => {
    const trainer = modelFor({ description: 'PQ8', byResidual: false }, 'l2', tsKernels)
    await trainer.train(x, n, { seed: 3, iterations: 4 })
    for (const { name, kernels } of backends) {
      const model = modelFor({ description: 'PQ8', byResidual: false }, 'l2', kernels)
      model.loadArrays(trainer.exportArrays())
      const codes = model.padCodes(model.encode(x, n).codes, n)
      const alone = [new Float32Array(n), new Float32Array(n)]
      for (const qi of [0, 1]) {
        const s = model.codec.scanner('l2')
        s.setQuery(queries, qi * d)
        s.scan(codes, n, alone[qi]!)
      }
      const a = model.codec.scanner('l2')
      const b = model.codec.scanner('l2')
      a.setQuery(queries, 0)
      b.setQuery(queries, d)
      const outA = new Float32Array(n)
      const outB = new Float32Array(n)
      a.scan(codes, n, outA)
      b.scan(codes, n, outB)
      a.scan(codes, n, outA)
      expect(outA, name).toEqual(alone[0])
      expect(outB, name).toEqual(alone[1])
    }
  })
})
