/**
 * Streaming adds: vectors from a file or an async source, added block by block, one
 * transaction per block, so a set larger than memory goes in with bounded memory (one block
 * of vectors, plus the codes the index keeps) and a crash loses at most the block in flight.
 *
 * Ids are row numbers: row r of the source gets id idBase + r. Blocks commit in row order,
 * so what a run committed is always a prefix of the rows; a rerun with resume (the default)
 * finds the end of that prefix (a binary search over has(), checked by counting the ids in
 * the range) and continues there. A range holding ids that are not such a prefix (items
 * added otherwise) is refused before anything is written (ID_EXISTS).
 *
 * An untrained index is trained first, on a seeded random sample of the file's rows
 * (addFile), or on the first block of an async source (addStream); the model is committed
 * before the first block, so a crash after training keeps it and the rerun goes on adding.
 */
import { VqInputError, VqOptionError, VqStateError } from '../errors.js'
import { readVectorBlocks, readVectorRows, type VectorBlock, vectorFileInfo } from '../io/vector-stream.js'
import { MAX_ID } from '../limits.js'
import type { AddOptions, Filter, IdKind, Metadata, TrainOptions } from '../types.js'
import { CallControl } from '../util/cancel.js'
import { Rng } from '../util/random.js'
import { ENCODE_AHEAD } from './internal.js'

/** Options of addFile() and addStream(). */
export interface StreamAddOptions {
  /** Id of row 0: row r gets id idBase + r. Default 0. */
  idBase?: number
  /** Rows per block, each added in its own transaction. Default 65,536. */
  blockRows?: number
  /**
   * Continue after the rows already in the index (a previous, interrupted run of the same
   * source): default true. With false, rows already present are ID_EXISTS, nothing added.
   */
  resume?: boolean
  /**
   * When the index is not trained: train on a seeded random sample of `sample` rows first
   * (addFile; default min(rows, max(65,536, 64 * nlist))), or on the first block
   * (addStream). false: NOT_TRAINED on an untrained index. Default true.
   */
  train?: boolean | (TrainOptions & { sample?: number })
  /** First row of the source to add (default 0): rows start .. end - 1 are added, as ids idBase + row. */
  start?: number
  /** Row after the last to add (default: the source's end). */
  end?: number
  /** Cancels between blocks and inside the block in flight (ABORTED); committed blocks stay. */
  signal?: AbortSignal
  /** Called after the sample is read, after training, and after each committed block. */
  onProgress?: (p: StreamAddProgress) => void
}

/** Progress of a streaming add. */
export interface StreamAddProgress {
  readonly phase: 'sampling' | 'training' | 'adding'
  /** Rows in the index from this source so far (including those a previous run committed). */
  readonly done: number
  /** Rows of the source (undefined for an async source of unknown length). */
  readonly total: number | undefined
}

/** What a streaming add did. */
export interface StreamAddResult {
  /** Rows added by this call. */
  readonly added: number
  /** Rows skipped because a previous run had committed them. */
  readonly resumedAt: number
  /** Rows of the source now in the index (resumedAt + added). */
  readonly rows: number
  /** True when this call trained the index. */
  readonly trained: boolean
}

/** The part of VqIndex a streaming add uses. */
export interface StreamTarget {
  readonly dim: number
  readonly idKind: IdKind
  readonly isTrained: boolean
  readonly spec: { readonly ivf?: { readonly nlist: number } | null }
  has(id: number): boolean
  count(filter?: Filter<Metadata>): number
  train(x: Float32Array, options?: TrainOptions): Promise<void>
  add(ids: Float64Array, x: Float32Array, metadata?: undefined, options?: AddOptions): Promise<void>
  /** Encode-ahead adds (VqIndex has them; see addBlocks). */
  [ENCODE_AHEAD]?(): {
    encode: (ids: Float64Array, x: Float32Array, signal: AbortSignal | undefined) => Promise<unknown>
    commit: (e: never, signal: AbortSignal | undefined) => Promise<void>
  }
}

interface Parsed {
  idBase: number
  blockRows: number
  resume: boolean
  train: false | (TrainOptions & { sample?: number })
  start: number
  end: number | undefined
  signal: AbortSignal | undefined
  onProgress: ((p: StreamAddProgress) => void) | undefined
}

const KEYS = new Set(['idBase', 'blockRows', 'resume', 'train', 'start', 'end', 'signal', 'onProgress'])

function parse(options: StreamAddOptions | undefined, call: string): Parsed {
  const o = (options ?? {}) as Record<string, unknown>
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new VqOptionError('BAD_OPTION', `${call}: options must be an object`)
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new VqOptionError('UNKNOWN_OPTION', `${call}: unknown option "${k}"`)
  const int = (name: string, v: unknown, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new VqOptionError('BAD_OPTION', `${call}: ${name} must be an integer from ${min} to ${max}, got ${String(v)}`)
    }
    return v
  }
  const train = o.train ?? true
  if (typeof train !== 'boolean' && (typeof train !== 'object' || train === null || Array.isArray(train))) {
    throw new VqOptionError('BAD_OPTION', `${call}: train must be a boolean or training options, got ${String(train)}`)
  }
  if (typeof train === 'object') int('train.sample', (train as { sample?: unknown }).sample, 1, 1 << 26)
  if (o.resume !== undefined && typeof o.resume !== 'boolean')
    throw new VqOptionError('BAD_OPTION', `${call}: resume must be a boolean, got ${String(o.resume)}`)
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw new VqOptionError('BAD_OPTION', `${call}: onProgress must be a function`)
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new VqOptionError('BAD_OPTION', `${call}: signal must be an AbortSignal`)
  return {
    idBase: int('idBase', o.idBase, 0, MAX_ID) ?? 0,
    blockRows: int('blockRows', o.blockRows, 1, 1 << 22) ?? 65536,
    resume: (o.resume as boolean | undefined) ?? true,
    train: train === true ? {} : train === false ? false : (train as TrainOptions & { sample?: number }),
    start: int('start', o.start, 0, MAX_ID) ?? 0,
    end: int('end', o.end, 0, MAX_ID),
    signal: o.signal as AbortSignal | undefined,
    onProgress: o.onProgress as Parsed['onProgress'],
  }
}

/**
 * The first row of [o.start, end) whose id is not in the index, given that the rows present
 * are a prefix of the range; checks that they are (ID_EXISTS otherwise). end undefined: a
 * source of unknown length.
 */
function resumePoint(index: StreamTarget, o: Parsed, end: number | undefined, call: string): number {
  const present = (r: number): boolean => index.has(o.idBase + r)
  let lo = o.start // invariant: rows < lo are present, rows >= hi are absent (or beyond the source)
  let hi: number
  if (end !== undefined) hi = end
  else {
    let step = 1
    while (o.idBase + o.start + step <= MAX_ID && present(o.start + step - 1)) step *= 2
    hi = o.start + step
  }
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2)
    if (present(mid)) lo = mid + 1
    else hi = mid
  }
  const last = end ?? MAX_ID - o.idBase + 1
  const inRange = index.count({ $id: { $gte: o.idBase + o.start, $lt: o.idBase + last } } as Filter<Metadata>)
  if (inRange !== lo - o.start) {
    throw new VqInputError(
      'ID_EXISTS',
      `${call}: ids ${o.idBase + o.start}..${o.idBase + last - 1} already hold ${inRange} items that are not the first rows of this source ` +
        `(its first ${lo - o.start} rows are there); choose another idBase; nothing was added`,
    )
  }
  if (!o.resume && lo > o.start) {
    throw new VqInputError(
      'ID_EXISTS',
      `${call}: id ${o.idBase + o.start} (row ${o.start}) is already in the index; pass resume: true to continue; nothing was added`,
    )
  }
  return lo
}

function checkTarget(index: StreamTarget, o: Parsed, call: string): void {
  if (index.idKind !== 'integer') {
    throw new VqStateError('ID_KIND', `${call}: streamed rows get integer ids (idBase + row); this index has ${index.idKind} ids`)
  }
  if (!index.isTrained && o.train === false) {
    throw new VqStateError('NOT_TRAINED', `${call}: the index is not trained and train is false; train it first or pass train: true`)
  }
  if (o.end !== undefined && o.end < o.start) throw new VqOptionError('BAD_OPTION', `${call}: end ${o.end} is before start ${o.start}`)
}

/** A slice of a block to add: its ids, vectors, size and the row after it. */
interface Piece {
  readonly ids: Float64Array
  readonly x: Float32Array
  readonly n: number
  readonly end: number
}

/**
 * Adds the rows [from, end) of the blocks (rows before from are skipped); progress counts
 * rows from o.start. Where the index offers it (ENCODE_AHEAD), block i + 1 is read and
 * encoded on the worker pool while block i commits on this thread.
 */
async function addBlocks(
  index: StreamTarget,
  blocks: AsyncIterable<VectorBlock>,
  o: Parsed,
  from: number,
  end: number | undefined,
  control: CallControl,
  firstBlockTrains: boolean,
): Promise<{ added: number; trained: boolean }> {
  let trained = false
  const total = end === undefined ? undefined : end - o.start
  async function* pieces(): AsyncGenerator<Piece> {
    let expect = from
    for await (const b of blocks) {
      control.check()
      if (b.start + b.n <= from) continue
      if (b.start > expect) throw new VqInputError('BAD_VECTORS', `stream: block at row ${b.start} leaves a gap after row ${expect - 1}`)
      if (b.x.length !== b.n * index.dim) {
        throw new VqInputError(
          'DIMENSION_MISMATCH',
          `stream: block at row ${b.start} holds ${b.x.length} numbers for ${b.n} vectors of dimension ${index.dim}`,
        )
      }
      const skip = Math.max(0, expect - b.start)
      const stop = end === undefined ? b.n : Math.min(b.n, end - b.start)
      if (stop <= skip) return
      const x = skip === 0 && stop === b.n ? b.x : b.x.subarray(skip * index.dim, stop * index.dim)
      const n = stop - skip
      if (firstBlockTrains && !index.isTrained && o.train !== false) {
        const { sample: _s, ...train } = o.train
        o.onProgress?.({ phase: 'training', done: expect - o.start, total })
        await index.train(x, { ...train, signal: o.signal })
        trained = true
      }
      const ids = new Float64Array(n)
      for (let i = 0; i < n; i++) ids[i] = o.idBase + b.start + skip + i
      expect = b.start + stop
      yield { ids, x, n, end: expect }
      if (end !== undefined && expect >= end) return
    }
  }
  let added = 0
  const done = (p: Piece): void => {
    added += p.n
    o.onProgress?.({ phase: 'adding', done: p.end - o.start, total })
  }
  const ahead = index[ENCODE_AHEAD]?.()
  const it = pieces()
  if (!ahead) {
    for await (const p of it) {
      await index.add(p.ids, p.x, undefined, { signal: o.signal })
      done(p)
    }
    return { added, trained }
  }
  let cur = await it.next()
  let encoded = cur.done ? undefined : ahead.encode(cur.value.ids, cur.value.x, o.signal)
  try {
    while (!cur.done) {
      const e = await encoded!
      const piece = cur.value
      cur = await it.next()
      encoded = cur.done ? undefined : ahead.encode(cur.value.ids, cur.value.x, o.signal)
      await ahead.commit(e as never, o.signal)
      done(piece)
    }
  } finally {
    // A failed commit leaves the next block's encoding in flight: let it settle unobserved.
    encoded?.catch(() => undefined)
  }
  return { added, trained }
}

/** index.addFile(path, options): see the module comment and README "Adding from files". */
export async function addFile(index: StreamTarget, path: string, options: StreamAddOptions | undefined): Promise<StreamAddResult> {
  const call = 'addFile()'
  const o = parse(options, call)
  checkTarget(index, o, call)
  const control = new CallControl(call, [o.signal])
  control.check()
  const info = await vectorFileInfo(path)
  if (info.n > 0 && info.d !== index.dim) {
    throw new VqInputError('DIMENSION_MISMATCH', `${path}: vectors of dimension ${info.d}, the index has ${index.dim}; nothing was added`)
  }
  const end = Math.min(info.n, o.end ?? info.n)
  if (o.start > end) throw new VqOptionError('BAD_OPTION', `${call}: start ${o.start} is past the file's ${info.n} vectors`)
  if (o.idBase + end - 1 > MAX_ID) {
    throw new VqOptionError('BAD_OPTION', `${call}: ids ${o.idBase + o.start}..${o.idBase + end - 1} go past MAX_ID ${MAX_ID}`)
  }
  let trained = false
  const total = end - o.start
  if (!index.isTrained && total > 0 && o.train !== false) {
    const nlist = index.spec.ivf?.nlist ?? 1
    const size = Math.min(total, o.train.sample ?? Math.max(65536, 64 * nlist))
    const picked = new Rng(o.train.seed ?? 1).sample(total, size)
    for (let i = 0; i < picked.length; i++) picked[i]! += o.start
    o.onProgress?.({ phase: 'sampling', done: 0, total })
    const sample = await readVectorRows(path, picked)
    control.check()
    const { sample: _s, ...train } = o.train
    o.onProgress?.({ phase: 'training', done: 0, total })
    await index.train(sample, { ...train, signal: o.signal })
    trained = true
  }
  const from = resumePoint(index, o, end, call)
  const blocks = readVectorBlocks(path, { start: from, end, blockRows: o.blockRows })
  const { added } = await addBlocks(index, blocks, o, from, end, control, false)
  return { added, resumedAt: from, rows: from - o.start + added, trained }
}

/**
 * index.addStream(blocks, options): blocks of consecutive rows ({ start, n, x }) from any
 * source (an HDF5 dataset, a generator); rows before the resume point are skipped.
 */
export async function addStream(
  index: StreamTarget,
  blocks: AsyncIterable<VectorBlock> | Iterable<VectorBlock>,
  options: StreamAddOptions | undefined,
): Promise<StreamAddResult> {
  const call = 'addStream()'
  const o = parse(options, call)
  checkTarget(index, o, call)
  const control = new CallControl(call, [o.signal])
  control.check()
  const from = index.isTrained ? resumePoint(index, o, o.end, call) : o.start
  const source: AsyncIterable<VectorBlock> =
    Symbol.asyncIterator in blocks
      ? (blocks as AsyncIterable<VectorBlock>)
      : (async function* () {
          yield* blocks as Iterable<VectorBlock>
        })()
  const { added, trained } = await addBlocks(index, source, o, from, o.end, control, true)
  return { added, resumedAt: from, rows: from - o.start + added, trained }
}
