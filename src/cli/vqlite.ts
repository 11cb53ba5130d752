#!/usr/bin/env node
/**
 * The `vqlite` command line (commander). Commands:
 *   vqlite datasets list
 *   vqlite datasets download NAME
 *   vqlite bench --dataset NAME|PATH --index DESCRIPTION [...] [--nprobe 1,4,16] [--refine 1,10] ...
 * Progress bars go to stderr (cli-progress); results to the --out folder. Ctrl-C stops a
 * bench cleanly: the rows measured so far are kept and the reports written from them; a
 * second Ctrl-C exits at once. A download interrupted by Ctrl-C resumes next time.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import cliProgress from 'cli-progress'
import { CATALOGUE } from '../../datasets/catalogue.js'
import { downloadDataset, isDownloaded } from '../../datasets/download.js'
import { loadDataset } from '../../datasets/load.js'
import type { BenchProgress, BenchRow } from '../../bench/suite/run.js'
import { VqError, VqInputError } from '../errors.js'
import type { Metric } from '../types.js'
import { VqIndex } from '../vq-index.js'
import { readBvecs, readFvecs, bytesToFloat32 } from '../../datasets/texmex.js'
import { readNpy } from '../../datasets/npy.js'
import { createSifGloveEmbedder } from '../text/sif-glove.js'
import { TextIndex, type TextSearchMode } from '../text/text-index.js'

/** Parses "1,4,16" into positive integers. */
function intList(value: string): number[] {
  const out = value.split(',').map((s) => Number(s.trim()))
  if (out.length === 0 || out.some((v) => !Number.isInteger(v) || v < 1)) throw new InvalidArgumentError(`expected positive integers separated by commas, got "${value}"`)
  return out
}

function positiveInt(value: string): number {
  const v = Number(value)
  if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`)
  return v
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

/** One progress bar at a time on stderr, relabelled as phases change. */
class Progress {
  readonly #bar = new cliProgress.SingleBar({
    format: '{label} |{bar}| {percentage}% {value}/{total} {eta_formatted}',
    hideCursor: true, clearOnComplete: false, etaBuffer: 50, stream: process.stderr,
  }, cliProgress.Presets.shades_classic)
  #label = ''
  #active = false

  update(label: string, done: number, total: number): void {
    if (!process.stderr.isTTY) {
      if (label !== this.#label) process.stderr.write(`${label}\n`)
      this.#label = label
      return
    }
    if (label !== this.#label || !this.#active) {
      this.stop()
      this.#bar.start(Math.max(1, total), done, { label })
      this.#label = label
      this.#active = true
    } else {
      this.#bar.setTotal(Math.max(1, total))
      this.#bar.update(done, { label })
    }
  }

  stop(): void {
    if (this.#active) this.#bar.stop()
    this.#active = false
  }

  log(message: string): void {
    this.stop()
    this.#label = ''
    process.stderr.write(`${message}\n`)
  }
}

/** An AbortController aborted by the first Ctrl-C; a second one exits. */
function interruptible(progress: Progress, what: string): AbortController {
  const ac = new AbortController()
  process.on('SIGINT', () => {
    if (ac.signal.aborted) {
      progress.log('second Ctrl-C: exiting now')
      process.exit(130)
    }
    progress.log(`Ctrl-C: stopping ${what} after the current step (Ctrl-C again to exit at once)`)
    ac.abort()
  })
  return ac
}

const mb = (bytes: number): string => (bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`)

/** Exit codes: 0 done, 1 bad input or data (a VqError), 2 usage error, 3 internal failure, 130 interrupted. */
export const EXIT = { ok: 0, badInput: 1, usage: 2, internal: 3, interrupted: 130 } as const

/**
 * Reads vectors from .fvecs / .bvecs / .npy, CSV (numbers per row; a header row may name an
 * "id" column), or JSONL lines {"id"?, "vector": [...], "metadata"?}.
 */
async function readVectorFile(path: string): Promise<{ x: Float32Array; n: number; d: number; ids: number[] | null; metadata: unknown[] | null }> {
  if (/\.npy$/i.test(path)) {
    const r = await readNpy(path)
    return { x: r.data, n: r.n, d: r.d, ids: null, metadata: null }
  }
  if (/\.csv$/i.test(path)) return readCsvVectors(path)
  if (/\.(fvecs|bvecs)$/i.test(path)) {
    const r = /\.bvecs$/i.test(path) ? await readBvecs(path) : await readFvecs(path)
    return { x: r.data instanceof Uint8Array ? bytesToFloat32(r.data) : r.data, n: r.n, d: r.d, ids: null, metadata: null }
  }
  if (/\.(jsonl|ndjson)$/i.test(path)) {
    const { readFile } = await import('node:fs/promises')
    const rows: number[][] = []
    const ids: number[] = []
    const metadata: unknown[] = []
    let withIds = 0
    for (const [i, raw] of (await readFile(path, 'utf8')).split('\n').entries()) {
      if (raw.trim() === '') continue
      let rec: { id?: unknown; vector?: unknown; metadata?: unknown }
      try {
        rec = JSON.parse(raw) as typeof rec
      } catch {
        throw new VqInputError('BAD_VECTORS', `${path} line ${i + 1}: not JSON; nothing was added`)
      }
      if (!Array.isArray(rec.vector) || !rec.vector.every((v) => typeof v === 'number')) {
        throw new VqInputError('BAD_VECTORS', `${path} line ${i + 1}: "vector" must be an array of numbers; nothing was added`)
      }
      if (rows.length > 0 && rec.vector.length !== rows[0]!.length) {
        throw new VqInputError('DIMENSION_MISMATCH', `${path} line ${i + 1}: ${rec.vector.length} numbers, earlier lines have ${rows[0]!.length}; nothing was added`)
      }
      rows.push(rec.vector as number[])
      if (rec.id !== undefined) withIds++
      ids.push(typeof rec.id === 'number' ? rec.id : Number.NaN)
      metadata.push(rec.metadata ?? null)
    }
    const d = rows[0]?.length ?? 0
    const x = new Float32Array(rows.length * d)
    rows.forEach((r, i) => x.set(r, i * d))
    if (withIds !== 0 && withIds !== rows.length) throw new VqInputError('BAD_IDS', `${path}: give an "id" on every line or on none`)
    return { x, n: rows.length, d, ids: withIds ? ids : null, metadata }
  }
  throw new VqInputError('BAD_VECTORS', `${path}: expected a .fvecs, .bvecs, .npy, .csv or .jsonl file`)
}

/** CSV rows of numbers; a first row that is not numeric is a header, whose "id" column (if any) gives the ids. */
async function readCsvVectors(path: string): Promise<{ x: Float32Array; n: number; d: number; ids: number[] | null; metadata: null }> {
  const { readFile } = await import('node:fs/promises')
  const { parse } = await import('csv-parse/sync')
  let rows: string[][]
  try {
    rows = parse(await readFile(path, 'utf8'), { skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][]
  } catch (e) {
    throw new VqInputError('BAD_VECTORS', `${path}: ${(e as Error).message}; nothing was added`)
  }
  const numeric = (r: string[]): boolean => r.every((c) => c !== '' && Number.isFinite(Number(c)))
  const header = rows.length > 0 && !numeric(rows[0]!) ? rows.shift()! : null
  const idCol = header ? header.findIndex((h) => h.toLowerCase() === 'id') : -1
  const d = (rows[0]?.length ?? 0) - (idCol >= 0 ? 1 : 0)
  const x = new Float32Array(rows.length * d)
  const ids: number[] = []
  rows.forEach((r, i) => {
    if (!numeric(r)) throw new VqInputError('BAD_VECTORS', `${path} row ${i + 1 + (header ? 1 : 0)}: not all numbers; nothing was added`)
    let t = 0
    r.forEach((c, j) => {
      if (j === idCol) ids.push(Number(c))
      else x[i * d + t++] = Number(c)
    })
  })
  return { x, n: rows.length, d, ids: idCol >= 0 ? ids : null, metadata: null }
}

/** Prints a value as JSON (--json) or as text. */
function emit(json: boolean, value: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(value, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v), 2) : text())
}

/** The snippet of a hit with the query's words marked (ANSI bold on a terminal, **word** otherwise). */
function highlight(text: string, query: string, width = 240): string {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? [])]
  const flat = text.replace(/\s+/g, ' ').trim()
  const lower = flat.toLowerCase()
  const found = words.map((w) => lower.indexOf(w)).filter((i) => i >= 0)
  const at = found.length === 0 ? 0 : Math.max(0, Math.min(...found) - 60)
  let snippet = (at > 0 ? '…' : '') + flat.slice(at, at + width) + (at + width < flat.length ? '…' : '')
  if (words.length > 0) {
    const re = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'giu')
    snippet = snippet.replace(re, process.stdout.isTTY ? '\u001b[1m$1\u001b[22m' : '**$1**')
  }
  return snippet
}

export function program(): Command {
  const cmd = new Command('vqlite').description('vqlite: vector-quantization similarity search in a SQLite file').showHelpAfterError()
  const datasets = cmd.command('datasets').description('the public and offline evaluation sets')

  datasets.command('list').description('list the catalogue and what is downloaded')
    .addHelpText('after', '\nExample:\n  vqlite datasets list').action(() => {
    const rows = CATALOGUE.map((e) => [
      e.name, e.source.kind, e.metric, e.d ? String(e.d) : '-', e.nb ? e.nb.toLocaleString('en-US') : '-', e.nq ? e.nq.toLocaleString('en-US') : '-',
      e.approxMB ? `${e.approxMB} MB` : 'offline', e.source.kind === 'hdf5' || e.source.kind === 'texmex' ? (isDownloaded(e) ? 'yes' : 'no') : '-',
    ])
    const head = ['name', 'source', 'metric', 'd', 'base', 'queries', 'size', 'downloaded']
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(width[i]!)).join('  '))
    console.log('\nAlso: synthetic:N:D[:NQ[:SEED]], a path to an ann-benchmarks .hdf5 file, or a TEXMEX X_base.fvecs / X_base.bvecs file.')
  })

  datasets.command('download').argument('<name>', 'a catalogue name (vqlite datasets list)')
    .description('download a set into the cache (resumes an interrupted download, then verifies it)')
    .addHelpText('after', '\nExample:\n  vqlite datasets download sift-128-euclidean')
    .action(async (name: string) => {
      const progress = new Progress()
      const ac = interruptible(progress, 'the download (it resumes next time)')
      const path = await downloadDataset(name, {
        signal: ac.signal,
        onProgress: (p) => progress.update(`${p.name} (${mb(p.total)})`, p.done, p.total),
      })
      progress.stop()
      console.log(`${name}: ${path}`)
    })

  cmd.command('bench').description('benchmark vqlite index configurations against hnswlib-node and exact search on one dataset')
    .addHelpText('after', '\nExamples:\n  vqlite bench --dataset glove100 --index IVF1024,PQ25,RFlat --nprobe 1,4,16,64 --refine 1,10\n  vqlite bench --dataset sift1m --index IVF1024,PQ32x4,RFlat --queries 1000 --rate-distortion')
    .requiredOption('--dataset <name|path>', 'catalogue name, synthetic:N:D[:NQ[:SEED]], .hdf5 file or X_base.fvecs file')
    .option('--index <description>', 'vqlite index description, e.g. IVF1024,PQ25,RFlat (repeat for several)', collect, [])
    .option('--nprobe <list>', 'IVF lists probed, e.g. 1,4,16,64', intList, [1, 4, 16, 64])
    .option('--refine <list>', 'refine factors (re-ranked candidates = k * factor)', intList, [1, 10])
    .option('--k <n>', 'results per query of the timed runs', positiveInt, 10)
    .option('--runs <n>', 'timed passes per point (the fastest counts)', positiveInt, 2)
    .option('--threads <n>', 'worker threads of searchBatch (default: cores)', positiveInt)
    .option('--queries <n>', 'use only the first N queries', positiveInt)
    .option('--limit <n>', 'use only the first N base vectors (e.g. a SIFT1B prefix); ground truth is recomputed', positiveInt)
    .addOption(new Option('--metric <metric>', 'override the set\'s metric').choices(['l2', 'cosine', 'ip']))
    .option('--ef <list>', 'hnswlib efSearch values', intList, [10, 20, 40, 80, 160, 320])
    .option('--hnsw-m <n>', 'hnswlib M', positiveInt, 16)
    .option('--hnsw-ef-construction <n>', 'hnswlib efConstruction', positiveInt, 200)
    .option('--reuse-hnsw', 'reuse a cached hnswlib build of the same set and parameters', false)
    .option('--no-hnsw', 'skip hnswlib-node')
    .option('--no-flat', 'skip exact search')
    .option('--rate-distortion', 'also run the rate-distortion report of the quantizers alone', false)
    .option('--seed <n>', 'training seed', positiveInt, 1)
    .option('--out <dir>', 'output folder (default bench/results/<dataset>-<timestamp>)')
    .action(async (o: {
      dataset: string; index: string[]; nprobe: number[]; refine: number[]; k: number; runs: number; threads?: number; queries?: number; limit?: number
      metric?: Metric; ef: number[]; hnswM: number; hnswEfConstruction: number; reuseHnsw: boolean; hnsw: boolean; flat: boolean
      rateDistortion: boolean; seed: number; out?: string
    }) => {
      // Loaded here: vega and the suite are only needed by this command.
      const { runBench } = await import('../../bench/suite/run.js')
      const { markdownReport, recallQpsSvg } = await import('../../bench/suite/report.js')
      const { nonMonotoneFamilies, rateDistortion, rateDistortionMarkdown, rateDistortionSvg } = await import('../../bench/suite/rate-distortion.js')
      const progress = new Progress()
      const ac = interruptible(progress, 'the benchmark')
      const t0 = performance.now()
      const ds = await loadDataset(o.dataset, {
        ...(o.metric ? { metric: o.metric } : {}), ...(o.limit ? { limit: o.limit } : {}), ...(o.queries ? { queries: o.queries } : {}),
        onProgress: (m) => progress.log(m),
        onGroundTruth: (done, total) => progress.update('ground truth', done, total),
      })
      progress.log(`${ds.name}: ${ds.nb.toLocaleString('en-US')} base, ${ds.nq.toLocaleString('en-US')} queries, d = ${ds.d}, ${ds.metric}`)
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)
      const out = o.out ?? join('bench', 'results', `${ds.name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${stamp}`)
      mkdirSync(out, { recursive: true })
      const jsonl = join(out, 'results.jsonl')
      writeFileSync(jsonl, '')
      const onProgress = (p: BenchProgress): void => progress.update(`${p.phase}: ${p.label}`, p.done, p.total)
      const rows: BenchRow[] = await runBench(ds, {
        indexes: o.index, nprobe: o.nprobe, refine: o.refine, k: o.k, runs: Math.max(1, o.runs), ...(o.threads !== undefined ? { threads: o.threads } : {}),
        hnsw: o.hnsw ? { M: o.hnswM, efConstruction: o.hnswEfConstruction, ef: o.ef, reuse: o.reuseHnsw } : null,
        flat: o.flat, seed: o.seed, signal: ac.signal, onProgress,
        onRow: (r) => {
          appendFileSync(jsonl, `${JSON.stringify({ kind: 'point', ...r })}\n`)
          progress.log(`  ${r.system} ${r.config} ${JSON.stringify(r.params)}: recall@10 ${r.recall10?.toFixed(4) ?? '-'}, ${Math.round(r.qps)} QPS`)
        },
      })
      let md = rows.length > 0 || !o.rateDistortion ? markdownReport(rows, ac.signal.aborted) : `# vqlite bench: ${ds.name}\n`
      let rdRows = 0
      if (o.rateDistortion && !ac.signal.aborted) {
        const rd = await rateDistortion(ds, {
          seed: o.seed, signal: ac.signal, onProgress: (label, done, total) => progress.update(label, done, total),
          onRow: (r) => appendFileSync(jsonl, `${JSON.stringify({ kind: 'rate-distortion', ...r })}\n`),
        })
        progress.stop()
        rdRows = rd.length
        md += `\n${rateDistortionMarkdown(rd)}`
        if (rd.length > 0) writeFileSync(join(out, 'rate-distortion.svg'), await rateDistortionSvg(rd))
        const bad = nonMonotoneFamilies(rd)
        if (bad.length > 0) progress.log(`note: MSE is not monotone in bits for ${bad.join(', ')}`)
      }
      progress.stop()
      writeFileSync(join(out, 'results.md'), md)
      if (rows.length > 0) writeFileSync(join(out, 'recall-qps.svg'), await recallQpsSvg(rows))
      const files = ['results.jsonl', 'results.md', ...(rows.length > 0 ? ['recall-qps.svg'] : []), ...(rdRows > 0 ? ['rate-distortion.svg'] : [])]
      console.log(`${ac.signal.aborted ? 'interrupted; kept' : 'wrote'} ${rows.length} rows${rdRows > 0 ? ` and ${rdRows} rate-distortion rows` : ''} ` +
        `to ${out} (${files.join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
      if (ac.signal.aborted) process.exitCode = 130
    })
  cmd.command('create').argument('<file>', 'new index file')
    .description('create an empty index file')
    .requiredOption('--dim <n>', 'vector dimension', positiveInt)
    .option('--description <d>', 'index description, e.g. IVF256,PQ16,RFlat', 'Flat')
    .addOption(new Option('--metric <metric>', 'distance').choices(['l2', 'cosine', 'ip']).default('l2'))
    .addOption(new Option('--store-vectors <kind>', 'keep full vectors (needed by RFlat and retrain)').choices(['none', 'float32', 'float16']))
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite create docs.vqlite --dim 384 --metric cosine --description IVF256,PQ48,RFlat --store-vectors float32')
    .action(async (file: string, o: { dim: number; description: string; metric: Metric; storeVectors?: 'none' | 'float32' | 'float16'; json: boolean }) => {
      const ix = VqIndex.create(file, { dim: o.dim, metric: o.metric, description: o.description, ...(o.storeVectors ? { storeVectors: o.storeVectors } : {}) })
      emit(o.json, { file, dim: ix.dim, metric: ix.metric, description: o.description }, () => `created ${file}: ${o.description}, d = ${ix.dim}, ${ix.metric}`)
      await ix.close()
    })

  cmd.command('add').argument('<file>', 'index file').argument('<vectors>', '.fvecs, .bvecs, .npy, .csv or .jsonl ({"id", "vector", "metadata"} per line)')
    .description('add vectors (trains the index on them first when it is untrained); all or nothing')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExamples:\n  vqlite add sift.vqlite sift_base.fvecs\n  vqlite add docs.vqlite items.jsonl')
    .action(async (file: string, vectors: string, o: { json: boolean }) => {
      const ix = VqIndex.open(file)
      try {
        const v = await readVectorFile(vectors)
        if (v.d !== ix.dim) throw new VqInputError('DIMENSION_MISMATCH', `${vectors} holds ${v.d}-d vectors, ${file} is ${ix.dim}-d; nothing was added`)
        const first = ix.maxId() + 1
        const ids = v.ids ?? Array.from({ length: v.n }, (_, i) => first + i)
        const progress = new Progress()
        if (!ix.isTrained) await ix.train(v.x, { onProgress: (p) => progress.update(`training ${p.stage}`, p.iteration, p.iterations) })
        const step = 65536
        for (let i = 0; i < v.n; i += step) {
          const m = Math.min(step, v.n - i)
          await ix.add(ids.slice(i, i + m), v.x.subarray(i * v.d, (i + m) * v.d), v.metadata ? v.metadata.slice(i, i + m) : undefined)
          progress.update('adding', i + m, v.n)
        }
        progress.stop()
        emit(o.json, { file, added: v.n, count: ix.count }, () => `added ${v.n} vectors to ${file} (${ix.count} in all)`)
      } finally {
        await ix.close()
      }
    })

  cmd.command('info').argument('<file>', 'index file').description('what an index holds')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite info sift.vqlite --json')
    .action(async (file: string, o: { json: boolean }) => {
      const ix = VqIndex.open(file, { readonly: true })
      try {
        const st = ix.stats()
        const mem = ix.memoryUsage()
        const info = {
          file, description: ix.description, dim: ix.dim, metric: ix.metric, count: ix.count, trained: ix.isTrained,
          storeVectors: ix.storeVectors, ramBytesPerVector: ix.count ? mem.total / ix.count : 0, fileBytes: ix.storageInfo().fileBytes,
          formatVersion: ix.storageInfo().formatVersion, nlist: st.nlist, minList: st.minList, maxList: st.maxList, imbalance: st.imbalance,
          textField: ix.textField, textIndex: ix.getProperty('text-index') ?? null,
        }
        emit(o.json, info, () => [
          `${file}: ${info.description}, d = ${info.dim}, ${info.metric}, format version ${info.formatVersion}`,
          `${info.count.toLocaleString('en-US')} vectors${info.trained ? '' : ' (untrained)'}, ${info.ramBytesPerVector.toFixed(1)} bytes/vector in memory, file ${mb(info.fileBytes)}`,
          `lists: ${info.nlist} (sizes ${info.minList}..${info.maxList}, imbalance ${info.imbalance.toFixed(2)}); full vectors: ${info.storeVectors}`,
          ...(info.textField ? [`text index on "${info.textField}"${info.textIndex ? `, embedder ${(info.textIndex as { embedder: string }).embedder}` : ''}`] : []),
        ].join('\n'))
      } finally {
        await ix.close()
      }
    })

  cmd.command('get').argument('<file>', 'index file').argument('<id>', 'item id', positiveInt).description('print one item (vector and metadata)')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite get docs.vqlite 42 --json')
    .action(async (file: string, id: number, o: { json: boolean }) => {
      const ix = VqIndex.open(file, { readonly: true })
      try {
        const item = ix.get(id)
        if (!item) throw new VqInputError('UNKNOWN_ID', `id ${id} is not in ${file}`)
        emit(o.json, item, () => `id ${id}\nmetadata ${JSON.stringify(item.metadata)}\nvector ${item.vector ? `[${Array.from(item.vector.subarray(0, 8), (v) => v.toFixed(4)).join(', ')}${item.vector.length > 8 ? ', …' : ''}]` : '(not stored)'}`)
      } finally {
        await ix.close()
      }
    })

  cmd.command('delete').argument('<file>', 'index file').argument('<ids...>', 'item ids').description('delete items by id')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite delete docs.vqlite 7 8 9')
    .action(async (file: string, idArgs: string[], o: { json: boolean }) => {
      const ids = idArgs.map((a) => positiveInt(a))
      const ix = VqIndex.open(file)
      try {
        const n = await ix.delete(ids)
        emit(o.json, { deleted: n, count: ix.count }, () => `deleted ${n} of ${ids.length} ids (${ix.count} left)`)
      } finally {
        await ix.close()
      }
    })

  cmd.command('retrain').argument('<file>', 'index file').description('retrain the codec on the stored vectors and re-encode them')
    .addHelpText('after', '\nExample (the index must store full vectors):\n  vqlite retrain docs.vqlite')
    .action(async (file: string) => {
      const ix = VqIndex.open(file)
      try {
        await ix.retrain()
        console.log(`retrained ${file} on ${ix.count} vectors`)
      } finally {
        await ix.close()
      }
    })

  cmd.command('import').argument('<snapshot>', 'snapshot written by export').argument('<file>', 'new index file')
    .description('rebuild an index file from a snapshot')
    .addHelpText('after', '\nExample:\n  vqlite import backup.snapshot restored.vqlite')
    .action(async (snapshot: string, file: string) => {
      const ix = VqIndex.import(snapshot, file)
      console.log(`imported ${ix.count} vectors into ${file}`)
      await ix.close()
    })

  cmd.command('export').argument('<file>', 'index file').argument('<to>', 'snapshot file to write')
    .description('write a portable snapshot of an index (codes, trained arrays, vectors, metadata; read back by import)')
    .addHelpText('after', '\nExample:\n  vqlite export docs.vqlite backup.snapshot')
    .action(async (file: string, to: string) => {
      const ix = VqIndex.open(file, { readonly: true })
      try {
        const n = await ix.export(to)
        console.log(`exported ${n} vectors to ${to}`)
      } finally {
        await ix.close()
      }
    })

  cmd.command('index-text').argument('<paths...>', '.md, .txt or .jsonl files')
    .description('index documents for semantic search (chunks, SIF-GloVe embeddings, FTS5 keywords); unchanged files are skipped')
    .requiredOption('--index <file>', 'index file (created when missing)')
    .option('--field <name>', 'JSONL: the field holding the text', 'text')
    .option('--chunk-size <n>', 'characters per chunk', positiveInt, 800)
    .option('--overlap <n>', 'characters shared by consecutive chunks', positiveInt, 100)
    .option('--description <d>', 'vector index description for a new index', 'SQ8')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite index-text notes/*.md tickets.jsonl --field body --index notes.vqlite')
    .action(async (paths: string[], o: { index: string; field: string; chunkSize: number; overlap: number; description: string; json: boolean }) => {
      const progress = new Progress()
      const embedder = await createSifGloveEmbedder({ onProgress: (m) => progress.log(m) })
      const { existsSync } = await import('node:fs')
      const ix = existsSync(o.index) ? await TextIndex.open(o.index, embedder) : await TextIndex.create(o.index, embedder, { description: o.description })
      try {
        const r = await ix.indexFiles(paths, {
          field: o.field, chunk: { size: o.chunkSize, overlap: o.overlap }, onProgress: (_file, done, total) => progress.update('indexing', done, total),
        })
        progress.stop()
        for (const e of r.errors) process.stderr.write(`vqlite: ${e.file}: ${e.message}\n`)
        emit(o.json, r, () => `${o.index}: ${r.filesIndexed} files indexed (${r.chunksAdded} chunks), ${r.filesUnchanged} unchanged, ${r.chunksRemoved} old chunks replaced${r.errors.length ? `, ${r.errors.length} files with errors` : ''}`)
        if (r.errors.length > 0) process.exitCode = EXIT.badInput
      } finally {
        await ix.close()
      }
    })

  cmd.command('search').argument('[text]', 'query text (text indexes)')
    .description('search an index by text (indexes made by index-text) or by query vectors (--vectors)')
    .requiredOption('--index <file>', 'index file')
    .option('--k <n>', 'results', positiveInt, 10)
    .addOption(new Option('--mode <mode>', 'text search: hybrid, vector or keyword').choices(['hybrid', 'vector', 'keyword']).default('hybrid'))
    .option('--vectors <file>', 'query vectors (.fvecs, .bvecs or .jsonl) instead of text')
    .option('--nprobe <n>', 'IVF lists to probe', positiveInt)
    .option('--refine <n>', 'refine factor', positiveInt)
    .option('--filter <json>', 'metadata filter, e.g. \'{"source": {"$eq": "a.md"}}\'')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExamples:\n  vqlite search "how do I deploy to Cloud Foundry" --index notes.vqlite --k 5\n  vqlite search --vectors queries.fvecs --index sift.vqlite --k 10 --json')
    .action(async (text: string | undefined, o: { index: string; k: number; mode: TextSearchMode; vectors?: string; nprobe?: number; refine?: number; filter?: string; json: boolean }) => {
      let filter: import('../types.js').Filter | undefined
      if (o.filter !== undefined) {
        try {
          filter = JSON.parse(o.filter) as import('../types.js').Filter
        } catch {
          throw new VqInputError('BAD_FILTER', `--filter is not JSON: ${o.filter}`)
        }
      }
      if (o.vectors) {
        const ix = VqIndex.open(o.index, { readonly: true })
        try {
          const v = await readVectorFile(o.vectors)
          if (v.d !== ix.dim) throw new VqInputError('DIMENSION_MISMATCH', `${o.vectors} holds ${v.d}-d vectors, ${o.index} is ${ix.dim}-d`)
          const opts = { ...(o.nprobe ? { nprobe: o.nprobe } : {}), ...(o.refine ? { refineFactor: o.refine } : {}), ...(filter ? { filter } : {}) }
          const results = Array.from({ length: v.n }, (_, i) => {
            const r = ix.search(v.x.subarray(i * v.d, (i + 1) * v.d), o.k, opts)
            return { query: i, ids: Array.from(r.ids).filter((id) => id >= 0), distances: Array.from(r.distances).filter(Number.isFinite) }
          })
          emit(o.json, results, () => results.map((r) => `query ${r.query}: ${r.ids.map((id, j) => `${id} (${r.distances[j]!.toFixed(4)})`).join(', ')}`).join('\n'))
        } finally {
          await ix.close()
        }
        return
      }
      if (text === undefined) throw new InvalidArgumentError('give the query text, or --vectors FILE')
      const embedder = await createSifGloveEmbedder()
      const ix = await TextIndex.open(o.index, embedder, { readonly: true })
      try {
        const t = performance.now()
        const hits = await ix.search(text, { k: o.k, mode: o.mode, ...(filter ? { filter } : {}), ...(o.nprobe ? { nprobe: o.nprobe } : {}) })
        const ms = performance.now() - t
        emit(o.json, hits.map((h) => ({ id: h.id, score: h.score, source: h.source, text: h.text, start: h.start, end: h.end, ...(h.line !== undefined ? { line: h.line } : {}) })),
          () => hits.length === 0 ? 'no results' : [
            ...hits.map((h, i) => `${i + 1}. ${h.source}${h.line !== undefined ? `:${h.line}` : ''} [${h.start}..${h.end}] score ${h.score.toFixed(4)}\n   ${highlight(h.text, text)}`),
            `(${o.mode}, ${ms.toFixed(1)} ms)`,
          ].join('\n'))
      } finally {
        await ix.close()
      }
    })

  return cmd
}

try {
  const cmd = program()
  cmd.exitOverride()
  for (const sub of cmd.commands) {
    sub.exitOverride()
    for (const s2 of sub.commands) s2.exitOverride()
  }
  await cmd.parseAsync(process.argv)
} catch (e) {
  const err = e as { code?: string; exitCode?: number; name?: string }
  if (e instanceof VqError) {
    console.error(`vqlite: ${e.message} [${e.code}]`)
    process.exitCode = EXIT.badInput
  } else if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR' || err.code === 'ENOTDIR') {
    const path = (e as NodeJS.ErrnoException).path ?? ''
    console.error(`vqlite: ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : 'not a file'} [${err.code}]`)
    process.exitCode = EXIT.badInput
  } else if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
    // commander has printed the message (or the help)
    process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.ok : EXIT.usage
  } else {
    console.error(`vqlite: internal error: ${(e as Error).stack ?? String(e)}`)
    process.exitCode = EXIT.internal
  }
}
