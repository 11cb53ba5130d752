/**
 * Pad<d>: zero dimensions appended to every vector, in front of the codecs (FAISS's
 * "Pad<d>" stage, a RemapDimensionsTransform that keeps the input dimensions first). It
 * changes no distance (the appended components are zero in every vector and every query)
 * and lets a PQ whose m does not divide the input dimension run on d' = a multiple of m:
 * "Pad112,IVF64,PQ16" on 100-d vectors. Nothing to train; reverse drops the padding.
 */
import { VqOptionError } from '../errors.js'
import { MAX_DIM } from '../limits.js'
import type { QuantizerState } from '../quantizers/quantizer.js'

export class PadTransform {
  readonly dIn: number
  readonly dOut: number

  /** Throws VqOptionError unless dIn <= dOut <= MAX_DIM. */
  constructor(dIn: number, dOut: number) {
    if (!Number.isInteger(dOut) || dOut < dIn || dOut > MAX_DIM)
      throw new VqOptionError('BAD_OPTION', `Pad<d> appends zero dimensions: d must be an integer from ${dIn} to ${MAX_DIM}, got ${dOut}`)
    this.dIn = dIn
    this.dOut = dOut
  }

  /** Always true: nothing to learn. */
  get isTrained(): boolean {
    return true
  }

  /** x (n*dIn) -> out (n*dOut), the added components zero. */
  apply(x: Float32Array, n: number, out: Float32Array): void {
    const { dIn, dOut } = this
    for (let i = 0; i < n; i++) {
      out.set(x.subarray(i * dIn, (i + 1) * dIn), i * dOut)
      out.fill(0, i * dOut + dIn, (i + 1) * dOut)
    }
  }

  /** y (n*dOut) -> out (n*dIn): the first dIn components. */
  reverse(y: Float32Array, n: number, out: Float32Array): void {
    const { dIn, dOut } = this
    for (let i = 0; i < n; i++) out.set(y.subarray(i * dOut, i * dOut + dIn), i * dIn)
  }

  /** No trained arrays. */
  exportState(): QuantizerState {
    return { kind: 'pad', params: { dIn: this.dIn, dOut: this.dOut }, arrays: {} }
  }

  /** Nothing to restore. */
  loadState(_state: QuantizerState): void {}
}
