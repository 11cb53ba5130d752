/**
 * WebAssembly memory exhausted: the kernels throw their own typed error (KernelMemoryError,
 * nothing allocated, every cached region left as it was), which vqlite reports as VqError
 * OUT_OF_MEMORY naming the size asked for; an add, retrain or search during which the
 * allocation fails leaves the index as it was, and the next call gives the right answer.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { wasmAvailable } from '../../native-free-kernels/index.js'
import { KernelMemoryError, WasmRuntime } from '../../native-free-kernels/wasm/index.js'
import { VqError, VqIndex } from '../../src/index.js'
import { clusteredVectors } from '../helpers/data.js'

const d = 16
const n = 400
const x = clusteredVectors(n, d, 4, 51)
const q = clusteredVectors(4, d, 4, 52)
const ids = Array.from({ length: n }, (_, i) => i)
const big = clusteredVectors(4000, d, 4, 53)
/** The engine's WebAssembly namespace (not in this project's TypeScript lib). */
const WASM = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } }).WebAssembly

afterEach(() => {
  vi.restoreAllMocks()
})

/** Makes the nth WebAssembly allocation from now (and every later one) fail as exhausted memory. */
function failAllocations(from: number): { count: () => number } {
  const original = WasmRuntime.prototype.alloc
  let calls = 0
  vi.spyOn(WasmRuntime.prototype, 'alloc').mockImplementation(function (this: WasmRuntime, bytes: number) {
    if (++calls >= from) throw new KernelMemoryError(bytes, 1 << 20)
    return original.call(this, bytes)
  })
  return { count: () => calls }
}

function results(ix: VqIndex): unknown {
  return Array.from({ length: 4 }, (_, i) => {
    const r = ix.search(q.subarray(i * d, (i + 1) * d), 10, { nprobe: 4 })
    return [Array.from(r.ids), Array.from(r.distances)]
  })
}

async function trained(): Promise<VqIndex> {
  const ix = VqIndex.create(':memory:', { dim: d, description: 'IVF4,PQ8x4', storeVectors: 'float32', kernels: 'wasm', threads: 0 })
  await ix.add(ids, x, undefined, { train: { seed: 5 } })
  return ix
}

describe.skipIf(!wasmAvailable())('WebAssembly memory exhausted', () => {
  it('the runtime throws KernelMemoryError for an allocation it cannot make, and its scratch region survives', () => {
    const rt = new WasmRuntime(new WASM.Module(readFileSync(new URL('../../native-free-kernels/wasm/kernels.wasm', import.meta.url))))
    const error = (() => {
      try {
        rt.alloc(2 ** 31)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(KernelMemoryError)
    expect(error).toBeInstanceOf(VqError)
    expect(error).toMatchObject({ code: 'OUT_OF_MEMORY', bytes: 2 ** 31 })
    const small = rt.scratch(1000)
    rt.u8(small, 4).set([1, 2, 3, 4])
    expect(() => rt.scratch(2 ** 31)).toThrow(KernelMemoryError)
    // The old region is still this runtime's scratch, and still allocated.
    expect(rt.scratch(1000)).toBe(small)
    expect(Array.from(rt.u8(small, 4))).toEqual([1, 2, 3, 4])
    expect(rt.alloc(64)).not.toBe(small)
  })

  it('search: OUT_OF_MEMORY at every allocation; the next search is right', async () => {
    const reference = await trained()
    const want = results(reference)
    for (let at = 1; at < 200; at++) {
      const ix = await trained()
      const spy = failAllocations(at)
      let error: unknown
      try {
        results(ix)
      } catch (e) {
        error = e
      }
      const calls = spy.count()
      vi.restoreAllMocks()
      if (error === undefined) {
        expect(calls).toBeLessThan(at)
        expect(at).toBeGreaterThan(1)
        break
      }
      expect(error).toBeInstanceOf(VqError)
      expect(error).toMatchObject({ code: 'OUT_OF_MEMORY', message: expect.stringMatching(/searching: .* allocating \d+ bytes/) })
      expect(results(ix)).toEqual(want)
      expect(ix.size).toBe(n)
      await ix.close()
    }
    await reference.close()
  })

  it('add with { train }, add and retrain: OUT_OF_MEMORY at every allocation; nothing changes', async () => {
    const writes: [string, (ix: VqIndex) => Promise<unknown>, boolean][] = [
      ['add with { train }', (ix) => ix.add(ids, x, undefined, { train: { seed: 5 } }), false],
      [
        'add (a batch larger than any before)',
        (ix) =>
          ix.add(
            Array.from({ length: 4000 }, (_, i) => n + i),
            big,
          ),
        true,
      ],
      ['retrain', (ix) => ix.retrain({ seed: 6 }), true],
    ]
    for (const [name, write, start] of writes) {
      let failures = 0
      for (let at = 1; at < 500; at++) {
        const ix = start
          ? await trained()
          : VqIndex.create(':memory:', { dim: d, description: 'IVF4,PQ8x4', storeVectors: 'float32', kernels: 'wasm', threads: 0 })
        const before = { size: ix.size, manifest: ix.manifest, results: ix.isTrained ? results(ix) : null }
        const spy = failAllocations(at)
        const error = await write(ix).then(
          () => undefined,
          (e: unknown) => e,
        )
        const calls = spy.count()
        vi.restoreAllMocks()
        if (error === undefined) {
          expect(calls, name).toBeLessThan(at)
          await ix.close()
          break
        }
        failures++
        expect(error, name).toBeInstanceOf(VqError)
        expect(error, `${name}: ${(error as Error).message}`).toMatchObject({ code: 'OUT_OF_MEMORY' })
        expect((error as Error).message).toMatch(/allocating \d+ bytes/)
        expect({ size: ix.size, manifest: ix.manifest, results: ix.isTrained ? results(ix) : null }, name).toEqual(before)
        // The next call goes through.
        await write(ix)
        await ix.close()
      }
      expect(failures, name).toBeGreaterThan(0)
    }
  })
})
