import { describe, expect, it } from 'vitest'
import { VqIndex, VqOptionError } from '../../src/index.js'
import { kernelsFor } from '../../src/util/kernels.js'

describe('kernelsFor: the library picks kernels with typed errors', () => {
  it('resolves the three backends by name and a default without one', () => {
    expect(kernelsFor('reference').name).toBe('reference')
    expect(kernelsFor('ts').name).toBe('ts')
    expect(['wasm', 'ts', 'reference']).toContain(kernelsFor().name)
  })

  it('an unknown backend is VqOptionError BAD_OPTION naming the value, from kernelsFor and from create/open', () => {
    for (const bad of ['gpu', 42, null, '']) {
      let err: unknown
      try {
        kernelsFor(bad)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(VqOptionError)
      expect((err as VqOptionError).code).toBe('BAD_OPTION')
      expect((err as Error).message).toContain(JSON.stringify(bad))
    }
    expect(() => VqIndex.create(':memory:', { dim: 4, kernels: 'gpu' as 'ts' })).toThrow(VqOptionError)
  })
})
