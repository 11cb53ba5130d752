/**
 * native-free-kernels: the hot loops of vqlite as pure functions over typed arrays,
 * with no native addon. Three backends implement the same Kernels contract:
 * - `reference`: the plainest loops, the truth for tests (with the test oracles beside it:
 *   cosineSimilarity, and the fast-scan references of reference/fastscan.ts and
 *   reference/lutscan.ts);
 * - `ts`: unrolled, blocked TypeScript, which runs everywhere;
 * - `wasm`: WebAssembly SIMD (wasm/), the default wherever the engine validates it; it
 *   adds the 4-bit PQ fast-scan (createFastScan), the lookup-table scan of RaBitQ codes
 *   (createLutScan) and resident code copies.
 * Top-k selection, code packing and half-float conversion are backend-independent.
 * This module imports nothing from the rest of vqlite.
 *
 * Choosing a backend: getKernels(name) returns the named one. Without a name it returns
 * the default backend, fixed when this module is loaded: the VQLITE_KERNELS environment
 * variable as it is at that moment ('reference', 'ts' or 'wasm'; read once, here; later
 * changes to process.env are not seen), else 'wasm' where available, else 'ts'.
 *
 * The WebAssembly backend runs one of two binaries of the same kernels, with identical
 * results: relaxed SIMD where the engine has it (Node 22+), else plain SIMD (wasmVariant;
 * VQLITE_WASM_RELAXED=0 keeps plain SIMD).
 *
 * Module-level state: that one reading of the environment (and wasm/index.ts's one of
 * VQLITE_WASM_RELAXED); the backend objects themselves
 * (the reference and TypeScript backends are stateless constants; the WebAssembly backend
 * is one module instance per thread, made on first use, see wasm/index.ts); and
 * module-level scratch buffers used within one call only (ts/distance.ts, fp16.ts).
 */
import { VqError } from './errors.js'
import { referenceKernels } from './reference/index.js'
import { tsKernels } from './ts/index.js'
import type { Kernels } from './types.js'
import { wasmAvailable, wasmKernels, wasmUnavailableReason } from './wasm/index.js'

export { packCodes, pqCodeSize, unpackCodes } from './codes.js'
export { VqError, type VqErrorCode } from './errors.js'
export { fastScanPack, fastScanPackedSize, fastScanPackTerms, type TermLevels } from './fastscan.js'
export { floatToHalf, HALF_TO_FLOAT, halfToFloat } from './fp16.js'
export {
  fastScanCodeAt,
  fastScanQuantize,
  fastScanReference,
  fastScanThreshold,
  type LutScale,
} from './reference/fastscan.js'
export { cosineSimilarity, type ReferenceKernels, referenceKernels } from './reference/index.js'
export {
  createReferenceLutScan,
  type LutScanSegment,
  lutScanEstimate,
  lutScanEstimates,
  lutScanRaw,
  lutScanSearchReference,
  lutScanUnpack,
} from './reference/lutscan.js'
export { heapInit, heapPush, heapPushMany, heapSort } from './topk.js'
export { tsKernels } from './ts/index.js'
export type { F32, FastScan, FastScanMode, Kernels, LutScan, ResidentCodes, ResidentRef } from './types.js'
/** WasmRuntime and createWasmKernels: kernels over a given compiled module (benches compare builds of kernels.wasm with them). */
export { createWasmKernels, WasmRuntime, type WasmVariant, wasmAvailable, wasmVariant } from './wasm/index.js'

/** Kernel backends by name. */
export type KernelBackend = 'reference' | 'ts' | 'wasm'

/** VQLITE_KERNELS when this module was loaded ('' when unset): this module's reading of the environment (wasm/index.ts reads VQLITE_WASM_RELAXED). */
const ENV_BACKEND = process.env['VQLITE_KERNELS'] ?? ''

/**
 * The backend getKernels() returns without a name: VQLITE_KERNELS as read when this module
 * was loaded, else 'wasm' where this engine validates it, else 'ts'. Throws VqError BAD_OPTION
 * when VQLITE_KERNELS names no backend.
 */
export function defaultKernelBackend(): KernelBackend {
  if (ENV_BACKEND !== '') return checkBackend(ENV_BACKEND, 'VQLITE_KERNELS')
  return wasmAvailable() ? 'wasm' : 'ts'
}

function checkBackend(name: string, source: string): KernelBackend {
  if (name === 'reference' || name === 'ts' || name === 'wasm') return name
  throw new VqError('BAD_OPTION', `unknown kernel backend "${name}" (${source}): expected "reference", "ts" or "wasm"`)
}

/**
 * Returns the kernels of the named backend, by default defaultKernelBackend() (see the
 * module comment). The same backend always gives the same object. Asking for 'wasm' where
 * it cannot run throws, saying why.
 */
export function getKernels(backend: KernelBackend = defaultKernelBackend()): Kernels {
  switch (checkBackend(String(backend), 'getKernels')) {
    case 'reference':
      return referenceKernels
    case 'ts':
      return tsKernels
    case 'wasm': {
      const k = wasmKernels()
      if (!k) throw new VqError('UNSUPPORTED', `the WebAssembly kernel backend is unavailable: ${wasmUnavailableReason()}`)
      return k
    }
  }
}
