/** The plain-TypeScript backend: the fast kernels that run everywhere. */
import { createReferenceLutScan } from '../reference/lutscan.js'
import { heapInit, heapPushMany, heapSort } from '../topk.js'
import type { Kernels } from '../types.js'
import { innerProduct, innerProductMany, innerProductMatrix, l2sqr, l2sqrMany, nearestL2, normsL2sqr } from './distance.js'
import { fp16Dot, fp16L2 } from './fp16.js'
import { pqScan, pqTableIP, pqTableL2 } from './pq.js'

/** nearestRows' distances (this thread's; used within one call). */
let scratch = new Float32Array(0)

/** The TypeScript backend (layouts as documented on Kernels in ../types.ts). */
export const tsKernels: Kernels = {
  name: 'ts',
  l2sqr,
  innerProduct,
  l2sqrMany,
  innerProductMany,
  normsL2sqr,
  nearestRows(q, qOff, x, n, d, mode, p, outDist, outRow) {
    if (scratch.length < n) scratch = new Float32Array(n)
    if (mode === 'l2') l2sqrMany(q, qOff, x, n, d, scratch)
    else {
      innerProductMany(q, qOff, x, n, d, scratch)
      for (let j = 0; j < n; j++) scratch[j] = -scratch[j]!
    }
    heapInit(p, outDist, outRow)
    heapPushMany(p, outDist, outRow, scratch, n, 0)
    heapSort(p, outDist, outRow)
  },
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
