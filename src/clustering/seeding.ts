/** k-means seeding: k distinct random points, or k-means++. */
import type { Kernels } from '../../native-free-kernels/index.js'
import type { Rng } from '../util/random.js'

/** k distinct training points, in random order. */
export function initRandom(x: Float32Array, n: number, d: number, k: number, rng: Rng): Float32Array {
  const pick = rng.sample(n, k)
  const c = new Float32Array(k * d)
  for (let j = 0; j < k; j++) c.set(x.subarray(pick[j]! * d, (pick[j]! + 1) * d), j * d)
  return c
}

/**
 * k-means++ (Arthur and Vassilvitskii 2007): the first centroid is a uniform point, each
 * next one a point drawn with probability proportional to its squared distance to the
 * nearest centroid chosen so far. Cost: n*k*d, one Lloyd iteration's worth. `onStep` is
 * called about 20 times along the way (progress).
 */
export function initPlusPlus(
  kernels: Kernels,
  x: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  onStep: (() => void) | undefined,
): Float32Array {
  const c = new Float32Array(k * d)
  const minDist = new Float64Array(n)
  const buf = new Float32Array(n)
  const first = rng.int(n)
  c.set(x.subarray(first * d, (first + 1) * d), 0)
  kernels.l2sqrMany(c, 0, x, n, d, buf)
  let total = 0
  for (let i = 0; i < n; i++) {
    minDist[i] = buf[i]!
    total += buf[i]!
  }
  const every = Math.max(1, Math.floor(k / 20))
  for (let j = 1; j < k; j++) {
    let pick: number
    if (total > 0) {
      // Inverse-CDF draw; the rounding guard falls back to the last point with weight.
      const r = rng.float() * total
      let acc = 0
      pick = -1
      let lastPositive = 0
      for (let i = 0; i < n; i++) {
        const w = minDist[i]!
        if (w > 0) lastPositive = i
        acc += w
        if (acc > r) {
          pick = i
          break
        }
      }
      if (pick < 0) pick = lastPositive
    } else {
      pick = rng.int(n) // all points coincide with chosen centroids
    }
    c.set(x.subarray(pick * d, (pick + 1) * d), j * d)
    kernels.l2sqrMany(c, j * d, x, n, d, buf)
    total = 0
    for (let i = 0; i < n; i++) {
      const v = buf[i]!
      if (v < minDist[i]!) minDist[i] = v
      total += minDist[i]!
    }
    if (onStep && j % every === 0) onStep()
  }
  return c
}
