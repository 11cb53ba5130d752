/**
 * Memory accounting helpers of memoryUsage() (inspect.ts): the WebAssembly memory the
 * backend holds, and the fixed overhead a process pays once.
 */
import type { Kernels } from '../../native-free-kernels/index.js'

/**
 * Resident memory a process holds besides the arrays memoryUsage() counts, not per index
 * nor per vector: the compiled WebAssembly module and its first pages, better-sqlite3's
 * connection, statements and the pages SQLite keeps while reading through the memory map
 * (~2 MB measured on glove100), and memory the C allocator (glibc malloc) keeps after the
 * buffers of a load or a query were freed (Node cannot trim it; 1 to 12 MB measured for the
 * same load of 40,000 codes, run to run). Measured by bench/memory.ts and
 * test/engine/memory-rss.int.test.ts (see README, Memory). Node's own baseline is not
 * counted, nor V8's young generation, which V8 grows to 2 x 16 MB under any
 * allocation-heavy work (opening an index no longer triggers that by itself).
 */
export const FIXED_OVERHEAD = 8 * 2 ** 20

/**
 * The size of the kernels' own linear memory on this thread when the backend reports it
 * (a `memoryBytes` property: WebAssembly), else `fallback` (the bytes its allocations
 * are known to hold). 0 for backends without memory of their own.
 */
export function kernelMemoryBytes(kernels: Kernels, fallback: number): number {
  const reported = (kernels as { readonly memoryBytes?: unknown }).memoryBytes
  return typeof reported === 'number' && Number.isFinite(reported) && reported >= 0 ? Math.max(reported, fallback) : fallback
}
