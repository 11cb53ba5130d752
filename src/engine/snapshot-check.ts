/**
 * What an imported snapshot must be, record by record, before any of it is written: the
 * checks `add` makes on its input (ids, metadata, finite vectors within range) and those
 * `open` makes on a file (manifest, trained arrays the model accepts, code and vector
 * sizes, list numbers, the text field), plus what the records must agree on (unique ids,
 * seqs increasing and below the manifest's nextSeq, counts). Every refusal is
 * VqFormatError('CORRUPT_FILE') naming the snapshot, the record and the field.
 */

import type { Kernels } from '../../native-free-kernels/index.js'
import { VqError, VqFormatError } from '../errors.js'
import { normalizeIndexSpec } from '../factory/parse.js'
import { MAX_DIM, MAX_ID, MAX_NAME_LENGTH, MAX_SQUARED_NORM } from '../limits.js'
import { checkManifest, type Manifest } from '../manifest.js'
import { checkStoredMetadata } from '../metadata.js'
import { IndexModel } from '../search/model.js'
import type { StoredArray } from '../storage/meta.js'
import type { SnapshotItems } from '../storage/snapshot.js'
import { keyProblem, showKey } from './ids.js'
import { checkTextField } from './keywords.js'
import { vectorBytes } from './vector-codec.js'

/** Fewest snapshot bytes one item takes (seq, id and list; its code and vector come on top). */
const MIN_ITEM_BYTES = 8 + 8 + 4
/** In-memory seqs are 32-bit (InvertedLists, loadCodes). */
const MAX_SEQ = 0xffff_ffff

/** Checks a snapshot's records in order; holds what later records must agree with. */
export class SnapshotChecker {
  readonly #path: string
  readonly #kernels: Kernels
  manifest: Manifest | undefined
  model: IndexModel | undefined
  /** Code bytes per item (code + refine code). */
  codeBytes = 0
  /** Stored vector bytes per item (0 without stored vectors). */
  vectorBytes = 0
  #seen = 0
  #lastSeq = 0
  readonly #ids = new Set<number>()
  readonly #keys = new Set<string>()

  constructor(path: string, kernels: Kernels) {
    this.#path = path
    this.#kernels = kernels
  }

  #bad(record: number, what: string, cause?: unknown): never {
    throw new VqFormatError('CORRUPT_FILE', `${this.#path}: record ${record} of the snapshot is damaged (${what})`, { cause })
  }

  /** The header (record 0): manifest, properties, text field; the item count bounded by the file size. */
  header(
    m: unknown,
    properties: Record<string, unknown>,
    textField: string | null,
    info: { version: number; fileBytes: number },
  ): Manifest {
    let manifest: Manifest
    try {
      manifest = checkManifest(m, `${this.#path} (snapshot header)`)
    } catch (e) {
      if (e instanceof VqError && e.code === 'UNSUPPORTED') throw e
      return this.#bad(0, `manifest: ${(e as Error).message}`, e)
    }
    if (manifest.dim > MAX_DIM) this.#bad(0, `manifest: dim ${manifest.dim} exceeds ${MAX_DIM}`)
    let model: IndexModel
    try {
      model = new IndexModel(normalizeIndexSpec(manifest.spec, manifest.dim), manifest.dim, manifest.metric, this.#kernels)
    } catch (e) {
      return this.#bad(0, `manifest: its index spec is not one this vqlite builds (${(e as Error).message})`, e)
    }
    this.codeBytes = model.codeSize + model.refineSize
    this.vectorBytes = vectorBytes(manifest.storeVectors, manifest.dim)
    const { count, nextSeq } = manifest
    if (count < 0) this.#bad(0, `manifest: count ${count}`)
    if (nextSeq < 1 || nextSeq - 1 > MAX_SEQ) this.#bad(0, `manifest: nextSeq ${nextSeq} outside 1..${MAX_SEQ + 1}`)
    if (count > nextSeq - 1) this.#bad(0, `manifest: count ${count} but only ${nextSeq - 1} seqs were ever handed out (nextSeq ${nextSeq})`)
    const most = Math.floor(info.fileBytes / (MIN_ITEM_BYTES + this.codeBytes + this.vectorBytes))
    if (count > most) {
      const why = `the manifest declares ${count} items, but a snapshot of ${info.fileBytes} bytes holds at most ${most}`
      // A version-2 header passed its check: its count is what was exported, so the file was cut.
      if (info.version >= 2) throw new VqFormatError('TRUNCATED_FILE', `${this.#path}: the snapshot is truncated (${why})`)
      this.#bad(0, `manifest: ${why}`)
    }
    if (!manifest.trained && count > 0 && !model.isTrained) this.#bad(0, `manifest: ${count} items in an untrained index`)
    for (const name of Object.keys(properties)) {
      if (name.length === 0 || name.length > MAX_NAME_LENGTH)
        this.#bad(0, `properties: a name of ${name.length} characters (1..${MAX_NAME_LENGTH})`)
    }
    if (textField !== null) {
      try {
        checkTextField(textField)
      } catch (e) {
        this.#bad(0, `textField: ${(e as Error).message}`, e)
      }
    }
    this.manifest = manifest
    this.model = model
    return manifest
  }

  /** The trained arrays (record 1): exactly the arrays the model has, of its shapes, which it accepts. */
  arrays(arrays: Readonly<Record<string, StoredArray>>): void {
    const m = this.manifest!
    const names = Object.keys(arrays)
    if (!m.trained) {
      if (names.length > 0) this.#bad(1, `arrays: an untrained index with trained arrays (${names.join(', ')})`)
      return
    }
    try {
      this.model!.loadArrays(arrays)
    } catch (e) {
      this.#bad(1, `arrays: the model refuses them (${(e as Error).message})`, e)
    }
    const expected = this.model!.exportArrays()
    for (const name of names) if (!(name in expected)) this.#bad(1, `arrays: unexpected array ${JSON.stringify(name)}`)
    for (const [name, a] of Object.entries(expected)) {
      const got = arrays[name]
      if (!got) this.#bad(1, `arrays: missing array ${JSON.stringify(name)}`)
      if (got.shape.length !== a.shape.length || got.shape.some((s, i) => s !== a.shape[i]))
        this.#bad(1, `arrays: ${name} has shape [${got.shape.join(', ')}], the model's is [${a.shape.join(', ')}]`)
    }
  }

  /** One items record: sizes, seqs, ids, lists, vectors and metadata, as add and open would check them. */
  items(b: SnapshotItems, record: number): void {
    const m = this.manifest!
    const model = this.model!
    const n = b.ids.length
    if (this.#seen + n > m.count) this.#bad(record, `items: more than the manifest's count of ${m.count}`)
    if (m.count > 0 && !model.isTrained) this.#bad(record, 'items: items in an untrained index')
    if (b.codes.length !== n * this.codeBytes)
      this.#bad(record, `codes: ${b.codes.length} bytes for ${n} items of ${this.codeBytes} bytes (the manifest's ${m.description})`)
    if (this.vectorBytes === 0) {
      if (b.vectors !== null) this.#bad(record, `vectors: present, but the manifest stores none (storeVectors ${m.storeVectors})`)
    } else if (b.vectors === null || b.vectors.length !== n * this.vectorBytes) {
      this.#bad(
        record,
        `vectors: ${b.vectors?.length ?? 'no'} bytes for ${n} ${m.storeVectors} vectors of dim ${m.dim} (${this.vectorBytes} bytes each)`,
      )
    }
    const stringIds = m.ids === 'string'
    if (stringIds !== (b.keys !== undefined))
      this.#bad(record, stringIds ? 'items: no string ids, but the manifest has ids: "string"' : 'items: string ids in an integer-id index')
    const nlist = model.coarse.nlist
    for (let i = 0; i < n; i++) {
      if (b.keys !== undefined) {
        const key = b.keys[i]!
        const why = keyProblem(key)
        if (why !== undefined) this.#bad(record, `item ${i}: string id ${showKey(key)} ${why}`)
        if (this.#keys.has(key)) this.#bad(record, `item ${i}: string id ${showKey(key)} appears twice`)
        this.#keys.add(key)
      }
      const id = b.ids[i]!
      const seq = b.seqs[i]!
      const at = `item ${i}`
      if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) this.#bad(record, `${at}: id ${id} is not a non-negative safe integer`)
      if (this.#ids.has(id)) this.#bad(record, `${at}: id ${id} appears twice`)
      this.#ids.add(id)
      if (!Number.isSafeInteger(seq) || seq <= this.#lastSeq)
        this.#bad(record, `${at} (id ${id}): seq ${seq} does not follow the previous seq ${this.#lastSeq}`)
      if (seq >= m.nextSeq) this.#bad(record, `${at} (id ${id}): seq ${seq} is not below the manifest's nextSeq ${m.nextSeq}`)
      this.#lastSeq = seq
      const l = b.lists[i]!
      if (l < 0 || l >= nlist) this.#bad(record, `${at} (id ${id}): list ${l} outside 0..${nlist - 1}`)
      try {
        checkStoredMetadata(b.metadata[i], `${this.#path}: record ${record} ${at} (id ${id})`)
      } catch (e) {
        this.#bad(record, `${at} (id ${id}): metadata: ${(e as Error).message}`, e)
      }
    }
    if (b.vectors !== null) this.#vectors(b, record)
    this.#seen += n
  }

  /** Stored vectors: finite, within MAX_SQUARED_NORM (what add refuses). */
  #vectors(b: SnapshotItems, record: number): void {
    const m = this.manifest!
    const d = m.dim
    const v = b.vectors!
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength)
    for (let i = 0; i < b.ids.length; i++) {
      let norm = 0
      for (let t = 0; t < d; t++) {
        let x: number
        if (m.storeVectors === 'float32') x = dv.getFloat32((i * d + t) * 4, true)
        else {
          const h = dv.getUint16((i * d + t) * 2, true)
          if ((h & 0x7c00) === 0x7c00) x = Number.NaN
          else x = halfValue(h)
        }
        if (!Number.isFinite(x)) this.#bad(record, `item ${i} (id ${b.ids[i]}): vector component ${t} is ${x}`)
        norm += x * x
      }
      if (norm > MAX_SQUARED_NORM) this.#bad(record, `item ${i} (id ${b.ids[i]}): vector squared norm ${norm} exceeds ${MAX_SQUARED_NORM}`)
    }
  }

  /** The end record: every item the manifest counts was seen. */
  end(count: number, record: number): void {
    const m = this.manifest!
    if (count !== m.count || this.#seen !== m.count)
      this.#bad(record, `end: ${this.#seen} items seen, the end record declares ${count}, the manifest ${m.count}`)
  }
}

/** The value of a finite IEEE half float. */
function halfValue(h: number): number {
  const e = (h >> 10) & 31
  const f = h & 1023
  const s = h & 0x8000 ? -1 : 1
  return e === 0 ? s * f * 2 ** -24 : s * (1 + f / 1024) * 2 ** (e - 15)
}
