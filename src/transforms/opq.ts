/**
 * OPQ: a learned orthogonal rotation in front of a product quantizer (Ge, He, Ke, Sun,
 * "Optimized Product Quantization", 2014; the non-parametric variant, as FAISS's
 * OPQMatrix). y = R x with R of shape (dOut, dIn) and orthonormal rows (dOut <= dIn).
 *
 * Training alternates two steps on a sample X (n x dIn):
 * 1. with R fixed, train a PQ on Y = X R^T and reconstruct Y^ from its codes;
 * 2. with the codes fixed, R solves the orthogonal Procrustes problem
 *    min ||Y^ - X R^T||_F over R R^T = I: take the SVD X^T Y^ = U S V^T, then R^T = U V^T.
 * The PQ is warm-started from its previous centroids with a few k-means iterations.
 * Matrix products run on the blocked innerProductMatrix kernel; the SVD is ml-matrix's.
 */
import { createRequire } from 'node:module'
import type { Matrix as MatrixType } from 'ml-matrix'

// ml-matrix (the SVD) loads on first use: only OPQ training needs it, and importing it costs
// ~40 ms of every process start (the CLI's included).
type MlMatrix = typeof import('ml-matrix')
let mlMatrix: MlMatrix | undefined
const ml = (): MlMatrix => {
  mlMatrix ??= createRequire(import.meta.url)('ml-matrix') as MlMatrix
  return mlMatrix
}

import type { Kernels } from '../../native-free-kernels/index.js'
import { VqInputError, VqOptionError } from '../errors.js'
import { MAX_OPQ_DIM } from '../limits.js'
import { ProductQuantizer } from '../quantizers/pq.js'
import { expectArray, type QuantizerState } from '../quantizers/quantizer.js'
import { Rng } from '../util/random.js'

/** Options of OPQ training. */
export interface OpqTrainOptions {
  /** Alternations of PQ training and rotation update. Default 20. */
  iterations?: number
  /** k-means iterations of the inner PQ at each alternation (warm-started). Default 4. */
  pqIterations?: number
  /** k-means iterations of the first inner PQ. Default 20. */
  pqIterationsFirst?: number
  /** Training sample size. Default 65,536 (FAISS's 256*256). */
  maxTrainPoints?: number
  seed?: number
  /** Called after each alternation with the mean squared reconstruction error. */
  onProgress?: (iteration: number, iterations: number, mse: number) => void
}

export class OpqTransform {
  readonly dIn: number
  readonly dOut: number
  /** Sub-quantizers of the PQ it is trained for (dOut must be divisible by m). */
  readonly m: number
  /** Rotation, row-major (dOut, dIn). Identity (first dOut rows) until trained. */
  R: Float32Array
  readonly #kernels: Kernels
  #trained = false

  /** Throws VqOptionError when dOut > dIn or m does not divide dOut. */
  constructor(dIn: number, dOut: number, m: number, kernels: Kernels) {
    if (dIn > MAX_OPQ_DIM) {
      throw new VqOptionError(
        'BAD_OPTION',
        `OPQ learns a ${dIn} x ${dOut} rotation (an SVD of that size per iteration); its input dimension must be at most ${MAX_OPQ_DIM}, got ${dIn}`,
      )
    }
    if (!Number.isInteger(dOut) || dOut < 1 || dOut > dIn)
      throw new VqOptionError('BAD_OPTION', `OPQ output dimension must be from 1 to ${dIn}, got ${dOut}`)
    if (!Number.isInteger(m) || m < 1 || dOut % m !== 0)
      throw new VqOptionError('BAD_OPTION', `OPQ m = ${m} must divide its output dimension ${dOut}`)
    this.dIn = dIn
    this.dOut = dOut
    this.m = m
    this.R = new Float32Array(dOut * dIn)
    for (let i = 0; i < dOut; i++) this.R[i * dIn + i] = 1
    this.#kernels = kernels
  }

  /** True once trained. */
  get isTrained(): boolean {
    return this.#trained
  }

  /** y = R x for n vectors: x is n*dIn, out is n*dOut. */
  apply(x: Float32Array, n: number, out: Float32Array): void {
    this.#kernels.innerProductMatrix(x, n, this.R, this.dOut, this.dIn, out)
  }

  /** x ~ R^T y for n vectors: y is n*dOut, out is n*dIn (exact inverse when dOut = dIn). */
  reverse(y: Float32Array, n: number, out: Float32Array): void {
    const { dIn, dOut, R } = this
    out.fill(0, 0, n * dIn)
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < dOut; a++) {
        const v = y[i * dOut + a]!
        for (let b = 0; b < dIn; b++) out[i * dIn + b]! += v * R[a * dIn + b]!
      }
    }
  }

  /** Learns R on n vectors x (n*dIn) for a PQ with m sub-quantizers of 2^nbits centroids. */
  train(x: Float32Array, n: number, nbits: number, options: OpqTrainOptions = {}): void {
    const { dIn, dOut, m } = this
    const ksub = 1 << nbits
    if (n < ksub) throw new VqInputError('TOO_FEW_TRAINING_POINTS', `OPQ needs at least ${ksub} training vectors, got ${n}`)
    const iterations = options.iterations ?? 20
    const seed = options.seed ?? 1234
    const rng = new Rng(seed ^ 0x0a0a)
    // Training sample.
    const nt = Math.min(n, options.maxTrainPoints ?? 65536)
    let X = x
    if (nt < n) {
      const rows = rng.sample(n, nt).sort()
      X = new Float32Array(nt * dIn)
      for (let i = 0; i < nt; i++) X.set(x.subarray(rows[i]! * dIn, (rows[i]! + 1) * dIn), i * dIn)
    }
    const Xt = transpose(X, nt, dIn) // dIn x nt
    // Start from a random rotation (as FAISS), which spreads variance across sub-spaces.
    const g = ml().Matrix.zeros(dIn, dOut)
    for (let a = 0; a < dIn; a++) for (let b = 0; b < dOut; b++) g.set(a, b, rng.normal())
    this.R = procrustes(g, dIn, dOut)
    const Y = new Float32Array(nt * dOut)
    const Yhat = new Float32Array(nt * dOut)
    const codes = new Uint8Array(nt * Math.ceil((m * nbits) / 8))
    let pq = new ProductQuantizer(dOut, m, nbits, this.#kernels)
    const M = new Float32Array(dIn * dOut)
    for (let it = 0; it < iterations; it++) {
      this.apply(X, nt, Y)
      const prev = pq.isTrained ? pq.centroids : undefined
      pq = new ProductQuantizer(dOut, m, nbits, this.#kernels)
      pq.train(Y, nt, {
        seed: seed + it,
        iterations: it === 0 ? (options.pqIterationsFirst ?? 20) : (options.pqIterations ?? 4),
        tolerance: 0,
        maxPointsPerCentroid: Infinity,
        ...(prev ? { initialCentroids: prev } : {}),
        minPointsPerCentroid: 0,
      })
      pq.encode(Y, nt, codes)
      pq.decode(codes, nt, Yhat)
      let mse = 0
      for (let i = 0; i < nt * dOut; i++) mse += (Y[i]! - Yhat[i]!) ** 2
      options.onProgress?.(it + 1, iterations, mse / nt)
      // M = X^T Yhat (dIn x dOut): rows of X^T against rows of Yhat^T.
      this.#kernels.innerProductMatrix(Xt, dIn, transpose(Yhat, nt, dOut), dOut, nt, M)
      this.R = procrustes(new (ml().Matrix)(toRows(M, dIn, dOut)), dIn, dOut)
    }
    this.#trained = true
  }

  /** The rotation, shape [dOut, dIn]. */
  exportState(): QuantizerState {
    return {
      kind: 'opq',
      params: { dIn: this.dIn, dOut: this.dOut, m: this.m },
      arrays: { R: { shape: [this.dOut, this.dIn], data: this.R } },
    }
  }

  /** Restores the rotation (shape [dOut, dIn]). */
  loadState(state: QuantizerState): void {
    this.R = expectArray(state, 'R', [this.dOut, this.dIn]).slice()
    this.#trained = true
  }
}

/** R (dOut x dIn, row-major) with R^T = U V^T from the SVD of A (dIn x dOut). */
function procrustes(A: MatrixType, dIn: number, dOut: number): Float32Array {
  const svd = new (ml().SingularValueDecomposition)(A, {
    computeLeftSingularVectors: true,
    computeRightSingularVectors: true,
    autoTranspose: true,
  })
  const Rt = svd.leftSingularVectors.mmul(svd.rightSingularVectors.transpose()) // dIn x dOut
  const R = new Float32Array(dOut * dIn)
  for (let a = 0; a < dOut; a++) for (let b = 0; b < dIn; b++) R[a * dIn + b] = Rt.get(b, a)
  return R
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j]!
  return t
}

function toRows(x: Float32Array, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from(x.subarray(i * cols, (i + 1) * cols)))
}
