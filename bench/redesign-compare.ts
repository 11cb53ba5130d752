/**
 * Before/after check of a refactor (issue 13, "No regression"): two built copies of the
 * library, loaded side by side in ONE process by dynamic import(), on glove100 (cosine).
 *
 * 1. Training: each version trains each configuration once (seed 1, the index's default
 *    threads, as bench/glove100-ivf.ts does) into its own temporary file and adds the same
 *    340,479 vectors; the trained arrays (`index.model.exportArrays()`) are compared byte
 *    for byte. When they differ (or cannot be read), the ids comparison falls back to ONE
 *    file built by the before version, opened read-only by both versions (valid: the file
 *    format does not change); --cross forces that mode.
 * 2. Sweep: for every (config, nprobe, refineFactor) point, the 1,000 queries are searched
 *    one at a time on the main thread (`index.search`) by both versions in interleaved
 *    rounds (one untimed warm-up round, then --rounds timed ones; the version that starts
 *    alternates from round to round and point to point). Inside a round the queries go in
 *    chunks of --chunk (default 100; --chunk 1000 = whole blocks), each chunk searched by
 *    both versions in ABBA order, so the drift of a shared machine's speed hits both alike.
 *    QPS of a version at a point is the median of its rounds. Every query's ids are
 *    compared before vs after (mismatching queries counted, the first one shown), and each
 *    version's ids must also be the same in every round.
 * 3. Backend parity, in process: each version opens its file twice (kernels 'wasm' and
 *    'ts', threads 0) and searches the queries at the settings of bench/backend-parity;
 *    all four id sets (before/after x wasm/ts) must be identical.
 * 4. Backend parity, the scripts: runs the before's and the after's built
 *    bench/backend-parity (--before-parity / --after-parity; default: next to the entry
 *    file) and compares their reported rows (rows identical, recalls).
 *
 * The verdict (exit code 1 when any part fails): ids identical everywhere, median over
 * points of QPS after/before >= 0.95 and no point below 0.90.
 *
 * This script imports nothing of the library (only node built-ins and bench/lib/report.ts,
 * itself built on node built-ins alone), so it runs against any layout:
 *
 *   npx tsc --target ES2022 --module NodeNext --moduleResolution NodeNext --types node --strict \
 *     --skipLibCheck --outDir /tmp/redesign-compare bench/redesign-compare.ts
 *   node /tmp/redesign-compare/redesign-compare.js --before /work/baseline/dist/src/index.js \
 *     --after /work/main/dist/src/index.js [--after-parity path/to/backend-parity.js] [--quick]
 *     [--rounds 3] [--chunk 100] [--configs IVF1024,PQ50x4,RFlat;IVF1024,PQ25,RFlat] [--nprobe 16,32,48,64,96,128]
 *     [--refine 1,2,4,8,16] [--cross] [--skip-parity-scripts] [--perturb nprobe|seed]
 *     [--out bench/results/redesign-compare.json]
 *
 * --perturb exists to show the harness can fail: 'nprobe' makes the after side search with
 * nprobe + 1, 'seed' makes it train with seed 2.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { machineInfo } from './lib/report.js'

// ---- The small part of the public API this script uses (typed here, not imported) ----
interface TrainedArray {
  readonly shape: readonly number[]
  readonly data: ArrayBufferView
}
interface SearchResultLike {
  readonly ids: Float64Array
  readonly distances: Float32Array
}
interface BatchResultLike {
  readonly ids: Float64Array
  readonly distances: Float32Array
}
interface IndexLike {
  train(x: Float32Array, options?: { seed?: number }): Promise<void>
  add(ids: ArrayLike<number>, x: Float32Array): Promise<void>
  search(q: Float32Array, k: number, options?: { nprobe?: number; refineFactor?: number }): SearchResultLike
  searchBatch(q: Float32Array, k: number, options?: { nprobe?: number; refineFactor?: number; threads?: number }): Promise<BatchResultLike>
  close(): Promise<void>
  readonly kernelBackend: string
  readonly model?: { exportArrays?: () => Record<string, TrainedArray> }
}
interface VqIndexStatic {
  create(path: string, options: Record<string, unknown>): IndexLike
  open(path: string, options?: Record<string, unknown>): IndexLike
}
interface Glove {
  d: number
  nb: number
  nq: number
  gtK: number
  base: Float32Array
  queries: Float32Array
  groundTruth: Int32Array
}
interface Version {
  name: 'before' | 'after'
  entry: string
  VqIndex: VqIndexStatic
}

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string' },
    'before-parity': { type: 'string' },
    'after-parity': { type: 'string' },
    datasets: { type: 'string' },
    configs: { type: 'string', default: 'IVF1024,PQ50x4,RFlat;IVF1024,PQ25,RFlat' },
    nprobe: { type: 'string' },
    refine: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    chunk: { type: 'string', default: '100' },
    quick: { type: 'boolean', default: false },
    cross: { type: 'boolean', default: false },
    'skip-parity-scripts': { type: 'boolean', default: false },
    perturb: { type: 'string' },
    out: { type: 'string', default: 'bench/results/redesign-compare.json' },
  },
})
if (!values.before || !values.after) {
  console.error('usage: redesign-compare --before <dist/src/index.js> --after <dist/src/index.js> [options]; see the file comment')
  process.exit(2)
}
if (values.perturb !== undefined && values.perturb !== 'nprobe' && values.perturb !== 'seed') {
  console.error(`--perturb must be 'nprobe' or 'seed', got ${values.perturb}`)
  process.exit(2)
}
const nums = (s: string): number[] => s.split(',').map(Number)
const configs = values.configs.split(';')
const nprobes = nums(values.nprobe ?? (values.quick ? '16,64,128' : '16,32,48,64,96,128'))
const refines = nums(values.refine ?? (values.quick ? '1,4,16' : '1,2,4,8,16'))
const rounds = Number(values.rounds)
if (!(rounds >= 1)) throw new Error('--rounds must be >= 1')
const chunk = Number(values.chunk)
if (!(Number.isInteger(chunk) && chunk >= 1)) throw new Error('--chunk must be an integer >= 1')
const k = 10
const SEED = 1
const PARITY_SETTINGS = [
  [16, 1],
  [64, 1],
  [64, 10],
  [128, 20],
] as const
const tStart = performance.now()
const since = (t0: number): number => (performance.now() - t0) / 1000
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const h = s.length >> 1
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2
}

async function loadVersion(name: 'before' | 'after', entry: string): Promise<Version> {
  const abs = resolve(entry)
  const mod = (await import(pathToFileURL(abs).href)) as { VqIndex?: VqIndexStatic }
  if (!mod.VqIndex) throw new Error(`${abs} exports no VqIndex`)
  return { name, entry: abs, VqIndex: mod.VqIndex }
}

function recallAt10(found: Float64Array, g: Glove): number {
  let sum = 0
  for (let i = 0; i < g.nq; i++) {
    const want = new Set<number>()
    for (let j = 0; j < k; j++) want.add(g.groundTruth[i * g.gtK + j]!)
    let hit = 0
    for (let j = 0; j < k; j++) if (want.has(found[i * k + j]!)) hit++
    sum += hit / k
  }
  return sum / g.nq
}

/** Queries whose k ids differ; the first such query with both id lists. */
function compareIds(
  a: Float64Array,
  b: Float64Array,
  nq: number,
): { mismatches: number; first?: { query: number; a: number[]; b: number[] } } {
  let mismatches = 0
  let first: { query: number; a: number[]; b: number[] } | undefined
  for (let i = 0; i < nq; i++) {
    let same = true
    for (let j = 0; j < k; j++)
      if (a[i * k + j] !== b[i * k + j]) {
        same = false
        break
      }
    if (same) continue
    mismatches++
    first ??= { query: i, a: Array.from(a.subarray(i * k, (i + 1) * k)), b: Array.from(b.subarray(i * k, (i + 1) * k)) }
  }
  return first ? { mismatches, first } : { mismatches }
}

/**
 * The queries one at a time on this thread, by both versions in turn: the queries are
 * taken in chunks of `chunk`, and each chunk is searched by both versions, the order
 * alternating from chunk to chunk (first = the version that starts), so a drift of the
 * machine's speed hits both alike. Returns each version's ids (nq*k) and QPS.
 */
function runQueriesPaired(
  pair: { v: Version; ix: IndexLike; nprobe: number }[],
  g: Glove,
  refineFactor: number,
  chunk: number,
): Record<string, { ids: Float64Array; qps: number }> {
  const ids = pair.map(() => new Float64Array(g.nq * k))
  const ms = pair.map(() => 0)
  for (let c0 = 0, c = 0; c0 < g.nq; c0 += chunk, c++) {
    const c1 = Math.min(g.nq, c0 + chunk)
    for (let s = 0; s < pair.length; s++) {
      const j = c % 2 === 0 ? s : pair.length - 1 - s
      const { ix, nprobe } = pair[j]!
      const out = ids[j]!
      const t0 = performance.now()
      for (let i = c0; i < c1; i++) {
        const r = ix.search(g.queries.subarray(i * g.d, (i + 1) * g.d), k, { nprobe, refineFactor })
        out.set(r.ids.subarray(0, k), i * k)
      }
      ms[j]! += performance.now() - t0
    }
  }
  return Object.fromEntries(pair.map((p, j) => [p.v.name, { ids: ids[j]!, qps: g.nq / (ms[j]! / 1000) }]))
}

function compareArrays(
  a: Record<string, TrainedArray> | undefined,
  b: Record<string, TrainedArray> | undefined,
): { identical: boolean; detail: string } {
  if (!a || !b) return { identical: false, detail: 'model.exportArrays() not available on both versions' }
  const na = Object.keys(a).sort()
  const nb = Object.keys(b).sort()
  if (na.join() !== nb.join()) return { identical: false, detail: `array names differ: [${na.join(', ')}] vs [${nb.join(', ')}]` }
  for (const name of na) {
    const x = a[name]!
    const y = b[name]!
    if (x.shape.join('x') !== y.shape.join('x'))
      return { identical: false, detail: `${name}: shape ${x.shape.join('x')} vs ${y.shape.join('x')}` }
    const bx = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength)
    const by = new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength)
    if (bx.length !== by.length) return { identical: false, detail: `${name}: ${bx.length} vs ${by.length} bytes` }
    for (let i = 0; i < bx.length; i++) if (bx[i] !== by[i]) return { identical: false, detail: `${name}: first differing byte at ${i}` }
  }
  return { identical: true, detail: `${na.length} arrays identical (${na.join(', ')})` }
}

/** Runs one built bench/backend-parity script; returns its JSON rows and wall time. */
function runParityScript(script: string, dir: string, label: string): { rows: Record<string, number>[]; seconds: number; stdout: string } {
  const out = join(dir, `parity-${label}.json`)
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [script, '--out', out], { encoding: 'utf8', cwd: dir, maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new Error(`${script} exited with ${r.status}: ${r.stderr.slice(-2000)}`)
  const json = JSON.parse(readFileSync(out, 'utf8')) as { rows: Record<string, number>[] }
  return { rows: json.rows, seconds: since(t0), stdout: r.stdout.trim() }
}

const before = await loadVersion('before', values.before)
const after = await loadVersion('after', values.after)
const versions = [before, after]
const datasetsModule = values.datasets ?? join(dirname(before.entry), '..', 'datasets', 'index.js')
const { loadGlove100 } = (await import(pathToFileURL(resolve(datasetsModule)).href)) as { loadGlove100: () => Promise<Glove> }
const g = await loadGlove100()
console.log(`glove100: ${g.nb} base, ${g.nq} queries, d ${g.d}; loader ${resolve(datasetsModule)}`)
console.log(`before: ${before.entry}\nafter:  ${after.entry}`)
const dir = mkdtempSync(join(tmpdir(), 'vqlite-redesign-compare-'))
const report: Record<string, unknown> = {
  bench: 'redesign-compare',
  machine: machineInfo(),
  before: before.entry,
  after: after.entry,
  loader: resolve(datasetsModule),
  seed: SEED,
  k,
  nq: g.nq,
  rounds,
  chunk,
  grid: { configs, nprobe: nprobes, refineFactor: refines },
  quick: values.quick,
  perturb: values.perturb ?? null,
}
const failures: string[] = []
const open: IndexLike[] = []
let exitCode = 0
try {
  // ---- 1. Build each configuration once per version; compare the trained arrays ----
  const ids = Float64Array.from({ length: g.nb }, (_, i) => i)
  interface Built {
    config: string
    files: Record<string, string>
    search: Record<string, IndexLike>
    mode: string
  }
  const builds: Built[] = []
  const training: Record<string, unknown> = {}
  for (const config of configs) {
    const files: Record<string, string> = {}
    const created: Record<string, IndexLike> = {}
    const arrays: Record<string, Record<string, TrainedArray> | undefined> = {}
    const times: Record<string, unknown> = {}
    for (const v of versions) {
      const path = join(dir, `${v.name}-${builds.length}.vqlite`)
      const ix = v.VqIndex.create(path, { dim: g.d, metric: 'cosine', description: config, storeVectors: 'float32' })
      open.push(ix)
      let t0 = performance.now()
      await ix.train(g.base, { seed: v.name === 'after' && values.perturb === 'seed' ? SEED + 1 : SEED })
      const trainS = since(t0)
      t0 = performance.now()
      await ix.add(ids, g.base)
      const addS = since(t0)
      arrays[v.name] = ix.model?.exportArrays?.()
      files[v.name] = path
      created[v.name] = ix
      times[v.name] = { trainS, addS, kernels: ix.kernelBackend }
      console.log(`${v.name.padEnd(6)} ${config}: train ${trainS.toFixed(1)} s, add ${addS.toFixed(1)} s (${ix.kernelBackend} kernels)`)
    }
    const same = compareArrays(arrays['before'], arrays['after'])
    const cross = values.cross || !same.identical
    training[config] = { ...same, times, idsComparedOn: cross ? 'one file built by before, opened by both' : "each version's own file" }
    console.log(`  trained arrays before vs after: ${same.identical ? 'IDENTICAL' : 'DIFFERENT'}: ${same.detail}`)
    if (!same.identical) failures.push(`${config}: trained arrays differ (${same.detail})`)
    let search: Record<string, IndexLike>
    if (cross) {
      // One file, built by before, opened read-only by both versions.
      for (const v of versions) await created[v.name]!.close()
      search = {}
      for (const v of versions) {
        const ix = v.VqIndex.open(files['before']!, { readonly: true })
        open.push(ix)
        search[v.name] = ix
      }
      console.log(`  ids compared on ${files['before']} opened by both versions`)
    } else {
      search = created
    }
    // Search once so that fast-scan has packed every list (as bench/glove100-ivf.ts does).
    for (const v of versions) await search[v.name]!.searchBatch(g.queries, k, { nprobe: 1024, threads: 0 })
    builds.push({ config, files, search, mode: cross ? 'cross' : 'own' })
  }
  report['training'] = training

  // ---- 2. The sweep: interleaved rounds, ids before vs after ----
  interface PointState {
    config: string
    nprobe: number
    refineFactor: number
    qps: Record<string, number[]>
    ids: Record<string, Float64Array | undefined>
    unstable: Record<string, number>
  }
  const points: PointState[] = []
  for (const b of builds) {
    for (const nprobe of nprobes) {
      for (const refineFactor of refines) {
        points.push({
          config: b.config,
          nprobe,
          refineFactor,
          qps: { before: [], after: [] },
          ids: { before: undefined, after: undefined },
          unstable: { before: 0, after: 0 },
        })
      }
    }
  }
  // One untimed pass per point and version (JIT and caches), then the timed rounds.
  const tSweep = performance.now()
  for (let round = 0; round <= rounds; round++) {
    if (round > 0) console.log(`round ${round} of ${rounds}`)
    points.forEach((p, pi) => {
      const b = builds.find((x) => x.config === p.config)!
      const order = (round + pi) % 2 === 0 ? [before, after] : [after, before]
      const pair = order.map((v) => ({
        v,
        ix: b.search[v.name]!,
        nprobe: v.name === 'after' && values.perturb === 'nprobe' ? p.nprobe + 1 : p.nprobe,
      }))
      const res = runQueriesPaired(pair, g, p.refineFactor, chunk)
      if (round === 0) return
      for (const v of versions) {
        const r = res[v.name]!
        p.qps[v.name]!.push(r.qps)
        const first = p.ids[v.name]
        if (!first) p.ids[v.name] = r.ids
        else p.unstable[v.name]! += compareIds(first, r.ids, g.nq).mismatches
      }
    })
  }
  const sweepS = since(tSweep)
  const rows = points.map((p) => {
    const cmp = compareIds(p.ids['before']!, p.ids['after']!, g.nq)
    const qpsBefore = median(p.qps['before']!)
    const qpsAfter = median(p.qps['after']!)
    return {
      config: p.config,
      nprobe: p.nprobe,
      refineFactor: p.refineFactor,
      recall10Before: recallAt10(p.ids['before']!, g),
      recall10After: recallAt10(p.ids['after']!, g),
      mismatchingQueries: cmp.mismatches,
      firstMismatch: cmp.first ?? null,
      unstableAcrossRounds: p.unstable,
      qpsBefore,
      qpsAfter,
      ratio: qpsAfter / qpsBefore,
      qpsRoundsBefore: p.qps['before'],
      qpsRoundsAfter: p.qps['after'],
    }
  })
  console.log(`\n${'config'.padEnd(22)} nprobe refine  recall@10 before/after  mism.  QPS before  QPS after  ratio`)
  for (const r of rows) {
    console.log(
      `${r.config.padEnd(22)} ${String(r.nprobe).padStart(6)} ${String(r.refineFactor).padStart(6)}  ${r.recall10Before.toFixed(4)}/${r.recall10After.toFixed(4)}         ${String(r.mismatchingQueries).padStart(5)}  ${r.qpsBefore.toFixed(0).padStart(10)}  ${r.qpsAfter.toFixed(0).padStart(9)}  ${r.ratio.toFixed(3)}`,
    )
  }
  const ratios = rows.map((r) => r.ratio)
  const medianRatio = median(ratios)
  const minRatio = Math.min(...ratios)
  const worst = rows.find((r) => r.ratio === minRatio)!
  const mismatchPoints = rows.filter((r) => r.mismatchingQueries > 0)
  const mismatchQueries = rows.reduce((s, r) => s + r.mismatchingQueries, 0)
  const unstable = rows.filter((r) => r.unstableAcrossRounds['before']! + r.unstableAcrossRounds['after']! > 0)
  const firstMismatch = mismatchPoints[0]
  console.log(
    `\nids: ${mismatchQueries} mismatching queries over ${mismatchPoints.length} of ${rows.length} points (${rows.length * g.nq} query results compared)`,
  )
  if (firstMismatch) {
    const f = firstMismatch.firstMismatch!
    console.log(
      `  first mismatch: ${firstMismatch.config} nprobe ${firstMismatch.nprobe} refine ${firstMismatch.refineFactor}, query ${f.query}: before [${f.a.join(',')}] after [${f.b.join(',')}]`,
    )
    failures.push(`ids differ at ${mismatchPoints.length} points (${mismatchQueries} queries)`)
  }
  if (unstable.length > 0) failures.push(`ids changed between rounds of the same version at ${unstable.length} points`)
  console.log(
    `QPS after/before: median over points ${medianRatio.toFixed(3)}, minimum ${minRatio.toFixed(3)} (${worst.config} nprobe ${worst.nprobe} refine ${worst.refineFactor}); sweep ${sweepS.toFixed(0)} s`,
  )
  if (medianRatio < 0.95) failures.push(`median QPS ratio ${medianRatio.toFixed(3)} < 0.95`)
  if (minRatio < 0.9) failures.push(`minimum QPS ratio ${minRatio.toFixed(3)} < 0.90`)
  report['sweep'] = {
    seconds: sweepS,
    medianRatio,
    minRatio,
    worstPoint: { config: worst.config, nprobe: worst.nprobe, refineFactor: worst.refineFactor },
    mismatchingQueries: mismatchQueries,
    mismatchingPoints: mismatchPoints.length,
    points: rows,
  }

  // ---- 3. Backend parity in process: wasm and ts kernels, both versions, same ids ----
  const parity: Record<string, unknown>[] = []
  for (const b of builds) {
    for (const v of versions) await b.search[v.name]!.close()
    const file = (v: Version): string => (b.mode === 'cross' ? b.files['before']! : b.files[v.name]!)
    const kernelsOpen: Record<string, IndexLike> = {}
    for (const v of versions) {
      for (const kernels of ['wasm', 'ts']) {
        const ix = v.VqIndex.open(file(v), { readonly: true, kernels, threads: 0 })
        open.push(ix)
        kernelsOpen[`${v.name}-${kernels}`] = ix
      }
    }
    for (const [nprobe, refineFactor] of PARITY_SETTINGS) {
      const res: Record<string, Float64Array> = {}
      for (const [key, ix] of Object.entries(kernelsOpen)) {
        const np = key.startsWith('after') && values.perturb === 'nprobe' ? nprobe + 1 : nprobe
        res[key] = (await ix.searchBatch(g.queries, k, { nprobe: np, refineFactor, threads: 0 })).ids
      }
      const vsRef = Object.fromEntries(Object.entries(res).map(([key, a]) => [key, compareIds(res['before-wasm']!, a, g.nq).mismatches]))
      const row = {
        config: b.config,
        nprobe,
        refineFactor,
        mismatchesVsBeforeWasm: vsRef,
        recall10: Object.fromEntries(Object.entries(res).map(([key, a]) => [key, recallAt10(a, g)])),
      }
      parity.push(row)
      const bad = Object.values(vsRef).some((x) => x > 0)
      if (bad) failures.push(`backend parity ${b.config} nprobe ${nprobe} refine ${refineFactor}: ${JSON.stringify(vsRef)}`)
      console.log(
        `parity ${b.config} nprobe ${nprobe} refine ${refineFactor}: queries differing from before-wasm ${JSON.stringify(vsRef)}${bad ? '  MISMATCH' : ''}`,
      )
    }
    for (const ix of Object.values(kernelsOpen)) await ix.close()
  }
  report['parityInProcess'] = parity

  // ---- 4. The before's and the after's bench/backend-parity scripts ----
  if (!values['skip-parity-scripts']) {
    const beforeScript = resolve(values['before-parity'] ?? join(dirname(before.entry), '..', 'bench', 'backend-parity.js'))
    const afterScript = resolve(values['after-parity'] ?? join(dirname(after.entry), '..', 'bench', 'backend-parity.js'))
    if (!existsSync(afterScript)) throw new Error(`no backend-parity script at ${afterScript}; pass --after-parity`)
    const pb = runParityScript(beforeScript, dir, 'before')
    const pa = runParityScript(afterScript, dir, 'after')
    const key = (r: Record<string, number>): string => `${r['nprobe']}/${r['refineFactor']}`
    const cmpRows = pb.rows.map((rb) => {
      const ra = pa.rows.find((x) => key(x) === key(rb))
      const same =
        ra !== undefined &&
        rb['rowsIdentical'] === 1 &&
        ra['rowsIdentical'] === 1 &&
        rb['recallWasm'] === ra['recallWasm'] &&
        rb['recallTs'] === ra['recallTs']
      return { setting: key(rb), before: rb, after: ra ?? null, same }
    })
    const allSame = cmpRows.every((r) => r.same) && pa.rows.length === pb.rows.length
    console.log(
      `backend-parity scripts (${pb.seconds.toFixed(0)} s, ${pa.seconds.toFixed(0)} s): ${allSame ? 'same rows (all ids identical wasm vs ts, same recalls)' : 'DIFFERENT'}`,
    )
    for (const r of cmpRows)
      console.log(`  nprobe/refine ${r.setting}: before ${JSON.stringify(r.before)} after ${JSON.stringify(r.after)}`)
    if (!allSame) failures.push('backend-parity scripts report different rows')
    report['parityScripts'] = { beforeScript, afterScript, beforeStdout: pb.stdout, afterStdout: pa.stdout, rows: cmpRows, same: allSame }
  }
} finally {
  for (const ix of open) await ix.close().catch(() => undefined)
  rmSync(dir, { recursive: true, force: true })
}
report['failures'] = failures
report['pass'] = failures.length === 0
report['seconds'] = since(tStart)
mkdirSync(dirname(resolve(values.out)), { recursive: true })
writeFileSync(resolve(values.out), `${JSON.stringify(report, null, 2)}\n`)
console.log(
  `\n${failures.length === 0 ? 'PASS' : `FAIL:\n  ${failures.join('\n  ')}`}\ntotal ${since(tStart).toFixed(0)} s; saved ${resolve(values.out)}`,
)
if (failures.length > 0) exitCode = 1
process.exit(exitCode)
