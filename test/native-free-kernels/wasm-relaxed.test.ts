/**
 * The two binaries of the WebAssembly kernels (kernels.wasm: plain SIMD; kernels-relaxed.wasm:
 * the fast-scans' table lookups as relaxed SIMD swizzles) give identical results, bit for
 * bit, on the fast-scan and the lookup-table scan; and the loader picks the relaxed one
 * where the engine validates it, unless VQLITE_WASM_RELAXED=0.
 *
 * Node 20 has relaxed SIMD behind a V8 flag: this file turns it on for its own process
 * (vitest runs each test file in a process of its own) before compiling the relaxed binary.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { describe, expect, it } from 'vitest'
import {
  createWasmKernels,
  fastScanPack,
  fastScanPackedSize,
  heapInit,
  type Kernels,
  wasmAvailable,
} from '../../native-free-kernels/index.js'
import { WasmRuntime } from '../../native-free-kernels/wasm/index.js'
import { Rng } from '../../src/util/random.js'
import { randomVectors } from '../helpers/data.js'
import { makeSegment } from '../helpers/lutscan.js'

const WA = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean; Module: new (b: Uint8Array) => object } })
  .WebAssembly
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd'
const wasmFile = (name: string): Uint8Array => readFileSync(new URL(`../../native-free-kernels/wasm/${name}`, import.meta.url))

const plainBytes = wasmFile('kernels.wasm')
const relaxedBytes = wasmFile('kernels-relaxed.wasm')
/** Whether this engine needs the V8 flag for relaxed SIMD (Node 20) or has it on (Node 22+). */
const needsFlag = wasmAvailable() && !WA.validate(relaxedBytes)
if (needsFlag) setFlagsFromString(RELAXED_FLAG)
const relaxedOk = wasmAvailable() && WA.validate(relaxedBytes)

const run = relaxedOk ? describe : describe.skip

function kernelsOf(bytes: Uint8Array): Kernels {
  return createWasmKernels(new WasmRuntime(new WA.Module(bytes)))
}

function bytes(len: number, rng: Rng): Uint8Array {
  return Uint8Array.from({ length: len }, () => rng.int(256))
}

run('kernels-relaxed.wasm against kernels.wasm', () => {
  const plain = kernelsOf(plainBytes)
  const relaxed = kernelsOf(relaxedBytes)

  it('the binaries differ (the relaxed one has its own lookups), yet fast-scan searches give the same heaps bit for bit', () => {
    expect(Buffer.compare(Buffer.from(plainBytes), Buffer.from(relaxedBytes))).not.toBe(0)
    // biome-ignore format: a table of PQ shapes [m, dsub, metric], one line
    const shapes = [[8, 2, 'l2'], [17, 3, 'ip'], [50, 2, 'ip'], [1, 4, 'l2'], [32, 4, 'l2']] as const
    for (const withTerms of [false, true]) {
      for (const [m, dsub, mode] of shapes) {
        const d = m * dsub
        const cent = randomVectors(m * 16, dsub, m * 7 + (withTerms ? 1 : 0))
        const engines = [plain, relaxed].map((k) => k.createFastScan!(cent, m, dsub, mode, withTerms))
        const rng = new Rng(m * 31 + dsub)
        const cs = Math.ceil(m / 2)
        const sizes = [0, 1, 31, 32, 33, 65, 700, 2000]
        sizes.forEach((n, s) => {
          const codes = bytes(n * cs, rng)
          const terms = Float32Array.from({ length: n }, () => (s % 2 === 0 ? 0.5 : 3 * rng.float() - 1))
          const packed = new Uint8Array(fastScanPackedSize(n, engines[0]!.columns))
          fastScanPack(codes, 0, cs, n, m, packed, 0, engines[0]!.columns)
          for (const fs of engines) fs.setSegment(s, packed, n, withTerms ? terms : undefined)
        })
        const segs = Int32Array.from(sizes, (_, s) => s)
        for (let trial = 0; trial < 3; trial++) {
          const q = randomVectors(1, d, 100 * trial + m)
          const bias = Float32Array.from(sizes, () => rng.float() * 2 - 1)
          for (const k of [1, 10, 80, 5000]) {
            const heaps = engines.map((fs) => {
              const hd = new Float32Array(k)
              const hl = new Float64Array(k)
              heapInit(k, hd, hl)
              fs.setQuery(q, 0)
              const scanned = fs.search(segs, segs.length, bias, k, hd, hl)
              return { hd, hl, scanned }
            })
            const [a, b] = heaps as [(typeof heaps)[0], (typeof heaps)[0]]
            const what = `m=${m} dsub=${dsub} ${mode} terms=${withTerms} k=${k}`
            expect(b.scanned, what).toBe(a.scanned)
            expect(Array.from(b.hl), what).toEqual(Array.from(a.hl))
            expect(Buffer.from(b.hd.buffer).equals(Buffer.from(a.hd.buffer)), what).toBe(true)
          }
        }
        for (const fs of engines) fs.free()
      }
    }
  })

  it('lookup-table scans (RaBitQ) give the same heaps and estimates bit for bit', () => {
    const rng = new Rng(5)
    for (const m of [1, 7, 25, 64, 200]) {
      const scans = [plain, relaxed].map((k) => k.createLutScan!(m))
      const sizes = [0, 1, 32, 33, 300, 1000]
      sizes.forEach((n, s) => {
        const g = makeSegment(n, m, rng)
        for (const ls of scans) ls.setSegment(s, g.packed, n, g.a, g.b)
      })
      const segs = Int32Array.from(sizes, (_, s) => s)
      const tables = Uint8Array.from({ length: sizes.length * m * 16 }, () => rng.int(256))
      const consts = Float32Array.from({ length: sizes.length * 3 }, () => rng.float() * 2 - 1)
      for (const k of [1, 10, 100]) {
        const heaps = scans.map((ls) => {
          const hd = new Float32Array(k)
          const hl = new Float64Array(k)
          heapInit(k, hd, hl)
          const scanned = ls.search(segs, segs.length, tables, consts, k, hd, hl)
          return { hd, hl, scanned }
        })
        const [x, y] = heaps as [(typeof heaps)[0], (typeof heaps)[0]]
        expect(y.scanned).toBe(x.scanned)
        expect(Array.from(y.hl)).toEqual(Array.from(x.hl))
        expect(Buffer.from(y.hd.buffer).equals(Buffer.from(x.hd.buffer))).toBe(true)
      }
      const est = scans.map(() => new Float32Array(1000))
      scans.forEach((ls, i) => {
        ls.estimates(5, tables.subarray(0, m * 16), 0.3, -1.5, 0.25, est[i]!)
      })
      expect(Buffer.from(est[1]!.buffer).equals(Buffer.from(est[0]!.buffer))).toBe(true)
      for (const ls of scans) ls.free()
    }
  })
})

describe.skipIf(!relaxedOk)('the loader picks the binary', () => {
  /** wasmVariant() in a fresh process (with the V8 flag where this Node needs it), under env. */
  function variantIn(env: Record<string, string>): string {
    const root = fileURLToPath(new URL('../..', import.meta.url))
    const code = "import('./native-free-kernels/index.ts').then((k) => console.log(String(k.wasmVariant())))"
    const r = spawnSync(process.execPath, ['--import', 'tsx', ...(needsFlag ? [RELAXED_FLAG] : []), '--input-type=module', '-e', code], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    })
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`)
    return r.stdout.trim()
  }

  it('relaxed SIMD where the engine validates it, plain SIMD with VQLITE_WASM_RELAXED=0', () => {
    expect(variantIn({})).toBe('relaxed-simd')
    expect(variantIn({ VQLITE_WASM_RELAXED: '0' })).toBe('simd')
  })
})
