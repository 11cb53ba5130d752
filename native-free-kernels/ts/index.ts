/** The plain-TypeScript backend: the fast kernels that run everywhere. */
import type { Kernels } from '../types.js'
import {
  cosineSimilarity, cosineSimilarityMany, innerProduct, innerProductMany, innerProductMatrix,
  l2sqr, l2sqrMany, nearestL2, normsL2sqr,
} from './distance.js'
import { pqScan, pqTableIP, pqTableL2 } from './pq.js'
import { fp16Dot, fp16L2, sq4Dot, sq4L2, sq8Dot, sq8L2 } from './sq.js'

/** The TypeScript backend (layouts as documented on Kernels in ../types.ts). */
export const tsKernels: Kernels = {
  name: 'ts',
  l2sqr,
  innerProduct,
  cosineSimilarity,
  l2sqrMany,
  innerProductMany,
  cosineSimilarityMany,
  normsL2sqr,
  innerProductMatrix,
  nearestL2,
  pqTableL2,
  pqTableIP,
  pqScan,
  sq8L2,
  sq8Dot,
  sq4L2,
  sq4Dot,
  fp16L2,
  fp16Dot,
}
