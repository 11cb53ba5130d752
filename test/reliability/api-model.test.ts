/**
 * API model corpus (issue 14): random sequences of add, upsert, delete, get / has with bad
 * ids, search and searchBatch (exact Flat and IVF-with-every-list indexes, checked against
 * brute force), find, setProperty / getProperty, export + import, close + reopen and
 * retrain, valid calls mixed with calls carrying one fault. After every step the index
 * equals the in-memory model; a refused call is a documented VqError and changes nothing.
 * Cases: one fast-check run of one property each (numRuns per property below).
 */
import fc from 'fast-check'
import { describe, it } from 'vitest'
import * as arb from './support/arb.js'
import { opArb, type RunConfig, runSequence } from './support/runner.js'

const DIM = 4

function property(c: RunConfig, seed: number, numRuns: number, maxSteps: number): Promise<void> {
  return fc.assert(
    fc.asyncProperty(
      fc.array(opArb(c), { minLength: 1, maxLength: maxSteps }),
      arb.vector(c.dim),
      fc.array(arb.filter, { minLength: 2, maxLength: 2 }),
      async (ops, probe, filters) => {
        await runSequence(c, ops, probe, c.filters ? filters : [{ $id: { $gte: 5 } }, { $id: { $in: [1, 2, 3] } }])
      },
    ),
    { seed, numRuns, endOnFailure: true },
  )
}

const flat = (metric: 'l2' | 'ip' | 'cosine', filters: boolean, storeVectors: 'none' | 'float32'): RunConfig => ({
  dim: DIM,
  metric,
  description: 'Flat',
  storeVectors,
  filters,
  file: false,
})

const RUNS = { flatIdOnly: 10, flatTyped: 10, file: 5, ivf: 6 } as const

describe('API model: Flat, $id filters only (exact search vs brute force)', () => {
  it.each([
    ['l2', 14_001, 'float32'],
    ['ip', 14_002, 'none'],
    ['cosine', 14_003, 'float32'],
  ] as const)('%s (seed %i, storeVectors %s)', async (metric, seed, sv) => {
    await property(flat(metric, false, sv), seed, RUNS.flatIdOnly, 12)
  })
})

describe('API model: Flat, typed metadata filters in find and search', () => {
  it.each([
    ['l2', 14_011, 'none'],
    ['ip', 14_012, 'float32'],
    ['cosine', 14_013, 'none'],
  ] as const)('%s (seed %i, storeVectors %s)', async (metric, seed, sv) => {
    await property(flat(metric, true, sv), seed, RUNS.flatTyped, 12)
  })
})

describe('API model: a file index with close + reopen and export + import', () => {
  it('l2, Flat, float32 vectors (seed 14021)', async () => {
    await property({ ...flat('l2', false, 'float32'), file: true }, 14_021, RUNS.file, 12)
  })
})

describe('API model: IVF4,Flat with stored vectors, retrain in the sequence (nprobe 4: exact)', () => {
  it.each([
    ['l2', 14_031],
    ['cosine', 14_032],
  ] as const)('%s (seed %i)', async (metric, seed) => {
    await property(
      { dim: DIM, metric, description: 'IVF4,Flat', storeVectors: 'float32', filters: false, file: false, nprobe: 4, seedItems: 8 },
      seed,
      RUNS.ivf,
      12,
    )
  })
})
