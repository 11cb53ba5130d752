/**
 * Records the fast-scan and probe kernel calls of real queries, for kernels-replay.ts to
 * replay against builds of kernels.wasm (in-process A/B, or one build under callgrind).
 *
 *   npx tsx bench/kernels-capture.ts glove  [--queries 200] [--out /tmp/fs-glove.bin]
 *   npx tsx bench/kernels-capture.ts pq16 [--queries 64]   (exhaustive PQ16x4, 1M codes, k 10)
 *   npx tsx bench/kernels-capture.ts synth1m [--queries 200] [--out /tmp/fs-synth1m.bin]
 *
 * glove: /work/data/glove-ivf1024-pq50x4.vqlite, glove100 queries, nprobe 96, refine 8, k 10.
 * synth1m: /work/data/synth1m-ivf4096-pq32x4.vqlite, its queries, nprobe 24, refine 8, k 10.
 * The recording (node:v8 serialization): the engine's centroids and shape, every segment
 * it was handed, and per query the fast-scan call (query, segments, biases, k, the heap as
 * handed in) and the probe call (query; the centroid matrix once).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { serialize } from 'node:v8'
import { Rng, VqIndex } from 'vqlite'
import { type F32, type FastScan, type FastScanMode, getKernels } from 'vqlite/kernels'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { queries: { type: 'string', default: '200' }, out: { type: 'string' } },
})
const set = positionals[0] ?? 'glove'
const nq = Number(values.queries)
const out = values.out ?? `/tmp/fs-${set}.bin`

export interface Capture {
  engine: { centroids: Float32Array; m: number; dsub: number; mode: FastScanMode; terms: boolean }
  segments: Map<number, { packed: Uint8Array; n: number; terms?: Float32Array }>
  calls: Array<{ q: Float32Array; segs: Int32Array; nl: number; bias: Float32Array; k: number; hd: Float32Array; hl: Float64Array }>
  probe: { kind: 'l2' | 'ip'; x: Float32Array | null; n: number; d: number; queries: Float32Array[] }
}

const K = getKernels('wasm')
const cap: Capture = {
  engine: { centroids: new Float32Array(0), m: 0, dsub: 0, mode: 'l2', terms: false },
  segments: new Map(),
  calls: [],
  probe: { kind: 'l2', x: null, n: 0, d: 0, queries: [] },
}
let recording = false
const create = K.createFastScan!.bind(K)
K.createFastScan = (centroids: F32, m: number, dsub: number, mode: FastScanMode, terms = false): FastScan => {
  const fs = create(centroids, m, dsub, mode, terms)
  cap.engine = { centroids: centroids.slice(), m, dsub, mode, terms }
  let q = new Float32Array(0)
  return {
    get columns() {
      return fs.columns
    },
    get bytes() {
      return fs.bytes
    },
    setSegment(seg, packed, n, t) {
      const codeBytes = Math.ceil(n / 32) * fs.columns * 16
      cap.segments.set(seg, { packed: packed.slice(0, codeBytes), n, terms: t?.slice(0, n) })
      fs.setSegment(seg, packed, n, t)
    },
    setQuery(qq, off) {
      q = qq.slice(off, off + m * dsub)
      fs.setQuery(qq, off)
    },
    search(segs, nl, bias, k, hd, hl) {
      if (recording) cap.calls.push({ q, segs: segs.slice(0, nl), nl, bias: bias.slice(0, nl), k, hd: hd.slice(0, k), hl: hl.slice(0, k) })
      return fs.search(segs, nl, bias, k, hd, hl)
    },
    free() {
      fs.free()
    },
  }
}
for (const kind of ['l2', 'ip'] as const) {
  const name = kind === 'l2' ? 'l2sqrMany' : 'innerProductMany'
  const f = K[name].bind(K)
  K[name] = (q, qOff, x, n, d, o) => {
    if (recording && n >= 1000 && x.length === n * d) {
      if (cap.probe.x !== x) cap.probe = { kind, x, n, d, queries: [] }
      cap.probe.queries.push(q.slice(qOff, qOff + d))
    }
    f(q, qOff, x, n, d, o)
  }
}

function fvecs(path: string): { data: Float32Array; d: number; n: number } {
  const b = readFileSync(path)
  const d = b.readInt32LE(0)
  const n = b.length / (4 * (d + 1))
  const data = new Float32Array(n * d)
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) data[i * d + t] = b.readFloatLE(4 * (i * (d + 1) + 1 + t))
  return { data, d, n }
}

async function pq16(): Promise<VqIndex> {
  // As bench/kernels.bench.ts: PQ16x4 (dimension 64) over 1M uniform vectors in [-1, 1].
  const rng = new Rng(7)
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.float() * 2 - 1)
  const ix = VqIndex.create(':memory:', { dim: 64, description: 'PQ16x4', threads: 0, kernels: 'wasm' })
  await ix.train(rand(20_000 * 64), { seed: 1 })
  for (let s = 0; s < 1_000_000; s += 100_000) {
    await ix.add(
      Array.from({ length: 100_000 }, (_, i) => s + i),
      rand(100_000 * 64),
    )
  }
  return ix
}

const file = set === 'glove' ? '/work/data/glove-ivf1024-pq50x4.vqlite' : '/work/data/synth1m-ivf4096-pq32x4.vqlite'
const nprobe = set === 'glove' ? 96 : 24
const qs =
  set === 'pq16'
    ? (() => {
        const rng = new Rng(99)
        return { data: Float32Array.from({ length: nq * 64 }, () => rng.float() * 2 - 1), d: 64, n: nq }
      })()
    : set === 'glove'
      ? fvecs(join(homedir(), '.cache/vqlite/glove100-seed100/query.fvecs'))
      : (() => {
          const b = readFileSync('/work/data/synth1m-query.f32')
          const data = new Float32Array(b.buffer, b.byteOffset, b.length / 4)
          return { data, d: 128, n: data.length / 128 }
        })()
const ix = set === 'pq16' ? await pq16() : VqIndex.open(file, { readonly: true, kernels: 'wasm', threads: 0 })
const d = qs.d
// Warm-up pass (loads every list into the engine), then the recorded pass.
for (let i = 0; i < nq; i++) ix.search(qs.data.subarray(i * d, (i + 1) * d), 10, { nprobe, refineFactor: 8 })
recording = true
for (let i = 0; i < nq; i++) ix.search(qs.data.subarray(i * d, (i + 1) * d), 10, { nprobe, refineFactor: 8 })
recording = false
await ix.close()
const x = cap.probe.x
writeFileSync(out, serialize({ ...cap, probe: { ...cap.probe, x: x ? x.slice() : null } }))
process.stdout.write(
  `${set}: m=${cap.engine.m} dsub=${cap.engine.dsub} mode=${cap.engine.mode} terms=${cap.engine.terms} segments=${cap.segments.size} calls=${cap.calls.length} probe=${cap.probe.kind} ${cap.probe.n}x${cap.probe.d} -> ${out}\n`,
)
