import { describe, expect, it } from 'vitest'
import { floatToHalf, halfToFloat, referenceKernels as ref, tsKernels } from '../../native-free-kernels/index.js'
import { Fp16Codec, ScalarQuantizer } from '../../src/quantizers/sq.js'
import { Rng } from '../../src/util/random.js'
import { randomVectors } from '../helpers/data.js'

describe('ScalarQuantizer', () => {
  for (const bits of [8, 4] as const) {
    it(`SQ${bits}: vectors made of reconstruction points reconstruct exactly (odd and even d)`, () => {
      for (const d of [1, 7, 16]) {
        const sq = new ScalarQuantizer(d, bits, 0, tsKernels)
        sq.train(randomVectors(500, d, d, -3, 5), 500)
        const n = 64
        const rng = new Rng(d)
        const want = new Int32Array(n * d)
        const x = new Float32Array(n * d)
        for (let i = 0; i < n * d; i++) {
          want[i] = rng.int(1 << bits)
          x[i] = sq.offset[i % d]! + sq.step[i % d]! * want[i]!
        }
        const codes = new Uint8Array(n * sq.codeSize)
        sq.encode(x, n, codes)
        const back = new Float32Array(n * d)
        sq.decode(codes, n, back)
        expect(back).toEqual(x)
      }
    })

    it(`SQ${bits}: error at most half a step inside the range, values outside clamp to the ends`, () => {
      const d = 5
      const x = randomVectors(1000, d, 3, -2, 2)
      const sq = new ScalarQuantizer(d, bits, 0, tsKernels)
      sq.train(x, 1000)
      const codes = new Uint8Array(1000 * sq.codeSize)
      sq.encode(x, 1000, codes)
      const back = new Float32Array(1000 * d)
      sq.decode(codes, 1000, back)
      for (let i = 0; i < 1000 * d; i++) expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(sq.step[i % d]! / 2 + 1e-6)
      const far = new Float32Array([100, -100, 100, -100, 100])
      const c = new Uint8Array(sq.codeSize)
      sq.encode(far, 1, c)
      const r = new Float32Array(d)
      sq.decode(c, 1, r)
      const top = (1 << bits) - 1
      for (let t = 0; t < d; t++) expect(r[t]).toBeCloseTo(sq.offset[t]! + sq.step[t]! * (far[t]! > 0 ? top : 0), 5)
    })

    it(`SQ${bits}: scanner distances equal exact distances to the decoded vectors`, () => {
      const d = 13,
        n = 100
      const x = randomVectors(n, d, 8)
      const sq = new ScalarQuantizer(d, bits, 0, tsKernels)
      sq.train(x, n)
      const codes = new Uint8Array(n * sq.codeSize)
      sq.encode(x, n, codes)
      const rec = new Float32Array(n * d)
      sq.decode(codes, n, rec)
      const q = randomVectors(1, d, 99)
      const out = new Float32Array(n)
      for (const metric of ['l2', 'ip'] as const) {
        const s = sq.scanner(metric)
        s.setQuery(q, 0)
        s.scan(codes, n, out)
        for (let i = 0; i < n; i++) {
          const want = metric === 'l2' ? ref.l2sqr(q, 0, rec, i * d, d) : -ref.innerProduct(q, 0, rec, i * d, d)
          expect(out[i]).toBeCloseTo(want, 4)
        }
      }
    })
  }

  it('clipping narrows the trained range to quantiles and cuts the error of the bulk', () => {
    const d = 1,
      n = 10000
    const rng = new Rng(5)
    const x = new Float32Array(n)
    for (let i = 0; i < n; i++) x[i] = rng.normal()
    x[0] = 1000 // one outlier stretches the min/max range
    const plain = new ScalarQuantizer(d, 4, 0, tsKernels)
    plain.train(x, n)
    const clipped = new ScalarQuantizer(d, 4, 0.001, tsKernels)
    clipped.train(x, n)
    expect(clipped.step[0]!).toBeLessThan(plain.step[0]! / 50)
    const mse = (sq: ScalarQuantizer): number => {
      const codes = new Uint8Array(n * sq.codeSize)
      sq.encode(x, n, codes)
      const r = new Float32Array(n)
      sq.decode(codes, n, r)
      let s = 0
      for (let i = 1; i < n; i++) s += (r[i]! - x[i]!) ** 2
      return s / (n - 1)
    }
    expect(mse(clipped)).toBeLessThan(mse(plain) / 10)
  })

  it('a constant dimension encodes to code 0 and decodes to its value', () => {
    const x = new Float32Array([2, 1, 2, 5, 2, 3])
    const sq = new ScalarQuantizer(2, 8, 0, tsKernels)
    sq.train(x, 3)
    const codes = new Uint8Array(6)
    sq.encode(x, 3, codes)
    const r = new Float32Array(6)
    sq.decode(codes, 3, r)
    expect([r[0], r[2], r[4]]).toEqual([2, 2, 2])
  })

  it('rejects a clip outside [0, 0.5)', () => {
    expect(() => new ScalarQuantizer(4, 8, 0.5, tsKernels)).toThrow(/clip must be in \[0, 0.5\)/)
    expect(() => new ScalarQuantizer(4, 8, -0.1, tsKernels)).toThrow(/clip/)
  })
})

describe('Fp16Codec', () => {
  it('reconstructs half-representable vectors exactly and rounds others to the nearest half', () => {
    const d = 9,
      n = 40
    const codec = new Fp16Codec(d, tsKernels)
    const rng = new Rng(1)
    const x = new Float32Array(n * d)
    for (let i = 0; i < n * d; i++) x[i] = halfToFloat(rng.int(0x7c00) | (rng.int(2) << 15))
    const codes = new Uint8Array(n * codec.codeSize)
    codec.encode(x, n, codes)
    const back = new Float32Array(n * d)
    codec.decode(codes, n, back)
    expect(back).toEqual(x)
    const y = randomVectors(n, d, 3, -100, 100)
    codec.encode(y, n, codes)
    codec.decode(codes, n, back)
    for (let i = 0; i < n * d; i++) expect(back[i]).toBe(halfToFloat(floatToHalf(y[i]!)))
  })

  it('scanner distances equal exact distances to the decoded vectors', () => {
    const d = 11,
      n = 50
    const codec = new Fp16Codec(d, tsKernels)
    const x = randomVectors(n, d, 4)
    const codes = new Uint8Array(n * codec.codeSize)
    codec.encode(x, n, codes)
    const rec = new Float32Array(n * d)
    codec.decode(codes, n, rec)
    const q = randomVectors(1, d, 5)
    const out = new Float32Array(n)
    for (const metric of ['l2', 'ip'] as const) {
      const s = codec.scanner(metric)
      s.setQuery(q, 0)
      s.scan(codes, n, out)
      for (let i = 0; i < n; i++) {
        expect(out[i]).toBeCloseTo(metric === 'l2' ? ref.l2sqr(q, 0, rec, i * d, d) : -ref.innerProduct(q, 0, rec, i * d, d), 5)
      }
    }
  })
})
