import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  fastScanCodeAt,
  fastScanPack,
  fastScanPackedSize,
  fastScanPackTerms,
  fastScanQuantize,
  fastScanReference,
  fastScanThreshold,
  getKernels,
  heapInit,
  heapSort,
  packCodes,
  referenceKernels as ref,
  tsKernels,
  wasmAvailable,
} from '../../native-free-kernels/index.js'
import { WasmRuntime } from '../../native-free-kernels/wasm/index.js'
import { Rng } from '../../src/util/random.js'
import { maxRelErr, randomVectors } from '../helpers/data.js'

const run = wasmAvailable() ? describe : describe.skip

/** Sizes 0..65 (every tail of the 4-, 8-, 16- and 32-wide loops). */
const ALL = Array.from({ length: 66 }, (_, i) => i)
const SOME = [0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65]

function bytes(len: number, max: number, seed: number): Uint8Array {
  const rng = new Rng(seed)
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = rng.int(max + 1)
  return out
}

run('WebAssembly kernels against the reference, every size 0..65', () => {
  const w = wasmAvailable() ? getKernels('wasm') : tsKernels
  // Observed worst relative error (float32 lane sums vs float64): ~1e-6; asserted 1e-5.
  const TOL = 1e-5

  const grid: Array<[number, number]> = []
  for (const d of ALL) for (const n of SOME) grid.push([d, n])
  for (const n of ALL) for (const d of [1, 16, 17, 100]) grid.push([d, n])

  it('l2sqrMany / innerProductMany, nothing written past n', () => {
    for (const [d, n] of grid) {
      const q = randomVectors(1, d, d * 100 + n)
      const x = randomVectors(n, d, d * 100 + n + 1)
      for (const f of ['l2sqrMany', 'innerProductMany'] as const) {
        const want = new Float32Array(n + 1).fill(-3)
        const got = new Float32Array(n + 1).fill(-3)
        ref[f](q, 0, x, n, d, want)
        w[f](q, 0, x, n, d, got)
        expect(maxRelErr(got, want, n), `${f} d=${d} n=${n}`).toBeLessThanOrEqual(TOL)
        expect(got[n]).toBe(-3)
      }
    }
  })

  it('l2sqrMany / innerProductMany: rows taken 4 at a time give the bits of rows taken one at a time', () => {
    for (const [d, n] of grid) {
      const q = randomVectors(1, d, d * 31 + n, -3, 3)
      const x = randomVectors(n, d, d * 31 + n + 1, -3, 3)
      for (const f of ['l2sqrMany', 'innerProductMany'] as const) {
        const many = new Float32Array(n)
        w[f](q, 0, x, n, d, many)
        const one = new Float32Array(1)
        for (let i = 0; i < n; i++) {
          // n = 1 takes the one-row path.
          w[f](q, 0, x.subarray(i * d, (i + 1) * d), 1, d, one)
          expect(Object.is(many[i], one[0]), `${f} d=${d} n=${n} row ${i}: ${many[i]} vs ${one[0]}`).toBe(true)
        }
      }
    }
  })

  it('nearestL2 and innerProductMatrix on every tile tail', () => {
    for (const nx of SOME) {
      for (const ny of [1, 2, 7, 8, 9, 16, 17, 33]) {
        for (const d of [1, 3, 4, 17]) {
          const x = randomVectors(nx, d, nx * 7 + ny)
          const y = randomVectors(ny, d, nx * 7 + ny + 1)
          const want = new Float32Array(nx * ny)
          const got = new Float32Array(nx * ny)
          ref.innerProductMatrix(x, nx, y, ny, d, want)
          w.innerProductMatrix(x, nx, y, ny, d, got)
          expect(maxRelErr(got, want, nx * ny)).toBeLessThanOrEqual(TOL)
          const yn = new Float64Array(ny)
          ref.normsL2sqr(y, ny, d, yn)
          const idx = new Int32Array(nx)
          const dist = new Float32Array(nx)
          const second = new Float32Array(nx)
          w.nearestL2(x, nx, y, ny, d, yn, idx, dist, second)
          for (let i = 0; i < nx; i++) {
            const all = Array.from({ length: ny }, (_, j) => ref.l2sqr(x, i * d, y, j * d, d)).sort((a, b) => a - b)
            const chosen = ref.l2sqr(x, i * d, y, idx[i]! * d, d)
            expect(chosen - all[0]!).toBeLessThanOrEqual(1e-5)
            expect(Math.abs(dist[i]! - all[0]!)).toBeLessThanOrEqual(1e-5)
            if (ny === 1) expect(second[i]).toBe(Infinity)
            else expect(Math.abs(second[i]! - all[1]!)).toBeLessThanOrEqual(1e-5)
          }
        }
      }
    }
  })

  it('8-bit ADC scan for every m and n tail', () => {
    for (const m of [1, 2, 3, 4, 5, 8, 16, 17, 25, 28]) {
      for (const n of ALL) {
        const table = randomVectors(m * 256, 1, m * 1000 + n, 0, 1)
        const codes = bytes(n * m, 255, m + n)
        const want = new Float32Array(n)
        const got = new Float32Array(n)
        ref.pqScan(codes, n, m, 8, table, want)
        w.pqScan(codes, n, m, 8, table, got)
        expect(maxRelErr(got, want, n), `m=${m} n=${n}`).toBeLessThanOrEqual(TOL)
      }
    }
  })

  it('a versioned table is reused while its version stays, and copied again when it changes', () => {
    const m = 16
    const n = 40
    const table = randomVectors(m * 256, 1, 77, 0, 1)
    const codes = bytes(n * m, 255, 78)
    const want = new Float32Array(n)
    const got = new Float32Array(n)
    ref.pqScan(codes, n, m, 8, table, want)
    w.pqScan(codes, n, m, 8, table, got, 1)
    expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(TOL)
    // new contents under a new version: the new table is used
    table.set(randomVectors(m * 256, 1, 79, 0, 1))
    ref.pqScan(codes, n, m, 8, table, want)
    w.pqScan(codes, n, m, 8, table, got, 2)
    expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(TOL)
    // same version, other codes: still the version-2 table
    const codes2 = bytes(n * m, 255, 80)
    ref.pqScan(codes2, n, m, 8, table, want)
    w.pqScan(codes2, n, m, 8, table, got, 2)
    expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(TOL)
    // no version: always copied
    table.fill(0.5)
    ref.pqScan(codes2, n, m, 8, table, want)
    w.pqScan(codes2, n, m, 8, table, got)
    expect(maxRelErr(got, want, n)).toBeLessThanOrEqual(TOL)
  })

  it('extreme values: huge, tiny (subnormal) and zero components', () => {
    const d = 37
    const n = 9
    const rng = new Rng(5)
    const pick = [0, 1e15, -1e15, 1e-40, -1e-40, 3.4e18, 1, -1]
    const x = new Float32Array(n * d).map(() => pick[rng.int(pick.length)]!)
    const q = new Float32Array(d).map(() => pick[rng.int(pick.length)]!)
    for (const f of ['l2sqrMany', 'innerProductMany'] as const) {
      const want = new Float32Array(n)
      const got = new Float32Array(n)
      ref[f](q, 0, x, n, d, want)
      w[f](q, 0, x, n, d, got)
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(want[i]!)) {
          expect(got[i]).toBe(want[i])
          continue
        }
        // A float32 sum is accurate relative to the sum of the magnitudes of its terms.
        let scale = 0
        for (let t = 0; t < d; t++) {
          const a = q[t]!
          const b = x[i * d + t]!
          scale += f === 'l2sqrMany' ? (a - b) * (a - b) : Math.abs(a * b)
        }
        expect(Math.abs(got[i]! - want[i]!), `${f} row ${i}`).toBeLessThanOrEqual(1e-5 * Math.max(1, scale))
      }
    }
  })

  it('pinned arrays are read in place and give the same results', () => {
    const d = 24
    const n = 300
    const x = randomVectors(n, d, 4)
    const q = randomVectors(1, d, 5)
    const before = new Float32Array(n)
    w.l2sqrMany(q, 0, x, n, d, before)
    w.pin!(x)
    const after = new Float32Array(n)
    w.l2sqrMany(q, 0, x, n, d, after)
    expect(after).toEqual(before)
  })
})

run('resident codes (Kernels.pqScan)', () => {
  it('a resident copy gives the results of a copied call, is kept while key and version match, and is replaced when the version changes', () => {
    const k = getKernels('wasm')
    const m = 12
    const n = 300
    const codes = bytes(n * m, 255, 7)
    const table = randomVectors(m * 256, 1, 8)
    const want = new Float32Array(n)
    k.pqScan(codes, n, m, 8, table, want)
    const store = k.createResidentCodes!()
    const ref = { store, key: 3, version: 1 }
    const got = new Float32Array(n)
    k.pqScan(codes, n, m, 8, table, got, undefined, ref)
    expect(Array.from(got)).toEqual(Array.from(want))
    expect(store.bytes).toBeGreaterThanOrEqual(n * m)
    // Same key and version: the copy is used (the caller broke its promise, so the old codes are scored).
    const changed = codes.slice()
    changed.fill(0, 0, m)
    k.pqScan(changed, n, m, 8, table, got, undefined, ref)
    expect(got[0]).toBe(want[0])
    // A new version: copied again.
    ref.version = 2
    k.pqScan(changed, n, m, 8, table, got, undefined, ref)
    const fresh = new Float32Array(n)
    k.pqScan(changed, n, m, 8, table, fresh)
    expect(Array.from(got)).toEqual(Array.from(fresh))
    // Another key, fewer codes: a slot of its own.
    k.pqScan(codes, 17, m, 8, table, got, undefined, { store, key: 4, version: 2 })
    k.pqScan(codes, 17, m, 8, table, fresh)
    expect(Array.from(got.subarray(0, 17))).toEqual(Array.from(fresh.subarray(0, 17)))
    store.free()
    expect(store.bytes).toBe(0)
  })
})

run('4-bit fast-scan', () => {
  /** A runtime of our own (the module compiled again), so that raw kernel calls keep their memory apart. */
  const rt = (): WasmRuntime => {
    const bytes = readFileSync(new URL('../../native-free-kernels/wasm/kernels.wasm', import.meta.url))
    const api = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly
    return new WasmRuntime(new api.Module(bytes))
  }

  it('pack / unpack round-trip for every n 0..65 and odd m', () => {
    for (const m of [1, 2, 3, 16, 17]) {
      for (const n of ALL) {
        const sub = new Int32Array(n * m).map((_, i) => (i * 7 + m) % 16)
        const cs = Math.ceil(m / 2)
        const codes = new Uint8Array(n * cs)
        packCodes(sub, n, m, 4, codes)
        const packed = new Uint8Array(fastScanPackedSize(n, m) + 3)
        fastScanPack(codes, 0, cs, n, m, packed, 3)
        for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) expect(fastScanCodeAt(packed, 3, m, i, j)).toBe(sub[i * m + j])
      }
    }
  })

  it('SIMD tables match pqTableL2 / pqTableIP and their byte versions match fastScanQuantize', () => {
    const r = rt()
    for (const [m, dsub] of [
      [1, 1],
      [4, 3],
      [16, 8],
      [50, 2],
    ] as const) {
      const d = m * dsub
      const cent = randomVectors(m * 16, dsub, m + dsub)
      const q = randomVectors(1, d, 9)
      const cen = randomVectors(1, d, 10, -0.1, 0.1)
      const centT = new Float32Array(m * dsub * 16)
      for (let j = 0; j < m; j++)
        for (let c = 0; c < 16; c++) for (let s = 0; s < dsub; s++) centT[(j * dsub + s) * 16 + c] = cent[(j * 16 + c) * dsub + s]!
      const pT = r.alloc(centT.byteLength)
      r.put(pT, centT)
      const pq = r.alloc(d * 4)
      r.put(pq, q)
      const pcen = r.alloc(d * 4)
      r.put(pcen, cen)
      const pf = r.alloc(m * 64)
      const pl = r.alloc(m * 16)
      const pm = r.alloc(16)
      for (const mode of [0, 1]) {
        r.x.fsTables(pq, mode === 0 ? pcen : 0, mode, pT, m, dsub, pf, pl, pm)
        const want = new Float32Array(m * 16)
        if (mode === 0) {
          const u = q.map((v, t) => v - cen[t]!)
          ref.pqTableL2(u, 0, cent, m, 16, dsub, want)
        } else {
          ref.pqTableIP(q, 0, cent, m, 16, dsub, want)
          for (let i = 0; i < want.length; i++) want[i] = -want[i]!
        }
        expect(maxRelErr(r.f32(pf, m * 16), want, m * 16)).toBeLessThanOrEqual(1e-5)
        const lut = new Uint8Array(m * 16)
        const scale = fastScanQuantize(want, m, lut)
        const got = r.u8(pl, m * 16)
        for (let i = 0; i < m * 16; i++) expect(Math.abs(got[i]! - lut[i]!)).toBeLessThanOrEqual(1)
        expect(r.f32(pm, 2)[1]).toBeCloseTo(scale.a, 2)
      }
    }
  })

  it('fastScanPackTerms: 4-bit levels in the last column, never above the term, within one step of it', () => {
    const rng = new Rng(5)
    for (const n of [0, 1, 16, 31, 32, 33, 65, 300]) {
      for (const spread of [0, 1e-3, 2, 50]) {
        const terms = Float32Array.from({ length: n }, () => 0.7 + spread * (rng.float() - 0.5))
        const columns = 5
        const packed = new Uint8Array(fastScanPackedSize(n, columns))
        const { low, step } = fastScanPackTerms(terms, n, columns, packed, 0)
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < columns - 1; j++) expect(fastScanCodeAt(packed, 0, columns, i, j)).toBe(0)
          const v = fastScanCodeAt(packed, 0, columns, i, columns - 1)
          const eps = 1e-6 * Math.max(1, Math.abs(terms[i]!))
          expect(low + v * step).toBeLessThanOrEqual(terms[i]! + eps)
          expect(terms[i]! - (low + v * step)).toBeLessThanOrEqual(step + eps)
        }
      }
    }
  })

  it('search over several segments returns the top k of exact ADC + bias (+ term), every tail, k beyond n', () => {
    const k = getKernels('wasm')
    for (const withTerms of [false, true]) {
      // biome-ignore format: a table of PQ shapes [m, dsub, metric], one line
      const shapes = [[8, 2, 'l2'], [17, 3, 'ip'], [50, 2, 'ip'], [1, 4, 'l2']] as const
      for (const [m, dsub, mode] of shapes) {
        const d = m * dsub
        const cent = randomVectors(m * 16, dsub, m * 5 + (withTerms ? 1 : 0))
        const fs = k.createFastScan!(cent, m, dsub, mode, withTerms)
        expect(fs.columns).toBe(withTerms ? m + 1 : m)
        const rng = new Rng(m + dsub)
        const cs = Math.ceil(m / 2)
        const sizes = [0, 1, 31, 32, 33, 65, 700]
        const segCodes: Uint8Array[] = []
        const segTerms: Float32Array[] = []
        sizes.forEach((n, s) => {
          const codes = bytes(n * cs, 255, 100 * s + m)
          // Terms: some segments constant, some wide, some negative.
          const terms = Float32Array.from({ length: n }, () => (s % 3 === 0 ? 0.25 : (s % 3 === 1 ? 4 : -1) * rng.float()))
          const packed = new Uint8Array(fastScanPackedSize(n, fs.columns))
          fastScanPack(codes, 0, cs, n, m, packed, 0, fs.columns)
          fs.setSegment(10 + s, packed, n, withTerms ? terms : undefined)
          segCodes.push(codes)
          segTerms.push(terms)
        })
        const table = new Float32Array(m * 16)
        for (let trial = 0; trial < 4; trial++) {
          const q = randomVectors(1, d, 1000 * trial + m)
          if (mode === 'l2') ref.pqTableL2(q, 0, cent, m, 16, dsub, table)
          else {
            ref.pqTableIP(q, 0, cent, m, 16, dsub, table)
            for (let i = 0; i < table.length; i++) table[i] = -table[i]!
          }
          const bias = Float32Array.from(sizes, () => rng.float() * 2 - 1)
          const all: Array<[number, number]> = []
          sizes.forEach((n, s) => {
            const exact = new Float32Array(n)
            ref.pqScan(segCodes[s]!, n, m, 4, table, exact)
            for (let i = 0; i < n; i++) all.push([exact[i]! + bias[s]! + (withTerms ? segTerms[s]![i]! : 0), (10 + s) * 2 ** 32 + i])
          })
          all.sort((x, y) => x[0] - y[0] || x[1] - y[1])
          for (const kk of [1, 10, 100, all.length + 3]) {
            const hd = new Float32Array(kk)
            const hl = new Float64Array(kk)
            heapInit(kk, hd, hl)
            fs.setQuery(q, 0)
            const scanned = fs.search(
              Int32Array.from(sizes, (_, s) => 10 + s),
              sizes.length,
              bias,
              kk,
              hd,
              hl,
            )
            expect(scanned).toBeLessThanOrEqual(all.length)
            heapSort(kk, hd, hl)
            const want = all.slice(0, kk)
            for (let j = 0; j < kk; j++) {
              if (j >= want.length) {
                expect(hl[j]).toBe(-1)
                continue
              }
              // Equal labels, except where float32 rounding reorders near-equal distances.
              const w = want[j]!
              expect(Math.abs(hd[j]! - w[0])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w[0])))
              if (hl[j] !== w[1]) expect(Math.abs(hd[j]! - w[0])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w[0])))
            }
            // An item may be missing only as a near-tie of the k-th distance.
            const got = new Set(Array.from(hl.subarray(0, want.length)))
            const last = want[want.length - 1]![0]
            for (const w of want) {
              if (!got.has(w[1]))
                expect(Math.abs(w[0] - last), `m=${m} k=${kk} terms=${withTerms}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(last)))
            }
          }
        }
        if (withTerms) expect(() => fs.setSegment(1, new Uint8Array(0), 0)).toThrow(expect.objectContaining({ code: 'INTERNAL' }))
        fs.free()
      }
    }
  })
})

describe('fast-scan oracles (reference/fastscan.ts: the byte tables and threshold the SIMD search uses)', () => {
  it('every code at distance <= top survives the byte threshold (bias, residual tables, all tails), and few others do', () => {
    const rng = new Rng(12)
    // biome-ignore format: a table of PQ shapes [m, dsub, metric], one line
    const shapes = [[8, 2, 'l2'], [16, 1, 'ip'], [17, 3, 'l2'], [50, 2, 'l2']] as const
    for (const [m, dsub, mode] of shapes) {
      const d = m * dsub
      const cent = randomVectors(m * 16, dsub, m * 3)
      for (const n of [0, 1, 31, 32, 33, 65, 2000]) {
        const cs = Math.ceil(m / 2)
        const codes = bytes(n * cs, 255, n + m)
        const packed = new Uint8Array(fastScanPackedSize(n, m))
        fastScanPack(codes, 0, cs, n, m, packed, 0)
        const q = randomVectors(1, d, n + 1)
        const cen = mode === 'l2' ? randomVectors(1, d, n + 2, -0.2, 0.2) : null
        // exact float ADC of each code against q - cen (or -<q, .>), from the reference kernels
        const table = new Float32Array(m * 16)
        if (mode === 'l2')
          ref.pqTableL2(
            q.map((v, t) => v - cen![t]!),
            0,
            cent,
            m,
            16,
            dsub,
            table,
          )
        else {
          ref.pqTableIP(q, 0, cent, m, 16, dsub, table)
          for (let i = 0; i < table.length; i++) table[i] = -table[i]!
        }
        const exact = new Float32Array(n)
        ref.pqScan(codes, n, m, 4, table, exact)
        const lut = new Uint8Array(m * 16)
        const scale = fastScanQuantize(table, m, lut)
        const bias = rng.float() - 0.5
        const sorted = Array.from(exact).sort((a, b) => a - b)
        for (const top of [Infinity, sorted[Math.min(n - 1, 9)]! + bias, sorted[0]! + bias - 1e-3, -1e9]) {
          if (n === 0 && Number.isFinite(top)) continue
          const thr = fastScanThreshold(top, bias, scale, m)
          const out = new Int32Array(n)
          const count = thr < 0 ? 0 : fastScanReference(packed, 0, n, m, lut, thr, out)
          const kept = new Set(Array.from(out.subarray(0, count)))
          let must = 0
          for (let i = 0; i < n; i++) {
            if (exact[i]! + bias <= top) {
              must++
              expect(kept.has(i), `m=${m} n=${n} i=${i}`).toBe(true)
            }
          }
          for (const i of kept) expect(i >= 0 && i < n).toBe(true)
          if (top === Infinity) expect(count).toBe(n)
          if (top === -1e9) expect(thr).toBe(-1)
          // With 10 wanted the byte tables let through a small multiple of them.
          if (n === 2000 && top === sorted[9]! + bias) expect(count).toBeLessThan(200)
          expect(count).toBeGreaterThanOrEqual(must)
        }
      }
    }
  })

  it('fastScanThreshold: -1 when nothing can qualify, 65535 for an open heap', () => {
    expect(fastScanThreshold(Infinity, 0, { sumMin: 0, a: 1 }, 16)).toBe(65535)
    expect(fastScanThreshold(-100, 0, { sumMin: 0, a: 1 }, 16)).toBe(-1)
    expect(fastScanThreshold(10, 2, { sumMin: 1, a: 2 }, 4)).toBe(Math.floor(7 * 2 + 2 + 1 + 1e-5 * 2 * 13))
  })
})

describe('the WebAssembly build', () => {
  it('is reproducible: compiling the sources again gives the same bytes (both binaries)', () => {
    const root = new URL('../../', import.meta.url)
    const dir = mkdtempSync(join(tmpdir(), 'vqlite-wasm-'))
    try {
      execFileSync(process.execPath, [fileURLToPath(new URL('scripts/build-wasm.mjs', root)), '--out-dir', dir], {
        cwd: fileURLToPath(root),
        stdio: 'pipe',
      })
      const hash = (f: string | URL): string => createHash('sha256').update(readFileSync(f)).digest('hex')
      for (const file of ['kernels.wasm', 'kernels-relaxed.wasm']) {
        expect(hash(join(dir, file)), file).toBe(hash(new URL(`native-free-kernels/wasm/${file}`, root)))
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
