/**
 * native-free-kernels: the hot loops of vqlite as pure functions over typed arrays,
 * with no native addon. Three backends implement the same Kernels contract:
 * - `reference`: the plainest loops, the truth for tests;
 * - `ts`: unrolled, blocked TypeScript, which runs everywhere;
 * - `wasm`: WebAssembly SIMD (wasm/), the default wherever the engine validates it; it
 *   adds the 4-bit PQ fast-scan (createFastScan).
 * Top-k selection, code packing and half-float conversion are backend-independent.
 */
import { referenceKernels } from './reference/index.js'
import { tsKernels } from './ts/index.js'
import type { Kernels } from './types.js'
import { wasmAvailable, wasmKernels, wasmUnavailableReason } from './wasm/index.js'

export type { F32, FastScan, FastScanMode, Kernels, ResidentCodes, ResidentRef } from './types.js'
export { wasmAvailable } from './wasm/index.js'
export {
  fastScanCodeAt, fastScanPack, fastScanPackedSize, fastScanPackTerms, fastScanQuantize, fastScanReference, fastScanThreshold,
  type LutScale, type TermLevels,
} from './fastscan.js'
export { referenceKernels } from './reference/index.js'
export { tsKernels } from './ts/index.js'
export { heapInit, heapPush, heapPushMany, heapSort } from './topk.js'
export { packCodes, pqCodeSize, unpackCodes } from './codes.js'
export { floatToHalf, halfToFloat, HALF_TO_FLOAT } from './fp16.js'

/** Kernel backends by name. */
export type KernelBackend = 'reference' | 'ts' | 'wasm'

/**
 * Returns the kernels of the named backend; with no name, the one named by the
 * VQLITE_KERNELS environment variable, else the fastest available: WebAssembly SIMD when
 * this engine validates it, the TypeScript backend otherwise. Asking for 'wasm' where it
 * cannot run throws, saying why.
 */
export function getKernels(backend?: KernelBackend): Kernels {
  const env = process.env['VQLITE_KERNELS']
  const name = backend ?? (env ? (env as KernelBackend) : wasmAvailable() ? 'wasm' : 'ts')
  switch (name) {
    case 'reference':
      return referenceKernels
    case 'ts':
      return tsKernels
    case 'wasm': {
      const k = wasmKernels()
      if (!k) throw new Error(`the WebAssembly kernel backend is unavailable: ${wasmUnavailableReason}`)
      return k
    }
    default:
      throw new RangeError(`unknown kernel backend "${String(name)}": expected "reference", "ts" or "wasm"`)
  }
}
