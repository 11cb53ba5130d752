/** Builds the quantizer a codec spec describes. */
import type { Kernels } from '../../native-free-kernels/index.js'
import { FlatCodec } from '../quantizers/flat.js'
import { ProductQuantizer } from '../quantizers/pq.js'
import type { Quantizer } from '../quantizers/quantizer.js'
import { Fp16Codec, ScalarQuantizer } from '../quantizers/sq.js'
import type { CodecSpec } from '../types.js'

/** A new, untrained quantizer for spec and dimension dim (throws VqOptionError on invalid parameters). */
export function buildQuantizer(spec: CodecSpec, dim: number, kernels: Kernels): Quantizer {
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
  }
}
