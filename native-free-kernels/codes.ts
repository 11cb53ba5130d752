/**
 * Bit packing of product-quantizer sub-codes, least-significant bit first (the FAISS
 * PQEncoderGeneric order): sub-code j of a vector occupies bits [j*nbits, (j+1)*nbits)
 * of its code, and bit b of the code is bit (b & 7) of byte (b >>> 3).
 * With nbits = 8 each sub-code is one byte; with nbits = 4 sub-code 2t is the low
 * nibble of byte t and 2t+1 the high nibble. Code size: ceil(m*nbits/8) bytes.
 */

/** Bytes per code for m sub-codes of nbits bits. */
export function pqCodeSize(m: number, nbits: number): number {
  return (m * nbits + 7) >>> 3
}

/**
 * Packs n*m sub-codes (row-major, values < 2^nbits) into n codes.
 * sub: length n*m; out: length >= n*pqCodeSize(m, nbits), overwritten.
 */
export function packCodes(sub: ArrayLike<number>, n: number, m: number, nbits: number, out: Uint8Array): void {
  const cs = pqCodeSize(m, nbits)
  out.fill(0, 0, n * cs)
  if (nbits === 8) {
    for (let i = 0; i < n * m; i++) out[i] = sub[i]!
    return
  }
  for (let i = 0; i < n; i++) {
    let bit = i * cs * 8
    for (let j = 0; j < m; j++, bit += nbits) {
      const v = sub[i * m + j]!
      const byte = bit >>> 3
      const shift = bit & 7
      out[byte] = out[byte]! | ((v << shift) & 255)
      if (shift + nbits > 8) out[byte + 1] = out[byte + 1]! | (v >>> (8 - shift))
    }
  }
}

/** Inverse of packCodes. codes: n*pqCodeSize(m, nbits) bytes; out: length >= n*m. */
export function unpackCodes(codes: Uint8Array, n: number, m: number, nbits: number, out: Int32Array | Uint16Array | Uint8Array): void {
  const cs = pqCodeSize(m, nbits)
  const mask = (1 << nbits) - 1
  for (let i = 0; i < n; i++) {
    let bit = i * cs * 8
    for (let j = 0; j < m; j++, bit += nbits) {
      const byte = bit >>> 3
      const shift = bit & 7
      let v = codes[byte]! >>> shift
      if (shift + nbits > 8) v |= codes[byte + 1]! << (8 - shift)
      out[i * m + j] = v & mask
    }
  }
}
