/**
 * The WebAssembly SIMD backend: loads kernels.wasm (compiled from assembly/kernels.ts by
 * `npm run build:wasm`), and exposes it as a Kernels object plus the fast-scan engine and
 * the lookup-table scan (LutScan).
 *
 * Memory: the module owns one linear memory. Operands that are not already there are
 * copied into a scratch region for the call, and outputs copied back; arrays that the
 * caller promises never to change again can be pinned (copied in once, freed when the
 * array is garbage collected) so later calls read them in place: trained centroids are.
 * JavaScript never keeps a view of the memory across a call, since growing the memory
 * detaches such views.
 *
 * Kernels where a call costs more than it saves (one-to-one distances on short vectors,
 * norms, half floats, table building) stay with the TypeScript backend.
 *
 * Module-level state, all of it per thread (a worker thread loads this module anew):
 * - the compiled module and, when it cannot be compiled, the reason (`load`, once);
 * - the one runtime (instance, memory, pinned arrays) behind wasmKernels(), made on first
 *   use: every Kernels object of this backend on a thread shares that memory;
 * - three FinalizationRegistry objects that free the memory of resident copies, fast-scan
 *   engines and lookup-table scans that are dropped without free().
 * Everything else (scratch, the last pqScan table, pinned copies) belongs to a runtime.
 */
import { readFileSync } from 'node:fs'
import { VqError } from '../errors.js'
import { fastScanPackedSize, fastScanPackTerms } from '../fastscan.js'
import { tsKernels } from '../ts/index.js'
import type { F32, FastScan, FastScanMode, Kernels, LutScan, ResidentCodes, ResidentRef } from '../types.js'

/** The parts of the WebAssembly API used here (the TypeScript lib for Node has no typings for it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}

const WASM = (globalThis as { WebAssembly?: WasmApi }).WebAssembly

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer }
  alloc(size: number): number
  release(ptr: number): void
  l2sqrMany(q: number, x: number, n: number, d: number, out: number): void
  innerProductMany(q: number, x: number, n: number, d: number, out: number): void
  nearestRows(q: number, x: number, n: number, d: number, mode: number, p: number, dist: number, outD: number, outL: number): void
  panelize8(y: number, ny: number, d: number, yt: number): void
  innerProductMatrix(x: number, nx: number, yt: number, ny: number, d: number, out: number, acc: number): void
  nearestL2(
    x: number,
    nx: number,
    yt: number,
    yNorms: number,
    ny: number,
    d: number,
    outIdx: number,
    outDist: number,
    outSecond: number,
    acc: number,
  ): void
  pqScan8(codes: number, n: number, m: number, stride: number, table: number, out: number): void
  /**
   * The query tables of the fast-scan (fsSearch builds its tables with it). No TypeScript
   * code calls it; it stays exported so the tests can check the tables on their own, and
   * because un-exporting it lets the optimiser fold it into fsSearch, changing that code.
   */
  fsTables(q: number, cen: number, mode: number, centT: number, m: number, dsub: number, ftab: number, lut: number, meta: number): void
  fsSearch(
    q: number,
    mode: number,
    centT: number,
    m: number,
    dsub: number,
    list: number,
    segPtr: number,
    segN: number,
    bias: number,
    nl: number,
    terms: number,
    ftab: number,
    lut: number,
    meta: number,
    k: number,
    hd: number,
    hl: number,
  ): number
  lsSearch(
    m: number,
    list: number,
    segPtr: number,
    segN: number,
    nl: number,
    tables: number,
    consts: number,
    k: number,
    hd: number,
    hl: number,
    out: number,
    est: number,
  ): number
}

/** The outcome of compiling the kernels: the module and which binary, or why there is none. */
type Loaded =
  | { readonly module: object; readonly variant: WasmVariant; readonly reason: '' }
  | { readonly module: null; readonly variant: null; readonly reason: string }

/**
 * Which binary of the kernels runs: 'relaxed-simd' (kernels-relaxed.wasm: the fast-scans'
 * table lookups as relaxed SIMD swizzles, where the engine has relaxed SIMD: Node 22 and
 * later, or Node 20 with --experimental-wasm-relaxed-simd) or 'simd' (kernels.wasm, plain
 * SIMD). Both give identical results (see lookup16 in assembly/kernels.ts).
 */
export type WasmVariant = 'simd' | 'relaxed-simd'

/** Compiled on the first call of load() (this thread's only compilation), then kept. */
let loaded: Loaded | undefined

/**
 * VQLITE_WASM_RELAXED=0 keeps the plain SIMD binary where relaxed SIMD would run (read
 * once, when this module loads; for comparing the two).
 */
const RELAXED_ALLOWED = process.env['VQLITE_WASM_RELAXED'] !== '0'

function read(name: string): Uint8Array | null {
  try {
    return readFileSync(new URL(`./${name}`, import.meta.url))
  } catch {
    return null
  }
}

function compile(): Loaded {
  const relaxed = RELAXED_ALLOWED ? read('kernels-relaxed.wasm') : null
  if (relaxed && WASM?.validate(relaxed)) return { module: new WASM.Module(relaxed), variant: 'relaxed-simd', reason: '' }
  const bytes = read('kernels.wasm')
  if (!bytes) return { module: null, variant: null, reason: 'kernels.wasm is missing (run `npm run build:wasm`)' }
  if (!WASM?.validate(bytes)) return { module: null, variant: null, reason: 'this JavaScript engine does not support WebAssembly SIMD' }
  return { module: new WASM.Module(bytes), variant: 'simd', reason: '' }
}

function load(): Loaded {
  loaded ??= compile()
  return loaded
}

/** The binary of the kernels this thread runs, or null when WebAssembly SIMD is unavailable (see WasmVariant). */
export function wasmVariant(): WasmVariant | null {
  return load().variant
}

/** True when the WebAssembly SIMD backend can run here. */
export function wasmAvailable(): boolean {
  return load().module !== null
}

/** Why the WebAssembly backend cannot run here ('' when it can). */
export function wasmUnavailableReason(): string {
  return load().reason
}

type Typed = Float32Array | Uint8Array | Int32Array | Float64Array | Uint16Array

interface Pinned {
  readonly ptr: number
  readonly bytes: number
}

/**
 * The module's linear memory cannot hold an allocation: VqError OUT_OF_MEMORY, with the
 * sizes (the library rewraps it naming what it was doing). Nothing was allocated.
 */
export class KernelMemoryError extends VqError {
  /** Bytes asked for. */
  readonly bytes: number
  /** Bytes of the module's memory when it failed. */
  readonly memoryBytes: number

  constructor(bytes: number, memoryBytes: number, cause?: unknown) {
    super('OUT_OF_MEMORY', `WebAssembly memory exhausted allocating ${bytes} bytes (module memory: ${memoryBytes} bytes)`, { cause })
    this.name = 'KernelMemoryError'
    this.bytes = bytes
    this.memoryBytes = memoryBytes
  }
}

/** One instance of the module with its memory, scratch region and pinned arrays. */
export class WasmRuntime {
  readonly x: Exports
  #scratch = 0
  #scratchBytes = 0
  readonly #pinned = new WeakMap<object, Pinned>()
  readonly #panels = new WeakMap<object, Pinned>()
  readonly #registry = new FinalizationRegistry<number>((ptr) => this.x.release(ptr))

  constructor(module: object) {
    const instance = new WASM!.Instance(module, { env: { abort: wasmAbort } })
    this.x = instance.exports as unknown as Exports
  }

  /**
   * Allocates bytes (16-byte aligned). Throws KernelMemoryError when the module's memory
   * cannot hold them (the allocator returns 0, traps when the memory cannot grow, or aborts
   * on a block larger than it handles); nothing was allocated then.
   */
  alloc(bytes: number): number {
    let p: number
    try {
      p = this.x.alloc(Math.max(16, bytes))
    } catch (cause) {
      throw new KernelMemoryError(bytes, this.x.memory.buffer.byteLength, cause)
    }
    if (p === 0) throw new KernelMemoryError(bytes, this.x.memory.buffer.byteLength)
    return p
  }

  free(ptr: number): void {
    if (ptr !== 0) this.x.release(ptr)
  }

  #viewBuf: ArrayBuffer | null = null
  #vI32 = new Int32Array(0)
  #vF32 = new Float32Array(0)
  #vF64 = new Float64Array(0)

  /** Refreshes the cached whole-memory views when the memory grew (its buffer changed). */
  #views(): void {
    const b = this.x.memory.buffer
    if (b === this.#viewBuf) return
    this.#viewBuf = b
    this.#vI32 = new Int32Array(b)
    this.#vF32 = new Float32Array(b)
    this.#vF64 = new Float64Array(b, 0, b.byteLength >>> 3)
  }

  /** Whole-memory views (cached while the memory does not grow; take them after any allocation). */
  get memI32(): Int32Array {
    this.#views()
    return this.#vI32
  }

  get memF32(): Float32Array {
    this.#views()
    return this.#vF32
  }

  get memF64(): Float64Array {
    this.#views()
    return this.#vF64
  }

  /** A fresh view of memory (valid until the next allocation). */
  u8(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.x.memory.buffer, ptr, n)
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.x.memory.buffer, ptr, n)
  }

  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.x.memory.buffer, ptr, n)
  }

  /** Copies bytes of a typed array to ptr. */
  put(ptr: number, a: Typed, bytes = a.byteLength): void {
    new Uint8Array(this.x.memory.buffer, ptr, bytes).set(new Uint8Array(a.buffer, a.byteOffset, bytes))
  }

  /** Copies bytes from ptr into a typed array. */
  get(ptr: number, a: Typed, bytes = a.byteLength): void {
    new Uint8Array(a.buffer, a.byteOffset, bytes).set(new Uint8Array(this.x.memory.buffer, ptr, bytes))
  }

  /** Keeps a copy of `a` in memory for as long as `a` lives; the caller must not change `a` afterwards. */
  pin(a: Typed): void {
    if (this.#pinned.has(a)) return
    const ptr = this.alloc(a.byteLength)
    this.put(ptr, a)
    this.#pinned.set(a, { ptr, bytes: a.byteLength })
    this.#registry.register(a, ptr)
  }

  /** The address of a pinned array (at least `bytes` long), or -1. */
  pinnedAt(a: Typed, bytes: number): number {
    const p = this.#pinned.get(a)
    return p && p.bytes >= bytes ? p.ptr : -1
  }

  /** The panelized copy (see panelize8) of a pinned matrix, made on first use; -1 when `a` is not pinned. */
  panelsOf(a: Typed, rows: number, d: number): number {
    const cached = this.#panels.get(a)
    if (cached) return cached.ptr
    const src = this.pinnedAt(a, rows * d * 4)
    if (src < 0) return -1
    const ptr = this.alloc(Math.ceil(rows / 8) * 8 * d * 4)
    this.x.panelize8(src, rows, d, ptr)
    this.#panels.set(a, { ptr, bytes: 0 })
    this.#registry.register(a, ptr)
    return ptr
  }

  /**
   * A scratch region of at least `bytes` (its content is lost at the next call). Grows by
   * reallocation, which may grow the memory: take pinned addresses after, copy in after.
   */
  scratch(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      // Allocate before freeing: when the allocation fails, the old region stays as it was.
      const size = Math.max(bytes, this.#scratchBytes * 2, 1 << 16)
      const ptr = this.#allocPreferring(size, bytes)
      this.free(this.#scratch)
      this.#scratch = ptr
      this.#scratchBytes = this.#lastSize
    }
    return this.#scratch
  }

  /** Size of the last #allocPreferring allocation. */
  #lastSize = 0

  /** Allocates `preferred` bytes, or just `needed` when the preferred size does not fit. */
  #allocPreferring(preferred: number, needed: number): number {
    try {
      this.#lastSize = preferred
      return this.alloc(preferred)
    } catch (e) {
      if (!(e instanceof KernelMemoryError) || preferred <= needed) throw e
      this.#lastSize = needed
      return this.alloc(needed)
    }
  }
}

function wasmAbort(): never {
  throw new VqError('INTERNAL', 'vqlite WebAssembly kernel aborted')
}

/** Rounds up to 16 bytes. */
const al = (b: number): number => (b + 15) & ~15

/** Lays out scratch operands: each add() reserves an aligned slot and returns its offset. */
class Frame {
  size = 0
  add(bytes: number): number {
    const o = this.size
    this.size += al(bytes)
    return o
  }
}

/** Builds the WebAssembly kernels over one runtime. */
export function createWasmKernels(rt: WasmRuntime): Kernels {
  const x = rt.x

  /** Scratch base plus the address of operand a: its pinned copy, or a slot to copy it into. */
  function operand(a: Typed, bytes: number, base: number, slot: number, copy: boolean): number {
    const p = rt.pinnedAt(a, bytes)
    if (p >= 0) return p
    if (copy) rt.put(base + slot, a, bytes)
    return base + slot
  }

  /**
   * The address of a lookup table in module memory: copied into a slot of its own, unless
   * the same array with the same version was copied last time (Kernels.pqScan).
   */
  const lastTable = { array: null as F32 | null, version: -1, ptr: 0, cap: 0 }
  function residentTable(table: F32, bytes: number, version: number | undefined): number {
    if (version !== undefined && lastTable.array === table && lastTable.version === version && lastTable.cap >= bytes) return lastTable.ptr
    if (lastTable.cap < bytes) {
      const ptr = rt.alloc(bytes)
      rt.free(lastTable.ptr)
      lastTable.ptr = ptr
      lastTable.cap = bytes
    }
    rt.put(lastTable.ptr, table, bytes)
    lastTable.array = table
    lastTable.version = version ?? -1
    return lastTable.ptr
  }

  /**
   * One-to-many distances. On pinned rows (the probe's centroids) nothing is allocated on
   * the JavaScript side but one view for the output copy: scratch offsets are computed, the
   * query goes through the cached memory view.
   */
  function many(kind: 'l2' | 'ip', q: F32, qOff: number, xs: F32, n: number, d: number, out: F32): void {
    if (n === 0) return
    const sq = 0
    const pinned = rt.pinnedAt(xs, n * d * 4) >= 0
    const sx = al(d * 4)
    const so = pinned ? sx : sx + al(n * d * 4)
    const base = rt.scratch(so + al(n * 4))
    const px = operand(xs, n * d * 4, base, sx, true)
    const f32 = rt.memF32
    const qa = (base + sq) >>> 2
    for (let t = 0; t < d; t++) f32[qa + t] = q[qOff + t]!
    if (kind === 'l2') x.l2sqrMany(base + sq, px, n, d, base + so)
    else x.innerProductMany(base + sq, px, n, d, base + so)
    const oa = (base + so) >>> 2
    out.set(f32.subarray(oa, oa + n))
  }

  /** Operands of a many-to-many call: the panelized y (pinned, or panelized into the frame). */
  function panels(y: F32, ny: number, d: number, f: Frame): { pinned: number; slot: number; raw: number } {
    const pinned = rt.panelsOf(y, ny, d)
    if (pinned >= 0) return { pinned, slot: 0, raw: 0 }
    return { pinned: -1, raw: f.add(ny * d * 4), slot: f.add(Math.ceil(ny / 8) * 8 * d * 4) }
  }

  function panelAddr(y: F32, ny: number, d: number, base: number, p: { pinned: number; slot: number; raw: number }): number {
    if (p.pinned >= 0) return p.pinned
    rt.put(base + p.raw, y, ny * d * 4)
    x.panelize8(base + p.raw, ny, d, base + p.slot)
    return base + p.slot
  }

  /** Rows of x per call of the many-to-many kernels, so that scratch stays bounded. */
  const rowsPerCall = (d: number): number => Math.max(4, Math.floor((4 << 20) / (d * 4)) & ~3)

  const kernels: Kernels = {
    ...tsKernels,
    name: 'wasm',
    /** Bytes of this thread's WebAssembly linear memory (fast-scan and resident copies, pinned operands, scratch). */
    get memoryBytes(): number {
      return rt.x.memory.buffer.byteLength
    },
    l2sqrMany(q, qOff, xs, n, d, out) {
      many('l2', q, qOff, xs, n, d, out)
    },
    innerProductMany(q, qOff, xs, n, d, out) {
      many('ip', q, qOff, xs, n, d, out)
    },
    nearestRows(q, qOff, xs, n, d, mode, p, outDist, outRow) {
      // Scratch: the query, the rows unless pinned, n distances, p distances and p rows.
      const pinned = rt.pinnedAt(xs, n * d * 4) >= 0
      // Offsets computed in place (no Frame object: this runs once per query).
      const sq = 0
      const sx = al(d * 4)
      const sd = pinned ? sx : sx + al(n * d * 4)
      const sod = sd + al(n * 4)
      const sol = sod + al(p * 4)
      const base = rt.scratch(sol + p * 8)
      const px = operand(xs, n * d * 4, base, sx, true)
      const f32 = rt.memF32
      const qa = (base + sq) >>> 2
      for (let t = 0; t < d; t++) f32[qa + t] = q[qOff + t]!
      x.nearestRows(base + sq, px, n, d, mode === 'l2' ? 0 : 1, p, base + sd, base + sod, base + sol)
      const oa = (base + sod) >>> 2
      outDist.set(f32.subarray(oa, oa + p))
      const la = (base + sol) >>> 3
      outRow.set(rt.memF64.subarray(la, la + p))
    },
    innerProductMatrix(xs, nx, y, ny, d, out) {
      if (nx === 0 || ny === 0) return
      const step = rowsPerCall(d)
      for (let i0 = 0; i0 < nx; i0 += step) {
        const rows = Math.min(step, nx - i0)
        const f = new Frame()
        const pn = panels(y, ny, d, f)
        const sx = f.add(rows * d * 4)
        const so = f.add(rows * ny * 4)
        const acc = f.add(128)
        const base = rt.scratch(f.size)
        const yt = panelAddr(y, ny, d, base, pn)
        rt.put(base + sx, xs.subarray(i0 * d, (i0 + rows) * d))
        x.innerProductMatrix(base + sx, rows, yt, ny, d, base + so, base + acc)
        rt.get(base + so, out.subarray(i0 * ny, (i0 + rows) * ny))
      }
    },
    nearestL2(xs, nx, y, ny, d, yNorms, outIdx, outDist, outSecond) {
      if (nx === 0) return
      const step = rowsPerCall(d)
      const nyPad = Math.ceil(ny / 8) * 8
      for (let i0 = 0; i0 < nx; i0 += step) {
        const rows = Math.min(step, nx - i0)
        const f = new Frame()
        const pn = panels(y, ny, d, f)
        const sn = f.add(nyPad * 4)
        const sx = f.add(rows * d * 4)
        const si = f.add(rows * 4)
        const sd = f.add(rows * 4)
        const ss = f.add(rows * 4)
        const acc = f.add(128)
        const base = rt.scratch(f.size)
        const yt = panelAddr(y, ny, d, base, pn)
        const norms = rt.f32(base + sn, nyPad)
        for (let j = 0; j < ny; j++) norms[j] = yNorms[j]!
        norms.fill(Infinity, ny)
        rt.put(base + sx, xs.subarray(i0 * d, (i0 + rows) * d))
        x.nearestL2(base + sx, rows, yt, base + sn, ny, d, base + si, base + sd, outSecond ? base + ss : 0, base + acc)
        rt.get(base + si, outIdx.subarray(i0, i0 + rows))
        rt.get(base + sd, outDist.subarray(i0, i0 + rows))
        if (outSecond) rt.get(base + ss, outSecond.subarray(i0, i0 + rows))
      }
    },
    pqScan(codes, n, m, nbits, table, out, tableVersion, resident) {
      if (nbits !== 8) return tsKernels.pqScan(codes, n, m, nbits, table, out)
      if (n === 0) return
      const own = resident?.store instanceof WasmResidentCodes ? resident.store : null
      const f = new Frame()
      const sc = own ? 0 : f.add(n * m)
      const so = f.add(n * 4)
      const base = rt.scratch(f.size)
      const pc = own ? own.address(resident!, codes, n * m) : operand(codes, n * m, base, sc, true)
      x.pqScan8(pc, n, m, m, residentTable(table, m * 256 * 4, tableVersion), base + so)
      rt.get(base + so, out, n * 4)
    },
    pin(a) {
      rt.pin(a)
    },
    createFastScan(centroids, m, dsub, mode, terms = false) {
      return new WasmFastScan(rt, centroids, m, dsub, mode, terms)
    },
    createLutScan(m) {
      return new WasmLutScan(rt, m)
    },
    createResidentCodes() {
      return new WasmResidentCodes(rt)
    },
  }

  return kernels
}

/** One resident copy: its address, capacity, length and version. */
interface ResidentSlot {
  ptr: number
  cap: number
  len: number
  version: number
}

const residentRegistry = new FinalizationRegistry<{ rt: WasmRuntime; slots: Map<number, ResidentSlot> }>(({ rt, slots }) => {
  for (const s of slots.values()) rt.free(s.ptr)
  slots.clear()
})

/** Resident copies of codes in this module's memory, one per key, updated when its version changes. */
class WasmResidentCodes implements ResidentCodes {
  readonly #rt: WasmRuntime
  readonly #slots = new Map<number, ResidentSlot>()
  #bytes = 0

  constructor(rt: WasmRuntime) {
    this.#rt = rt
    residentRegistry.register(this, { rt, slots: this.#slots }, this)
  }

  /** The address of the first len bytes of codes in module memory, copied only when the slot's version or length changed. */
  address(ref: ResidentRef, codes: Uint8Array, len: number): number {
    let s = this.#slots.get(ref.key)
    if (s && s.version === ref.version && s.len === len) return s.ptr
    if (!s) {
      s = { ptr: 0, cap: 0, len: 0, version: -1 }
      this.#slots.set(ref.key, s)
    }
    if (s.cap < len) {
      // Allocate before freeing and updating: a failed allocation leaves the slot as it was.
      const cap = Math.max(len, Math.ceil(s.cap * 1.5))
      const ptr = this.#rt.alloc(cap)
      this.#rt.free(s.ptr)
      this.#bytes += cap - s.cap
      s.ptr = ptr
      s.cap = cap
      s.version = -1
    }
    this.#rt.put(s.ptr, codes, len)
    s.len = len
    s.version = ref.version
    return s.ptr
  }

  get bytes(): number {
    return this.#bytes
  }

  free(): void {
    residentRegistry.unregister(this)
    for (const s of this.#slots.values()) this.#rt.free(s.ptr)
    this.#slots.clear()
    this.#bytes = 0
  }
}

/** The allocations of a fast-scan engine (freed by free(), or when the engine is garbage collected). */
interface FastScanMemory {
  segPtr: Float64Array
  state: number
  /** Per-call arrays of search(). */
  call: number
}

const fastScanRegistry = new FinalizationRegistry<{ rt: WasmRuntime; mem: FastScanMemory }>(({ rt, mem }) => releaseFastScan(rt, mem))

function releaseFastScan(rt: WasmRuntime, mem: FastScanMemory): void {
  for (let s = 0; s < mem.segPtr.length; s++) rt.free(mem.segPtr[s]!)
  rt.free(mem.state)
  rt.free(mem.call)
  mem.segPtr = new Float64Array(0)
  mem.state = 0
  mem.call = 0
}

/** Fast-scan over 4-bit PQ codes held in this module's memory, one allocation per segment. */
class WasmFastScan implements FastScan {
  readonly #rt: WasmRuntime
  readonly #m: number
  readonly #dsub: number
  readonly #mode: number
  /**
   * Segments carry a term per item: their levels in a last column, and after the packed
   * blocks the levels' low and step (f32) and the terms (f32).
   */
  readonly #terms: boolean
  readonly columns: number
  /** Allocation holding centT, q, ftab, lut, meta. */
  readonly #state: number
  readonly #centT: number
  readonly #q: number
  readonly #ftab: number
  readonly #lut: number
  readonly #meta: number
  readonly #mem: FastScanMemory
  /** Capacity (bytes) and size (codes) of each segment (addresses in #mem.segPtr). */
  #segCap: Float64Array = new Float64Array(0)
  #segN: Float64Array = new Float64Array(0)
  #callCap = 0
  #bytes = 0

  constructor(rt: WasmRuntime, centroids: F32, m: number, dsub: number, mode: FastScanMode, terms: boolean) {
    this.#rt = rt
    this.#m = m
    this.#dsub = dsub
    this.#mode = mode === 'l2' ? 0 : 1
    this.#terms = terms
    this.columns = terms ? m + 1 : m
    const d = m * dsub
    const f = new Frame()
    const sCent = f.add(m * dsub * 16 * 4)
    const sq = f.add(d * 4)
    const sf = f.add(m * 16 * 4)
    const sl = f.add((m + 2) * 16)
    // meta: sumMin and the scale, then 64 bytes of fsSearch's per-block sums.
    const sm = f.add(16 + 64)
    this.#state = rt.alloc(f.size)
    this.#mem = { segPtr: new Float64Array(0), state: this.#state, call: 0 }
    fastScanRegistry.register(this, { rt, mem: this.#mem }, this)
    this.#bytes = f.size
    this.#centT = this.#state + sCent
    this.#q = this.#state + sq
    this.#ftab = this.#state + sf
    this.#lut = this.#state + sl
    this.#meta = this.#state + sm
    // centroids (m, 16, dsub) -> (m, dsub, 16)
    const t = rt.f32(this.#centT, m * dsub * 16)
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < 16; c++) {
        for (let s = 0; s < dsub; s++) t[(j * dsub + s) * 16 + c] = centroids[(j * 16 + c) * dsub + s]!
      }
    }
  }

  setSegment(seg: number, packed: Uint8Array, n: number, terms?: F32): void {
    if (this.#terms !== (terms !== undefined))
      throw new VqError('INTERNAL', `setSegment: this engine ${this.#terms ? 'needs' : 'takes no'} terms`)
    const mem = this.#mem
    if (seg >= mem.segPtr.length) {
      const cap = Math.max(seg + 1, mem.segPtr.length * 2)
      const p = new Float64Array(cap)
      p.set(mem.segPtr)
      const c = new Float64Array(cap)
      c.set(this.#segCap)
      const z = new Float64Array(cap)
      z.set(this.#segN)
      mem.segPtr = p
      this.#segCap = c
      this.#segN = z
    }
    const codeBytes = fastScanPackedSize(n, this.columns)
    const bytes = codeBytes + (terms ? 4 * (n + 2) : 0)
    if (bytes > this.#segCap[seg]!) {
      // Allocate before freeing and updating: a failed allocation leaves the segment as it was.
      const cap = Math.max(bytes, Math.ceil(this.#segCap[seg]! * 1.5))
      const ptr = this.#rt.alloc(cap)
      this.#rt.free(mem.segPtr[seg]!)
      this.#bytes += cap - this.#segCap[seg]!
      mem.segPtr[seg] = ptr
      this.#segCap[seg] = cap
    }
    this.#segN[seg] = n
    if (codeBytes > 0) this.#rt.put(mem.segPtr[seg]!, packed, codeBytes)
    if (terms) {
      const at = mem.segPtr[seg]!
      const levels = fastScanPackTerms(terms, n, this.columns, this.#rt.u8(at, codeBytes), 0)
      const t = this.#rt.f32(at + codeBytes, n + 2)
      t[0] = levels.low
      t[1] = levels.step
      t.set(terms.subarray(0, n), 2)
    }
  }

  setQuery(q: F32, qOff: number): void {
    const f = this.#rt.memF32
    const at = this.#q >>> 2
    const d = this.#m * this.#dsub
    for (let t = 0; t < d; t++) f[at + t] = q[qOff + t]!
  }

  search(segs: Int32Array, nl: number, bias: F32, k: number, hd: F32, hl: Float64Array): number {
    const rt = this.#rt
    const mem = this.#mem
    // Per call: list, segPtr, segN (i32), bias (f32), then the heap: hd (f32), hl (f64),
    // each slot 16-byte aligned (al). No allocation on the JavaScript side: the cached
    // whole-memory views are written through, taken after the one possible allocation.
    const slot = al(nl * 4)
    const sHd = 4 * slot
    const sHl = sHd + al(k * 4)
    const size = sHl + al(k * 8)
    if (size > this.#callCap) {
      const cap = Math.max(size, this.#callCap * 2)
      const ptr = rt.alloc(cap)
      rt.free(mem.call)
      this.#bytes += cap - this.#callCap
      mem.call = ptr
      this.#callCap = cap
    }
    const base = mem.call
    const i32 = rt.memI32
    const f32 = rt.memF32
    const f64 = rt.memF64
    const list = base >>> 2
    const ptr = (base + slot) >>> 2
    const cnt = (base + 2 * slot) >>> 2
    const bi = (base + 3 * slot) >>> 2
    const segPtr = mem.segPtr
    const segN = this.#segN
    for (let s = 0; s < nl; s++) {
      const seg = segs[s]!
      i32[list + s] = seg
      i32[ptr + s] = segPtr[seg]!
      i32[cnt + s] = segN[seg]!
      f32[bi + s] = bias[s]!
    }
    const hdAt = (base + sHd) >>> 2
    const hlAt = (base + sHl) >>> 3
    for (let j = 0; j < k; j++) {
      f32[hdAt + j] = hd[j]!
      f64[hlAt + j] = hl[j]!
    }
    const scanned = rt.x.fsSearch(
      this.#q,
      this.#mode,
      this.#centT,
      this.#m,
      this.#dsub,
      base,
      base + slot,
      base + 2 * slot,
      base + 3 * slot,
      nl,
      this.#terms ? 1 : 0,
      this.#ftab,
      this.#lut,
      this.#meta,
      k,
      base + sHd,
      base + sHl,
    )
    for (let j = 0; j < k; j++) {
      hd[j] = f32[hdAt + j]!
      hl[j] = f64[hlAt + j]!
    }
    return scanned
  }

  get bytes(): number {
    return this.#bytes
  }

  free(): void {
    fastScanRegistry.unregister(this)
    releaseFastScan(this.#rt, this.#mem)
    this.#segCap = new Float64Array(0)
    this.#bytes = 0
  }
}

/** The allocations of a lookup-table scan (freed by free(), or when it is garbage collected). */
interface LutScanMemory {
  segPtr: Float64Array
  /** 128 bytes of lsSearch's scratch. */
  state: number
  /** Per-call arrays of search(). */
  call: number
}

const lutScanRegistry = new FinalizationRegistry<{ rt: WasmRuntime; mem: LutScanMemory }>(({ rt, mem }) => releaseLutScan(rt, mem))

function releaseLutScan(rt: WasmRuntime, mem: LutScanMemory): void {
  for (let s = 0; s < mem.segPtr.length; s++) rt.free(mem.segPtr[s]!)
  rt.free(mem.state)
  rt.free(mem.call)
  mem.segPtr = new Float64Array(0)
  mem.state = 0
  mem.call = 0
}

/** Largest m: every raw sum (at most 255 m) is then an exact float32 integer. */
const LUT_SCAN_MAX_M = 65793

/**
 * The lane order of a and b in module memory (lsSearch's layout): item r of a block of 32
 * goes to position 16 (r >> 4) + 8 (r & 1) + ((r & 15) >> 1) of the block's 32 floats.
 */
const lane = (r: number): number => ((r >> 4) << 4) + ((r & 1) << 3) + ((r & 15) >> 1)

/**
 * Lookup-table scan (types.ts LutScan) over segments in this module's memory, one
 * allocation per segment: per block of 32 items its packed codes, then 32 floats a and 32
 * floats b in lane order (the layout of lsSearch). search() copies its tables, constants and the heap into one per-call region
 * that only grows; estimates() works in the runtime's scratch.
 */
class WasmLutScan implements LutScan {
  readonly #rt: WasmRuntime
  readonly m: number
  readonly #mem: LutScanMemory
  /** Capacity (bytes) and size (codes) of each segment (addresses in #mem.segPtr). */
  #segCap: Float64Array = new Float64Array(0)
  #segN: Float64Array = new Float64Array(0)
  #callCap = 0
  #bytes = 0

  constructor(rt: WasmRuntime, m: number) {
    if (!Number.isInteger(m) || m < 1 || m > LUT_SCAN_MAX_M)
      throw new VqError('INTERNAL', `createLutScan: m = ${m} is not an integer in [1, ${LUT_SCAN_MAX_M}]`)
    this.#rt = rt
    this.m = m
    const state = rt.alloc(128)
    this.#mem = { segPtr: new Float64Array(0), state, call: 0 }
    lutScanRegistry.register(this, { rt, mem: this.#mem }, this)
    this.#bytes = 128
  }

  /** Throws VqError INTERNAL once free() has released the memory. */
  #live(what: string): void {
    if (this.#mem.state === 0) throw new VqError('INTERNAL', `LutScan.${what} called after free()`)
  }

  setSegment(seg: number, packed: Uint8Array, n: number, a: F32, b: F32): void {
    this.#live('setSegment')
    const m = this.m
    const codeBytes = fastScanPackedSize(n, m)
    if (!Number.isInteger(seg) || seg < 0 || seg > 0x7fffffff || !Number.isInteger(n) || n < 0)
      throw new VqError('INTERNAL', `LutScan.setSegment: bad segment ${seg} or size ${n}`)
    if (packed.length < codeBytes || a.length < n || b.length < n)
      throw new VqError(
        'INTERNAL',
        `LutScan.setSegment: ${n} codes need ${codeBytes} packed bytes and ${n} floats of a and b (got ${packed.length}, ${a.length}, ${b.length})`,
      )
    const mem = this.#mem
    if (seg >= mem.segPtr.length) {
      const cap = Math.max(seg + 1, mem.segPtr.length * 2)
      const p = new Float64Array(cap)
      p.set(mem.segPtr)
      const c = new Float64Array(cap)
      c.set(this.#segCap)
      const z = new Float64Array(cap)
      z.set(this.#segN)
      mem.segPtr = p
      this.#segCap = c
      this.#segN = z
    }
    const blocks = Math.ceil(n / 32)
    const stride = m * 16 + 256
    const bytes = blocks * stride
    if (bytes > this.#segCap[seg]!) {
      // Allocate before freeing and updating: a failed allocation leaves the segment as it was.
      const cap = Math.max(bytes, Math.ceil(this.#segCap[seg]! * 1.5))
      const ptr = this.#rt.alloc(cap)
      this.#rt.free(mem.segPtr[seg]!)
      this.#bytes += cap - this.#segCap[seg]!
      mem.segPtr[seg] = ptr
      this.#segCap[seg] = cap
    }
    this.#segN[seg] = n
    const at = mem.segPtr[seg]!
    const u8 = new Uint8Array(this.#rt.x.memory.buffer)
    const f32 = this.#rt.memF32
    for (let k = 0; k < blocks; k++) {
      const o = at + k * stride
      u8.set(packed.subarray(k * m * 16, (k + 1) * m * 16), o)
      f32.fill(0, (o + m * 16) >>> 2, (o + stride) >>> 2)
    }
    for (let i = 0; i < n; i++) {
      const o = ((at + (i >>> 5) * stride + m * 16) >>> 2) + lane(i & 31)
      f32[o] = a[i]!
      f32[o + 32] = b[i]!
    }
  }

  search(segs: Int32Array, nl: number, tables: Uint8Array, consts: F32, k: number, hd: F32, hl: Float64Array): number {
    this.#live('search')
    const rt = this.#rt
    const mem = this.#mem
    const tb = this.m * 16
    if (tables.length < nl * tb || consts.length < 3 * nl || segs.length < nl || hd.length < k || hl.length < k)
      throw new VqError(
        'INTERNAL',
        `LutScan.search: ${nl} segments and k = ${k} need ${nl * tb} table bytes, ${3 * nl} constants, ${nl} segment numbers and ${k} heap slots`,
      )
    // Per call: list, segPtr, segN (i32), tables (bytes), consts (f32), then the heap: hd
    // (f32), hl (f64), each slot 16-byte aligned (al). No allocation on the JavaScript side
    // past the first calls: the cached whole-memory views are written through, taken after
    // the one possible allocation.
    const slot = al(nl * 4)
    const sTab = 3 * slot
    const sCon = sTab + al(nl * tb)
    const sHd = sCon + al(nl * 12)
    const sHl = sHd + al(k * 4)
    const size = sHl + al(k * 8)
    if (size > this.#callCap) {
      const cap = Math.max(size, this.#callCap * 2)
      const ptr = rt.alloc(cap)
      rt.free(mem.call)
      this.#bytes += cap - this.#callCap
      mem.call = ptr
      this.#callCap = cap
    }
    const base = mem.call
    const i32 = rt.memI32
    const f32 = rt.memF32
    const f64 = rt.memF64
    const list = base >>> 2
    const ptr = (base + slot) >>> 2
    const cnt = (base + 2 * slot) >>> 2
    const segPtr = mem.segPtr
    const segN = this.#segN
    for (let t = 0; t < nl; t++) {
      const seg = segs[t]!
      i32[list + t] = seg
      // A segment never set (or beyond those set) holds no items.
      i32[ptr + t] = segPtr[seg] ?? 0
      i32[cnt + t] = segN[seg] ?? 0
    }
    rt.put(base + sTab, tables, nl * tb)
    const con = (base + sCon) >>> 2
    for (let j = 0; j < 3 * nl; j++) f32[con + j] = consts[j]!
    const hdAt = (base + sHd) >>> 2
    const hlAt = (base + sHl) >>> 3
    for (let j = 0; j < k; j++) {
      f32[hdAt + j] = hd[j]!
      f64[hlAt + j] = hl[j]!
    }
    const scanned = rt.x.lsSearch(
      this.m,
      base,
      base + slot,
      base + 2 * slot,
      nl,
      base + sTab,
      base + sCon,
      k,
      base + sHd,
      base + sHl,
      0,
      mem.state,
    )
    for (let j = 0; j < k; j++) {
      hd[j] = f32[hdAt + j]!
      hl[j] = f64[hlAt + j]!
    }
    return scanned
  }

  estimates(seg: number, table: Uint8Array, alpha: number, beta: number, gamma: number, out: F32): void {
    this.#live('estimates')
    const rt = this.#rt
    const tb = this.m * 16
    const n = this.#segN[seg] ?? 0
    if (table.length < tb || out.length < n)
      throw new VqError('INTERNAL', `LutScan.estimates: needs ${tb} table bytes and ${n} outputs (got ${table.length}, ${out.length})`)
    if (n === 0) return
    // Scratch: list, segPtr, segN (one i32 each), consts, the table, the output.
    const sTab = 32
    const sOut = sTab + al(tb)
    const base = rt.scratch(sOut + al(n * 4))
    const i32 = rt.memI32
    const f32 = rt.memF32
    const at = base >>> 2
    i32[at] = seg
    i32[at + 1] = this.#mem.segPtr[seg]!
    i32[at + 2] = n
    f32[at + 4] = alpha
    f32[at + 5] = beta
    f32[at + 6] = gamma
    rt.put(base + sTab, table, tb)
    rt.x.lsSearch(this.m, base, base + 4, base + 8, 1, base + sTab, base + 16, 0, 0, 0, base + sOut, this.#mem.state)
    rt.get(base + sOut, out, n * 4)
  }

  get bytes(): number {
    return this.#bytes
  }

  free(): void {
    lutScanRegistry.unregister(this)
    releaseLutScan(this.#rt, this.#mem)
    this.#segCap = new Float64Array(0)
    this.#segN = new Float64Array(0)
    this.#callCap = 0
    this.#bytes = 0
  }
}

/** This thread's WebAssembly kernels, made on the first call of wasmKernels(). */
let shared: Kernels | null = null

/**
 * The WebAssembly kernels of this thread, or null when unavailable. One runtime per
 * thread: every call returns the same object, over the same module memory, so that
 * pinned arrays and resident copies made through one caller serve every other.
 */
export function wasmKernels(): Kernels | null {
  if (shared) return shared
  const { module } = load()
  if (!module) return null
  shared = createWasmKernels(new WasmRuntime(module))
  return shared
}
