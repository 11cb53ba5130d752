/** An untrained quantizer refuses to encode, decode or scan with VqStateError('NOT_TRAINED'); a trained one does all three. */
import { describe, expect, it } from 'vitest'
import { tsKernels } from '../../native-free-kernels/index.js'
import { ProductQuantizer, ScalarQuantizer, VqStateError } from '../../src/index.js'
import { randomVectors } from '../helpers/data.js'

const d = 8
const x = randomVectors(300, d, 9)

function expectNotTrained(fn: () => unknown): void {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(VqStateError)
    expect((e as VqStateError).code).toBe('NOT_TRAINED')
    return
  }
  expect.unreachable('no NOT_TRAINED error')
}

describe('untrained quantizers', () => {
  for (const [name, make] of [
    ['PQ4x8', () => new ProductQuantizer(d, 4, 8, tsKernels)],
    ['PQ4x4', () => new ProductQuantizer(d, 4, 4, tsKernels)],
    ['SQ8', () => new ScalarQuantizer(d, 8, 0, tsKernels)],
    ['SQ4', () => new ScalarQuantizer(d, 4, 0, tsKernels)],
  ] as const) {
    it(`${name}: encode, decode and scan throw NOT_TRAINED until trained`, () => {
      const q = make()
      expect(q.isTrained).toBe(false)
      const codes = new Uint8Array(2 * q.codeSize)
      expectNotTrained(() => q.encode(x, 2, codes))
      expectNotTrained(() => q.decode(codes, 2, new Float32Array(2 * d)))
      for (const metric of ['l2', 'ip'] as const) expectNotTrained(() => q.scanner(metric).setQuery(x, 0))
      // Nothing was written by the refused encode.
      expect(codes.every((b) => b === 0)).toBe(true)
      q.train(x, 300, { seed: 1, iterations: 2 })
      q.encode(x, 2, codes)
      const out = new Float32Array(2 * d)
      q.decode(codes, 2, out)
      const s = q.scanner('l2')
      s.setQuery(x, 0)
      const dist = new Float32Array(2)
      s.scan(codes, 2, dist)
      expect(Number.isFinite(dist[0]!) && Number.isFinite(dist[1]!)).toBe(true)
    })
  }
})
