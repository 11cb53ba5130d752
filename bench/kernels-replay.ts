/**
 * Replays recordings of kernels-capture.ts against one or more builds of kernels.wasm in
 * one process: every round runs each build's fast-scan calls (and probe calls) once, builds
 * interleaved, and the figures are medians over rounds. Checks that every build returns
 * the same heaps (distances and labels, bit for bit) and the same probe distances as the
 * first build.
 *
 *   npx tsx bench/kernels-replay.ts /tmp/fs-glove.bin [--wasm a.wasm,b.wasm] [--rounds 9]
 *     [--reps 1] [--only fs|probe]
 *
 * --wasm defaults to native-free-kernels/wasm/kernels.wasm. For instruction counts run one
 * build under callgrind with --rounds 1 and two --reps values, and take the difference.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { deserialize } from 'node:v8'
import { createWasmKernels, type FastScan, WasmRuntime } from 'vqlite/kernels'
import type { Capture } from './kernels-capture.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    wasm: { type: 'string', default: 'native-free-kernels/wasm/kernels.wasm' },
    rounds: { type: 'string', default: '9' },
    reps: { type: 'string', default: '1' },
    only: { type: 'string', default: '' },
  },
})
const cap = deserialize(readFileSync(positionals[0] ?? '/tmp/fs-glove.bin')) as Capture
const rounds = Number(values.rounds)
const reps = Number(values.reps)
const files = values.wasm.split(',')
const WA = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly

interface Build {
  file: string
  fs: FastScan
  many: (q: Float32Array, out: Float32Array) => void
  hd: Float32Array[]
  hl: Float64Array[]
  probe: Float32Array[]
  tFs: number[]
  tProbe: number[]
  rt: WasmRuntime
}

const { centroids, m, dsub, mode, terms } = cap.engine
const builds: Build[] = files.map((file) => {
  const rt = new WasmRuntime(new WA.Module(readFileSync(file)))
  const K = createWasmKernels(rt)
  const fs = K.createFastScan!(centroids, m, dsub, mode, terms)
  for (const [seg, s] of cap.segments) fs.setSegment(seg, s.packed, s.n, s.terms)
  const p = cap.probe
  if (p.x) K.pin!(p.x)
  const many = (q: Float32Array, out: Float32Array): void => {
    if (p.kind === 'l2') K.l2sqrMany(q, 0, p.x!, p.n, p.d, out)
    else K.innerProductMany(q, 0, p.x!, p.n, p.d, out)
  }
  return { file, fs, many, hd: [], hl: [], probe: [], tFs: [], tProbe: [], rt }
})

let codes = 0
function runFs(b: Build, keep: boolean): number {
  const t0 = process.hrtime.bigint()
  let scanned = 0
  for (let r = 0; r < reps; r++) {
    for (const c of cap.calls) {
      const hd = c.hd.slice()
      const hl = c.hl.slice()
      b.fs.setQuery(c.q, 0)
      scanned += b.fs.search(c.segs, c.nl, c.bias, c.k, hd, hl)
      if (keep && r === 0) {
        b.hd.push(hd)
        b.hl.push(hl)
      }
    }
  }
  codes = scanned / reps
  return Number(process.hrtime.bigint() - t0) / 1e9
}

function runProbe(b: Build, keep: boolean): number {
  const p = cap.probe
  const out = new Float32Array(p.n)
  const t0 = process.hrtime.bigint()
  for (let r = 0; r < reps; r++) {
    for (const q of p.queries) {
      b.many(q, out)
      if (keep && r === 0) b.probe.push(out.slice())
    }
  }
  return Number(process.hrtime.bigint() - t0) / 1e9
}

const doFs = values.only !== 'probe' && cap.calls.length > 0
const doProbe = values.only !== 'fs' && cap.probe.x !== null && cap.probe.queries.length > 0
for (let round = 0; round < rounds; round++) {
  for (const b of builds) {
    if (doFs) b.tFs.push(runFs(b, round === 0))
    if (doProbe) b.tProbe.push(runProbe(b, round === 0))
  }
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false
  return true
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!
const base = builds[0]!
const nCalls = cap.calls.length
const nProbe = cap.probe.queries.length
for (const b of builds) {
  let diffFs = 0
  let diffProbe = 0
  for (let i = 0; i < b.hd.length; i++) if (!same(b.hd[i]!, base.hd[i]!) || !same(b.hl[i]!, base.hl[i]!)) diffFs++
  for (let i = 0; i < b.probe.length; i++) if (!same(b.probe[i]!, base.probe[i]!)) diffProbe++
  const fsS = doFs ? median(b.tFs) / reps / nCalls : 0
  const prS = doProbe ? median(b.tProbe) / reps / nProbe : 0
  process.stdout.write(
    `${b.file}: fast-scan ${doFs ? `${(fsS * 1e6).toFixed(1)} us/call, ${(codes / nCalls / fsS / 1e6).toFixed(0)} M codes/s` : '-'}` +
      ` (${(codes / nCalls).toFixed(0)} codes/call, heaps differing from the first build: ${diffFs}/${b.hd.length});` +
      ` probe ${doProbe ? `${(prS * 1e6).toFixed(2)} us/query` : '-'} (${cap.probe.n}x${cap.probe.d} ${cap.probe.kind}; differing: ${diffProbe}/${b.probe.length})\n`,
  )
}
// Survivor counters, when the build exports them (an instrumented build: see kernels-count.sh).
for (const b of builds) {
  const x = b.rt.x as unknown as Record<string, { value: bigint | number } | undefined>
  if (x['cntSurvivors'] !== undefined && doFs) {
    const per = (v: bigint | number): string => (Number(v) / (rounds * reps * nCalls)).toFixed(1)
    process.stdout.write(
      `${b.file}: per call: survivors ${per(x['cntSurvivors']!.value)}, rescored within top ${per(x['cntRescored']?.value ?? 0)}, heap entries ${per(x['cntPushed']?.value ?? 0)}, threshold updates ${per(x['cntThr']?.value ?? 0)}, blocks ${per(x['cntBlocks']?.value ?? 0)}\n`,
    )
  }
}
