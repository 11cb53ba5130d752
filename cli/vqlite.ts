#!/usr/bin/env node
/**
 * The `vqlite` command line (commander), package vqlite-cli. Commands: create, add, info,
 * get, delete, retrain, export, import (index files), import-faiss, export-faiss (FAISS
 * index files), index-text and search (text or vectors), serve (serve.ts: web page and JSON
 * API over text indexes, loaded on demand), and the tooling commands
 * (bench-commands.ts):
 *   vqlite datasets list
 *   vqlite datasets download NAME
 *   vqlite bench --dataset NAME|PATH --index DESCRIPTION [...] [--nprobe 1,4,16] [--refine 1,10] ...
 * Progress bars go to stderr (cli-progress); results to the --out folder. Ctrl-C stops a
 * bench cleanly: the rows measured so far are kept and the reports written from them; a
 * second Ctrl-C exits at once. A download interrupted by Ctrl-C resumes next time.
 * `vqlite --version` prints this package's version.
 */
import { existsSync, readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { MAX_BATCH_RESULTS, MAX_DIM, MAX_ID, MAX_K, MAX_REFINE_FACTOR, type Metric, VqError, VqIndex, VqInputError } from 'vqlite'
import { type EmbedderSpec, embedderFromSpec, TextIndex, type TextSearchMode } from 'vqlite/text'
import { addBenchCommand, addDatasetCommands } from './bench-commands.js'
import { EXIT, emit, intRange, MAX_INPUT_SHARE, mb, Progress, parseInteger, renderSnippet, UsageError } from './common.js'
import { EMBEDDER_SPEC_HELP, parseEmbedderSpec } from './embedder-spec.js'
import { openIndex, parseFilter, regularIndexFile, regularInputFile } from './inputs.js'

/** The version of this package (vqlite-cli), read from its package.json at run time. */
function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** Largest --chunk-size / --overlap, in characters. */
const MAX_CHUNK = 1_000_000

const ADD_HELP = (mode: 'add' | 'upsert'): string =>
  [
    '',
    'All or nothing: the whole file is read and checked first, every line or record:',
    'the dimension, finite numbers (squared norm at most MAX_SQUARED_NORM), ids that are',
    `integers from 0 to ${MAX_ID} and unique in the file, JSONL lines that are objects`,
    `with only "id", "vector" and "metadata". Then it is ${mode === 'add' ? 'added' : 'upserted'} in one transaction,`,
    'with the training of an untrained index. A refusal names the file, the line (CSV,',
    'JSONL) or record (.fvecs, .bvecs, .npy) and the value, and changes nothing.',
    mode === 'add'
      ? 'Without ids in the file, the ids continue from the largest stored id.'
      : 'The file must give an id on every record (JSONL "id", CSV "id" column).',
    'CSV: numbers per row; a first row with no number in it is a header, whose "id"',
    'column gives the ids. CSV and JSONL: blank lines, CRLF and a UTF-8 BOM are accepted.',
    'The vectors are held in memory (4 bytes per number): a file needing more than',
    `${MAX_INPUT_SHARE * 100} % of the machine's memory is refused; split it (each part is all or nothing).`,
    'Exit codes: 0 done, 1 refused (bad file or data, or the file system refused;',
    'nothing was changed), 2 usage error, 3 internal error (a bug).',
    '',
    'Examples:',
    `  vqlite ${mode} sift.vqlite sift_base.fvecs`,
    `  vqlite ${mode} docs.vqlite items.jsonl`,
  ].join('\n')

/** add / upsert of a whole file in one call (trained in the same transaction when untrained). */
async function addFile(mode: 'add' | 'upsert', file: string, vectors: string, json: boolean): Promise<void> {
  const ix = openIndex(file)
  try {
    const { readVectorFile } = await import('./vector-files.js')
    const v = await readVectorFile(vectors, { dim: ix.dim, dimOf: file })
    let ids = v.ids
    if (ids === null) {
      if (mode === 'upsert') {
        throw new VqInputError(
          'BAD_IDS',
          `${vectors}: upsert needs an id on every record (JSONL "id", CSV "id" column); nothing was changed`,
        )
      }
      const first = ix.maxId() + 1
      if (first + v.n - 1 > MAX_ID) {
        throw new VqInputError(
          'BAD_IDS',
          `${vectors}: ids from ${first} for ${v.n} vectors go past MAX_ID (${MAX_ID}); give ids in the file`,
        )
      }
      ids = Array.from({ length: v.n }, (_, i) => first + i)
    }
    const progress = new Progress()
    const options = ix.isTrained
      ? {}
      : {
          train: {
            onProgress: (p: { stage: string; iteration: number; iterations: number }) =>
              progress.update(`training ${p.stage}`, p.iteration, p.iterations),
          },
        }
    if (!json) progress.update(mode === 'add' ? 'adding' : 'upserting', 0, v.n)
    if (mode === 'add') await ix.add(ids, v.x, v.metadata ?? undefined, options)
    else await ix.upsert(ids, v.x, v.metadata ?? undefined, options)
    progress.stop()
    emit(json, { file, [mode === 'add' ? 'added' : 'upserted']: v.n, count: ix.size }, () =>
      mode === 'add' ? `added ${v.n} vectors to ${file} (${ix.size} in all)` : `upserted ${v.n} vectors in ${file} (${ix.size} in all)`,
    )
  } finally {
    await ix.close()
  }
}

export function program(): Command {
  const cmd = new Command('vqlite').description('vqlite: vector-quantization similarity search in a SQLite file').showHelpAfterError()
  cmd.version(cliVersion(), '-V, --version', 'print the version')
  addDatasetCommands(cmd)
  addBenchCommand(cmd)
  cmd
    .command('create')
    .argument('<file>', 'new index file')
    .description('create an empty index file')
    .requiredOption('--dim <n>', `vector dimension (1 to ${MAX_DIM})`, intRange(1, MAX_DIM, 'MAX_DIM'))
    .option('--description <d>', 'index description, e.g. IVF256,PQ16,RFlat', 'Flat')
    .addOption(new Option('--metric <metric>', 'distance').choices(['l2', 'cosine', 'ip']).default('l2'))
    .addOption(
      new Option('--store-vectors <kind>', 'keep full vectors (needed by RFlat and retrain)').choices(['none', 'float32', 'float16']),
    )
    .option('--json', 'JSON output', false)
    .addHelpText(
      'after',
      '\nExample:\n  vqlite create docs.vqlite --dim 384 --metric cosine --description IVF256,PQ48,RFlat --store-vectors float32',
    )
    .action(
      async (
        file: string,
        o: { dim: number; description: string; metric: Metric; storeVectors?: 'none' | 'float32' | 'float16'; json: boolean },
      ) => {
        const ix = VqIndex.create(file, {
          dim: o.dim,
          metric: o.metric,
          description: o.description,
          ...(o.storeVectors ? { storeVectors: o.storeVectors } : {}),
        })
        emit(
          o.json,
          { file, dim: ix.dim, metric: ix.metric, description: o.description },
          () => `created ${file}: ${o.description}, d = ${ix.dim}, ${ix.metric}`,
        )
        await ix.close()
      },
    )

  for (const mode of ['add', 'upsert'] as const) {
    cmd
      .command(mode)
      .argument('<file>', 'index file')
      .argument('<vectors>', '.fvecs, .bvecs, .npy, .csv or .jsonl ({"id", "vector", "metadata"} per line)')
      .description(
        mode === 'add'
          ? 'add vectors (trains the index on them first when it is untrained); all or nothing'
          : 'add or replace vectors by id (the file must give ids; trains first when untrained); all or nothing',
      )
      .option('--json', 'JSON output', false)
      .addHelpText('after', ADD_HELP(mode))
      .action((file: string, vectors: string, o: { json: boolean }) => addFile(mode, file, vectors, o.json))
  }

  cmd
    .command('add-stream')
    .argument('<file>', 'index file')
    .argument('<vectors>', '.fvecs, .bvecs, .npy or an ann-benchmarks .hdf5 file (its "train" dataset)')
    .description('add a file of any size block by block, ids = row numbers (+ --id-base); resumable after a crash')
    .option('--block <rows>', 'rows per block, each one transaction', intRange(1, 1 << 22), 65536)
    .option('--start <row>', 'first row to add', intRange(0, MAX_ID), 0)
    .option('--end <row>', 'row after the last to add (default: the end of the file)', intRange(0, MAX_ID))
    .option('--id-base <id>', 'id of row 0 (row r gets id-base + r)', intRange(0, MAX_ID), 0)
    .option(
      '--sample <rows>',
      'untrained index: train on this many rows of the file first (default: max(65,536, 64 x nlist))',
      intRange(1, 1 << 26),
    )
    .option('--dataset <name>', 'HDF5: the dataset to read', 'train')
    .option('--json', 'JSON output', false)
    .addHelpText(
      'after',
      [
        '',
        'Memory stays bounded by one block, whatever the size of the file. An untrained index',
        'is first trained on a seeded random sample of the rows (HDF5: rows spread over the',
        'file). Each block is committed on its own: after a crash or Ctrl-C, the same command',
        'continues after the rows already committed. Values are checked as add checks them;',
        'a refused block stops the command, the blocks before it stay.',
        '',
        'Example:',
        '  vqlite create deep10m.vqlite --dim 96 --description IVF4096,PQ48x4,RFlat --store-vectors float32',
        '  vqlite add-stream deep10m.vqlite deep10m_base.fvecs',
      ].join('\n'),
    )
    .action(
      async (
        file: string,
        vectors: string,
        o: { block: number; start: number; end?: number; idBase: number; sample?: number; dataset: string; json: boolean },
      ) => {
        const ix = openIndex(file)
        const progress = new Progress()
        try {
          const common = {
            blockRows: o.block,
            start: o.start,
            idBase: o.idBase,
            ...(o.end !== undefined ? { end: o.end } : {}),
            onProgress: (p: { phase: string; done: number; total: number | undefined }) => {
              if (!o.json) progress.update(p.phase === 'adding' ? 'adding' : p.phase, p.done, p.total ?? p.done)
            },
          }
          let r: { added: number; resumedAt: number; rows: number; trained: boolean }
          if (/\.(hdf5|h5)$/i.test(vectors)) {
            const { openAnnBenchmarksRows } = await import('../datasets/hdf5.js')
            const h = await openAnnBenchmarksRows(vectors, o.dataset)
            try {
              const end = Math.min(h.n, o.end ?? h.n)
              let trained = false
              if (!ix.isTrained) {
                if (!o.json) progress.update('training', 0, 1)
                await ix.train(h.sample(o.sample ?? Math.max(65536, 64 * (ix.spec.ivf?.nlist ?? 1))), { seed: 1 })
                trained = true
              }
              r = await ix.addStream(h.blocks({ start: o.start, end, blockRows: o.block }), { ...common, end })
              r = { ...r, trained }
            } finally {
              h.close()
            }
          } else {
            r = await ix.addFile(vectors, { ...common, ...(o.sample !== undefined ? { train: { sample: o.sample } } : {}) })
          }
          progress.stop()
          emit(o.json, { file, ...r, count: ix.size }, () =>
            r.resumedAt > o.start
              ? `added ${r.added} vectors to ${file}, continuing at row ${r.resumedAt} (${ix.size} in all)`
              : `added ${r.added} vectors to ${file}${r.trained ? ' (trained first)' : ''} (${ix.size} in all)`,
          )
        } finally {
          progress.stop()
          await ix.close()
        }
      },
    )

  cmd
    .command('info')
    .argument('<file>', 'index file')
    .description('what an index holds')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite info sift.vqlite --json')
    .action(async (file: string, o: { json: boolean }) => {
      const ix = openIndex(file, true)
      try {
        const st = ix.stats()
        const mem = ix.memoryUsage()
        const info = {
          file,
          description: ix.description,
          dim: ix.dim,
          metric: ix.metric,
          count: ix.size,
          trained: ix.isTrained,
          storeVectors: ix.storeVectors,
          ramBytesPerVector: ix.size ? mem.total / ix.size : 0,
          fileBytes: ix.storageInfo().fileBytes,
          formatVersion: ix.storageInfo().formatVersion,
          nlist: st.nlist,
          minList: st.minList,
          maxList: st.maxList,
          imbalance: st.imbalance,
          textField: ix.textField,
          textIndex: ix.getProperty('text-index') ?? null,
        }
        emit(o.json, info, () =>
          [
            `${file}: ${info.description}, d = ${info.dim}, ${info.metric}, format version ${info.formatVersion}`,
            `${info.count.toLocaleString('en-US')} vectors${info.trained ? '' : ' (untrained)'}, ${info.ramBytesPerVector.toFixed(1)} bytes/vector in memory, file ${mb(info.fileBytes)}`,
            `lists: ${info.nlist} (sizes ${info.minList}..${info.maxList}, imbalance ${info.imbalance.toFixed(2)}); full vectors: ${info.storeVectors}`,
            ...(info.textField
              ? [
                  `text index on "${info.textField}"${info.textIndex ? `, embedder ${(info.textIndex as { embedder: string }).embedder}` : ''}`,
                ]
              : []),
          ].join('\n'),
        )
      } finally {
        await ix.close()
      }
    })

  cmd
    .command('get')
    .argument('<file>', 'index file')
    .argument('<id>', 'item id', intRange(0, MAX_ID, 'MAX_ID'))
    .description('print one item (vector and metadata)')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite get docs.vqlite 42 --json')
    .action(async (file: string, id: number, o: { json: boolean }) => {
      const ix = openIndex(file, true)
      try {
        const item = ix.get(id)
        if (!item) throw new VqInputError('UNKNOWN_ID', `id ${id} is not in ${file}`)
        emit(
          o.json,
          item,
          () =>
            `id ${id}\nmetadata ${JSON.stringify(item.metadata)}\nvector ${item.vector ? `[${Array.from(item.vector.subarray(0, 8), (v) => v.toFixed(4)).join(', ')}${item.vector.length > 8 ? ', …' : ''}]` : '(not stored)'}`,
        )
      } finally {
        await ix.close()
      }
    })

  cmd
    .command('delete')
    .argument('<file>', 'index file')
    .argument('<ids...>', 'item ids', (v: string, previous: number[] = []) => {
      previous.push(parseInteger(v, 0, MAX_ID, 'MAX_ID'))
      return previous
    })
    .description('delete items by id')
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite delete docs.vqlite 7 8 9')
    .action(async (file: string, ids: number[], o: { json: boolean }) => {
      const ix = openIndex(file)
      try {
        const n = await ix.delete(ids)
        emit(o.json, { deleted: n, count: ix.size }, () => `deleted ${n} of ${ids.length} ids (${ix.size} left)`)
      } finally {
        await ix.close()
      }
    })

  cmd
    .command('retrain')
    .argument('<file>', 'index file')
    .description('retrain the codec on the stored vectors and re-encode them')
    .addHelpText('after', '\nExample (the index must store full vectors):\n  vqlite retrain docs.vqlite')
    .action(async (file: string) => {
      const ix = openIndex(file)
      try {
        await ix.retrain()
        console.log(`retrained ${file} on ${ix.size} vectors`)
      } finally {
        await ix.close()
      }
    })

  cmd
    .command('import')
    .argument('<snapshot>', 'snapshot written by export')
    .argument('<file>', 'new index file')
    .description('rebuild an index file from a snapshot')
    .addHelpText('after', '\nExample:\n  vqlite import backup.snapshot restored.vqlite')
    .action(async (snapshot: string, file: string) => {
      regularInputFile(snapshot)
      const ix = VqIndex.import(snapshot, file)
      console.log(`imported ${ix.size} vectors into ${file}`)
      await ix.close()
    })

  cmd
    .command('export')
    .argument('<file>', 'index file')
    .argument('<to>', 'snapshot file to write')
    .description('write a portable snapshot of an index (codes, trained arrays, vectors, metadata; read back by import)')
    .addHelpText('after', '\nExample:\n  vqlite export docs.vqlite backup.snapshot')
    .action(async (file: string, to: string) => {
      const ix = openIndex(file, true)
      try {
        const n = await ix.export(to)
        console.log(`exported ${n} vectors to ${to}`)
      } finally {
        await ix.close()
      }
    })

  cmd
    .command('import-faiss')
    .argument('<faiss-file>', 'FAISS index file (faiss.write_index)')
    .argument('<file>', 'new index file')
    .description('create an index file from a FAISS index file (codes taken as they are: FAISS distances)')
    .option('--json', 'JSON output', false)
    .addHelpText(
      'after',
      [
        '',
        'Reads IndexFlatL2/IP, IndexPQ, IndexScalarQuantizer (8-bit, 4-bit, fp16), IndexIVFFlat,',
        'IndexIVFPQ, IndexIVFScalarQuantizer, IndexIVFPQFastScan, OPQ (IndexPreTransform) in front',
        'of a PQ index, IndexRefineFlat (RFlat) and IndexIDMap/IDMap2 around them; other types are',
        'refused, naming them.',
        '',
        'Example:',
        '  vqlite import-faiss sift.faissindex sift.vqlite',
      ].join('\n'),
    )
    .action(async (faissFile: string, file: string, o: { json: boolean }) => {
      regularInputFile(faissFile)
      const ix = VqIndex.fromFaiss(faissFile, file)
      try {
        emit(
          o.json,
          { file, from: faissFile, description: ix.description, metric: ix.metric, count: ix.size },
          () => `imported ${ix.size} vectors from ${faissFile} into ${file}: ${ix.description}, d = ${ix.dim}, ${ix.metric}`,
        )
      } finally {
        await ix.close()
      }
    })

  cmd
    .command('export-faiss')
    .argument('<file>', 'index file')
    .argument('<faiss-file>', 'FAISS index file to write (faiss.read_index reads it)')
    .description(
      'write an index as a FAISS index file (Flat, PQ, SQ, IVF of those, OPQ, RFlat; not RaBitQ, other refine stages, cosine, string ids)',
    )
    .option('--json', 'JSON output', false)
    .addHelpText('after', '\nExample:\n  vqlite export-faiss docs.vqlite docs.faissindex')
    .action(async (file: string, faissFile: string, o: { json: boolean }) => {
      const ix = openIndex(file, true)
      try {
        const n = await ix.toFaiss(faissFile)
        emit(o.json, { file, to: faissFile, count: n }, () => `exported ${n} vectors to ${faissFile}`)
      } finally {
        await ix.close()
      }
    })

  cmd
    .command('index-text')
    .argument('<paths...>', 'files, folders (recursive; .gitignore, hidden and binary files skipped) or globs')
    .description('index documents for semantic search (chunks, SIF-GloVe embeddings, FTS5 keywords); unchanged files are skipped')
    .requiredOption('--index <file>', 'index file (created when missing)')
    .option('--field <name>', 'JSONL: the field holding the text', 'text')
    .option('--chunk-size <n>', 'characters per chunk (new index: default 800; fixed for the life of the index)', intRange(1, MAX_CHUNK))
    .option(
      '--overlap <n>',
      'characters shared by consecutive chunks, less than --chunk-size (new index: default 100; fixed)',
      intRange(0, MAX_CHUNK),
    )
    .option(
      '--description <d>',
      'vector index description to reach (new index: default SQ8); exact (Flat) until the index holds enough chunks to train it. On an existing index: switched to it',
    )
    .option('--embedder <spec>', `embedder: ${EMBEDDER_SPEC_HELP}; an existing index: the one it records`)
    .option('--root <dir>', 'folder sources are relative to, set on first indexing (default: the current folder)')
    .option('--no-prune', 'keep sources under the folders given whose files are gone')
    .option('--rehash', 'read and hash every file (default: a file whose size and mtime are unchanged is skipped unread)', false)
    .option('--json', 'JSON output', false)
    .addHelpText(
      'after',
      [
        '',
        'A new index is exact (Flat) until it holds enough chunks to train --description (e.g. 256 for',
        'IVF64,PQ16,RFlat: the most of IVF nlist and 2^nbits of a PQ), then switched to it, trained on',
        'every chunk; a PQ whose m does not divide the dimension (100 for sif-glove) runs on vectors',
        'padded with zeros (IVF64,PQ16,RFlat becomes Pad112,IVF64,PQ16,RFlat). On an existing index,',
        '--description is applied (now if it has enough chunks, else',
        'recorded as the description to reach); --chunk-size / --overlap other than those it was made',
        'with are refused (re-chunking means re-indexing everything: make a new index).',
        '',
        'Examples:',
        '  vqlite index-text notes/ "docs/**/*.md" tickets.jsonl --field body --index notes.vqlite',
        '  vqlite index-text docs/ --index docs.vqlite --description IVF64,PQ16,RFlat',
        '  vqlite index-text docs/ --index docs.vqlite --embedder openai:nomic-embed-text@http://localhost:11434/v1',
      ].join('\n'),
    )
    .action(
      async (
        paths: string[],
        o: {
          index: string
          field: string
          chunkSize?: number
          overlap?: number
          description?: string
          embedder?: string
          root?: string
          prune: boolean
          rehash: boolean
          json: boolean
        },
      ) => {
        if ((o.overlap ?? 100) >= (o.chunkSize ?? 800))
          throw new UsageError(`--overlap ${o.overlap ?? 100} must be less than --chunk-size ${o.chunkSize ?? 800}`)
        const spec = o.embedder === undefined ? undefined : parseEmbedderSpec(o.embedder)
        const exists = existsSync(o.index)
        if (exists) regularIndexFile(o.index)
        const progress = new Progress()
        const embedderOptions = { onProgress: (m: string) => progress.log(m) }
        const make = (s: EmbedderSpec) => () => embedderFromSpec(s, embedderOptions)
        const chunk = {
          ...(o.chunkSize !== undefined ? { size: o.chunkSize } : {}),
          ...(o.overlap !== undefined ? { overlap: o.overlap } : {}),
        }
        let ix: TextIndex
        if (exists) {
          ix = await TextIndex.open(o.index, spec ? make(spec) : undefined, { chunk, embedderOptions })
          try {
            await ix.loadEmbedder()
            if (o.description !== undefined) await ix.setTargetDescription(o.description, { apply: false })
          } catch (e) {
            await ix.close()
            throw e
          }
        } else {
          ix = await TextIndex.create(o.index, make(spec ?? { kind: 'sif-glove' }), {
            description: o.description ?? 'SQ8',
            chunk,
          })
        }
        try {
          const indexed = await ix.indexFiles(paths, {
            field: o.field,
            ...(o.prune === false ? { prune: false } : {}),
            ...(o.rehash ? { rehash: true } : {}),
            ...(o.root !== undefined ? { root: o.root } : {}),
            onProgress: (_file, done, total) => progress.update('indexing', done, total),
          })
          progress.stop()
          const r = indexed
          for (const e of r.errors) process.stderr.write(`vqlite: ${e.file}: ${e.message}\n`)
          const count = (n: number): string => n.toLocaleString('en-US')
          const vectors = r.switched
            ? `switched to ${r.description} after ${count(r.chunks)} chunks`
            : r.description === r.targetDescription
              ? `vector index ${r.description} (${count(r.chunks)} chunks)`
              : `${r.description === 'Flat' ? 'exact' : r.description} until ${count(r.minimumChunks)} chunks, then ${r.targetDescription} (${count(r.chunks)} chunks now)`
          emit(
            o.json,
            r,
            () =>
              `${o.index}: ${r.filesIndexed} files indexed (${r.chunksAdded} chunks), ${r.filesUnchanged} unchanged, ${r.duplicates.length} duplicates, ${r.removed.length} removed, ${r.chunksRemoved} old chunks removed${r.errors.length ? `, ${r.errors.length} files with errors` : ''}\n${vectors}`,
          )
          if (r.errors.length > 0) process.exitCode = EXIT.badInput
        } finally {
          await ix.close()
        }
      },
    )

  cmd
    .command('search')
    .argument('[text]', 'query text (text indexes)')
    .description('search an index by text (indexes made by index-text) or by query vectors (--vectors)')
    .requiredOption('--index <file>', 'index file')
    .option('-k, --k <n>', `results (1 to ${MAX_K})`, intRange(1, MAX_K, 'MAX_K'), 10)
    .addOption(
      new Option('--mode <mode>', 'text search: hybrid, vector or keyword').choices(['hybrid', 'vector', 'keyword']).default('hybrid'),
    )
    .option('--vectors <file>', 'query vectors (.fvecs, .bvecs or .jsonl) instead of text')
    .option('--nprobe <n>', 'IVF lists to probe (more than the lists: all of them)', intRange(1, Number.MAX_SAFE_INTEGER))
    .option('--refine <n>', `refine factor (1 to ${MAX_REFINE_FACTOR})`, intRange(1, MAX_REFINE_FACTOR, 'MAX_REFINE_FACTOR'))
    .option('--filter <json>', 'metadata filter, e.g. \'{"source": {"$eq": "a.md"}}\'')
    .option('--embedder <spec>', `text search: ${EMBEDDER_SPEC_HELP} (default: the one the index records; keyword mode loads none)`)
    .option('--json', 'JSON output', false)
    .addHelpText(
      'after',
      '\nExamples:\n  vqlite search "how do I deploy to Cloud Foundry" --index notes.vqlite --k 5\n  vqlite search --vectors queries.fvecs --index sift.vqlite --k 10 --json',
    )
    .action(
      async (
        text: string | undefined,
        o: {
          index: string
          k: number
          mode: TextSearchMode
          vectors?: string
          nprobe?: number
          refine?: number
          filter?: string
          embedder?: string
          json: boolean
        },
      ) => {
        const filter = o.filter === undefined ? undefined : parseFilter(o.filter)
        const spec = o.embedder === undefined ? undefined : parseEmbedderSpec(o.embedder)
        if (o.vectors) {
          const ix = openIndex(o.index, true)
          try {
            const { readVectorFile } = await import('./vector-files.js')
            const v = await readVectorFile(o.vectors, { dim: ix.dim, dimOf: o.index })
            if (v.n * o.k > MAX_BATCH_RESULTS) {
              throw new VqInputError(
                'BAD_K',
                `${o.vectors}: ${v.n} queries x k ${o.k} is past MAX_BATCH_RESULTS (${MAX_BATCH_RESULTS}); split the queries or lower --k`,
              )
            }
            const opts = {
              ...(o.nprobe ? { nprobe: o.nprobe } : {}),
              ...(o.refine ? { refineFactor: o.refine } : {}),
              ...(filter ? { filter } : {}),
            }
            const results = Array.from({ length: v.n }, (_, i) => {
              const r = ix.search(v.x.subarray(i * v.d, (i + 1) * v.d), o.k, opts)
              return {
                query: i,
                ids: Array.from(r.ids as ArrayLike<number | string>).filter((id) => id !== -1 && id !== ''),
                distances: Array.from(r.distances).filter(Number.isFinite),
              }
            })
            emit(o.json, results, () =>
              results
                .map((r) => `query ${r.query}: ${r.ids.map((id, j) => `${id} (${r.distances[j]!.toFixed(4)})`).join(', ')}`)
                .join('\n'),
            )
          } finally {
            await ix.close()
          }
          return
        }
        if (text === undefined) throw new UsageError('give the query text, or --vectors FILE')
        regularIndexFile(o.index)
        // made only for vector and hybrid search (keyword search loads no embedder)
        const ix = await TextIndex.open(o.index, spec ? () => embedderFromSpec(spec) : undefined, { readonly: true })
        try {
          const t = performance.now()
          const hits = await ix.search(text, {
            k: o.k,
            mode: o.mode,
            ...(filter ? { filter } : {}),
            ...(o.nprobe ? { nprobe: o.nprobe } : {}),
          })
          const ms = performance.now() - t
          emit(
            o.json,
            hits.map((h) => ({
              id: h.id,
              score: h.score,
              source: h.source,
              text: h.text,
              start: h.start,
              end: h.end,
              ...(h.line !== undefined ? { line: h.line } : {}),
            })),
            () =>
              hits.length === 0
                ? 'no results'
                : [
                    ...hits.map(
                      (h, i) =>
                        `${i + 1}. ${h.source}${h.line !== undefined ? `:${h.line}` : ''} [${h.start}..${h.end}] score ${h.score.toFixed(4)}\n   ${renderSnippet(h.snippet)}`,
                    ),
                    `(${o.mode}, ${ms.toFixed(1)} ms)`,
                  ].join('\n'),
          )
        } finally {
          await ix.close()
        }
      },
    )

  cmd
    .command('serve')
    .argument('<index>', 'text index file (made by index-text), or a folder of .vqlite text indexes')
    .description('a local web page and JSON API to search (and add or delete texts in) text indexes')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', intRange(0, 65535), 8765)
    .option('--cors <origin>', 'allow this origin (CORS), e.g. http://localhost:3000')
    .option('--readonly', 'refuse writes (403)', false)
    .option('--max-body <bytes>', 'largest request body', intRange(1, 1 << 30), 1024 * 1024)
    .addHelpText(
      'after',
      [
        '',
        'API: GET /api/stats, GET /api/indexes, POST /api/search {query, k?, mode?, filter?, index?},',
        'POST /api/texts {source, text, index?}, DELETE /api/sources?source=S[&index=NAME]; the page is at /.',
        '',
        'Examples:',
        '  vqlite serve notes.vqlite',
        '  vqlite serve indexes/ --port 0 --readonly',
      ].join('\n'),
    )
    .action(async (index: string, o: { host: string; port: number; cors?: string; readonly: boolean; maxBody: number }) => {
      const { runServe } = await import('./serve.js')
      await runServe(index, o)
    })

  return cmd
}

// Output piped into a reader that stops early (`vqlite search ... | head`): stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok)
  throw e
})

try {
  const cmd = program()
  cmd.exitOverride()
  for (const sub of cmd.commands) {
    sub.exitOverride()
    for (const s2 of sub.commands) s2.exitOverride()
  }
  await cmd.parseAsync(process.argv)
} catch (e) {
  process.exitCode = report(e)
}

/** Prints an error that reached the top and returns the exit code (see EXIT). */
function report(e: unknown): number {
  const err = e as { code?: unknown; exitCode?: number; syscall?: unknown; path?: unknown; message?: unknown }
  if (e instanceof VqError) {
    console.error(`vqlite: ${e.message} [${e.code}]`)
    return EXIT.badInput
  }
  if (e instanceof UsageError) {
    console.error(`vqlite: ${e.message} (see vqlite --help)`)
    return EXIT.usage
  }
  if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
    // commander has printed the message (or the help)
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.ok : EXIT.usage
  }
  if (e instanceof Error && typeof err.code === 'string' && /^E[A-Z0-9]+$/.test(err.code) && typeof err.syscall === 'string') {
    // A file system refusal that came through untyped: the user's to fix, and named as such.
    const what: Record<string, string> = {
      ENOENT: 'no such file',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EISDIR: 'is a folder, not a file',
      ENOTDIR: 'a part of the path is not a folder',
      EEXIST: 'already exists',
      ENOSPC: 'disk full',
      EROFS: 'read-only file system',
      EIO: 'input/output error',
    }
    console.error(`vqlite: ${typeof err.path === 'string' ? `${err.path}: ` : ''}${what[err.code] ?? e.message} [${err.code}]`)
    return EXIT.badInput
  }
  console.error(`vqlite: internal error (a bug, please report it): ${(e as Error)?.stack ?? String(e)}`)
  return EXIT.internal
}
