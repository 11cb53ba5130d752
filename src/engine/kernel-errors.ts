/**
 * Errors of the kernels as typed vqlite errors. The kernels package knows nothing of
 * vqlite's errors: its WebAssembly backend throws a KernelMemoryError (name
 * 'KernelMemoryError', code 'OUT_OF_MEMORY', bytes: the size asked for) when its
 * linear memory cannot grow; this is where that becomes VqError OUT_OF_MEMORY.
 */
import { VqError } from '../errors.js'

/** The shape of the kernels' memory error (matched by shape: the kernels are not imported here). */
interface KernelMemoryErrorLike {
  readonly name: 'KernelMemoryError'
  readonly code: 'OUT_OF_MEMORY'
  readonly bytes: number
  readonly message: string
}

/** True for the kernels' memory error. */
export function isKernelMemoryError(e: unknown): e is KernelMemoryErrorLike {
  return e instanceof Error && e.name === 'KernelMemoryError' && (e as { code?: unknown }).code === 'OUT_OF_MEMORY'
}

/** e as thrown, except the kernels' memory error, which becomes VqError OUT_OF_MEMORY naming the size asked for. */
export function typedKernelError(e: unknown, doing: string): unknown {
  if (!isKernelMemoryError(e)) return e
  return new VqError(
    'OUT_OF_MEMORY',
    `${doing}: the WebAssembly kernels ran out of memory allocating ${e.bytes} bytes (their linear memory cannot grow further); nothing was changed`,
    { cause: e },
  )
}
