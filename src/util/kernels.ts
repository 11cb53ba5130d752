/**
 * The kernels the library computes with, chosen by name (the `kernels` option) or by
 * default (VQLITE_KERNELS, else WebAssembly SIMD where available, else TypeScript). The
 * kernels package knows nothing of vqlite's errors; this is where a bad name or an
 * unavailable backend becomes a typed VqError.
 */
import { getKernels, type KernelBackend, type Kernels } from '../../native-free-kernels/index.js'
import { VqOptionError, VqStateError } from '../errors.js'

const BACKENDS: readonly string[] = ['reference', 'ts', 'wasm']

/** getKernels with typed errors: BAD_OPTION for an unknown name (option or VQLITE_KERNELS), UNSUPPORTED when 'wasm' cannot run. */
export function kernelsFor(name?: unknown): Kernels {
  if (name !== undefined && !BACKENDS.includes(name as string)) {
    throw new VqOptionError('BAD_OPTION', `kernels must be "reference", "ts" or "wasm", got ${JSON.stringify(name) ?? String(name)}`)
  }
  try {
    return getKernels(name as KernelBackend | undefined)
  } catch (e) {
    if (name === 'wasm') throw new VqStateError('UNSUPPORTED', (e as Error).message, { cause: e })
    throw new VqOptionError('BAD_OPTION', (e as Error).message, { cause: e })
  }
}
