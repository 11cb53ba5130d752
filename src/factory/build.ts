/** Builds the quantizer a codec spec describes. */
import type { Kernels } from '../../native-free-kernels/index.js'
import { FlatCodec } from '../quantizers/flat.js'
import { ProductQuantizer } from '../quantizers/pq.js'
import type { InnerMetric, Quantizer } from '../quantizers/quantizer.js'
import { RaBitQuantizer } from '../quantizers/rabitq.js'
import { Fp16Codec, ScalarQuantizer } from '../quantizers/sq.js'
import type { CodecSpec } from '../types.js'

/** Where a codec is used: the metric its distances are for, and whether it codes IVF residuals. */
export interface CodecContext {
  readonly inner: InnerMetric
  /** The codec codes x - c_l (IVF by residual): RaBitQ then codes relative to the list centroid alone. */
  readonly residual: boolean
}

/**
 * A new, untrained quantizer for spec and dimension dim (throws VqOptionError on invalid
 * parameters). RaBitQ codes carry metric-specific factors, so it is made for context.inner;
 * it centres on the training mean unless it codes IVF residuals (FAISS: IndexRaBitQ centres
 * on the mean, IndexIVFRaBitQ on the list centroids).
 */
export function buildQuantizer(
  spec: CodecSpec,
  dim: number,
  kernels: Kernels,
  context: CodecContext = { inner: 'l2', residual: false },
): Quantizer {
  switch (spec.kind) {
    case 'flat':
      return new FlatCodec(dim, kernels)
    case 'pq':
      return new ProductQuantizer(dim, spec.m, spec.nbits ?? 8, kernels)
    case 'sq8':
      return new ScalarQuantizer(dim, 8, spec.clip ?? 0, kernels)
    case 'sq4':
      return new ScalarQuantizer(dim, 4, spec.clip ?? 0, kernels)
    case 'fp16':
      return new Fp16Codec(dim, kernels)
    case 'rabitq':
      return new RaBitQuantizer(dim, { nbits: spec.nbits ?? 1, metric: context.inner, center: !context.residual }, kernels)
  }
}
