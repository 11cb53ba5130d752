/**
 * Choosing a kernel backend: the VQLITE_KERNELS environment variable is read once, when
 * native-free-kernels is loaded (each test loads a fresh copy of the module).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'

type KernelsModule = typeof import('../../native-free-kernels/index.js')

const saved = process.env['VQLITE_KERNELS']

async function loadWith(env: string | undefined): Promise<KernelsModule> {
  if (env === undefined) delete process.env['VQLITE_KERNELS']
  else process.env['VQLITE_KERNELS'] = env
  vi.resetModules()
  return await import('../../native-free-kernels/index.js')
}

afterEach(() => {
  if (saved === undefined) delete process.env['VQLITE_KERNELS']
  else process.env['VQLITE_KERNELS'] = saved
})

describe('getKernels and the default backend', () => {
  it('without VQLITE_KERNELS the default is wasm where available, else ts', async () => {
    const k = await loadWith(undefined)
    const want = k.wasmAvailable() ? 'wasm' : 'ts'
    expect(k.defaultKernelBackend()).toBe(want)
    expect(k.getKernels().name).toBe(want)
  })

  it('VQLITE_KERNELS picks the default when the module loads; later changes are not seen', async () => {
    const k = await loadWith('reference')
    expect(k.getKernels().name).toBe('reference')
    expect(k.getKernels()).toBe(k.referenceKernels)
    process.env['VQLITE_KERNELS'] = 'ts'
    expect(k.defaultKernelBackend()).toBe('reference')
    expect(k.getKernels().name).toBe('reference')
  })

  it('a named backend wins over VQLITE_KERNELS, and each name gives the same object every time', async () => {
    const k = await loadWith('reference')
    expect(k.getKernels('ts')).toBe(k.tsKernels)
    if (k.wasmAvailable()) expect(k.getKernels('wasm')).toBe(k.getKernels('wasm'))
  })

  it('an unknown name, from VQLITE_KERNELS or the caller, is VqError BAD_OPTION naming where it came from', async () => {
    const k = await loadWith('simd')
    expect(() => k.getKernels()).toThrow(expect.objectContaining({ name: 'VqError', code: 'BAD_OPTION' }))
    expect(() => k.getKernels()).toThrow(/"simd" \(VQLITE_KERNELS\)/)
    expect(k.getKernels('ts').name).toBe('ts')
    expect(() => k.getKernels('gpu' as never)).toThrow(/"gpu" \(getKernels\)/)
  })
})
