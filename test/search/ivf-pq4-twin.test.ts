/**
 * The exact twin of 4-bit PQ under IVF with residual L2 (IVF16,PQ8x4): wherever a search
 * covers every candidate item, its results are exact ADC, i.e. the exact distances to the
 * items' reconstructions (list centroid + decoded residual), ranked. Covered: the
 * unfiltered scan at nprobe = nlist (fast-scan on the WebAssembly backend, per-list tables
 * on the TypeScript one), a selective filter (only allowed items scored) and a broad filter
 * (lists scanned with a bit test per item, probing on until every allowed item was seen).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { referenceKernels as ref, wasmAvailable } from '../../native-free-kernels/index.js'
import { type Filter, VqIndex } from '../../src/index.js'
import { clusteredSearchSet } from '../helpers/data.js'

const d = 16
const n = 2000
const nq = 20
const { x, queries, ids } = clusteredSearchSet(n, nq, d, 30, 51, 0.35)
const metadata = ids.map((i) => ({ tag: i % 3 === 0 ? 'broad' : 'other', rare: i % 50 === 0 }))

const backends = ['ts', ...(wasmAvailable() ? ['wasm' as const] : [])] as const

describe.each(backends)('IVF16,PQ8x4 (residual L2) on %s equals exact ADC over the reconstructions', (kernels) => {
  let index: VqIndex
  let recon: Float32Array
  beforeAll(async () => {
    index = VqIndex.create(':memory:', { dim: d, description: 'IVF16,PQ8x4', kernels, threads: 0 })
    await index.train(x, { seed: 4 })
    await index.add(ids, x, metadata)
    recon = new Float32Array(n * d)
    for (let i = 0; i < n; i++) recon.set(index.reconstruct(i), i * d)
  })
  afterAll(async () => {
    await index.close()
  })

  const runs: { name: string; k: number; nprobe: number; filter?: Filter; allowed: (i: number) => boolean }[] = [
    { name: 'unfiltered, nprobe = nlist', k: 10, nprobe: 16, allowed: () => true },
    { name: 'selective filter', k: 10, nprobe: 2, filter: { rare: true }, allowed: (i) => i % 50 === 0 },
    // k*FILTER_FACTOR exceeds the allowed items: the search probes on until it has seen them all.
    { name: 'broad filter', k: 200, nprobe: 2, filter: { tag: 'broad' }, allowed: (i) => i % 3 === 0 },
  ]
  for (const r of runs) {
    it(r.name, async () => {
      const got = await index.searchBatch(queries, r.k, { nprobe: r.nprobe, ...(r.filter ? { filter: r.filter } : {}) })
      let agree = 0
      const far: string[] = []
      for (let qi = 0; qi < nq; qi++) {
        const scored = ids
          .filter(r.allowed)
          .map((id) => ({ id, dist: ref.l2sqr(queries, qi * d, recon, id * d, d) }))
          .sort((a, b) => a.dist - b.dist || a.id - b.id)
        for (let j = 0; j < r.k; j++) {
          const g = got.distances[qi * r.k + j]!
          const want = scored[j]!.dist
          if (!(Math.abs(g - want) <= 1e-4 * Math.max(1, want))) far.push(`query ${qi} rank ${j}: ${g} vs ${want}`)
          const id = got.ids[qi * r.k + j]!
          if (!r.allowed(id)) far.push(`query ${qi} rank ${j}: id ${id} is not allowed`)
          if (id === scored[j]!.id) agree++
        }
      }
      expect(far).toEqual([])
      // Ids agree except where float rounding swaps near-ties.
      expect(agree / (nq * r.k)).toBeGreaterThan(0.97)
    })
  }
})
