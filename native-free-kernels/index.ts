/**
 * native-free-kernels: the hot loops of vqlite as pure functions over typed arrays,
 * with no native addon. Two backends implement the same Kernels contract:
 * - `reference`: the plainest loops, the truth for tests;
 * - `ts`: unrolled, blocked TypeScript, the default.
 * Top-k selection, code packing and half-float conversion are backend-independent.
 */
import { referenceKernels } from './reference/index.js'
import { tsKernels } from './ts/index.js'
import type { Kernels } from './types.js'

export type { F32, Kernels } from './types.js'
export { referenceKernels } from './reference/index.js'
export { tsKernels } from './ts/index.js'
export { heapInit, heapPush, heapPushMany, heapSort } from './topk.js'
export { packCodes, pqCodeSize, unpackCodes } from './codes.js'
export { floatToHalf, halfToFloat, HALF_TO_FLOAT } from './fp16.js'

/** Kernel backends by name. */
export type KernelBackend = 'reference' | 'ts'

/**
 * Returns the kernels of the named backend; with no name, the fastest available
 * (today the TypeScript backend; `VQLITE_KERNELS=reference` forces the reference one).
 */
export function getKernels(backend?: KernelBackend): Kernels {
  const name = backend ?? (process.env['VQLITE_KERNELS'] as KernelBackend | undefined) ?? 'ts'
  switch (name) {
    case 'reference':
      return referenceKernels
    case 'ts':
      return tsKernels
    default:
      throw new RangeError(`unknown kernel backend "${String(name)}": expected "reference" or "ts"`)
  }
}
