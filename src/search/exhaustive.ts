/**
 * Exhaustive search over an item table: one scanner pass over all codes in blocks, the
 * distances of each block offered to a bounded top-k heap.
 */
import { heapInit, heapPushMany, heapSort } from '../../native-free-kernels/index.js'
import type { CodeScanner } from '../quantizers/quantizer.js'

/** Codes scanned per block. */
const SCAN_BLOCK = 16384

/** Reusable scratch of one searching thread. */
export class ScanScratch {
  /** Distances of one scanned block (SCAN_BLOCK floats). */
  readonly dist = new Float32Array(SCAN_BLOCK)
}

/**
 * Scans count codes (count*codeSize bytes) for the scanner's current query and leaves
 * the k best (internal distance, position) pairs in heapDist/heapPos (length k), sorted
 * ascending, padded with (Infinity, -1).
 */
export function scanAll(
  scanner: CodeScanner, codes: Uint8Array, count: number, codeSize: number,
  k: number, heapDist: Float32Array, heapPos: Int32Array, scratch: ScanScratch,
): void {
  heapInit(k, heapDist, heapPos)
  for (let i0 = 0; i0 < count; i0 += SCAN_BLOCK) {
    const b = Math.min(SCAN_BLOCK, count - i0)
    scanner.scan(codes.subarray(i0 * codeSize, (i0 + b) * codeSize), b, scratch.dist)
    heapPushMany(k, heapDist, heapPos, scratch.dist, b, i0)
  }
  heapSort(k, heapDist, heapPos)
}
