/** Random lookup-table scan (RaBitQ fast-scan) segments for the kernel tests. */
import { fastScanPack, fastScanPackedSize, type LutScanSegment, packCodes } from '../../native-free-kernels/index.js'
import type { Rng } from '../../src/util/random.js'

/** One random segment: unpacked sub-codes, their packed layout, a and b (b of both signs, some zeros). */
export interface Seg extends LutScanSegment {
  packed: Uint8Array
}

export function makeSegment(n: number, m: number, rng: Rng): Seg {
  const sub = new Int32Array(n * m)
  for (let i = 0; i < sub.length; i += 8) {
    const r = rng.int(2 ** 32)
    for (let t = 0; t < 8 && i + t < sub.length; t++) sub[i + t] = (r >>> (4 * t)) & 15
  }
  const cs = Math.ceil(m / 2)
  const codes = new Uint8Array(n * cs)
  packCodes(sub, n, m, 4, codes)
  const packed = new Uint8Array(fastScanPackedSize(n, m))
  fastScanPack(codes, 0, cs, n, m, packed, 0)
  const a = Float32Array.from({ length: n }, () => (rng.float() - 0.5) * 8)
  const b = Float32Array.from({ length: n }, () => (rng.int(10) === 0 ? 0 : (rng.float() - 0.5) * 4))
  return { codes: Uint8Array.from(sub), n, a, b, packed }
}
