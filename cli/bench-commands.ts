/** The dataset and benchmark commands: vqlite datasets list|download, vqlite bench. */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Command, Option } from 'commander'
import { MAX_K, MAX_REFINE_FACTOR, type Metric } from 'vqlite'
import type { BenchProgress, BenchRow } from '../bench/suite/run.js'
import { CATALOGUE } from '../datasets/catalogue.js'
import { collect, interruptible, intList, intListRange, intRange, MAX_THREADS, mb, Progress, positiveInt } from './common.js'

/** Adds "datasets list" and "datasets download". */
export function addDatasetCommands(cmd: Command): void {
  const datasets = cmd.command('datasets').description('the public and offline evaluation sets')

  datasets
    .command('list')
    .description('list the catalogue and what is downloaded')
    .addHelpText('after', '\nExample:\n  vqlite datasets list')
    .action(async () => {
      const { isDownloaded } = await import('../datasets/download.js')
      const rows = CATALOGUE.map((e) => [
        e.name,
        e.source.kind,
        e.metric,
        e.d ? String(e.d) : '-',
        e.nb ? e.nb.toLocaleString('en-US') : '-',
        e.nq ? e.nq.toLocaleString('en-US') : '-',
        e.approxMB ? `${e.approxMB} MB` : 'offline',
        e.source.kind === 'hdf5' || e.source.kind === 'texmex' ? (isDownloaded(e) ? 'yes' : 'no') : '-',
      ])
      const head = ['name', 'source', 'metric', 'd', 'base', 'queries', 'size', 'downloaded']
      const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
      for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(width[i]!)).join('  '))
      console.log(
        '\nAlso: synthetic:N:D[:NQ[:SEED]], a path to an ann-benchmarks .hdf5 file, or a TEXMEX X_base.fvecs / X_base.bvecs file.',
      )
    })

  datasets
    .command('download')
    .argument('<name>', 'a catalogue name (vqlite datasets list)')
    .description('download a set into the cache (resumes an interrupted download, then verifies it)')
    .addHelpText('after', '\nExample:\n  vqlite datasets download sift-128-euclidean')
    .action(async (name: string) => {
      const { downloadDataset } = await import('../datasets/download.js')
      const progress = new Progress()
      const ac = interruptible(progress, 'the download (it resumes next time)')
      const path = await downloadDataset(name, {
        signal: ac.signal,
        onProgress: (p) => progress.update(`${p.name} (${mb(p.total)})`, p.done, p.total),
      })
      progress.stop()
      console.log(`${name}: ${path}`)
    })
}

/** Adds "bench". */
export function addBenchCommand(cmd: Command): void {
  cmd
    .command('bench')
    .description('benchmark vqlite index configurations against hnswlib-node and exact search on one dataset')
    .addHelpText(
      'after',
      '\nExamples:\n  vqlite bench --dataset glove100 --index IVF1024,PQ25,RFlat --nprobe 1,4,16,64 --refine 1,10\n  vqlite bench --dataset glove100 --index IVF1024,PQ50x4,RFlat --nprobe 1,4,16 --refine 1 --no-flat --no-hnsw --repeat 2\n  vqlite bench --dataset glove100 --index IVF1024,RaBitQ4,RFlat --index IVF1024,PQ50x4,RFlat --nprobe 32,64 --refine 2,4,8\n  vqlite bench --dataset sift1m --index IVF1024,PQ32x4,RFlat --queries 1000 --rate-distortion',
    )
    .requiredOption('--dataset <name|path>', 'catalogue name, synthetic:N:D[:NQ[:SEED]], .hdf5 file or X_base.fvecs file')
    .option('--index <description>', 'vqlite index description, e.g. IVF1024,PQ25,RFlat (repeat for several)', collect, [])
    .option('--nprobe <list>', 'IVF lists probed, e.g. 1,4,16,64', intList, [1, 4, 16, 64])
    .option(
      '--refine <list>',
      'refine factors (re-ranked candidates = k * factor)',
      intListRange(1, MAX_REFINE_FACTOR, 'MAX_REFINE_FACTOR'),
      [1, 10],
    )
    .option('--k <n>', 'results per query of the timed runs', intRange(1, MAX_K, 'MAX_K'), 10)
    .option(
      '--runs <n>',
      'rounds: each measures every point once, in a shuffled order, after one warm-up pass per point; QPS is the median of the rounds',
      intRange(1, 1000),
      5,
    )
    .option(
      '--repeat <n>',
      'run the whole benchmark N times in a row and compare each run with the first (ranking of points, per-point QPS difference)',
      intRange(1, 100),
      1,
    )
    .option('--threads <n>', 'worker threads of searchBatch (default: cores)', intRange(1, MAX_THREADS))
    .option('--queries <n>', 'use only the first N queries', intRange(1, Number.MAX_SAFE_INTEGER))
    .option(
      '--limit <n>',
      'use only the first N base vectors (e.g. a SIFT1B prefix); ground truth is recomputed',
      intRange(1, Number.MAX_SAFE_INTEGER),
    )
    .addOption(new Option('--metric <metric>', "override the set's metric").choices(['l2', 'cosine', 'ip']))
    .option('--ef <list>', 'hnswlib efSearch values', intListRange(1, MAX_K, 'MAX_K'), [10, 20, 40, 80, 160, 320])
    .option('--hnsw-m <n>', 'hnswlib M', intRange(2, 1024), 16)
    .option('--hnsw-ef-construction <n>', 'hnswlib efConstruction', intRange(1, MAX_K), 200)
    .option('--reuse-hnsw', 'reuse a cached hnswlib build of the same set and parameters', false)
    .option('--no-hnsw', 'skip hnswlib-node')
    .option('--no-flat', 'skip exact search')
    .option('--rate-distortion', 'also run the rate-distortion report of the quantizers alone', false)
    .option('--seed <n>', 'training seed', positiveInt, 1)
    .option('--out <dir>', 'output folder (default bench/results/<dataset>-<timestamp>)')
    .action(
      async (o: {
        dataset: string
        index: string[]
        nprobe: number[]
        refine: number[]
        k: number
        runs: number
        repeat: number
        threads?: number
        queries?: number
        limit?: number
        metric?: Metric
        ef: number[]
        hnswM: number
        hnswEfConstruction: number
        reuseHnsw: boolean
        hnsw: boolean
        flat: boolean
        rateDistortion: boolean
        seed: number
        out?: string
      }) => {
        // Loaded here: vega and the suite are only needed by this command.
        const { loadDataset } = await import('../datasets/load.js')
        const { runBench } = await import('../bench/suite/run.js')
        const { markdownReport, recallQpsSvg } = await import('../bench/suite/report.js')
        const { compareRepeats, repeatMarkdown } = await import('../bench/suite/repeat.js')
        const { nonMonotoneFamilies, rateDistortion, rateDistortionMarkdown, rateDistortionSvg } = await import(
          '../bench/suite/rate-distortion.js'
        )
        const progress = new Progress()
        const ac = interruptible(progress, 'the benchmark')
        const t0 = performance.now()
        const ds = await loadDataset(o.dataset, {
          ...(o.metric ? { metric: o.metric } : {}),
          ...(o.limit ? { limit: o.limit } : {}),
          ...(o.queries ? { queries: o.queries } : {}),
          onProgress: (m) => progress.log(m),
          onGroundTruth: (done, total) => progress.update('ground truth', done, total),
        })
        progress.log(
          `${ds.name}: ${ds.nb.toLocaleString('en-US')} base, ${ds.nq.toLocaleString('en-US')} queries, d = ${ds.d}, ${ds.metric}`,
        )
        const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)
        const out = o.out ?? join('bench', 'results', `${ds.name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${stamp}`)
        mkdirSync(out, { recursive: true })
        const jsonl = join(out, 'results.jsonl')
        writeFileSync(jsonl, '')
        const onProgress = (p: BenchProgress): void => progress.update(`${p.phase}: ${p.label}`, p.done, p.total)
        const runs: BenchRow[][] = []
        for (let repeat = 1; repeat <= o.repeat && !ac.signal.aborted; repeat++) {
          if (o.repeat > 1) progress.log(`run ${repeat} of ${o.repeat}`)
          runs.push(
            await runBench(ds, {
              indexes: o.index,
              nprobe: o.nprobe,
              refine: o.refine,
              k: o.k,
              runs: Math.max(1, o.runs),
              ...(o.threads !== undefined ? { threads: o.threads } : {}),
              hnsw: o.hnsw ? { M: o.hnswM, efConstruction: o.hnswEfConstruction, ef: o.ef, reuse: o.reuseHnsw || repeat > 1 } : null,
              flat: o.flat,
              seed: o.seed,
              signal: ac.signal,
              onProgress,
              onRow: (r) => {
                appendFileSync(jsonl, `${JSON.stringify({ kind: 'point', ...(o.repeat > 1 ? { repeat } : {}), ...r })}\n`)
                progress.log(
                  `  ${r.system} ${r.config} ${JSON.stringify(r.params)}: recall@10 ${r.recall10?.toFixed(4) ?? '-'}, ${Math.round(r.qps)} QPS`,
                )
              },
            }),
          )
        }
        const rows = runs[runs.length - 1] ?? []
        let repeatMd = ''
        for (let i = 1; i < runs.length; i++) {
          const c = compareRepeats(runs[0]!, runs[i]!)
          appendFileSync(jsonl, `${JSON.stringify({ kind: 'repeat', runA: 1, runB: i + 1, ...c })}\n`)
          repeatMd += `\n${repeatMarkdown(c, 1, i + 1)}`
          progress.log(
            `run 1 vs run ${i + 1}: same ranking ${c.sameRanking ? 'yes' : 'no'} (${c.swappedPairs}/${c.pairs} pairs swapped), max per-point QPS difference ${(100 * c.maxRelativeDiff).toFixed(1)}%`,
          )
          for (const p of c.points)
            progress.log(`  ${p.key}: ${Math.round(p.qpsA)} vs ${Math.round(p.qpsB)} QPS (${(100 * p.relativeDiff).toFixed(1)}%)`)
        }
        let md = rows.length > 0 || !o.rateDistortion ? markdownReport(rows, ac.signal.aborted) : `# vqlite bench: ${ds.name}\n`
        md += repeatMd
        let rdRows = 0
        if (o.rateDistortion && !ac.signal.aborted) {
          const rd = await rateDistortion(ds, {
            seed: o.seed,
            signal: ac.signal,
            onProgress: (label, done, total) => progress.update(label, done, total),
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
        const files = [
          'results.jsonl',
          'results.md',
          ...(rows.length > 0 ? ['recall-qps.svg'] : []),
          ...(rdRows > 0 ? ['rate-distortion.svg'] : []),
        ]
        console.log(
          `${ac.signal.aborted ? 'interrupted; kept' : 'wrote'} ${rows.length} rows${rdRows > 0 ? ` and ${rdRows} rate-distortion rows` : ''} ` +
            `to ${out} (${files.join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
        )
        if (ac.signal.aborted) process.exitCode = 130
      },
    )
}
