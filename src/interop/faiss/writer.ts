/**
 * Writes a FaissIndex as FAISS writes its own objects (faiss/impl/index_write.cpp; layout in
 * reader.ts): IxF2 / IxFI, IxPq, IxSQ, IwFl, IwPQ, IwSq (with its by_residual flag), an
 * IndexPreTransform (IxPT) with one LTra matrix for OPQ, and an IndexIDMap (IxMp) around a
 * non-IVF index whose ids are not its positions 0..n-1, and an IndexRefineFlat (IxRF: the
 * index, then an IndexFlat of the full vectors, then k_factor) for RFlat. Inverted lists are
 * ArrayInvertedLists ("ilar") with the "full" list-size encoding; IVF lists hold the ids
 * themselves. The coarse quantizer is an IndexFlatL2 / IndexFlatIP of the centroids.
 */
import { ByteWriter } from './binary.js'
import { type FaissIndex, METRIC_INNER_PRODUCT } from './format.js'

/** The bytes of a FAISS index file holding f. */
export function writeFaiss(f: FaissIndex): Uint8Array {
  const w = new ByteWriter()
  const n = f.ids.length
  let sequential = true
  for (let i = 0; i < n && sequential; i++) sequential = f.ids[i] === i
  // An IndexRefine finds its refine vectors by the base's labels: the base (IVF lists too)
  // then labels items by position, and an IDMap outside holds the ids.
  const body = (): void => (f.refine ? refined(w, f) : outer(w, f))
  if (((f.refine && !isPermutation(f.ids)) || (!f.refine && !f.ivf)) && !sequential) {
    w.fourcc('IxMp')
    header(w, f.d, n, f.metric)
    body()
    w.int64Vector(f.ids)
  } else body()
  return w.result()
}

/**
 * IndexRefineFlat: the base, an IndexFlat of the vectors, k_factor. The base labels each
 * item by the row of its vector in the IndexFlat: its id when the ids are 0..n-1 in some
 * order (the rows then go by id), else its position (and an IDMap outside holds the ids).
 */
function refined(w: ByteWriter, f: FaissIndex): void {
  const n = f.ids.length
  const d = f.d
  const byId = isPermutation(f.ids)
  const labels = new Float64Array(n)
  const rows = new Float32Array(n * d)
  const v = f.refine!.vectors
  for (let i = 0; i < n; i++) {
    const row = byId ? f.ids[i]! : i
    labels[i] = row
    rows.set(v.subarray(i * d, (i + 1) * d), row * d)
  }
  w.fourcc('IxRF')
  header(w, d, n, f.metric)
  outer(w, { ...f, ids: labels, refine: null })
  w.fourcc(flatFourcc(f.metric))
  header(w, d, n, f.metric)
  w.i64(n * d)
  w.floats(rows)
  w.f32(f.refine!.kFactor)
}

/** True when ids holds each of 0..n-1 once. */
function isPermutation(ids: Float64Array): boolean {
  const seen = new Uint8Array(ids.length)
  for (const id of ids) {
    if (!(id >= 0 && id < ids.length) || seen[id] === 1) return false
    seen[id] = 1
  }
  return true
}

/** Index header: d, ntotal, two unused int64 (FAISS writes 2^20), is_trained, metric_type. */
function header(w: ByteWriter, d: number, ntotal: number, metric: number): void {
  w.i32(d)
  w.i64(ntotal)
  w.i64(1 << 20)
  w.i64(1 << 20)
  w.bool(true)
  w.i32(metric)
}

function outer(w: ByteWriter, f: FaissIndex): void {
  const n = f.ids.length
  if (!f.transform) {
    base(w, f, f.d)
    return
  }
  const t = f.transform
  w.fourcc('IxPT')
  header(w, f.d, n, f.metric)
  w.i32(1)
  w.fourcc('LTra')
  w.bool(false)
  w.floatVector(t.A)
  w.floatVector(new Float32Array(0))
  w.i32(t.dIn)
  w.i32(t.dOut)
  w.bool(true)
  base(w, f, t.dOut)
}

function flatFourcc(metric: number): string {
  return metric === METRIC_INNER_PRODUCT ? 'IxFI' : 'IxF2'
}

/** The codec's index, of dimension d (after the transform). */
function base(w: ByteWriter, f: FaissIndex, d: number): void {
  const n = f.ids.length
  const c = f.codec
  if (f.ivf) {
    ivf(w, f, d)
    return
  }
  if (c.kind === 'flat') {
    w.fourcc(flatFourcc(f.metric))
    header(w, d, n, f.metric)
    w.i64(n * d)
    w.bytes(f.codes)
  } else if (c.kind === 'pq') {
    w.fourcc('IxPq')
    header(w, d, n, f.metric)
    pq(w, d, c)
    w.byteVector(f.codes)
    w.i32(0) // search_type ST_PQ
    w.bool(false) // encode_signs
    w.i32(c.m * c.nbits + 1) // polysemous_ht (FAISS's default)
  } else {
    w.fourcc('IxSQ')
    header(w, d, n, f.metric)
    sq(w, d, f.codeSize, c)
    w.byteVector(f.codes)
  }
}

function pq(w: ByteWriter, d: number, c: Extract<FaissIndex['codec'], { kind: 'pq' }>): void {
  w.i64(d)
  w.i64(c.m)
  w.i64(c.nbits)
  w.floatVector(c.centroids)
}

function sq(w: ByteWriter, d: number, codeSize: number, c: Extract<FaissIndex['codec'], { kind: 'sq' }>): void {
  w.i32(c.qtype)
  w.i32(c.rangestat)
  w.f32(c.rangestatArg)
  w.i64(d)
  w.i64(codeSize)
  w.floatVector(c.trained)
}

function ivf(w: ByteWriter, f: FaissIndex, d: number): void {
  const iv = f.ivf!
  const c = f.codec
  w.fourcc(c.kind === 'flat' ? 'IwFl' : c.kind === 'pq' ? 'IwPQ' : 'IwSq')
  header(w, d, f.ids.length, f.metric)
  w.i64(iv.nlist)
  w.i64(iv.nprobe)
  w.fourcc(flatFourcc(f.metric))
  header(w, d, iv.nlist, f.metric)
  w.i64(iv.nlist * d)
  w.floats(iv.centroids)
  w.u8(0) // direct map: none
  w.i64(0)
  if (c.kind === 'pq') {
    w.bool(iv.byResidual)
    w.i64(f.codeSize)
    pq(w, d, c)
  } else if (c.kind === 'sq') {
    sq(w, d, f.codeSize, c)
    w.i64(f.codeSize)
    w.bool(iv.byResidual)
  }
  lists(w, f)
}

/** ArrayInvertedLists, "full" sizes, then per non-empty list its codes and ids. */
function lists(w: ByteWriter, f: FaissIndex): void {
  const nlist = f.ivf!.nlist
  const cs = f.codeSize
  const n = f.ids.length
  const sizes = new Float64Array(nlist)
  for (let i = 0; i < n; i++) sizes[f.lists[i]!]!++
  const members: number[][] = Array.from({ length: nlist }, () => [])
  for (let i = 0; i < n; i++) members[f.lists[i]!]!.push(i)
  w.fourcc('ilar')
  w.i64(nlist)
  w.i64(cs)
  w.fourcc('full')
  w.int64Vector(sizes)
  for (let l = 0; l < nlist; l++) {
    const m = members[l]!
    if (m.length === 0) continue
    for (const i of m) w.bytes(f.codes.subarray(i * cs, (i + 1) * cs))
    for (const i of m) w.i64(f.ids[i]!)
  }
}
