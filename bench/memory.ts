/**
 * Memory of an opened index, measured from outside the library: resident memory the
 * process owns (RssAnon + RssShmem of /proc/<pid>/status: V8 heap, ArrayBuffers,
 * SharedArrayBuffers, WebAssembly memory, SQLite's malloc), with the file-backed pages
 * (RssFile: the memory-mapped index file) beside it, compared field by field with
 * memoryUsage().
 *
 * Each measurement runs in a fresh child process (this script with --child). The parent
 * samples the child's /proc/<pid>/status every ~2 ms, so the transient peak of open()
 * (synchronous work, during which nothing in the child can sample) is seen from outside.
 * A 2,000-vector index built in a temporary folder measures what a first open() costs a
 * process besides the index's arrays (FIXED_OVERHEAD of src/engine/memory.ts).
 * Phases: before open (after imports, queries read, a GC), after open, after 1,000
 * search() calls (nprobe 96, refine 8, one query at a time), after searchBatch on 2
 * workers. With --mmap off the child turns SQLite's memory-mapped I/O off on its own
 * connections (PRAGMA mmap_size = 0; the workers' connections keep theirs).
 *
 * A second child mode (--ab) times search() at refine 8 and refine 1 on two handles of
 * the same file in one process, one memory-mapped and one not, interleaved in rounds
 * (median of rounds): what re-ranking reads cost each way.
 *
 *   node --expose-gc --import tsx bench/memory.ts [--file tiny|glove|synth ...] [--out bench/results/memory.json]
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { VqIndex } from 'vqlite'
import { loadGlove100 } from '../datasets/index.js'
import { machineInfo, saveJson } from './lib/report.js'

const { values } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    ab: { type: 'boolean', default: false },
    file: { type: 'string', multiple: true },
    queries: { type: 'string' },
    dim: { type: 'string' },
    mmap: { type: 'string', default: 'on' },
    nq: { type: 'string', default: '1000' },
    nprobe: { type: 'string', default: '96' },
    refine: { type: 'string', default: '8' },
    out: { type: 'string', default: 'bench/results/memory.json' },
  },
})

/** The fields of /proc/<pid>/status used here, in bytes. */
interface Status {
  rssAnon: number
  rssShmem: number
  rssFile: number
  vmHWM: number
  vmRSS: number
}

function readStatus(pid: number | 'self'): Status | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)
    return m ? Number(m[1]) * 1024 : Number.NaN
  }
  return { rssAnon: kb('RssAnon'), rssShmem: kb('RssShmem'), rssFile: kb('RssFile'), vmHWM: kb('VmHWM'), vmRSS: kb('VmRSS') }
}

/** Turns SQLite's memory-mapped I/O off on every connection this thread opens from now on. */
function mmapOff(): void {
  const proto = Database.prototype as unknown as { pragma: (this: unknown, source: string, options?: unknown) => unknown }
  const pragma = proto.pragma
  proto.pragma = function (this: unknown, source: string, options?: unknown): unknown {
    return pragma.call(this, /^\s*mmap_size\s*=/.test(source) ? 'mmap_size = 0' : source, options)
  }
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (!g) throw new Error('run with node --expose-gc')
  g()
  g()
}

/** One line to the parent (synchronous: a pipe write on Linux). */
function emit(value: unknown): void {
  writeSync(1, `${JSON.stringify(value)}\n`)
}

function snapshot(phase: string, extra: Record<string, unknown> = {}): void {
  const m = process.memoryUsage()
  emit({
    phase,
    status: readStatus('self'),
    node: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers },
    ...extra,
  })
}

function readQueries(path: string, d: number, nq: number): Float32Array {
  const b = readFileSync(path)
  const all = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4)
  return all.slice(0, Math.min(nq, all.length / d) * d)
}

async function child(): Promise<void> {
  const file = values.file![0]!
  const d = Number(values.dim)
  const nq = Number(values.nq)
  const nprobe = Number(values.nprobe)
  const refineFactor = Number(values.refine)
  if (values.mmap === 'off') mmapOff()
  const queries = readQueries(values.queries!, d, nq)
  const n = queries.length / d
  if (values.ab) return abChild(file, queries, d, n, nprobe, refineFactor)
  gc()
  snapshot('before')
  emit({ mark: 'open-start' })
  const t0 = performance.now()
  const ix = VqIndex.open(file, { readonly: true })
  const openMs = performance.now() - t0
  emit({ mark: 'open-end' })
  snapshot('open', { openMs, usage: ix.memoryUsage(), count: ix.size })
  gc()
  snapshot('open-gc', { usage: ix.memoryUsage() })
  const t1 = performance.now()
  for (let i = 0; i < n; i++) ix.search(queries.subarray(i * d, (i + 1) * d), 10, { nprobe, refineFactor })
  const usPerQuery = ((performance.now() - t1) * 1000) / n
  snapshot('queries', { usPerQuery, usage: ix.memoryUsage() })
  gc()
  snapshot('queries-gc', { usage: ix.memoryUsage() })
  emit({ mark: 'batch-start' })
  await ix.searchBatch(queries, 10, { nprobe, refineFactor, threads: 2 })
  emit({ mark: 'batch-end' })
  gc()
  snapshot('batch-gc', { usage: ix.memoryUsage() })
  await ix.close()
  gc()
  snapshot('closed')
}

/** search() us per query on a memory-mapped and an unmapped handle, interleaved by rounds. */
async function abChild(file: string, queries: Float32Array, d: number, n: number, nprobe: number, refine: number): Promise<void> {
  const on = VqIndex.open(file, { readonly: true })
  mmapOff()
  const off = VqIndex.open(file, { readonly: true })
  const handles = { on, off }
  const rounds = 7
  const per = Math.max(1, Math.floor(n / rounds))
  const times: Record<string, number[]> = {}
  const run = (name: 'on' | 'off', r: number, rf: number): void => {
    const ix = handles[name]
    const t = performance.now()
    for (let i = r * per; i < (r + 1) * per; i++) ix.search(queries.subarray(i * d, (i + 1) * d), 10, { nprobe, refineFactor: rf })
    const key = `${name}-refine${rf}`
    const list = times[key] ?? []
    list.push(((performance.now() - t) * 1000) / per)
    times[key] = list
  }
  // Warm both (lists packed, pages cached), then interleave, alternating who goes first.
  for (let r = 0; r < rounds; r++) for (const name of ['on', 'off'] as const) run(name, r, refine)
  for (const k of Object.keys(times)) delete times[k]
  for (let pass = 0; pass < 2; pass++) {
    for (let r = 0; r < rounds; r++) {
      const order = (r + pass) % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)
      for (const name of order) {
        run(name, r, refine)
        run(name, r, 1)
      }
    }
  }
  const median = (a: number[]): number => {
    const s = [...a].sort((x, y) => x - y)
    return s[s.length >> 1]!
  }
  emit({ ab: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])), status: readStatus('self') })
  await on.close()
  await off.close()
}

interface ChildRun {
  lines: Record<string, unknown>[]
  /** Peak of RssAnon + RssShmem (and of RssFile) sampled between marks, by window name. */
  peaks: Record<string, { owned: number; file: number; samples: number }>
}

/** Runs this script as a child and samples its memory every ~2 ms. */
function runChild(args: string[]): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--child', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const lines: Record<string, unknown>[] = []
    const peaks: ChildRun['peaks'] = {}
    let window: string | null = null
    let buf = ''
    const sample = (): void => {
      if (window === null || p.pid === undefined) return
      const s = readStatus(p.pid)
      if (!s) return
      const w = peaks[window] ?? { owned: 0, file: 0, samples: 0 }
      peaks[window] = w
      w.owned = Math.max(w.owned, s.rssAnon + s.rssShmem)
      w.file = Math.max(w.file, s.rssFile)
      w.samples++
    }
    const timer = setInterval(sample, 2)
    p.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8')
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
        if (typeof line.mark === 'string') {
          sample()
          window = line.mark.endsWith('-start') ? line.mark.slice(0, -6) : null
          sample()
        } else lines.push(line)
      }
    })
    p.on('error', reject)
    p.on('exit', (code) => {
      clearInterval(timer)
      if (code !== 0) reject(new Error(`child exited with ${code}`))
      else resolve({ lines, peaks })
    })
  })
}

interface Target {
  name: string
  file: string
  queries: string
  dim: number
}

async function targets(): Promise<Target[]> {
  const wanted = values.file ?? ['tiny', 'glove', 'synth']
  const out: Target[] = []
  for (const w of wanted) {
    if (w === 'glove') {
      const file = '/work/data/glove-ivf1024-pq50x4.vqlite'
      const g = await loadGlove100({})
      const queries = join(tmpdir(), 'vqlite-memory-glove100-queries.f32')
      writeFileSync(queries, Buffer.from(g.queries.buffer, g.queries.byteOffset, g.queries.byteLength))
      out.push({ name: 'glove100 IVF1024,PQ50x4,RFlat', file, queries, dim: g.d })
    } else if (w === 'tiny') {
      // 2,000 vectors: what a first open() costs a process beyond the index's arrays (FIXED_OVERHEAD).
      const file = join(tmpdir(), `vqlite-memory-tiny-${process.pid}.vqlite`)
      const d = 16
      const n = 2000
      const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 1.3))
      const ix = VqIndex.create(file, { dim: d, metric: 'l2', description: 'IVF16,PQ4x4,RFlat', storeVectors: 'float32' })
      await ix.train(x, { seed: 1 })
      await ix.add(
        Float64Array.from({ length: n }, (_, i) => i),
        x,
      )
      await ix.close()
      const queries = join(tmpdir(), `vqlite-memory-tiny-${process.pid}-queries.f32`)
      writeFileSync(queries, Buffer.from(x.buffer, 0, 1000 * d * 4))
      out.push({ name: 'tiny IVF16,PQ4x4,RFlat (2,000 x 16)', file, queries, dim: d })
    } else if (w === 'synth') {
      const file = '/work/data/synth1m-ivf4096-pq32x4.vqlite'
      const log = '/work/data/synth-build.log'
      if (!existsSync(log) || !readFileSync(log, 'utf8').includes('synth built')) {
        process.stderr.write(`skipping ${file}: not built yet\n`)
        continue
      }
      out.push({ name: 'synth1m IVF4096,PQ32x4,RFlat', file, queries: '/work/data/synth1m-query.f32', dim: 128 })
    } else {
      throw new Error(`--file tiny|glove|synth, not ${w}`)
    }
  }
  return out
}

type Line = { phase?: string; status?: Status; node?: Record<string, number>; usage?: Record<string, number>; count?: number } & Record<
  string,
  unknown
>

/** Growth of each figure from the `before` phase, per vector. */
function summarize(run: ChildRun): Record<string, unknown> {
  const by = new Map(run.lines.filter((l) => typeof l.phase === 'string').map((l) => [l.phase as string, l as Line]))
  const before = by.get('before')!
  const count = (by.get('open')!.count as number) ?? 1
  const owned = (s: Status): number => s.rssAnon + s.rssShmem
  const phases: Record<string, unknown> = {}
  for (const [phase, l] of by) {
    if (phase === 'before') continue
    const s = l.status!
    phases[phase] = {
      ownedGrowth: owned(s) - owned(before.status!),
      ownedPerVector: (owned(s) - owned(before.status!)) / count,
      anonGrowth: s.rssAnon - before.status!.rssAnon,
      shmemGrowth: s.rssShmem - before.status!.rssShmem,
      rssFile: s.rssFile,
      rssFileGrowth: s.rssFile - before.status!.rssFile,
      rssFilePerVector: (s.rssFile - before.status!.rssFile) / count,
      heapUsedGrowth: l.node!.heapUsed! - before.node!.heapUsed!,
      heapTotalGrowth: l.node!.heapTotal! - before.node!.heapTotal!,
      /** usage.total over the growth less V8's heap growth (its young generation) and the fixed overhead. */
      ratioBeyondFixed: l.usage
        ? (l.usage.total as number) /
          (owned(s) -
            owned(before.status!) -
            Math.max(0, l.node!.heapTotal! - before.node!.heapTotal!) -
            ((l.usage.fixedOverhead as number) ?? 0))
        : undefined,
      externalGrowth: l.node!.external! - before.node!.external!,
      arrayBuffersGrowth: l.node!.arrayBuffers! - before.node!.arrayBuffers!,
      usage: l.usage,
      usagePerVector: l.usage ? (l.usage.total as number) / count : undefined,
      ratio: l.usage ? (l.usage.total as number) / (owned(s) - owned(before.status!)) : undefined,
      usPerQuery: l.usPerQuery,
      openMs: l.openMs,
    }
  }
  const open = by.get('open')!
  const peakOpen = run.peaks.open
  return {
    count,
    phases,
    peakOpen: peakOpen
      ? {
          ownedPeakGrowth: peakOpen.owned - owned(before.status!),
          overFinal: (peakOpen.owned - owned(before.status!)) / (owned(open.status!) - owned(before.status!)),
          overFinalAfterGc: (peakOpen.owned - owned(before.status!)) / (owned(by.get('open-gc')!.status!) - owned(before.status!)),
          rssFilePeak: peakOpen.file,
          samples: peakOpen.samples,
        }
      : null,
    peakBatch: run.peaks.batch ? { ownedPeakGrowth: run.peaks.batch.owned - owned(before.status!) } : null,
  }
}

async function parent(): Promise<void> {
  const results: Record<string, unknown>[] = []
  const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  for (const t of await targets()) {
    for (const mmap of ['on', 'off']) {
      const args = ['--file', t.file, '--queries', t.queries, '--dim', String(t.dim), '--mmap', mmap]
      args.push('--nq', values.nq!, '--nprobe', values.nprobe!, '--refine', values.refine!)
      const run = await runChild(args)
      const summary = summarize(run)
      results.push({ set: t.name, mmap, ...summary, raw: run.lines })
      process.stderr.write(`${t.name} mmap ${mmap}: ${JSON.stringify(summary, null, 1)}\n`)
    }
    const ab = await runChild([
      '--ab',
      '--file',
      t.file,
      '--queries',
      t.queries,
      '--dim',
      String(t.dim),
      '--nq',
      values.nq!,
      '--nprobe',
      values.nprobe!,
      '--refine',
      values.refine!,
    ])
    results.push({ set: t.name, ab: ab.lines })
    process.stderr.write(`${t.name} A/B mmap on/off: ${JSON.stringify(ab.lines)}\n`)
  }
  saveJson(values.out!, { machine: machineInfo(), commit: rev, nprobe: Number(values.nprobe), refine: Number(values.refine), results })
}

if (values.child) await child()
else await parent()
