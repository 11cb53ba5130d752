/**
 * The lookup-table scan oracles (types.ts LutScan, the RaBitQ fast-scan): plain loops over
 * unpacked sub-codes that compute what the SIMD kernel (wasm/assembly/kernels.ts, lsSearch)
 * must, for the tests to compare it with. No library code calls these.
 *
 * Sub-codes unpacked: one byte per sub-code, item i's m sub-codes at codes[i*m .. (i+1)*m).
 */
import { heapPush } from '../topk.js'
import type { LutScan } from '../types.js'
import { fastScanCodeAt } from './fastscan.js'

const f = Math.fround

/**
 * The estimate of an item from its raw table sum: ((a + b * ((alpha * raw) + beta)) + gamma),
 * every operand and every intermediate result rounded to float32, as the kernel computes it.
 * (A float32 sum or product computed in float64 and rounded once is the correctly rounded
 * float32 result, so this is the bits of float32 arithmetic.)
 */
export function lutScanEstimate(raw: number, a: number, b: number, alpha: number, beta: number, gamma: number): number {
  const u = f(f(alpha) * f(raw))
  const v = f(u + f(beta))
  const w = f(f(b) * v)
  const x = f(f(a) + w)
  return f(x + f(gamma))
}

/** The raw table sum of item i: sum over j < m of table[j*16 + codes[i*m + j]]. */
export function lutScanRaw(codes: Uint8Array, i: number, m: number, table: Uint8Array): number {
  let s = 0
  for (let j = 0; j < m; j++) s += table[j * 16 + codes[i * m + j]!]!
  return s
}

/** out[i] = the estimate of item i < n (unpacked codes, its table and constants). */
// biome-ignore format: one-line signature, as the kernel's
export function lutScanEstimates(codes: Uint8Array, n: number, m: number, table: Uint8Array, a: Float32Array, b: Float32Array, alpha: number, beta: number, gamma: number, out: Float32Array): void {
  for (let i = 0; i < n; i++) out[i] = lutScanEstimate(lutScanRaw(codes, i, m, table), a[i]!, b[i]!, alpha, beta, gamma)
}

/** One segment of the reference scan: unpacked sub-codes and the items' a and b. */
export interface LutScanSegment {
  codes: Uint8Array
  n: number
  a: Float32Array
  b: Float32Array
}

/**
 * LutScan.search by definition: for t < nl, every item of segment segs[t] (segments[segs[t]],
 * absent = empty) offered in order to heapPush with its estimate under tables[t*m*16 ..) and
 * consts[3t .. 3t + 3), labelled segs[t]*2^32 + i. Returns the items scanned.
 */
// biome-ignore format: one-line signature, as LutScan.search
export function lutScanSearchReference(segments: ReadonlyArray<LutScanSegment | undefined>, m: number, segs: Int32Array, nl: number, tables: Uint8Array, consts: Float32Array, k: number, hd: Float32Array, hl: Float64Array): number {
  let scanned = 0
  for (let t = 0; t < nl; t++) {
    const s = segs[t]!
    const seg = segments[s]
    if (!seg) continue
    const table = tables.subarray(t * m * 16, (t + 1) * m * 16)
    for (let i = 0; i < seg.n; i++) {
      const e = lutScanEstimate(lutScanRaw(seg.codes, i, m, table), seg.a[i]!, seg.b[i]!, consts[3 * t]!, consts[3 * t + 1]!, consts[3 * t + 2]!)
      heapPush(k, hd, hl, e, s * 2 ** 32 + i)
    }
    scanned += seg.n
  }
  return scanned
}

/** Unpacks n items of m sub-codes from fastScanPack's blocked layout at packed[off..) (one byte per sub-code). */
export function lutScanUnpack(packed: Uint8Array, off: number, n: number, m: number): Uint8Array {
  const out = new Uint8Array(n * m)
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = fastScanCodeAt(packed, off, m, i, j)
  return out
}

/**
 * A LutScan (types.ts) in plain TypeScript over unpacked copies of the segments: the
 * contract by definition (lutScanSearchReference, lutScanEstimates), for tests and as the
 * model a backend without SIMD can follow. bytes counts the copies it holds.
 */
export function createReferenceLutScan(m: number): LutScan {
  let segments: Array<LutScanSegment | undefined> = []
  let bytes = 0
  return {
    m,
    setSegment(seg, packed, n, a, b) {
      bytes -= segments[seg] ? segments[seg]!.n * (m + 8) : 0
      segments[seg] = {
        codes: lutScanUnpack(packed, 0, n, m),
        n,
        a: Float32Array.from(a.subarray(0, n)),
        b: Float32Array.from(b.subarray(0, n)),
      }
      bytes += n * (m + 8)
    },
    search(segs, nl, tables, consts, k, hd, hl) {
      return lutScanSearchReference(segments, m, segs, nl, tables, consts, k, hd, hl)
    },
    estimates(seg, table, alpha, beta, gamma, out) {
      const s = segments[seg]
      if (s) lutScanEstimates(s.codes, s.n, m, table, s.a, s.b, alpha, beta, gamma, out)
    },
    get bytes() {
      return bytes
    },
    free() {
      segments = []
      bytes = 0
    },
  }
}
