/**
 * Bounded top-k selection: a binary max-heap kept in two parallel typed arrays,
 * distances (Float32Array, length k) and labels (Float64Array, length k). The root holds
 * the worst of the k best seen so far, so a new candidate costs one compare unless it
 * enters the heap. Order is total: (distance, label) lexicographically, so equal
 * distances are broken by the smaller label and results are deterministic.
 *
 * Usage: heapInit, then heapPushMany / heapPush for every candidate, then heapSort,
 * which leaves the k best in ascending order, padded at the end with
 * (Infinity, -1) when fewer than k finite candidates were pushed.
 */

/** Fills a heap of size k with empty slots (Infinity, -1). */
export function heapInit(k: number, dist: Float32Array, label: Float64Array): void {
  dist.fill(Infinity, 0, k)
  label.fill(-1, 0, k)
}

/**
 * True when (da, la) ranks after (db, lb). The empty label -1 ranks after every real
 * label at the same distance.
 */
function worse(da: number, la: number, db: number, lb: number): boolean {
  return da > db || (da === db && (la < 0 ? Infinity : la) > (lb < 0 ? Infinity : lb))
}

/**
 * Places (d, l) at the root of the heap made of the first `size` slots and sifts it down
 * to where it belongs.
 */
function siftDown(size: number, dist: Float32Array, label: Float64Array, d: number, l: number): void {
  let i = 0
  for (;;) {
    const left = 2 * i + 1
    if (left >= size) break
    const right = left + 1
    let child = left
    if (right < size && worse(dist[right]!, label[right]!, dist[left]!, label[left]!)) child = right
    if (!worse(dist[child]!, label[child]!, d, l)) break
    dist[i] = dist[child]!
    label[i] = label[child]!
    i = child
  }
  dist[i] = d
  label[i] = l
}

/** Offers one candidate; returns true when it entered the heap. */
export function heapPush(k: number, dist: Float32Array, label: Float64Array, d: number, l: number): boolean {
  if (k === 0 || !worse(dist[0]!, label[0]!, d, l)) return false
  siftDown(k, dist, label, d, l)
  return true
}

/**
 * Offers n candidates with distances cand[0..n) and labels labelOffset + i.
 * Returns the number that entered the heap.
 */
export function heapPushMany(
  k: number,
  dist: Float32Array,
  label: Float64Array,
  cand: Float32Array,
  n: number,
  labelOffset: number,
): number {
  if (k === 0) return 0
  let entered = 0
  let top = dist[0]!
  for (let i = 0; i < n; i++) {
    const d = cand[i]!
    if (d > top) continue
    if (heapPush(k, dist, label, d, labelOffset + i)) {
      entered++
      top = dist[0]!
    }
  }
  return entered
}

/** Sorts the heap in place into ascending (distance, label) order; empty slots go last. */
export function heapSort(k: number, dist: Float32Array, label: Float64Array): void {
  for (let end = k - 1; end > 0; end--) {
    const d = dist[end]!
    const l = label[end]!
    dist[end] = dist[0]!
    label[end] = label[0]!
    siftDown(end, dist, label, d, l)
  }
}
