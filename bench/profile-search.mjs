// Per-query cost of VqIndex.search(), one query at a time, one thread, on a shared bench
// index opened read-only: us per query at a few nprobe x refineFactor points and the
// scavenges (minor GCs) per 10k queries, for one build of the library or two side by side
// (--lib a,b: their points interleaved round by round in this one process, median of rounds,
// with a check that both return the same ids and distances).
//
//   npm run build && node bench/profile-search.mjs [--lib dist/src/index.js[,/tmp/base/dist/src/index.js]]
//     [--set glove|synth1m] [--index file.vqlite] [--points 1:1,96:1,96:8] [--rounds 5] [--queries 1000] [--out file.json]
//
// --cpu-prof file.cpuprofile: a CPU profile of the timing rounds only; node --trace-gc shows every scavenge.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const { values: args } = parseArgs({
  options: {
    lib: { type: 'string', default: resolve(here, '../dist/src/index.js') },
    set: { type: 'string', default: 'glove' },
    points: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    queries: { type: 'string', default: '1000' },
    k: { type: 'string', default: '10' },
    out: { type: 'string' },
    // Another index file of the set (its queries): e.g. a narrowed RFlat build.
    index: { type: 'string' },
    // A CPU profile of the timing rounds only (not the open or the warm-up), written here.
    'cpu-prof': { type: 'string' },
    // Instruction counts instead of times: each build runs under callgrind with
    // instrumentation switched on only around each point's loop of queries.
    callgrind: { type: 'boolean', default: false },
    'cg-child': { type: 'boolean', default: false },
  },
})

const libs = args.lib.split(',').map((p) => resolve(p))
const k = Number(args.k)
const rounds = Number(args.rounds)

async function loadSet(name) {
  if (name === 'glove') {
    const { loadGlove100 } = await import(pathToFileURL(resolve(here, '../cli/dist/datasets/index.js')).href)
    const g = await loadGlove100({})
    return { path: '/work/data/glove-ivf1024-pq50x4.vqlite', queries: g.queries, nq: g.nq, d: g.d, points: '1:1,96:1,96:8' }
  }
  if (name === 'synth1m') {
    const buf = readFileSync('/work/data/synth1m-query.f32')
    const queries = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
    return { path: '/work/data/synth1m-ivf4096-pq32x4.vqlite', queries, nq: queries.length / 128, d: 128, points: '1:1,24:1,24:8' }
  }
  throw new Error(`unknown set ${name}`)
}

if (args.callgrind) {
  await callgrindMain()
  process.exit(0)
}

/** Runs every build under callgrind (in parallel) and prints instructions per query per point. */
async function callgrindMain() {
  const { spawn, execFileSync } = await import('node:child_process')
  const runOne = (lib) =>
    new Promise((resolveRun, reject) => {
      const child = spawn(
        'valgrind',
        [
          '--tool=callgrind',
          '--instr-atstart=no',
          `--callgrind-out-file=/tmp/vq-cg-%p.out`,
          process.execPath,
          // One thread for V8 (no concurrent compiler or GC threads): steadier counts.
          '--single-threaded',
          fileURLToPath(import.meta.url),
          '--cg-child',
          '--lib',
          lib,
          '--set',
          args.set,
          '--queries',
          args.queries,
          '--k',
          args.k,
          ...(args.points ? ['--points', args.points] : []),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      const counts = []
      let buf = ''
      const ctl = (...a) =>
        execFileSync('callgrind_control', [...a, String(child.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      child.stdout.on('data', (d) => {
        buf += d
        let nl = buf.indexOf('\n')
        while (nl >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          nl = buf.indexOf('\n')
          const go = `/tmp/vq-cg-${child.pid}.go`
          if (line.startsWith('READY')) {
            ctl('-i', 'on')
            ctl('-z')
            writeFileSync(go, '')
          } else if (line.startsWith('DONE')) {
            const out = ctl('-e', 'Ir')
            let total = 0
            for (const m of out.matchAll(/Th \d+\s+([\d,]+)/g)) total += Number(m[1].replaceAll(',', ''))
            counts.push(total)
            ctl('-i', 'off')
            writeFileSync(go, '')
          }
        }
      })
      let err = ''
      child.stderr.on('data', (d) => {
        err += d
      })
      child.on('exit', (code) =>
        code === 0 ? resolveRun(counts) : reject(new Error(`callgrind run of ${lib} failed (${code}): ${err.slice(-2000)}`)),
      )
    })
  const results = await Promise.all(libs.map(runOne))
  const pts = (args.points ?? (args.set === 'glove' ? '1:1,96:1,96:8' : '1:1,24:1,24:8')).split(',')
  const nqRun = Number(args.queries)
  const report = { set: args.set, method: 'callgrind Ir (all threads) per query', nq: nqRun, systems: [] }
  for (let li = 0; li < libs.length; li++) {
    console.log(libs[li])
    const rows = pts.map((p, pi) => ({ point: p, irPerQuery: Math.round(results[li][pi] / nqRun) }))
    for (const r of rows) console.log(`  ${r.point}: ${r.irPerQuery.toLocaleString('en')} Ir/query`)
    report.systems.push({ lib: libs[li], points: rows })
  }
  if (libs.length === 2)
    for (let pi = 0; pi < pts.length; pi++) console.log(`  ratio at ${pts[pi]}: ${(results[0][pi] / results[1][pi]).toFixed(3)}`)
  if (args.out) writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`)
}

const set = await loadSet(args.set)
if (args.index) set.path = resolve(args.index)
const nq = Math.min(Number(args.queries), set.nq)
const points = (args.points ?? set.points).split(',').map((s) => {
  const [nprobe, refineFactor] = s.split(':').map(Number)
  return { nprobe, refineFactor }
})

// Minor GCs (scavenges) seen by a PerformanceObserver, counted while a timed loop runs.
let scavenges = 0
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if ((e.detail?.kind ?? e.kind) === perfConstants.NODE_PERFORMANCE_GC_MINOR) scavenges++
})
obs.observe({ entryTypes: ['gc'] })
// GC entries reach the observer asynchronously: wait a little before and after each timed loop.
const flushGc = () => new Promise((r) => setTimeout(r, 30))

const systems = []
for (const lib of libs) {
  const { VqIndex } = await import(pathToFileURL(lib).href)
  const ix = VqIndex.open(set.path, { readonly: true, threads: 0 })
  systems.push({ lib, ix })
}

const qs = []
for (let i = 0; i < nq; i++) qs.push(set.queries.subarray(i * set.d, (i + 1) * set.d))

function run(ix, p) {
  const o = { nprobe: p.nprobe, refineFactor: p.refineFactor }
  let sum = 0
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < nq; i++) sum += ix.search(qs[i], k, o).distances[0]
  const wall = ((performance.now() - t0) * 1000) / nq
  const c = process.cpuUsage(c0)
  return { us: wall, cpu: (c.user + c.system) / nq, sum }
}

// Warm-up (and the identical-results check across builds).
for (const p of points) {
  const ref = []
  for (const s of systems) {
    for (let w = 0; w < 2; w++) run(s.ix, p)
    const ids = []
    const dist = []
    for (let i = 0; i < nq; i++) {
      const r = s.ix.search(qs[i], k, p)
      ids.push(...r.ids)
      dist.push(...r.distances)
    }
    ref.push({ ids, dist })
  }
  for (let j = 1; j < ref.length; j++) {
    for (let i = 0; i < ref[0].ids.length; i++) {
      if (ref[j].ids[i] !== ref[0].ids[i] || !Object.is(ref[j].dist[i], ref[0].dist[i])) {
        throw new Error(`results differ at nprobe ${p.nprobe} refine ${p.refineFactor}, row ${Math.floor(i / k)}: ${libs[0]} vs ${libs[j]}`)
      }
    }
  }
}

if (args['cg-child']) {
  const { existsSync, rmSync } = await import('node:fs')
  const go = `/tmp/vq-cg-${process.pid}.go`
  const waitGo = async () => {
    while (!existsSync(go)) await new Promise((r) => setTimeout(r, 50))
    rmSync(go)
  }
  for (const p of points) {
    console.log('READY')
    await waitGo()
    run(systems[0].ix, p)
    console.log('DONE')
    await waitGo()
  }
  for (const s of systems) await s.ix.close()
  process.exit(0)
}

let session
if (args['cpu-prof']) {
  const { Session } = await import('node:inspector/promises')
  session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 50 })
  await session.post('Profiler.start')
}
const samples = systems.map(() => points.map(() => ({ us: [], cpu: [] })))
for (let r = 0; r < rounds; r++) {
  for (let pi = 0; pi < points.length; pi++) {
    const order = r % 2 === 0 ? systems.map((_, i) => i) : systems.map((_, i) => systems.length - 1 - i)
    for (const si of order) {
      await flushGc()
      const { us, cpu } = run(systems[si].ix, points[pi])
      samples[si][pi].us.push(us)
      samples[si][pi].cpu.push(cpu)
    }
  }
}

if (session) {
  const { profile } = await session.post('Profiler.stop')
  writeFileSync(args['cpu-prof'], JSON.stringify(profile))
  session.disconnect()
}

// Scavenges per 10,000 queries (the 1,000-query timed loops are too short to see them:
// the young generation holds several MB), per build and point, after the timing rounds.
const gcQueries = 10000
const scav10k = systems.map(() => points.map(() => 0))
for (let pi = 0; pi < points.length; pi++) {
  for (let si = 0; si < systems.length; si++) {
    const o = { nprobe: points[pi].nprobe, refineFactor: points[pi].refineFactor }
    const ix = systems[si].ix
    await flushGc()
    scavenges = 0
    for (let i = 0; i < gcQueries; i++) ix.search(qs[i % nq], k, o)
    await flushGc()
    scav10k[si][pi] = (scavenges * 10000) / gcQueries
  }
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const report = { set: args.set, nq, k, rounds, date: new Date().toISOString(), systems: [] }
for (let si = 0; si < systems.length; si++) {
  const rows = points.map((p, pi) => ({
    nprobe: p.nprobe,
    refineFactor: p.refineFactor,
    usPerQuery: +median(samples[si][pi].us).toFixed(2),
    usRounds: samples[si][pi].us.map((x) => +x.toFixed(2)),
    cpuUsPerQuery: +median(samples[si][pi].cpu).toFixed(2),
    cpuUsRounds: samples[si][pi].cpu.map((x) => +x.toFixed(2)),
    scavengesPer10k: scav10k[si][pi],
  }))
  report.systems.push({ lib: systems[si].lib, backend: systems[si].ix.kernelBackend, points: rows })
  console.log(systems[si].lib, systems[si].ix.kernelBackend)
  for (const row of rows)
    console.log(
      `  nprobe ${row.nprobe} refine ${row.refineFactor}: wall ${row.usPerQuery} us/query (rounds ${row.usRounds.join(' ')}), cpu ${row.cpuUsPerQuery} (rounds ${row.cpuUsRounds.join(' ')}), scavenges/10k ${row.scavengesPer10k}`,
    )
}
if (systems.length === 2) {
  for (let pi = 0; pi < points.length; pi++) {
    const ratios = samples[0][pi].us.map((u, r) => u / samples[1][pi].us[r])
    const cpuRatios = samples[0][pi].cpu.map((u, r) => u / samples[1][pi].cpu[r])
    console.log(
      `  ratio ${libs[0]} / ${libs[1]} at ${points[pi].nprobe}:${points[pi].refineFactor}: wall median ${median(ratios).toFixed(3)}, cpu median ${median(cpuRatios).toFixed(3)}`,
    )
  }
}
if (args.out) writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`)
obs.disconnect()
for (const s of systems) await s.ix.close()
