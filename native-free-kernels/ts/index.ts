/** The plain-TypeScript backend: the fast kernels that run everywhere. */
import { createReferenceLutScan } from '../reference/lutscan.js'
import type { Kernels } from '../types.js'
import { innerProduct, innerProductMany, innerProductMatrix, l2sqr, l2sqrMany, nearestL2, normsL2sqr } from './distance.js'
import { fp16Dot, fp16L2 } from './fp16.js'
import { pqScan, pqTableIP, pqTableL2 } from './pq.js'

/** The TypeScript backend (layouts as documented on Kernels in ../types.ts). */
export const tsKernels: Kernels = {
  name: 'ts',
  l2sqr,
  innerProduct,
  l2sqrMany,
  innerProductMany,
  normsL2sqr,
  innerProductMatrix,
  nearestL2,
  pqTableL2,
  pqTableIP,
  pqScan,
  fp16L2,
  fp16Dot,
  // The lookup-table scan in plain TypeScript, with the float32 steps of the WebAssembly
  // engine (the same estimates bit for bit): RaBitQ's scan where WebAssembly is absent.
  createLutScan: createReferenceLutScan,
}
