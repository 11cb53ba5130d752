// vqlite WebAssembly SIMD kernels (AssemblyScript source; compiled by `npm run build:wasm`).
//
// Every function works on raw addresses into the module's own linear memory; the
// TypeScript side (../index.ts) owns the layout, copies operands in when they do not
// already live here, and checks sizes. Layouts are those of ../../types.ts. Floats are
// accumulated in f32x4 lanes (the TypeScript kernels accumulate in f64), so results agree
// with them to about 1e-6 relative, not bit for bit.
//
// No managed objects are created: the runtime is only used for its allocator
// (heap.alloc / heap.free, exported below).

/** Allocates size bytes (16-byte aligned); returns the address. */
export function alloc(size: usize): usize {
  return heap.alloc(size)
}

/** Frees an address returned by alloc. */
export function release(ptr: usize): void {
  heap.free(ptr)
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))
}

/** Squared L2 between d floats at a and at b. */
// @ts-ignore: decorator
@inline function l2sqrAt(a: usize, b: usize, d: i32): f32 {
  let acc0 = f32x4.splat(0)
  let acc1 = f32x4.splat(0)
  let t = 0
  for (; t + 8 <= d; t += 8) {
    const o = <usize>t << 2
    const e0 = f32x4.sub(v128.load(a + o), v128.load(b + o))
    const e1 = f32x4.sub(v128.load(a + o, 16), v128.load(b + o, 16))
    acc0 = f32x4.add(acc0, f32x4.mul(e0, e0))
    acc1 = f32x4.add(acc1, f32x4.mul(e1, e1))
  }
  if (t + 4 <= d) {
    const o = <usize>t << 2
    const e0 = f32x4.sub(v128.load(a + o), v128.load(b + o))
    acc0 = f32x4.add(acc0, f32x4.mul(e0, e0))
    t += 4
  }
  let s = hsum(f32x4.add(acc0, acc1))
  for (; t < d; t++) {
    const e = load<f32>(a + (<usize>t << 2)) - load<f32>(b + (<usize>t << 2))
    s += e * e
  }
  return s
}

/** Inner product of d floats at a and at b. */
// @ts-ignore: decorator
@inline function dotAt(a: usize, b: usize, d: i32): f32 {
  let acc0 = f32x4.splat(0)
  let acc1 = f32x4.splat(0)
  let t = 0
  for (; t + 8 <= d; t += 8) {
    const o = <usize>t << 2
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(a + o), v128.load(b + o)))
    acc1 = f32x4.add(acc1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)))
  }
  if (t + 4 <= d) {
    const o = <usize>t << 2
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(a + o), v128.load(b + o)))
    t += 4
  }
  let s = hsum(f32x4.add(acc0, acc1))
  for (; t < d; t++) s += load<f32>(a + (<usize>t << 2)) * load<f32>(b + (<usize>t << 2))
  return s
}

/**
 * The four lane sums of A, B, C, D, each summed as hsum does ((l0 + l1) + (l2 + l3)), as
 * the four lanes of one vector.
 */
// @ts-ignore: decorator
@inline function hsum4(A: v128, B: v128, C: v128, D: v128): v128 {
  const u = f32x4.add(i32x4.shuffle(A, B, 0, 2, 4, 6), i32x4.shuffle(A, B, 1, 3, 5, 7))
  const v = f32x4.add(i32x4.shuffle(C, D, 0, 2, 4, 6), i32x4.shuffle(C, D, 1, 3, 5, 7))
  return f32x4.add(i32x4.shuffle(u, v, 0, 2, 4, 6), i32x4.shuffle(u, v, 1, 3, 5, 7))
}

/**
 * l2sqrAt (kind 0) or dotAt (kind 1) of q against 4 rows at x (stride row bytes), stored
 * to out[0..4): each row's sum in the same order as l2sqrAt / dotAt (the same bits), with
 * the query's lanes loaded once for the 4 rows.
 */
// @ts-ignore: decorator
@inline function many4(kind: i32, q: usize, x: usize, row: usize, d: i32, out: usize): void {
  const x1 = x + row, x2 = x1 + row, x3 = x2 + row
  let a0 = f32x4.splat(0), b0 = f32x4.splat(0), a1 = f32x4.splat(0), b1 = f32x4.splat(0)
  let a2 = f32x4.splat(0), b2 = f32x4.splat(0), a3 = f32x4.splat(0), b3 = f32x4.splat(0)
  let t = 0
  for (; t + 8 <= d; t += 8) {
    const o = <usize>t << 2
    const qa = v128.load(q + o)
    const qb = v128.load(q + o, 16)
    if (kind == 0) {
      let e = f32x4.sub(qa, v128.load(x + o)); a0 = f32x4.add(a0, f32x4.mul(e, e))
      e = f32x4.sub(qb, v128.load(x + o, 16)); b0 = f32x4.add(b0, f32x4.mul(e, e))
      e = f32x4.sub(qa, v128.load(x1 + o)); a1 = f32x4.add(a1, f32x4.mul(e, e))
      e = f32x4.sub(qb, v128.load(x1 + o, 16)); b1 = f32x4.add(b1, f32x4.mul(e, e))
      e = f32x4.sub(qa, v128.load(x2 + o)); a2 = f32x4.add(a2, f32x4.mul(e, e))
      e = f32x4.sub(qb, v128.load(x2 + o, 16)); b2 = f32x4.add(b2, f32x4.mul(e, e))
      e = f32x4.sub(qa, v128.load(x3 + o)); a3 = f32x4.add(a3, f32x4.mul(e, e))
      e = f32x4.sub(qb, v128.load(x3 + o, 16)); b3 = f32x4.add(b3, f32x4.mul(e, e))
    } else {
      a0 = f32x4.add(a0, f32x4.mul(qa, v128.load(x + o))); b0 = f32x4.add(b0, f32x4.mul(qb, v128.load(x + o, 16)))
      a1 = f32x4.add(a1, f32x4.mul(qa, v128.load(x1 + o))); b1 = f32x4.add(b1, f32x4.mul(qb, v128.load(x1 + o, 16)))
      a2 = f32x4.add(a2, f32x4.mul(qa, v128.load(x2 + o))); b2 = f32x4.add(b2, f32x4.mul(qb, v128.load(x2 + o, 16)))
      a3 = f32x4.add(a3, f32x4.mul(qa, v128.load(x3 + o))); b3 = f32x4.add(b3, f32x4.mul(qb, v128.load(x3 + o, 16)))
    }
  }
  if (t + 4 <= d) {
    const o = <usize>t << 2
    const qa = v128.load(q + o)
    if (kind == 0) {
      let e = f32x4.sub(qa, v128.load(x + o)); a0 = f32x4.add(a0, f32x4.mul(e, e))
      e = f32x4.sub(qa, v128.load(x1 + o)); a1 = f32x4.add(a1, f32x4.mul(e, e))
      e = f32x4.sub(qa, v128.load(x2 + o)); a2 = f32x4.add(a2, f32x4.mul(e, e))
      e = f32x4.sub(qa, v128.load(x3 + o)); a3 = f32x4.add(a3, f32x4.mul(e, e))
    } else {
      a0 = f32x4.add(a0, f32x4.mul(qa, v128.load(x + o)))
      a1 = f32x4.add(a1, f32x4.mul(qa, v128.load(x1 + o)))
      a2 = f32x4.add(a2, f32x4.mul(qa, v128.load(x2 + o)))
      a3 = f32x4.add(a3, f32x4.mul(qa, v128.load(x3 + o)))
    }
    t += 4
  }
  const s = hsum4(f32x4.add(a0, b0), f32x4.add(a1, b1), f32x4.add(a2, b2), f32x4.add(a3, b3))
  if (t == d) {
    v128.store(out, s)
    return
  }
  // Scalar tail (d not a multiple of 4), per row in order, as l2sqrAt / dotAt.
  let s0 = f32x4.extract_lane(s, 0), s1 = f32x4.extract_lane(s, 1)
  let s2 = f32x4.extract_lane(s, 2), s3 = f32x4.extract_lane(s, 3)
  for (; t < d; t++) {
    const o = <usize>t << 2
    const qt = load<f32>(q + o)
    if (kind == 0) {
      let e = qt - load<f32>(x + o); s0 += e * e
      e = qt - load<f32>(x1 + o); s1 += e * e
      e = qt - load<f32>(x2 + o); s2 += e * e
      e = qt - load<f32>(x3 + o); s3 += e * e
    } else {
      s0 += qt * load<f32>(x + o)
      s1 += qt * load<f32>(x1 + o)
      s2 += qt * load<f32>(x2 + o)
      s3 += qt * load<f32>(x3 + o)
    }
  }
  store<f32>(out, s0)
  store<f32>(out, s1, 4)
  store<f32>(out, s2, 8)
  store<f32>(out, s3, 12)
}

/** out[i] = ||q - x_i||^2 for n rows of d floats at x (4 rows at a time; bits as l2sqrAt row by row). */
export function l2sqrMany(q: usize, x: usize, n: i32, d: i32, out: usize): void {
  const row = <usize>d << 2
  let i = 0
  for (; i + 4 <= n; i += 4) many4(0, q, x + <usize>i * row, row, d, out + (<usize>i << 2))
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), l2sqrAt(q, x + <usize>i * row, d))
}

/** out[i] = <q, x_i> for n rows of d floats at x (4 rows at a time; bits as dotAt row by row). */
export function innerProductMany(q: usize, x: usize, n: i32, d: i32, out: usize): void {
  const row = <usize>d << 2
  let i = 0
  for (; i + 4 <= n; i += 4) many4(1, q, x + <usize>i * row, row, d, out + (<usize>i << 2))
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), dotAt(q, x + <usize>i * row, d))
}

/**
 * The p rows of x (n rows of d floats) nearest to q, nearest first (Kernels.nearestRows):
 * distances into dist (n floats of scratch) with l2sqrMany (mode 0) or as -innerProductMany
 * (mode 1), then a bounded max-heap of p entries at outD (f32) / outL (f64) with the order
 * of ../../topk.ts, sorted ascending. 1 <= p <= n.
 */
export function nearestRows(q: usize, x: usize, n: i32, d: i32, mode: i32, p: i32, dist: usize, outD: usize, outL: usize): void {
  if (mode == 0) l2sqrMany(q, x, n, d, dist)
  else {
    innerProductMany(q, x, n, d, dist)
    for (let i = 0; i < n; i++) store<f32>(dist + (<usize>i << 2), -load<f32>(dist + (<usize>i << 2)))
  }
  for (let i = 0; i < p; i++) {
    store<f32>(outD + (<usize>i << 2), Infinity)
    store<f64>(outL + (<usize>i << 3), -1)
  }
  let top: f32 = Infinity
  for (let i = 0; i < n; i++) {
    const v = load<f32>(dist + (<usize>i << 2))
    if (v > top) continue
    if (heapPush(p, outD, outL, v, <f64>i)) top = load<f32>(outD)
  }
  // Heap sort, as topk.ts heapSort: the root goes to the end, the last entry sifts down.
  for (let end = p - 1; end > 0; end--) {
    const e = <usize>end
    const v = load<f32>(outD + (e << 2))
    const l = load<f64>(outL + (e << 3))
    store<f32>(outD + (e << 2), load<f32>(outD))
    store<f64>(outL + (e << 3), load<f64>(outL))
    siftDown(end, outD, outL, v, l)
  }
}

/**
 * Transposes ny rows of d floats at y into yt, in panels of 8 rows: panel p holds, for
 * each t < d, the 8 floats y[8p + 0..8)[t] (rows past ny are zero). yt: ceil(ny/8)*8*d floats.
 */
export function panelize8(y: usize, ny: i32, d: i32, yt: usize): void {
  const panels = (ny + 7) >> 3
  for (let p = 0; p < panels; p++) {
    const base = yt + (<usize>(p * 8 * d) << 2)
    for (let r = 0; r < 8; r++) {
      const j = p * 8 + r
      for (let t = 0; t < d; t++) {
        const v: f32 = j < ny ? load<f32>(y + (<usize>(j * d + t) << 2)) : 0
        store<f32>(base + (<usize>(t * 8 + r) << 2), v)
      }
    }
  }
}

/**
 * Dot products of 4 rows of x (at x0, stride d) against one panel of 8 rows (see
 * panelize8): returns them in the 8 accumulators written to acc (32 floats: row r, lanes
 * for panel rows 0..3 then 4..7).
 */
// @ts-ignore: decorator
@inline function tile4x8(x0: usize, rows: i32, d: i32, panel: usize, acc: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0)
  let a10 = f32x4.splat(0), a11 = f32x4.splat(0)
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0)
  let a30 = f32x4.splat(0), a31 = f32x4.splat(0)
  const stride = <usize>d << 2
  const x1 = rows > 1 ? x0 + stride : x0
  const x2 = rows > 2 ? x0 + 2 * stride : x0
  const x3 = rows > 3 ? x0 + 3 * stride : x0
  for (let t = 0; t < d; t++) {
    const o = <usize>t << 2
    const p = panel + (<usize>t << 5)
    const y0 = v128.load(p)
    const y1 = v128.load(p, 16)
    const s0 = v128.load32_splat(x0 + o)
    const s1 = v128.load32_splat(x1 + o)
    const s2 = v128.load32_splat(x2 + o)
    const s3 = v128.load32_splat(x3 + o)
    a00 = f32x4.add(a00, f32x4.mul(s0, y0)); a01 = f32x4.add(a01, f32x4.mul(s0, y1))
    a10 = f32x4.add(a10, f32x4.mul(s1, y0)); a11 = f32x4.add(a11, f32x4.mul(s1, y1))
    a20 = f32x4.add(a20, f32x4.mul(s2, y0)); a21 = f32x4.add(a21, f32x4.mul(s2, y1))
    a30 = f32x4.add(a30, f32x4.mul(s3, y0)); a31 = f32x4.add(a31, f32x4.mul(s3, y1))
  }
  v128.store(acc, a00); v128.store(acc, a01, 16)
  v128.store(acc, a10, 32); v128.store(acc, a11, 48)
  v128.store(acc, a20, 64); v128.store(acc, a21, 80)
  v128.store(acc, a30, 96); v128.store(acc, a31, 112)
}

/** out[i*ny + j] = <x_i, y_j>; yt: y panelized by panelize8; acc: 128 bytes of scratch. */
export function innerProductMatrix(x: usize, nx: i32, yt: usize, ny: i32, d: i32, out: usize, acc: usize): void {
  const panels = (ny + 7) >> 3
  const panelBytes = <usize>(8 * d) << 2
  for (let i0 = 0; i0 < nx; i0 += 4) {
    const rows = min(4, nx - i0)
    const xr = x + (<usize>(i0 * d) << 2)
    for (let p = 0; p < panels; p++) {
      tile4x8(xr, rows, d, yt + <usize>p * panelBytes, acc)
      const jn = min(8, ny - p * 8)
      for (let r = 0; r < rows; r++) {
        const o = out + (<usize>((i0 + r) * ny + p * 8) << 2)
        for (let c = 0; c < jn; c++) store<f32>(o + (<usize>c << 2), load<f32>(acc + (<usize>(r * 8 + c) << 2)))
      }
    }
  }
}

/**
 * k-means assignment: for each of nx rows of x, the nearest of ny rows of y under squared
 * L2, ties to the smaller index. yt: y panelized by panelize8; yNorms: ||y_j||^2 (f32, ny
 * floats, padded with +inf to a multiple of 8). Writes outIdx (i32), outDist (f32, clamped
 * at 0) and, when outSecond is not 0, the second-smallest squared distance (f32, +inf when
 * ny = 1). acc: 128 bytes of scratch.
 *
 * Distances are ||x||^2 + (||y||^2 - 2<x, y>); the bracket is tracked per lane of 4 panel
 * rows (best, second best, best index), then the lanes are merged.
 */
export function nearestL2(
  x: usize, nx: i32, yt: usize, yNorms: usize, ny: i32, d: i32,
  outIdx: usize, outDist: usize, outSecond: usize, acc: usize,
): void {
  const panels = (ny + 7) >> 3
  const panelBytes = <usize>(8 * d) << 2
  const inf = f32x4.splat(Infinity)
  const two = f32x4.splat(2)
  for (let i0 = 0; i0 < nx; i0 += 4) {
    const rows = min(4, nx - i0)
    const xr = x + (<usize>(i0 * d) << 2)
    // Per row: best / second / index vectors over lanes (lane = panel row mod 4).
    let b0 = inf, s0 = inf, k0 = i32x4.splat(0)
    let b1 = inf, s1 = inf, k1 = i32x4.splat(0)
    let b2 = inf, s2 = inf, k2 = i32x4.splat(0)
    let b3 = inf, s3 = inf, k3 = i32x4.splat(0)
    let jLo = i32x4(0, 1, 2, 3)
    let jHi = i32x4(4, 5, 6, 7)
    const eight = i32x4.splat(8)
    for (let p = 0; p < panels; p++) {
      tile4x8(xr, rows, d, yt + <usize>p * panelBytes, acc)
      const nLo = v128.load(yNorms + (<usize>p << 5))
      const nHi = v128.load(yNorms + (<usize>p << 5), 16)
      // Row 0
      let v = f32x4.sub(nLo, f32x4.mul(two, v128.load(acc)))
      let lt = f32x4.lt(v, b0)
      s0 = f32x4.pmin(s0, v128.bitselect(b0, v, lt)); k0 = v128.bitselect(jLo, k0, lt); b0 = v128.bitselect(v, b0, lt)
      v = f32x4.sub(nHi, f32x4.mul(two, v128.load(acc, 16)))
      lt = f32x4.lt(v, b0)
      s0 = f32x4.pmin(s0, v128.bitselect(b0, v, lt)); k0 = v128.bitselect(jHi, k0, lt); b0 = v128.bitselect(v, b0, lt)
      // Row 1
      v = f32x4.sub(nLo, f32x4.mul(two, v128.load(acc, 32)))
      lt = f32x4.lt(v, b1)
      s1 = f32x4.pmin(s1, v128.bitselect(b1, v, lt)); k1 = v128.bitselect(jLo, k1, lt); b1 = v128.bitselect(v, b1, lt)
      v = f32x4.sub(nHi, f32x4.mul(two, v128.load(acc, 48)))
      lt = f32x4.lt(v, b1)
      s1 = f32x4.pmin(s1, v128.bitselect(b1, v, lt)); k1 = v128.bitselect(jHi, k1, lt); b1 = v128.bitselect(v, b1, lt)
      // Row 2
      v = f32x4.sub(nLo, f32x4.mul(two, v128.load(acc, 64)))
      lt = f32x4.lt(v, b2)
      s2 = f32x4.pmin(s2, v128.bitselect(b2, v, lt)); k2 = v128.bitselect(jLo, k2, lt); b2 = v128.bitselect(v, b2, lt)
      v = f32x4.sub(nHi, f32x4.mul(two, v128.load(acc, 80)))
      lt = f32x4.lt(v, b2)
      s2 = f32x4.pmin(s2, v128.bitselect(b2, v, lt)); k2 = v128.bitselect(jHi, k2, lt); b2 = v128.bitselect(v, b2, lt)
      // Row 3
      v = f32x4.sub(nLo, f32x4.mul(two, v128.load(acc, 96)))
      lt = f32x4.lt(v, b3)
      s3 = f32x4.pmin(s3, v128.bitselect(b3, v, lt)); k3 = v128.bitselect(jLo, k3, lt); b3 = v128.bitselect(v, b3, lt)
      v = f32x4.sub(nHi, f32x4.mul(two, v128.load(acc, 112)))
      lt = f32x4.lt(v, b3)
      s3 = f32x4.pmin(s3, v128.bitselect(b3, v, lt)); k3 = v128.bitselect(jHi, k3, lt); b3 = v128.bitselect(v, b3, lt)
      jLo = i32x4.add(jLo, eight)
      jHi = i32x4.add(jHi, eight)
    }
    finishRow(xr, d, b0, s0, k0, i0, outIdx, outDist, outSecond)
    if (rows > 1) finishRow(xr + (<usize>d << 2), d, b1, s1, k1, i0 + 1, outIdx, outDist, outSecond)
    if (rows > 2) finishRow(xr + (<usize>(2 * d) << 2), d, b2, s2, k2, i0 + 2, outIdx, outDist, outSecond)
    if (rows > 3) finishRow(xr + (<usize>(3 * d) << 2), d, b3, s3, k3, i0 + 3, outIdx, outDist, outSecond)
  }
}

/** Merges the four lanes of one row's best / second / index and stores the results of row i. */
// @ts-ignore: decorator
@inline function finishRow(xrow: usize, d: i32, b: v128, s: v128, k: v128, i: i32, outIdx: usize, outDist: usize, outSecond: usize): void {
  let best: f32 = Infinity
  let bestIdx: i32 = 0x7fffffff
  let second: f32 = Infinity
  for (let lane = 0; lane < 4; lane++) {
    let lb: f32, ls: f32, lk: i32
    if (lane == 0) { lb = f32x4.extract_lane(b, 0); ls = f32x4.extract_lane(s, 0); lk = i32x4.extract_lane(k, 0) }
    else if (lane == 1) { lb = f32x4.extract_lane(b, 1); ls = f32x4.extract_lane(s, 1); lk = i32x4.extract_lane(k, 1) }
    else if (lane == 2) { lb = f32x4.extract_lane(b, 2); ls = f32x4.extract_lane(s, 2); lk = i32x4.extract_lane(k, 2) }
    else { lb = f32x4.extract_lane(b, 3); ls = f32x4.extract_lane(s, 3); lk = i32x4.extract_lane(k, 3) }
    if (ls < second) second = ls
    if (lb < best || (lb == best && lk < bestIdx)) {
      if (best < second) second = best
      best = lb
      bestIdx = lk
    } else if (lb < second) {
      second = lb
    }
  }
  const xn = dotAt(xrow, xrow, d)
  const o = <usize>i << 2
  store<i32>(outIdx + o, bestIdx == 0x7fffffff ? 0 : bestIdx)
  const dist = xn + best
  store<f32>(outDist + o, dist > 0 ? dist : 0)
  if (outSecond != 0) {
    const ds = xn + second
    store<f32>(outSecond + o, ds > 0 ? ds : 0)
  }
}

// ---------------------------------------------------------------------------------------
// 4-bit PQ fast-scan.
//
// Packed layout (see ../../fastscan.ts): blocks of 32 codes; block b holds, for each
// sub-quantizer j < m, 16 bytes: byte t = code_j(vector 32b + t) | code_j(vector 32b + 16 + t) << 4.
// A block is m*16 bytes. The query's float table (m x 16) is quantized to bytes per
// sub-quantizer: lut[j][c] = round((T[j][c] - min_j) * a), a = 255 / max_j (max_j - min_j),
// so that every sum of m entries fits a u16 lane (m <= 257).

/**
 * Builds the float table of a query (against q - cen when cen != 0) into ftab (m*16 f32)
 * and its byte version into lut (m*16 bytes); writes the sum of the per-sub-quantizer
 * minima to meta[0] and the scale a to meta[1].
 *
 * mode 0 (L2): T[j][c] = ||(q - cen)_j - e_jc||^2 (cen = 0 means no coarse centroid);
 * mode 1 (IP): T[j][c] = -<q_j, e_jc>.
 * centT: the sub-quantizer centroids transposed to (m, dsub, 16).
 */
export function fsTables(q: usize, cen: usize, mode: i32, centT: usize, m: i32, dsub: i32, ftab: usize, lut: usize, meta: usize): void {
  let sumMin: f32 = 0
  let range: f32 = 0
  for (let j = 0; j < m; j++) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0)
    if (mode == 0) {
      for (let t = 0; t < dsub; t++) {
        const o = <usize>(j * dsub + t) << 2
        const s = f32x4.splat(cen != 0 ? load<f32>(q + o) - load<f32>(cen + o) : load<f32>(q + o))
        const e = centT + (o << 4)
        const d0 = f32x4.sub(s, v128.load(e)), d1 = f32x4.sub(s, v128.load(e, 16))
        const d2 = f32x4.sub(s, v128.load(e, 32)), d3 = f32x4.sub(s, v128.load(e, 48))
        a0 = f32x4.add(a0, f32x4.mul(d0, d0)); a1 = f32x4.add(a1, f32x4.mul(d1, d1))
        a2 = f32x4.add(a2, f32x4.mul(d2, d2)); a3 = f32x4.add(a3, f32x4.mul(d3, d3))
      }
    } else {
      for (let t = 0; t < dsub; t++) {
        const o = <usize>(j * dsub + t) << 2
        const s = f32x4.splat(load<f32>(q + o))
        const e = centT + (o << 4)
        a0 = f32x4.sub(a0, f32x4.mul(s, v128.load(e))); a1 = f32x4.sub(a1, f32x4.mul(s, v128.load(e, 16)))
        a2 = f32x4.sub(a2, f32x4.mul(s, v128.load(e, 32))); a3 = f32x4.sub(a3, f32x4.mul(s, v128.load(e, 48)))
      }
    }
    const ft = ftab + (<usize>j << 6)
    v128.store(ft, a0); v128.store(ft, a1, 16); v128.store(ft, a2, 32); v128.store(ft, a3, 48)
    // pmin / pmax: plain comparisons (one instruction each; no NaN or signed-zero rules).
    let mn4 = f32x4.pmin(f32x4.pmin(a0, a1), f32x4.pmin(a2, a3))
    let mx4 = f32x4.pmax(f32x4.pmax(a0, a1), f32x4.pmax(a2, a3))
    mn4 = f32x4.pmin(mn4, i32x4.shuffle(mn4, mn4, 2, 3, 0, 1))
    mx4 = f32x4.pmax(mx4, i32x4.shuffle(mx4, mx4, 2, 3, 0, 1))
    const m0 = f32x4.extract_lane(mn4, 0), m1 = f32x4.extract_lane(mn4, 1)
    const x0 = f32x4.extract_lane(mx4, 0), x1 = f32x4.extract_lane(mx4, 1)
    const mn = m1 < m0 ? m1 : m0
    const mx = x1 > x0 ? x1 : x0
    sumMin += mn
    store<f32>(lut + (<usize>j << 4), mn) // the minimum, parked in the byte table until the scale is known
    if (mx - mn > range) range = mx - mn
  }
  const a: f32 = range > 0 ? <f32>255 / range : 0
  const av = f32x4.splat(a)
  const half = f32x4.splat(0.5)
  for (let j = 0; j < m; j++) {
    const ft = ftab + (<usize>j << 6)
    const mn = f32x4.splat(load<f32>(lut + (<usize>j << 4)))
    // round((T - min) * a) for values in [0, 255]: truncate (x + 0.5); signed conversions
    // and narrowing are single instructions on x86, unlike their unsigned forms.
    const q0 = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.sub(v128.load(ft), mn), av), half))
    const q1 = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.sub(v128.load(ft, 16), mn), av), half))
    const q2 = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.sub(v128.load(ft, 32), mn), av), half))
    const q3 = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.sub(v128.load(ft, 48), mn), av), half))
    const w0 = i16x8.narrow_i32x4_s(q0, q1)
    const w1 = i16x8.narrow_i32x4_s(q2, q3)
    v128.store(lut + (<usize>j << 4), i8x16.narrow_i16x8_u(w0, w1))
  }
  store<f32>(meta, sumMin)
  store<f32>(meta, a, 4)
}

/**
 * Byte i of t for each byte index i, every index below 16 (the callers mask them): the
 * 16-entry table lookup of the fast-scans. Compiled twice (package.json build:wasm): plain
 * SIMD's i8x16.swizzle, which an x86 engine must follow with a fix-up for indices above 15
 * (an extra saturating add per lookup), and, in kernels-relaxed.wasm, relaxed SIMD's
 * i8x16.relaxed_swizzle, a single pshufb; for indices below 16 both are defined to give the
 * same bytes, so both binaries give identical results.
 */
// @ts-ignore: decorator
@inline function lookup16(t: v128, i: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(t, i)
  return i8x16.swizzle(t, i)
}

/**
 * The u16 sums of the 32 codes of the block at base (m sub-quantizers) compared with thr:
 * bit r of the result is set when code r's sum is <= thr.
 *
 * Each table lookup gives 16 bytes (one per code); instead of widening them to u16, they
 * are added as eight u16 lanes (low byte: even code, high byte: odd code, the carries
 * spilling upwards) and, shifted down by 8, to an odd-codes accumulator; the even sums are
 * recovered at the end as total - (odd << 8) (mod 2^16, exact since every sum < 2^16).
 * High nibbles are taken with a 16-bit shift and the nibble mask (two instructions on x86,
 * where a byte shift is emulated with more). The comparison masks of even and odd codes
 * are merged bytewise (low byte of a lane from the even mask, high byte from the odd one),
 * which puts codes in order for one i8x16.bitmask per 16 codes.
 */
// @ts-ignore: decorator
@inline function blockMask(base: usize, m: i32, lut: usize, t: v128, terms: i32, sums: usize): u32 {
  const mask = i8x16.splat(15)
  let e0 = i16x8.splat(0), o0 = i16x8.splat(0), e1 = i16x8.splat(0), o1 = i16x8.splat(0)
  let j = 0
  for (; j + 2 <= m; j += 2) {
    const at = base + (<usize>j << 4)
    const lt = lut + (<usize>j << 4)
    const v = v128.load(at)
    const w = v128.load(at, 16)
    const ta = v128.load(lt)
    const tb = v128.load(lt, 16)
    const ra = lookup16(ta, v128.and(v, mask))
    const rb = lookup16(ta, v128.and(i16x8.shr_u(v, 4), mask))
    const rc = lookup16(tb, v128.and(w, mask))
    const rd = lookup16(tb, v128.and(i16x8.shr_u(w, 4), mask))
    e0 = i16x8.add(e0, i16x8.add(ra, rc))
    o0 = i16x8.add(o0, i16x8.add(i16x8.shr_u(ra, 8), i16x8.shr_u(rc, 8)))
    e1 = i16x8.add(e1, i16x8.add(rb, rd))
    o1 = i16x8.add(o1, i16x8.add(i16x8.shr_u(rb, 8), i16x8.shr_u(rd, 8)))
  }
  if (j < m) {
    const v = v128.load(base + (<usize>j << 4))
    const ta = v128.load(lut + (<usize>j << 4))
    const ra = lookup16(ta, v128.and(v, mask))
    const rb = lookup16(ta, v128.and(i16x8.shr_u(v, 4), mask))
    e0 = i16x8.add(e0, ra)
    o0 = i16x8.add(o0, i16x8.shr_u(ra, 8))
    e1 = i16x8.add(e1, rb)
    o1 = i16x8.add(o1, i16x8.shr_u(rb, 8))
  }
  e0 = i16x8.sub(e0, i16x8.shl(o0, 8))
  e1 = i16x8.sub(e1, i16x8.shl(o1, 8))
  if (terms != 0) {
    // The table-only sums, for the survivors' check against their exact terms (sumAt).
    v128.store(sums, e0)
    v128.store(sums, o0, 16)
    v128.store(sums, e1, 32)
    v128.store(sums, o1, 48)
    // The term column (column m): a u16 row, its low bytes at lut row m and its high
    // bytes at row m + 1; an even code's value is its low byte plus its high byte << 8
    // (the even bytes of the lanes), an odd code's, the odd bytes.
    const v = v128.load(base + (<usize>m << 4))
    const tl = v128.load(lut + (<usize>m << 4))
    const th = v128.load(lut + (<usize>m << 4), 16)
    const il = v128.and(v, mask)
    const ih = v128.and(i16x8.shr_u(v, 4), mask)
    const ra = lookup16(tl, il)
    const rb = lookup16(tl, ih)
    const ha = lookup16(th, il)
    const hb = lookup16(th, ih)
    const lowByte = i16x8.splat(0x00ff)
    const highByte = i16x8.splat(<i16>0xff00)
    e0 = i16x8.add(e0, i16x8.add(v128.and(ra, lowByte), i16x8.shl(ha, 8)))
    o0 = i16x8.add(o0, i16x8.add(i16x8.shr_u(ra, 8), v128.and(ha, highByte)))
    e1 = i16x8.add(e1, i16x8.add(v128.and(rb, lowByte), i16x8.shl(hb, 8)))
    o1 = i16x8.add(o1, i16x8.add(i16x8.shr_u(rb, 8), v128.and(hb, highByte)))
  }
  const low = i16x8.splat(0x00ff)
  const k0 = v128.bitselect(i16x8.le_u(e0, t), i16x8.le_u(o0, t), low)
  const k1 = v128.bitselect(i16x8.le_u(e1, t), i16x8.le_u(o1, t), low)
  return <u32>i8x16.bitmask(k0) | (<u32>i8x16.bitmask(k1) << 16)
}

/** The table-only byte sum of code r that blockMask stored at sums (lanes: even codes, odd codes, per half). */
// @ts-ignore: decorator
@inline function sumAt(sums: usize, r: i32): i32 {
  return <i32>load<u16>(sums + (<usize>(r >> 4) << 5) + (<usize>(r & 1) << 4) + (<usize>((r & 15) >> 1) << 1))
}

/** Float-table distance of code r of the block at base (sub-codes summed in order). */
// @ts-ignore: decorator
@inline function codeDistance(base: usize, r: i32, m: i32, ftab: usize): f32 {
  const at = base + <usize>(r & 15)
  const shift: u32 = r < 16 ? 0 : 4
  let s: f32 = 0
  for (let j = 0; j < m; j++) {
    const c = (<u32>load<u8>(at + (<usize>j << 4)) >> shift) & 15
    s += load<f32>(ftab + (<usize>((j << 4) + c) << 2))
  }
  return s
}

// ---- A bounded max-heap of (distance f32, label f64), as native-free-kernels/topk.ts ----

/** True when (da, la) ranks after (db, lb); label -1 (empty) ranks last at equal distance. */
// @ts-ignore: decorator
@inline function worse(da: f32, la: f64, db: f32, lb: f64): bool {
  if (da != db) return da > db
  const a = la < 0 ? Infinity : la
  const b = lb < 0 ? Infinity : lb
  return a > b
}

/** Offers (d, l) to the heap of k entries at hd (f32) / hl (f64); true when it entered. */
function heapPush(k: i32, hd: usize, hl: usize, d: f32, l: f64): bool {
  if (k == 0 || !worse(load<f32>(hd), load<f64>(hl), d, l)) return false
  siftDown(k, hd, hl, d, l)
  return true
}

/** Places (d, l) at the root of the heap of the first k entries and sifts it down. */
function siftDown(k: i32, hd: usize, hl: usize, d: f32, l: f64): void {
  let i = 0
  while (true) {
    const left = 2 * i + 1
    if (left >= k) break
    const right = left + 1
    let child = left
    if (right < k && worse(load<f32>(hd + (<usize>right << 2)), load<f64>(hl + (<usize>right << 3)), load<f32>(hd + (<usize>left << 2)), load<f64>(hl + (<usize>left << 3)))) child = right
    const cd = load<f32>(hd + (<usize>child << 2))
    const cl = load<f64>(hl + (<usize>child << 3))
    if (!worse(cd, cl, d, l)) break
    store<f32>(hd + (<usize>i << 2), cd)
    store<f64>(hl + (<usize>i << 3), cl)
    i = child
  }
  store<f32>(hd + (<usize>i << 2), d)
  store<f64>(hl + (<usize>i << 3), l)
}

/** fastScanThreshold of ../../reference/fastscan.ts: the byte-sum bound for a k-th distance `top`. */
// @ts-ignore: decorator
@inline function threshold(top: f32, bias: f32, sumMin: f32, a: f32, m: i32): i32 {
  if (top == Infinity) return 65535
  const t = <f64>top, bi = <f64>bias, sm = <f64>sumMin, sa = <f64>a
  const slack = 1 + 1e-5 * sa * (Math.abs(t) + Math.abs(bi) + Math.abs(sm))
  const x = (t - bi - sm) * sa + <f64>m / 2 + slack
  if (isNaN(x)) return 65535
  if (x < 0) return -1
  return x >= 65535 ? 65535 : <i32>Math.floor(x)
}

/**
 * Fast-scan search over nl segments (IVF lists) in one call, with one table for the query:
 * built here as fsTables does against q (mode 0: L2, 1: inner product). For segment s: its
 * codes at segPtr[s] (i32), its size segN[s] (i32), its list number list[s] (i32, labels
 * are list * 2^32 + position), and bias[s] (f32, added to its distances).
 *
 * With terms != 0 each item also has a term added to its distance (the residual L2
 * decomposition of ../../types.ts FastScan). Blocks then have m + 1 columns, the last one
 * holding each item's term level v (low + v * step <= term), and after the blocks come
 * low, step and the n terms (f32). Per segment, a u16 row of 16 entries
 * min(floor(a * v * step), 65535 - 255 m) is added for the term column (its low and high
 * bytes in rows m and m + 1 of lut, which holds m + 2 rows then), so that sums stay a lower
 * bound of a * (distance - ...), as without terms, however wide the terms' spread is
 * against the table's byte scale (a byte row saturated at 255 and let most codes through
 * when the terms span more than the widest sub-table); the threshold uses low.
 *
 * Candidates go to the heap hd / hl of k entries (kept across segments), and the byte
 * threshold follows its k-th distance. Returns the number of codes scanned.
 */
export function fsSearch(
  q: usize, mode: i32, centT: usize, m: i32, dsub: i32,
  list: usize, segPtr: usize, segN: usize, bias: usize, nl: i32, terms: i32,
  ftab: usize, lut: usize, meta: usize, k: i32, hd: usize, hl: usize,
): i32 {
  let scanned = 0
  const columns = terms != 0 ? m + 1 : m
  const blockBytes = <usize>columns << 4
  fsTables(q, 0, mode, centT, m, dsub, ftab, lut, meta)
  const sumMin = load<f32>(meta)
  const a = load<f32>(meta, 4)
  const levels = f32x4(0, 1, 2, 3)
  // 64 bytes after meta[0..4): the table-only byte sums of the current block (terms only).
  const sums = meta + 16
  for (let s = 0; s < nl; s++) {
    const n = load<i32>(segN + (<usize>s << 2))
    if (n == 0) continue
    const l = load<i32>(list + (<usize>s << 2))
    const bi = load<f32>(bias + (<usize>s << 2))
    const codes = <usize>load<i32>(segPtr + (<usize>s << 2))
    const blocks = (n + 31) >> 5
    let tp: usize = 0
    let low = bi
    if (terms != 0) {
      tp = codes + <usize>blocks * blockBytes
      low = bi + load<f32>(tp)
      // The term row: min(floor(a * v * step), 65535 - 255 m) for v = 0..15, as u16 (every
      // byte sum of the m columns is <= 255 m, so totals stay below 2^16); its low bytes
      // go to lut row m, its high bytes to row m + 1.
      const st = f32x4.splat(a * load<f32>(tp, 4))
      const cap = i32x4.splat(65535 - 255 * m)
      const r0 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.mul(levels, st)), cap)
      const r1 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.mul(f32x4.add(levels, f32x4.splat(4)), st)), cap)
      const r2 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.mul(f32x4.add(levels, f32x4.splat(8)), st)), cap)
      const r3 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.mul(f32x4.add(levels, f32x4.splat(12)), st)), cap)
      const b255 = i32x4.splat(255)
      const lo = i8x16.narrow_i16x8_u(
        i16x8.narrow_i32x4_s(v128.and(r0, b255), v128.and(r1, b255)),
        i16x8.narrow_i32x4_s(v128.and(r2, b255), v128.and(r3, b255)),
      )
      const hi = i8x16.narrow_i16x8_u(
        i16x8.narrow_i32x4_s(i32x4.shr_u(r0, 8), i32x4.shr_u(r1, 8)),
        i16x8.narrow_i32x4_s(i32x4.shr_u(r2, 8), i32x4.shr_u(r3, 8)),
      )
      v128.store(lut + (<usize>m << 4), lo)
      v128.store(lut + (<usize>m << 4), hi, 16)
      tp += 8
    }
    let top = load<f32>(hd)
    let thr = threshold(top, low, sumMin, a, m)
    if (thr < 0) continue
    let t = i16x8.splat(<i16>thr)
    const label0 = <f64>l * 4294967296.0
    scanned += n
    for (let b = 0; b < blocks; b++) {
      const base = codes + <usize>b * blockBytes
      let bits = blockMask(base, m, lut, t, terms, sums)
      let changed = false
      while (bits != 0) {
        const r = <i32>ctz(bits)
        bits &= bits - 1
        const i = (b << 5) + r
        if (i >= n) break
        let dist: f32
        if (terms != 0) {
          // The byte bound again with this item's exact term in place of its 4-bit level:
          // a code that fails it is farther than top (as the segment threshold shows for
          // the level), so its float distance is not needed.
          const tv = load<f32>(tp + (<usize>i << 2))
          if (sumAt(sums, r) > threshold(top, bi + tv, sumMin, a, m)) continue
          dist = codeDistance(base, r, m, ftab) + bi + tv
        } else {
          dist = codeDistance(base, r, m, ftab) + bi
        }
        if (dist > top) continue
        if (heapPush(k, hd, hl, dist, label0 + <f64>i)) {
          top = load<f32>(hd)
          changed = true
        }
      }
      if (changed) {
        thr = threshold(top, low, sumMin, a, m)
        if (thr < 0) break
        t = i16x8.splat(<i16>thr)
      }
    }
  }
  return scanned
}

/** Entry j of the table picked by byte c (sub-tables of 1 KiB from table). */
// @ts-ignore: decorator
@inline function gather4(t: usize, c: usize, st: usize): v128 {
  let v = v128.load32_zero(t + (<usize>load<u8>(c) << 2))
  v = v128.load32_lane(t + (<usize>load<u8>(c + st) << 2), v, 1)
  v = v128.load32_lane(t + (<usize>load<u8>(c + 2 * st) << 2), v, 2)
  return v128.load32_lane(t + (<usize>load<u8>(c + 3 * st) << 2), v, 3)
}

/**
 * 8-bit ADC: out[i] = sum_j table[j*256 + codes[i*stride + j]] for n codes of stride bytes
 * (m <= stride sub-codes used). Four codes at a time, one per f32x4 lane: each sub-code's
 * entry is loaded into its code's lane (v128.load32_lane), two sub-codes per step.
 */
/**
 * 8-bit ADC for m = 16 (the common 16-byte code), fully unrolled: the sub-table offsets and
 * the byte offsets are constants folded into the load instructions.
 */
function pqScan8m16(codes: usize, n: i32, stride: i32, table: usize, out: usize): void {
  const st = <usize>stride
  let i = 0
  for (; i + 4 <= n; i += 4) {
    const c0 = codes + <usize>i * st
    const c1 = c0 + st
    const c2 = c1 + st
    const c3 = c2 + st
    let v: v128
    let a0 = f32x4.splat(0)
    let a1 = f32x4.splat(0)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 0) << 2), 0)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 0) << 2), v, 1, 0)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 0) << 2), v, 2, 0)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 0) << 2), v, 3, 0)
    a0 = f32x4.add(a0, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 1) << 2), 1024)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 1) << 2), v, 1, 1024)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 1) << 2), v, 2, 1024)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 1) << 2), v, 3, 1024)
    a1 = f32x4.add(a1, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 2) << 2), 2048)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 2) << 2), v, 1, 2048)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 2) << 2), v, 2, 2048)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 2) << 2), v, 3, 2048)
    a0 = f32x4.add(a0, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 3) << 2), 3072)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 3) << 2), v, 1, 3072)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 3) << 2), v, 2, 3072)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 3) << 2), v, 3, 3072)
    a1 = f32x4.add(a1, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 4) << 2), 4096)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 4) << 2), v, 1, 4096)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 4) << 2), v, 2, 4096)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 4) << 2), v, 3, 4096)
    a0 = f32x4.add(a0, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 5) << 2), 5120)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 5) << 2), v, 1, 5120)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 5) << 2), v, 2, 5120)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 5) << 2), v, 3, 5120)
    a1 = f32x4.add(a1, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 6) << 2), 6144)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 6) << 2), v, 1, 6144)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 6) << 2), v, 2, 6144)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 6) << 2), v, 3, 6144)
    a0 = f32x4.add(a0, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 7) << 2), 7168)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 7) << 2), v, 1, 7168)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 7) << 2), v, 2, 7168)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 7) << 2), v, 3, 7168)
    a1 = f32x4.add(a1, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 8) << 2), 8192)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 8) << 2), v, 1, 8192)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 8) << 2), v, 2, 8192)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 8) << 2), v, 3, 8192)
    a0 = f32x4.add(a0, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 9) << 2), 9216)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 9) << 2), v, 1, 9216)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 9) << 2), v, 2, 9216)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 9) << 2), v, 3, 9216)
    a1 = f32x4.add(a1, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 10) << 2), 10240)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 10) << 2), v, 1, 10240)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 10) << 2), v, 2, 10240)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 10) << 2), v, 3, 10240)
    a0 = f32x4.add(a0, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 11) << 2), 11264)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 11) << 2), v, 1, 11264)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 11) << 2), v, 2, 11264)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 11) << 2), v, 3, 11264)
    a1 = f32x4.add(a1, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 12) << 2), 12288)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 12) << 2), v, 1, 12288)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 12) << 2), v, 2, 12288)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 12) << 2), v, 3, 12288)
    a0 = f32x4.add(a0, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 13) << 2), 13312)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 13) << 2), v, 1, 13312)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 13) << 2), v, 2, 13312)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 13) << 2), v, 3, 13312)
    a1 = f32x4.add(a1, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 14) << 2), 14336)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 14) << 2), v, 1, 14336)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 14) << 2), v, 2, 14336)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 14) << 2), v, 3, 14336)
    a0 = f32x4.add(a0, v)
    v = v128.load32_zero(table + (<usize>load<u8>(c0, 15) << 2), 15360)
    v = v128.load32_lane(table + (<usize>load<u8>(c1, 15) << 2), v, 1, 15360)
    v = v128.load32_lane(table + (<usize>load<u8>(c2, 15) << 2), v, 2, 15360)
    v = v128.load32_lane(table + (<usize>load<u8>(c3, 15) << 2), v, 3, 15360)
    a1 = f32x4.add(a1, v)
    v128.store(out + (<usize>i << 2), f32x4.add(a0, a1))
  }
  for (; i < n; i++) {
    const c = codes + <usize>i * st
    let s: f32 = 0
    for (let j = 0; j < 16; j++) s += load<f32>(table + (<usize>j << 10) + (<usize>load<u8>(c + j) << 2))
    store<f32>(out + (<usize>i << 2), s)
  }
}

export function pqScan8(codes: usize, n: i32, m: i32, stride: i32, table: usize, out: usize): void {
  if (m == 16) {
    pqScan8m16(codes, n, stride, table, out)
    return
  }
  const st = <usize>stride
  let i = 0
  for (; i + 4 <= n; i += 4) {
    const c0 = codes + <usize>i * st
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0)
    let j = 0
    for (; j + 2 <= m; j += 2) {
      const t = table + (<usize>j << 10)
      const c = c0 + <usize>j
      a0 = f32x4.add(a0, gather4(t, c, st))
      a1 = f32x4.add(a1, gather4(t + 1024, c + 1, st))
    }
    if (j < m) a0 = f32x4.add(a0, gather4(table + (<usize>j << 10), c0 + <usize>j, st))
    v128.store(out + (<usize>i << 2), f32x4.add(a0, a1))
  }
  for (; i < n; i++) {
    const c = codes + <usize>i * st
    let s: f32 = 0
    for (let j = 0; j < m; j++) s += load<f32>(table + (<usize>j << 10) + (<usize>load<u8>(c + j) << 2))
    store<f32>(out + (<usize>i << 2), s)
  }
}

// ---------------------------------------------------------------------------------------
// Lookup-table scan with a per-item affine map (the RaBitQ estimator; ../../types.ts LutScan).
//
// A segment is a sequence of blocks of 32 items, each m * 16 + 256 bytes: the block's codes
// as the 4-bit PQ fast-scan packs them (m columns), then 32 floats a and 32 floats b in
// lane order: position p = 16 (r >> 4) + 8 (r & 1) + ((r & 15) >> 1) holds item r of the
// block (the even items 0, 2, .., 14, the odd 1, .., 15, then the same for 16..31: the
// order in which lsSearch's sums come out), zero past n. One stream per segment, for the
// prefetcher.

/** Columns summed in u16 lanes before widening: 256 * 255 < 2^16, so no lane overflows. */
const LS_CHUNK = 256

/**
 * Scans nl segments: segment s has its codes at segPtr[s] (i32), segN[s] items (i32),
 * list number list[s] (i32; labels list * 2^32 + position), its byte table at
 * tables + s * m * 16 and its constants alpha, beta, gamma at consts + 12 s (f32). For
 * item i: raw = sum_j table[j * 16 + c_ij] (an exact integer, u16 lanes per chunk of 256
 * columns, then i32), and
 *   est = ((a_i + b_i * ((alpha * f32(raw)) + beta)) + gamma)
 * each operation rounded to f32 (no fused multiply-add). With out == 0, items with
 * est <= the heap's k-th distance are offered to the heap hd / hl of k entries (heapPush
 * decides ties); with out != 0 (nl = 1), every estimate is written to out (f32, item
 * order) and the heap is not touched. est: 128 bytes of scratch. Returns codes scanned.
 */
export function lsSearch(
  m: i32, list: usize, segPtr: usize, segN: usize, nl: i32,
  tables: usize, consts: usize, k: i32, hd: usize, hl: usize, out: usize, est: usize,
): i32 {
  const nib = i8x16.splat(15)
  const low = i16x8.splat(0x00ff)
  const blockBytes = <usize>m << 4
  const stride = blockBytes + 256
  let scanned = 0
  let top: f32 = k > 0 ? load<f32>(hd) : NaN
  let topv = f32x4.splat(top)
  for (let s = 0; s < nl; s++) {
    const n = load<i32>(segN + (<usize>s << 2))
    if (n == 0) continue
    const codes = <usize>load<i32>(segPtr + (<usize>s << 2))
    const blocks = (n + 31) >> 5
    const lut = tables + <usize>s * blockBytes
    const cs = consts + <usize>s * 12
    const alpha = f32x4.splat(load<f32>(cs))
    const beta = f32x4.splat(load<f32>(cs, 4))
    const gamma = f32x4.splat(load<f32>(cs, 8))
    const label0 = <f64>load<i32>(list + (<usize>s << 2)) * 4294967296.0
    scanned += n
    for (let b = 0; b < blocks; b++) {
      const base = codes + <usize>b * stride
      // raw sums, in lane order: r0 items 0,2,4,6; r1 8..14 even; r2 1..7 odd; r3 9..15 odd; r4..r7 the same + 16.
      let r0 = i32x4.splat(0), r1 = i32x4.splat(0), r2 = i32x4.splat(0), r3 = i32x4.splat(0)
      let r4 = i32x4.splat(0), r5 = i32x4.splat(0), r6 = i32x4.splat(0), r7 = i32x4.splat(0)
      let j0 = 0
      while (j0 < m) {
        const j1 = min(m, j0 + LS_CHUNK)
        // As blockMask: bytes added as u16 lanes (even code in the low byte, odd in the
        // high one), the odd codes also shifted down; evens recovered as total - odd << 8.
        let e0 = i16x8.splat(0), o0 = i16x8.splat(0), e1 = i16x8.splat(0), o1 = i16x8.splat(0)
        let j = j0
        for (; j + 2 <= j1; j += 2) {
          const at = base + (<usize>j << 4)
          const lt = lut + (<usize>j << 4)
          const v = v128.load(at)
          const w = v128.load(at, 16)
          const ta = v128.load(lt)
          const tb = v128.load(lt, 16)
          const ra = lookup16(ta, v128.and(v, nib))
          const rb = lookup16(ta, v128.and(i16x8.shr_u(v, 4), nib))
          const rc = lookup16(tb, v128.and(w, nib))
          const rd = lookup16(tb, v128.and(i16x8.shr_u(w, 4), nib))
          e0 = i16x8.add(e0, i16x8.add(ra, rc))
          o0 = i16x8.add(o0, i16x8.add(i16x8.shr_u(ra, 8), i16x8.shr_u(rc, 8)))
          e1 = i16x8.add(e1, i16x8.add(rb, rd))
          o1 = i16x8.add(o1, i16x8.add(i16x8.shr_u(rb, 8), i16x8.shr_u(rd, 8)))
        }
        if (j < j1) {
          const v = v128.load(base + (<usize>j << 4))
          const ta = v128.load(lut + (<usize>j << 4))
          const ra = lookup16(ta, v128.and(v, nib))
          const rb = lookup16(ta, v128.and(i16x8.shr_u(v, 4), nib))
          e0 = i16x8.add(e0, ra)
          o0 = i16x8.add(o0, i16x8.shr_u(ra, 8))
          e1 = i16x8.add(e1, rb)
          o1 = i16x8.add(o1, i16x8.shr_u(rb, 8))
        }
        e0 = i16x8.sub(e0, i16x8.shl(o0, 8))
        e1 = i16x8.sub(e1, i16x8.shl(o1, 8))
        if (j0 == 0) {
          r0 = i32x4.extend_low_i16x8_u(e0)
          r1 = i32x4.extend_high_i16x8_u(e0)
          r2 = i32x4.extend_low_i16x8_u(o0)
          r3 = i32x4.extend_high_i16x8_u(o0)
          r4 = i32x4.extend_low_i16x8_u(e1)
          r5 = i32x4.extend_high_i16x8_u(e1)
          r6 = i32x4.extend_low_i16x8_u(o1)
          r7 = i32x4.extend_high_i16x8_u(o1)
        } else {
          r0 = i32x4.add(r0, i32x4.extend_low_i16x8_u(e0))
          r1 = i32x4.add(r1, i32x4.extend_high_i16x8_u(e0))
          r2 = i32x4.add(r2, i32x4.extend_low_i16x8_u(o0))
          r3 = i32x4.add(r3, i32x4.extend_high_i16x8_u(o0))
          r4 = i32x4.add(r4, i32x4.extend_low_i16x8_u(e1))
          r5 = i32x4.add(r5, i32x4.extend_high_i16x8_u(e1))
          r6 = i32x4.add(r6, i32x4.extend_low_i16x8_u(o1))
          r7 = i32x4.add(r7, i32x4.extend_high_i16x8_u(o1))
        }
        j0 = j1
      }
      // est = ((a + b * ((alpha * raw) + beta)) + gamma), lane by lane.
      const pa = base + blockBytes
      const x0 = f32x4.add(f32x4.add(v128.load(pa), f32x4.mul(v128.load(pa, 128), f32x4.add(f32x4.mul(alpha, f32x4.convert_i32x4_s(r0)), beta))), gamma)
      const x1 = f32x4.add(f32x4.add(v128.load(pa, 16), f32x4.mul(v128.load(pa, 144), f32x4.add(f32x4.mul(alpha, f32x4.convert_i32x4_s(r1)), beta))), gamma)
      const x2 = f32x4.add(f32x4.add(v128.load(pa, 32), f32x4.mul(v128.load(pa, 160), f32x4.add(f32x4.mul(alpha, f32x4.convert_i32x4_s(r2)), beta))), gamma)
      const x3 = f32x4.add(f32x4.add(v128.load(pa, 48), f32x4.mul(v128.load(pa, 176), f32x4.add(f32x4.mul(alpha, f32x4.convert_i32x4_s(r3)), beta))), gamma)
      const x4 = f32x4.add(f32x4.add(v128.load(pa, 64), f32x4.mul(v128.load(pa, 192), f32x4.add(f32x4.mul(alpha, f32x4.convert_i32x4_s(r4)), beta))), gamma)
      const x5 = f32x4.add(f32x4.add(v128.load(pa, 80), f32x4.mul(v128.load(pa, 208), f32x4.add(f32x4.mul(alpha, f32x4.convert_i32x4_s(r5)), beta))), gamma)
      const x6 = f32x4.add(f32x4.add(v128.load(pa, 96), f32x4.mul(v128.load(pa, 224), f32x4.add(f32x4.mul(alpha, f32x4.convert_i32x4_s(r6)), beta))), gamma)
      const x7 = f32x4.add(f32x4.add(v128.load(pa, 112), f32x4.mul(v128.load(pa, 240), f32x4.add(f32x4.mul(alpha, f32x4.convert_i32x4_s(r7)), beta))), gamma)
      const valid = n - (b << 5)
      if (out != 0) {
        v128.store(est, x0); v128.store(est, x1, 16); v128.store(est, x2, 32); v128.store(est, x3, 48)
        v128.store(est, x4, 64); v128.store(est, x5, 80); v128.store(est, x6, 96); v128.store(est, x7, 112)
        const o = out + (<usize>b << 7)
        const cnt = valid < 32 ? valid : 32
        for (let r = 0; r < cnt; r++) store<f32>(o + (<usize>r << 2), load<f32>(est + lsLane(r)))
        continue
      }
      const l0 = f32x4.le(x0, topv), l1 = f32x4.le(x1, topv), l2 = f32x4.le(x2, topv), l3 = f32x4.le(x3, topv)
      const l4 = f32x4.le(x4, topv), l5 = f32x4.le(x5, topv), l6 = f32x4.le(x6, topv), l7 = f32x4.le(x7, topv)
      // Most blocks have no candidate: one test for all 32 lanes first.
      if (!v128.any_true(v128.or(v128.or(v128.or(l0, l1), v128.or(l2, l3)), v128.or(v128.or(l4, l5), v128.or(l6, l7))))) continue
      // Masks in item order: even and odd lanes narrowed to i16, merged bytewise (as blockMask).
      const k0 = v128.bitselect(i16x8.narrow_i32x4_s(l0, l1), i16x8.narrow_i32x4_s(l2, l3), low)
      const k1 = v128.bitselect(i16x8.narrow_i32x4_s(l4, l5), i16x8.narrow_i32x4_s(l6, l7), low)
      let bits = <u32>i8x16.bitmask(k0) | (<u32>i8x16.bitmask(k1) << 16)
      if (valid < 32) bits &= (<u32>1 << <u32>valid) - 1
      if (bits == 0) continue
      v128.store(est, x0); v128.store(est, x1, 16); v128.store(est, x2, 32); v128.store(est, x3, 48)
      v128.store(est, x4, 64); v128.store(est, x5, 80); v128.store(est, x6, 96); v128.store(est, x7, 112)
      const i0 = b << 5
      while (bits != 0) {
        const r = <i32>ctz(bits)
        bits &= bits - 1
        const e = load<f32>(est + lsLane(r))
        if (!(e <= top)) continue
        if (heapPush(k, hd, hl, e, label0 + <f64>(i0 + r))) {
          top = load<f32>(hd)
          topv = f32x4.splat(top)
        }
      }
    }
  }
  return scanned
}

/** Byte offset in a block's lane-ordered 32 floats of item r (see the layout above). */
// @ts-ignore: decorator
@inline function lsLane(r: i32): usize {
  return <usize>(((r >> 4) << 4) + ((r & 1) << 3) + ((r & 15) >> 1)) << 2
}
