/**
 * The write operations of an index: train, add / upsert, delete, retrain, properties and
 * the text index. Each is queued on the write coordinator as prepare (async: training,
 * encoding; reads only) and apply (one commit, then the in-memory change), so searches
 * never see the lists mid-change. Arguments are validated by the caller (VqIndex).
 */
import { VqFormatError, VqInputError, VqStateError } from '../errors.js'
import { formatIndexDescription } from '../factory/parse.js'
import { InvertedLists } from '../ivf/inverted-lists.js'
import type { TrainingRecord } from '../manifest.js'
import { checkMetadata } from '../metadata.js'
import type { TrainedArray } from '../quantizers/quantizer.js'
import type { Encoded, IndexModel } from '../search/model.js'
import type { ItemRows, StoredArray } from '../storage/sqlite-store.js'
import type { AddProgress, IndexSpec, Metadata, TrainOptions } from '../types.js'
import { CallControl, ProgressCounter } from '../util/cancel.js'
import { checkVectors } from '../validate.js'
import { encodeFollowed } from './encode.js'
import { checkIdsOf, showKey } from './ids.js'
import { checkTextField } from './keywords.js'
import { keepsHalfFloats, type ParsedAdd } from './options.js'
import type { IndexState } from './state.js'
import { decodeVector, encodeVectors, joinCodes, vectorBytes } from './vector-codec.js'

/** A validated add/upsert batch. */
export interface CheckedInput {
  readonly v: Float32Array
  readonly n: number
  /** Integer ids; for string ids, filled from the key table inside the commit (assignKeys). */
  readonly ids: Float64Array
  /** The string ids of a string-id index. */
  readonly keys: readonly string[] | undefined
  readonly meta: (string | null)[] | undefined
  /** The vectors after the metric's input transform. */
  readonly prepared: Float32Array
}

/** Validates an add/upsert batch (before anything waits or changes). */
export function checkInput(
  state: IndexState,
  ids: unknown,
  x: Float32Array,
  metadata: readonly Metadata[] | undefined,
  trainFirst = false,
): CheckedInput {
  state.writable()
  const { x: v, n } = checkVectors(x, state.dim, 'vectors', keepsHalfFloats(state.spec, state.storeVectors, state.metric))
  const { ids: idv, keys } = checkIdsOf(state.idKind, ids, n)
  const meta = checkMetadata(metadata, n)
  if (!trainFirst) state.requireTrained('adding vectors')
  return { v, n, ids: idv, keys, meta, prepared: state.prepare(v, n, 'vectors') }
}

/**
 * train() of an empty index: rejects an already aborted call, an empty training set and an
 * index holding vectors, then trains on x (n*dim, as given).
 */
export async function trainEmpty(state: IndexState, x: Float32Array, n: number, options: TrainOptions): Promise<void> {
  const control = new CallControl('train()', [options.signal])
  control.check()
  if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'training needs at least one vector, got 0')
  const count = state.lists.count
  if (count > 0) {
    throw new VqStateError(
      'NOT_EMPTY',
      `train() on an index holding ${count} vectors would invalidate their codes; use retrain(), or train before adding`,
    )
  }
  await train(state, state.prepare(x, n, 'training vectors'), n, options, control)
}

/**
 * Trains every stage on prepared vectors (NOT_EMPTY when items arrived while it waited) and
 * commits the model. `control` is checked up to the commit (see util/cancel.ts).
 */
export function train(state: IndexState, prepared: Float32Array, n: number, options: TrainOptions, control: CallControl): Promise<void> {
  return state.write(
    'training',
    async () => {
      control.check()
      if (state.lists.count > 0) throw new VqStateError('NOT_EMPTY', 'vectors were added while train() waited; use retrain()')
      return trainModel(state, prepared, n, options, control)
    },
    (model) => {
      control.check() // the last point an abort is heeded: nothing below can fail before the commit
      commitTrainedModel(state, model, trainingRecord(n, options))
    },
    queued(control),
  )
}

/** A batch encoded ahead of its add (streaming adds: the next block encodes while this one commits). */
export interface EncodedAhead {
  readonly input: CheckedInput
  readonly batch: EncodedBatch
}

/**
 * Encodes a checked batch with the current model, outside the write queue (encoding only
 * reads the model); addItems(..., ahead) then commits it without encoding again, unless the
 * model changed meanwhile (then it encodes again with the new one).
 */
export async function encodeAhead(state: IndexState, input: CheckedInput, signal: AbortSignal | undefined): Promise<EncodedAhead> {
  state.requireTrained('adding vectors')
  const control = new CallControl('add()', [signal])
  return { input, batch: await encodeBatch(state, input, state.model, control, undefined) }
}

/**
 * Adds a batch (upsert: replacing the items of ids already stored, which move to the end of
 * the order). With `o.train` and an untrained index, every stage is first trained on the
 * batch, and the trained model and the items are committed in one transaction. o.signal
 * (and the training options' signal) cancels it up to the commit; o.onProgress is told
 * 'training' (once, before training), 'encoding' (done rising to total) and 'committing'
 * (once, before the commit); a callback that throws fails the call, nothing changed.
 */
export async function addItems(state: IndexState, input: CheckedInput, upsert: boolean, o: ParsedAdd, ahead?: EncodedAhead): Promise<void> {
  const trainFirst = o.train
  const control = new CallControl(upsert ? 'upsert()' : 'add()', [o.signal, trainFirst?.signal])
  control.check()
  const report = o.onProgress
  const tell = (phase: AddProgress['phase'], done: number): void => report?.({ phase, done, total: input.n })
  const encoding = report ? new ProgressCounter(input.n, (done) => tell('encoding', done)) : undefined
  return state.write(
    upsert ? 'upserting vectors' : 'adding vectors',
    async () => {
      control.check()
      let trained: IndexModel | undefined
      if (trainFirst !== undefined && !state.model.isTrained) {
        if (input.n === 0) throw new VqInputError('EMPTY_TRAINING_SET', 'training needs at least one vector, got 0')
        if (state.lists.count > 0) throw new VqStateError('NOT_EMPTY', 'vectors were added while this add waited to train; use retrain()')
        tell('training', 0)
        trained = await trainModel(state, input.prepared, input.n, trainFirst, control)
      }
      const model = trained ?? state.model
      const batch = ahead && ahead.batch.model === model ? ahead.batch : await encodeBatch(state, input, model, control, encoding)
      encoding?.finish()
      tell('committing', input.n)
      return { trained, batch }
    },
    ({ trained, batch: { model, enc, rows } }) => {
      control.check() // the last point an abort is heeded: nothing below can fail before the commit
      const n = input.n
      if (n === 0) return
      let gone: number[] = []
      let first = 0
      const fresh = trained ? { lists: state.emptyLists(trained), searcher: state.newSearcher(trained) } : undefined
      const codes = model.padCodes(enc.codes, n)
      state.commit(upsert ? 'upserting vectors' : 'adding vectors', (m) => {
        let next = m
        if (trained) {
          state.store.writeArrays(storedArrays(trained.exportArrays()))
          next = { ...m, trained: true, training: trainingRecord(n, trainFirst ?? {}), codesGeneration: m.codesGeneration + 1 }
        }
        if (input.keys) assignKeys(state, input.keys, input.ids, upsert)
        if (upsert) gone = state.store.deleteItems(input.ids, next.nextSeq)
        first = next.nextSeq + gone.length
        state.store.insertItems(rows, first)
        return { ...next, nextSeq: first + n, count: next.count - gone.length + n }
      })
      if (trained && fresh) state.setModel(trained, fresh.lists, fresh.searcher)
      state.lists.remove(new Set(gone))
      const seqs = new Uint32Array(n)
      for (let i = 0; i < n; i++) seqs[i] = first + i
      state.lists.append(enc.lists, input.ids, seqs, codes, enc.refine, enc.terms)
    },
    queued(control),
  )
}

/**
 * String ids, inside an add's commit: the integer id of each key into out, new keys stored
 * with new ids. A key already stored is ID_EXISTS for add; upsert replaces its item.
 */
function assignKeys(state: IndexState, keys: readonly string[], out: Float64Array, upsert: boolean): void {
  const found = state.store.idsOfKeys(keys)
  const fresh: number[] = []
  for (let i = 0; i < keys.length; i++) {
    if (found[i]! < 0) fresh.push(i)
    else if (!upsert) {
      throw new VqInputError(
        'ID_EXISTS',
        `id ${showKey(keys[i]!)} is already in the index (position ${i} of the batch); use upsert() to replace it`,
      )
    } else out[i] = found[i]!
  }
  state.store.insertKeys(keys, out, fresh)
}

/**
 * Deletes ids (strict: UNKNOWN_ID and nothing deleted when one is missing); resolves with
 * how many existed. String ids (keys) are looked up and removed in the same commit.
 */
export function deleteItems(state: IndexState, given: Float64Array, strict: boolean, keys?: readonly string[]): Promise<number> {
  return state.write(
    'deleting vectors',
    () => undefined,
    () => {
      let gone: number[] = []
      state.commit('deleting vectors', (m) => {
        let ids = given
        if (keys) {
          const found = state.store.idsOfKeys(keys)
          const unknown = keys.filter((_, i) => found[i]! < 0)
          if (strict && unknown.length > 0) {
            throw new VqInputError(
              'UNKNOWN_ID',
              `${unknown.length} id(s) not in the index (first: ${showKey(unknown[0]!)}); nothing was deleted`,
            )
          }
          ids = found.filter((id) => id >= 0)
        } else if (strict) {
          const present = new Set(state.store.existing(ids))
          const missing = Array.from(ids).filter((id) => !present.has(id))
          if (missing.length > 0) {
            throw new VqInputError('UNKNOWN_ID', `${missing.length} id(s) not in the index (first: ${missing[0]}); nothing was deleted`)
          }
        }
        gone = state.store.deleteItems(ids, m.nextSeq)
        if (keys) state.store.deleteKeys(gone)
        return { ...m, nextSeq: m.nextSeq + gone.length, count: m.count - gone.length }
      })
      state.lists.remove(new Set(gone))
      return gone.length
    },
  )
}

/**
 * Re-trains on the stored vectors and re-encodes every item, in one commit. options.signal
 * cancels it up to the commit; options.onProgress gets the training stages, then stage
 * 'encoding' with done / total as the items are re-encoded.
 */
export async function retrain(state: IndexState, options: TrainOptions, spec?: IndexSpec): Promise<void> {
  const what = spec ? 'reconfigure()' : 'retrain()'
  const control = new CallControl(what, [options.signal])
  control.check()
  const report = options.onProgress
  return state.write(
    'retraining',
    async () => {
      control.check()
      const n = state.lists.count
      if (n === 0) throw new VqInputError('EMPTY_TRAINING_SET', `${what} on an empty index: there is nothing to train on`)
      const x = new Float32Array(n * state.dim)
      const seqs = new Uint32Array(n)
      const ids = new Float64Array(n)
      let i = 0
      // One snapshot: the file as this handle last saw it (checked), then its vectors.
      state.store.transaction(
        () => {
          state.checkCurrent()
          state.store.forEachVector((id, seq, bytes) => {
            if (i >= n) throw new VqFormatError('CORRUPT_FILE', `${state.path}: more stored vectors than items`)
            x.set(decodeVector(bytes, state.storeVectors, state.dim, `id ${id}`), i * state.dim)
            seqs[i] = seq
            ids[i++] = id
          })
        },
        'reading the stored vectors',
        'read',
      )
      if (i !== n) throw new VqStateError('NO_VECTORS', `only ${i} of ${n} items have a stored vector`)
      const prepared = state.prepare(x, n, 'stored vectors')
      const wait = control.pause()
      if (wait) await wait
      const model = await trainModel(state, prepared, n, options, control, spec)
      const encoding = report
        ? new ProgressCounter(n, (done, total) =>
            report({
              stage: 'encoding',
              part: 0,
              parts: 1,
              phase: 'iterate',
              iteration: done,
              iterations: total,
              objective: NaN,
              done,
              total,
            }),
          )
        : undefined
      const enc = await encodeFollowed(state, model, prepared, n, control, encoding && ((done) => encoding.to(done)))
      encoding?.finish()
      return { n, ids, seqs, model, enc }
    },
    ({ n, ids, seqs, model, enc }) => {
      control.check() // the last point an abort is heeded: nothing below can fail before the commit
      const codes = joinCodes(enc.codes, enc.refine, n, model.codeSize, model.refineSize)
      // Everything that allocates is made before the commit: nothing after it can fail.
      const lists = InvertedLists.build(
        model.coarse.nlist,
        model.scanCodeSize,
        model.refineSize,
        enc.lists,
        ids,
        seqs,
        model.padCodes(enc.codes, n),
        enc.refine,
        enc.terms,
      )
      const searcher = state.newSearcher(model)
      const description = spec ? formatIndexDescription(spec, state.dim) : undefined
      state.commit(spec ? 'reconfiguring' : 'retraining', (m) => {
        state.store.writeArrays(storedArrays(model.exportArrays()))
        state.store.updateCodes(seqs, enc.lists, codes, model.codeSize + model.refineSize)
        const next = { ...m, trained: true, training: trainingRecord(n, options), codesGeneration: m.codesGeneration + 1 }
        return spec && description ? { ...next, spec, description } : next
      })
      if (spec) state.spec = spec
      state.setModel(model, lists, searcher)
    },
    queued(control),
  )
}

/** Commits one store change that leaves the manifest's counters as they are (properties, the text index). */
export function commitStoreChange(state: IndexState, doing: string, change: () => void): Promise<void> {
  return state.write(
    doing,
    () => undefined,
    () => {
      state.commit(doing, (m) => {
        change()
        return m
      })
    },
  )
}

/** An encoded batch and its rows for the store. */
interface EncodedBatch {
  readonly model: IndexModel
  readonly enc: Encoded
  readonly rows: ItemRows
}

/** Encodes a validated batch (on the pool when it is large) into rows for the store, cancellable between chunks. */
async function encodeBatch(
  state: IndexState,
  input: CheckedInput,
  model: IndexModel,
  control: CallControl,
  progress: ProgressCounter | undefined,
): Promise<EncodedBatch> {
  const { v, n, ids, meta } = input
  const enc = await encodeFollowed(state, model, input.prepared, n, control, progress && ((done) => progress.to(done)))
  const cs = model.codeSize
  const rs = model.refineSize
  const vb = vectorBytes(state.storeVectors, state.dim)
  return {
    model,
    enc,
    rows: {
      ids,
      lists: enc.lists,
      codes: joinCodes(enc.codes, enc.refine, n, cs, rs),
      codeSize: cs + rs,
      vectors: vb > 0 ? encodeVectors(v, n * state.dim, state.storeVectors) : undefined,
      vectorBytes: vb,
      metadata: meta,
    },
  }
}

/** The queue cancellation of a call with a signal (an abort while it waits for its turn rejects it at once). */
function queued(control: CallControl): CallControl | undefined {
  return control.cancellable ? control : undefined
}

/** A new model trained on n prepared vectors; control's checkpoints run between its k-means steps and stages. */
async function trainModel(
  state: IndexState,
  x: Float32Array,
  n: number,
  options: TrainOptions,
  control: CallControl,
  spec?: IndexSpec,
): Promise<IndexModel> {
  const model = state.newModel(spec)
  const { onProgress, signal: _signal, ...rest } = options
  await model.train(
    x,
    n,
    {
      ...rest,
      ...(onProgress ? { onProgress: (stage, part, parts, p) => onProgress({ ...p, stage, part, parts }) } : {}),
      ...(control.cancellable ? { checkpoint: () => control.pause() } : {}),
    },
    state.pools.parallel(),
  )
  control.check()
  return model
}

function storedArrays(arrays: Record<string, TrainedArray>): Record<string, StoredArray> {
  const out: Record<string, StoredArray> = {}
  for (const [name, a] of Object.entries(arrays)) out[name] = { dtype: 'float32', shape: a.shape, data: a.data }
  return out
}

function trainingRecord(n: number, o: TrainOptions): TrainingRecord {
  return {
    at: new Date().toISOString(),
    vectors: n,
    seed: o.seed ?? null,
    iterations: o.iterations ?? null,
    tolerance: o.tolerance ?? null,
    init: o.init ?? null,
    maxPointsPerCentroid: o.maxPointsPerCentroid ?? null,
  }
}

/**
 * Creates the keyword index on field (nothing when it exists on that field; UNSUPPORTED on
 * another). The check runs in the write's turn, so two calls racing on one handle cannot
 * both create it.
 */
export async function createTextIndex(state: IndexState, field: string): Promise<void> {
  checkTextField(field)
  const existing = (): boolean => {
    const have = state.store.textField
    if (have === field) return true
    if (have !== null) throw new VqStateError('UNSUPPORTED', `this index already has a text index on "${have}"`)
    return false
  }
  if (existing()) return
  await state.write(
    'creating the text index',
    () => undefined,
    () => {
      if (existing()) return
      state.commit('creating the text index', (m) => {
        state.store.createTextIndex(field)
        return m
      })
    },
  )
}

/**
 * Commits a copy of another index's trained model (its exported arrays) into this empty,
 * untrained index of the same composition: a shard or a fresh index that must encode
 * exactly as the source does. NOT_EMPTY when items arrived meanwhile.
 */
export function adoptModel(state: IndexState, arrays: Record<string, TrainedArray>, record: TrainingRecord | undefined): Promise<void> {
  return state.write(
    'saving the trained model',
    () => {
      const model = state.newModel()
      model.loadArrays(arrays)
      return model
    },
    (model) => {
      if (state.lists.count > 0) throw new VqStateError('NOT_EMPTY', 'vectors were added before the model was copied')
      commitTrainedModel(state, model, record)
    },
  )
}

/**
 * Commits a trained model into the empty index (its arrays, trained, the training record
 * when known, a new codes generation) and installs it with empty lists (train, adoptModel).
 */
function commitTrainedModel(state: IndexState, model: IndexModel, record: TrainingRecord | undefined): void {
  const lists = state.emptyLists(model)
  const searcher = state.newSearcher(model)
  state.commit('saving the trained model', (m) => {
    state.store.writeArrays(storedArrays(model.exportArrays()))
    return { ...m, trained: true, ...(record ? { training: record } : {}), codesGeneration: m.codesGeneration + 1 }
  })
  state.setModel(model, lists, searcher)
}
