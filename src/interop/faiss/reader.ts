/**
 * Reads a FAISS index file (the layout of faiss/impl/index_read.cpp, FAISS 1.x) of one of
 * the supported types into a FaissIndex:
 *
 *   IxF2 / IxFI / IxFl  IndexFlatL2 / IndexFlatIP / IndexFlat
 *   IxPq                IndexPQ
 *   IxSQ                IndexScalarQuantizer (QT_8bit, QT_4bit, their _uniform forms, QT_fp16, QT_8bit_direct)
 *   IwFl                IndexIVFFlat
 *   IwPQ / IvPQ         IndexIVFPQ (IvPQ: the older form, ids in the IVF header)
 *   IwSq / IwSQ         IndexIVFScalarQuantizer (IwSQ: the older form, always by residual)
 *   IwPf                IndexIVFPQFastScan (block-packed 4-bit codes, unpacked here)
 *   IxPT                IndexPreTransform with one LTra / rrot matrix (OPQ) in front of a PQ index
 *   IxRF                IndexRefineFlat: one of these re-ranked on an IndexFlat of the full vectors
 *   IxMp / IxM2         IndexIDMap / IndexIDMap2 around any of these
 *
 * Layout (little-endian): each object starts with its fourcc. The index header is
 * d (int32), ntotal (int64), two unused int64, is_trained (bool byte), metric_type (int32)
 * and, for metrics above L2, metric_arg (float32). An IVF header follows it with nlist and
 * nprobe (size_t), the coarse quantizer (an index, here an IndexFlat), then the direct map
 * (type byte, vector of int64, and for a hashtable a vector of int64 pairs). Inverted lists
 * ("ilar") are nlist and code_size (size_t), a list-size encoding ("full": nlist sizes;
 * "sprs": (list, size) pairs of the non-empty lists), then per non-empty list its codes and
 * its int64 ids; fast-scan lists ("ilbl") are nlist, code_size, n_per_block, block_size, then
 * per list a vector of ids and a vector of packed blocks.
 *
 * Any other fourcc, metric, qtype or transform is refused (UNSUPPORTED_FAISS_INDEX, naming
 * it); a file that ends early is TRUNCATED_FILE and one whose values contradict each other
 * CORRUPT_FILE. Every length read from the file is checked against the bytes left before
 * anything is allocated for it.
 */
import { VqFormatError } from '../../errors.js'
import { ByteReader, fourccName } from './binary.js'
import {
  type FaissCodec,
  type FaissIndex,
  METRIC_INNER_PRODUCT,
  METRIC_L2,
  QT_8BIT_DIRECT,
  QT_FP16,
  QTYPE_NAMES,
  sqCodeSize,
  unsupported,
} from './format.js'

/** Objects nested deeper than this are refused (a hostile file could nest without end). */
const MAX_DEPTH = 8

/** The fourccs read, with what each is. */
const SUPPORTED =
  'IxF2, IxFI, IxFl, IxPq, IxSQ, IwFl, IwPQ, IvPQ, IwSq, IwSQ, IwPf, IxPT (LTra/rrot before a PQ index), IxRF (on an IndexFlat), IxMp, IxM2'

interface Header {
  readonly d: number
  readonly ntotal: number
  readonly trained: boolean
  readonly metric: number
}

/** Parses the bytes of a FAISS index file (file: its name, for messages). */
export function readFaiss(bytes: Uint8Array, file: string): FaissIndex {
  const r = new ByteReader(bytes, file)
  const ix = readIndex(r, file, 0)
  if (r.remaining !== 0) throw r.corrupt(`${r.remaining} bytes follow the end of the index`)
  return ix
}

function readHeader(r: ByteReader, file: string, h: string): Header {
  const d = r.i32(`${h} d`)
  if (d < 1 || d > 1 << 20) throw r.corrupt(`${h}: dimension d = ${d}`)
  const ntotal = r.i64(`${h} ntotal`)
  if (ntotal < 0) throw r.corrupt(`${h}: ntotal = ${ntotal}`)
  r.i64(`${h} (unused)`)
  r.i64(`${h} (unused)`)
  const trained = r.bool(`${h} is_trained`)
  const metric = r.i32(`${h} metric_type`)
  if (metric !== METRIC_L2 && metric !== METRIC_INNER_PRODUCT) {
    if (metric > 1) r.f32(`${h} metric_arg`)
    throw unsupported(file, h, `metric_type ${metric} (vqlite reads METRIC_L2 = 1 and METRIC_INNER_PRODUCT = 0)`)
  }
  return { d, ntotal, trained, metric }
}

function requireTrained(file: string, h: string, hd: Header): void {
  if (!hd.trained) throw unsupported(file, h, 'the index is not trained (train it in FAISS first)')
}

/** A plain (non-IVF) index's items: list 0, labels 0..n-1. */
function sequential(n: number): { lists: Int32Array; ids: Float64Array } {
  const ids = new Float64Array(n)
  for (let i = 0; i < n; i++) ids[i] = i
  return { lists: new Int32Array(n), ids }
}

function readPq(r: ByteReader, file: string, h: string, d: number): Extract<FaissCodec, { kind: 'pq' }> {
  const pd = r.size(`${h} pq.d`)
  const m = r.size(`${h} pq.M`)
  const nbits = r.size(`${h} pq.nbits`)
  if (pd !== d) throw r.corrupt(`${h}: the product quantizer's d = ${pd} is not the index's d = ${d}`)
  if (m < 1 || d % m !== 0) throw r.corrupt(`${h}: pq.M = ${m} does not divide d = ${d}`)
  if (nbits < 1 || nbits > 24) throw r.corrupt(`${h}: pq.nbits = ${nbits}`)
  if (nbits > 8) throw unsupported(file, h, `pq.nbits = ${nbits} (vqlite's PQ has 1 to 8 bits per sub-code)`)
  const centroids = r.floatVector(`${h} pq.centroids`)
  if (centroids.length !== d * (1 << nbits)) {
    throw r.corrupt(`${h}: pq.centroids holds ${centroids.length} floats, not d * 2^nbits = ${d * (1 << nbits)}`)
  }
  return { kind: 'pq', m, nbits, centroids }
}

function pqCodeSize(m: number, nbits: number): number {
  return Math.ceil((m * nbits) / 8)
}

function readSq(r: ByteReader, file: string, h: string, d: number): { codec: Extract<FaissCodec, { kind: 'sq' }>; codeSize: number } {
  const qtype = r.i32(`${h} sq.qtype`)
  const rangestat = r.i32(`${h} sq.rangestat`)
  const rangestatArg = r.f32(`${h} sq.rangestat_arg`)
  const sd = r.size(`${h} sq.d`)
  const codeSize = r.size(`${h} sq.code_size`)
  const cs = sqCodeSize(qtype, d)
  if (cs < 0) {
    const name = QTYPE_NAMES[qtype] ?? `qtype ${qtype}`
    throw unsupported(file, h, `scalar quantizer ${name} (vqlite reads QT_8bit, QT_4bit, their _uniform forms, QT_fp16 and QT_8bit_direct)`)
  }
  if (sd !== d) throw r.corrupt(`${h}: the scalar quantizer's d = ${sd} is not the index's d = ${d}`)
  if (codeSize !== cs) throw r.corrupt(`${h}: sq.code_size = ${codeSize}, but ${QTYPE_NAMES[qtype]} over d = ${d} has ${cs}`)
  const trained = r.floatVector(`${h} sq.trained`)
  const want = qtype === QT_FP16 || qtype === QT_8BIT_DIRECT ? 0 : qtype <= 1 ? 2 * d : 2
  if (trained.length !== want) throw r.corrupt(`${h}: sq.trained holds ${trained.length} floats, ${QTYPE_NAMES[qtype]} has ${want}`)
  return { codec: { kind: 'sq', qtype, rangestat, rangestatArg, trained }, codeSize }
}

/** The coarse quantizer of an IVF index: an IndexFlat of nlist vectors of dimension d. */
function readCoarse(r: ByteReader, file: string, h: string, hd: Header, nlist: number, depth: number): Float32Array {
  const q = readIndex(r, file, depth + 1)
  const qh = q.fourccs[0]!
  if (q.codec.kind !== 'flat' || q.ivf || q.transform || q.fourccs.length !== 1) {
    throw unsupported(file, h, `coarse quantizer ${q.fourccs.join('/')} (vqlite reads an IndexFlat coarse quantizer)`)
  }
  if (q.d !== hd.d) throw r.corrupt(`${h}: the coarse quantizer's d = ${q.d} is not the index's d = ${hd.d}`)
  if (q.ids.length !== nlist) throw r.corrupt(`${h}: the coarse quantizer holds ${q.ids.length} centroids for nlist = ${nlist}`)
  if (q.metric !== hd.metric) {
    throw unsupported(
      file,
      h,
      `its coarse quantizer (${qh}) uses another metric than the index (vqlite probes lists by the index's metric)`,
    )
  }
  return new Float32Array(q.codes.buffer, q.codes.byteOffset, q.codes.byteLength / 4).slice()
}

interface IvfHeader {
  readonly hd: Header
  readonly nlist: number
  readonly nprobe: number
  readonly centroids: Float32Array
}

/** The IVF header; with legacyIds (the older "Iv" forms), the ids of each list stored after the coarse quantizer, in `ids`. */
function readIvfHeader(r: ByteReader, file: string, h: string, depth: number, legacyIds?: Float64Array[]): IvfHeader {
  const hd = readHeader(r, file, h)
  const nlist = r.size(`${h} nlist`)
  if (nlist < 1 || nlist > 1 << 20) throw unsupported(file, h, `nlist = ${nlist} (vqlite's IVF has 1 to ${1 << 20} lists)`)
  const nprobe = r.size(`${h} nprobe`)
  const centroids = readCoarse(r, file, h, hd, nlist, depth)
  if (legacyIds) for (let l = 0; l < nlist; l++) legacyIds.push(r.int64Vector(`${h} ids of list ${l}`, true))
  const mapType = r.u8(`${h} direct_map type`)
  if (mapType > 2) throw r.corrupt(`${h}: direct_map type ${mapType}`)
  r.skipVector(8, `${h} direct_map array`)
  if (mapType === 2) r.skipVector(16, `${h} direct_map hashtable`)
  requireTrained(file, h, hd)
  return { hd, nlist, nprobe, centroids }
}

/** Items of inverted lists: list, id and code of each, in list order. */
interface ListItems {
  readonly lists: Int32Array
  readonly ids: Float64Array
  readonly codes: Uint8Array
}

/** Reads "ilar" inverted lists of nlist lists of codeSize-byte codes. */
function readArrayLists(r: ByteReader, file: string, h: string, nlist: number, codeSize: number, ntotal: number): ListItems {
  const il = fourccName(r.u32(`${h} inverted lists fourcc`))
  if (il !== 'ilar') {
    throw unsupported(file, h, `inverted lists "${il}" (vqlite reads ArrayInvertedLists, "ilar", stored with the index)`)
  }
  const n2 = r.size(`${h} invlists nlist`)
  const cs = r.size(`${h} invlists code_size`)
  if (n2 !== nlist) throw r.corrupt(`${h}: the inverted lists have nlist = ${n2}, the index ${nlist}`)
  if (cs !== codeSize) throw r.corrupt(`${h}: the inverted lists' code_size = ${cs}, the codec's is ${codeSize}`)
  const kind = fourccName(r.u32(`${h} list size encoding`))
  const sizes = new Float64Array(nlist)
  if (kind === 'full') {
    const s = r.sizeVector(`${h} list sizes`)
    if (s.length !== nlist) throw r.corrupt(`${h}: ${s.length} list sizes for nlist = ${nlist}`)
    sizes.set(s)
  } else if (kind === 'sprs') {
    const s = r.sizeVector(`${h} sparse list sizes`)
    if (s.length % 2 !== 0) throw r.corrupt(`${h}: sparse list sizes of odd length ${s.length}`)
    for (let j = 0; j < s.length; j += 2) {
      if (s[j]! >= nlist) throw r.corrupt(`${h}: sparse list sizes name list ${s[j]}, past nlist = ${nlist}`)
      sizes[s[j]!] = s[j + 1]!
    }
  } else {
    throw r.corrupt(`${h}: list size encoding "${kind}" (FAISS writes "full" or "sprs")`)
  }
  let total = 0
  for (let l = 0; l < nlist; l++) total += sizes[l]!
  if (total !== ntotal) throw r.corrupt(`${h}: the inverted lists hold ${total} items, ntotal is ${ntotal}`)
  if (total * (codeSize + 8) > r.remaining) {
    throw new VqFormatError(
      'TRUNCATED_FILE',
      `${file}: truncated or damaged FAISS index file: ${h}'s inverted lists need ${total * (codeSize + 8)} bytes, only ${r.remaining} left`,
    )
  }
  const out = { lists: new Int32Array(total), ids: new Float64Array(total), codes: new Uint8Array(total * codeSize) }
  let at = 0
  for (let l = 0; l < nlist; l++) {
    const n = sizes[l]!
    if (n === 0) continue
    out.codes.set(r.bytes(n * codeSize, `${h} codes of list ${l}`), at * codeSize)
    out.ids.set(r.int64s(n, `${h} ids of list ${l}`, true), at)
    out.lists.fill(l, at, at + n)
    at += n
  }
  return out
}

/**
 * Reads "ilbl" fast-scan lists of 4-bit PQ codes (m sub-codes, bbs vectors per block) and
 * unpacks them to the flat layout (sub-code 2i in the low nibble of byte i). The packing
 * (faiss/impl/fast_scan: pq4_pack_codes): a block of bbs vectors holds, for each pair of
 * sub-quantizers (2p, 2p+1), bbs bytes in groups of 32 vectors; in a group, byte j (j < 16)
 * holds sub-code 2p of vector perm(j) in its low nibble and of vector perm(j) + 16 in its
 * high nibble, and byte 16 + j the same for sub-code 2p+1, with perm = 0, 8, 1, 9, ..., 7, 15.
 */
function readBlockLists(r: ByteReader, file: string, h: string, nlist: number, m: number, bbs: number, ntotal: number): ListItems {
  const il = fourccName(r.u32(`${h} inverted lists fourcc`))
  if (il !== 'ilbl') throw unsupported(file, h, `inverted lists "${il}" (a fast-scan index keeps BlockInvertedLists, "ilbl")`)
  const n2 = r.size(`${h} invlists nlist`)
  r.i64(`${h} invlists code_size`, true) // INVALID_CODE_SIZE (-1) for block lists
  const perBlock = r.size(`${h} invlists n_per_block`)
  const blockSize = r.size(`${h} invlists block_size`)
  if (n2 !== nlist) throw r.corrupt(`${h}: the inverted lists have nlist = ${n2}, the index ${nlist}`)
  const pairs = (m + 1) >>> 1
  if (perBlock !== bbs || blockSize !== pairs * bbs) {
    throw r.corrupt(`${h}: blocks of ${perBlock} vectors, ${blockSize} bytes; bbs = ${bbs} and M = ${m} give ${bbs} and ${pairs * bbs}`)
  }
  const cs = pairs
  const parts: { ids: Float64Array; codes: Uint8Array }[] = []
  let total = 0
  for (let l = 0; l < nlist; l++) {
    const ids = r.int64Vector(`${h} ids of list ${l}`, true)
    const packed = r.byteVector(`${h} codes of list ${l}`)
    const n = ids.length
    if (packed.length !== Math.ceil(n / bbs) * blockSize) {
      throw r.corrupt(`${h}: list ${l} of ${n} vectors holds ${packed.length} bytes of blocks, not ${Math.ceil(n / bbs) * blockSize}`)
    }
    const codes = new Uint8Array(n * cs)
    for (let i = 0; i < n; i++) {
      const block = Math.floor(i / bbs) * blockSize
      const v = i % bbs
      const group = v & ~31
      const w = v & 31
      const lane = w & 15
      const pos = lane < 8 ? 2 * lane : 2 * (lane - 8) + 1
      const shift = w >= 16 ? 4 : 0
      for (let j = 0; j < m; j++) {
        const byte = block + (j >>> 1) * bbs + group + (j & 1) * 16 + pos
        const c = (packed[byte]! >>> shift) & 15
        codes[i * cs + (j >>> 1)] = codes[i * cs + (j >>> 1)]! | (c << ((j & 1) * 4))
      }
    }
    parts.push({ ids, codes })
    total += n
  }
  if (total !== ntotal) throw r.corrupt(`${h}: the inverted lists hold ${total} items, ntotal is ${ntotal}`)
  const out = { lists: new Int32Array(total), ids: new Float64Array(total), codes: new Uint8Array(total * cs) }
  let at = 0
  parts.forEach((p, l) => {
    out.ids.set(p.ids, at)
    out.codes.set(p.codes, at * cs)
    out.lists.fill(l, at, at + p.ids.length)
    at += p.ids.length
  })
  return out
}

/** The code vector of a non-IVF index: ntotal codes of codeSize bytes (CORRUPT_FILE otherwise). */
function readCodes(r: ByteReader, h: string, ntotal: number, codeSize: number): Uint8Array {
  const codes = r.byteVector(`${h} codes`)
  if (codes.length !== ntotal * codeSize)
    throw r.corrupt(`${h}: ${codes.length} code bytes for ntotal = ${ntotal} codes of ${codeSize} bytes`)
  return codes
}

/** A non-IVF index of one codec, its items labelled 0..ntotal-1 (an IDMap around it relabels them). */
function unpartitioned(hd: Header, h: string, codec: FaissIndex['codec'], codeSize: number, codes: Uint8Array): FaissIndex {
  return {
    d: hd.d,
    metric: hd.metric,
    transform: null,
    ivf: null,
    refine: null,
    codec,
    codeSize,
    codes,
    ...sequential(hd.ntotal),
    fourccs: [h],
  }
}

function readIndex(r: ByteReader, file: string, depth: number): FaissIndex {
  if (depth > MAX_DEPTH) throw r.corrupt(`objects nested more than ${MAX_DEPTH} deep`)
  const h = fourccName(r.u32('index fourcc'))
  switch (h) {
    case 'IxF2':
    case 'IxFI':
    case 'IxFl': {
      const hd = readHeader(r, file, h)
      if ((h === 'IxF2' && hd.metric !== METRIC_L2) || (h === 'IxFI' && hd.metric !== METRIC_INNER_PRODUCT)) {
        throw r.corrupt(`${h}: metric_type ${hd.metric} does not fit the fourcc`)
      }
      const x = r.xbVector(`${h} vectors`)
      if (x.length !== hd.ntotal * hd.d) throw r.corrupt(`${h}: ${x.length} floats for ntotal = ${hd.ntotal}, d = ${hd.d}`)
      const codes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength)
      return unpartitioned(hd, h, { kind: 'flat' }, 4 * hd.d, codes)
    }
    case 'IxPq': {
      const hd = readHeader(r, file, h)
      const codec = readPq(r, file, h, hd.d)
      const codeSize = pqCodeSize(codec.m, codec.nbits)
      const codes = readCodes(r, h, hd.ntotal, codeSize)
      r.i32(`${h} search_type`)
      r.bool(`${h} encode_signs`)
      r.i32(`${h} polysemous_ht`)
      requireTrained(file, h, hd)
      return unpartitioned(hd, h, codec, codeSize, codes)
    }
    case 'IxSQ': {
      const hd = readHeader(r, file, h)
      const { codec, codeSize } = readSq(r, file, h, hd.d)
      const codes = readCodes(r, h, hd.ntotal, codeSize)
      requireTrained(file, h, hd)
      return unpartitioned(hd, h, codec, codeSize, codes)
    }
    case 'IwFl': {
      const iv = readIvfHeader(r, file, h, depth)
      const codeSize = 4 * iv.hd.d
      const items = readArrayLists(r, file, h, iv.nlist, codeSize, iv.hd.ntotal)
      const ivf = { nlist: iv.nlist, centroids: iv.centroids, byResidual: false, nprobe: iv.nprobe }
      return {
        d: iv.hd.d,
        metric: iv.hd.metric,
        transform: null,
        refine: null,
        ivf,
        codec: { kind: 'flat' },
        codeSize,
        ...items,
        fourccs: [h, 'IxF'],
      }
    }
    case 'IwSq':
    case 'IwSQ': {
      const iv = readIvfHeader(r, file, h, depth)
      const { codec, codeSize } = readSq(r, file, h, iv.hd.d)
      const cs = r.size(`${h} code_size`)
      if (cs !== codeSize) throw r.corrupt(`${h}: code_size = ${cs}, the scalar quantizer's is ${codeSize}`)
      const byResidual = h === 'IwSQ' ? true : r.bool(`${h} by_residual`)
      const items = readArrayLists(r, file, h, iv.nlist, codeSize, iv.hd.ntotal)
      const ivf = { nlist: iv.nlist, centroids: iv.centroids, byResidual, nprobe: iv.nprobe }
      return { d: iv.hd.d, metric: iv.hd.metric, transform: null, refine: null, ivf, codec, codeSize, ...items, fourccs: [h, 'IxF'] }
    }
    case 'IwPQ': {
      const iv = readIvfHeader(r, file, h, depth)
      const byResidual = r.bool(`${h} by_residual`)
      const cs = r.size(`${h} code_size`)
      const codec = readPq(r, file, h, iv.hd.d)
      const codeSize = pqCodeSize(codec.m, codec.nbits)
      if (cs !== codeSize) throw r.corrupt(`${h}: code_size = ${cs}, the product quantizer's is ${codeSize}`)
      const items = readArrayLists(r, file, h, iv.nlist, codeSize, iv.hd.ntotal)
      const ivf = { nlist: iv.nlist, centroids: iv.centroids, byResidual, nprobe: iv.nprobe }
      return { d: iv.hd.d, metric: iv.hd.metric, transform: null, refine: null, ivf, codec, codeSize, ...items, fourccs: [h, 'IxF'] }
    }
    case 'IvPQ': {
      // The older IndexIVFPQ form: each list's ids in the IVF header, its codes after the PQ.
      const idLists: Float64Array[] = []
      const iv = readIvfHeader(r, file, h, depth, idLists)
      const byResidual = r.bool(`${h} by_residual`)
      const cs = r.size(`${h} code_size`)
      const codec = readPq(r, file, h, iv.hd.d)
      const codeSize = pqCodeSize(codec.m, codec.nbits)
      if (cs !== codeSize) throw r.corrupt(`${h}: code_size = ${cs}, the product quantizer's is ${codeSize}`)
      let total = 0
      for (const ids of idLists) total += ids.length
      if (total !== iv.hd.ntotal) throw r.corrupt(`${h}: the lists hold ${total} ids, ntotal is ${iv.hd.ntotal}`)
      const items = { lists: new Int32Array(total), ids: new Float64Array(total), codes: new Uint8Array(total * codeSize) }
      let at = 0
      idLists.forEach((ids, l) => {
        const codes = r.byteVector(`${h} codes of list ${l}`)
        if (codes.length !== ids.length * codeSize) throw r.corrupt(`${h}: list ${l} has ${ids.length} ids and ${codes.length} code bytes`)
        items.ids.set(ids, at)
        items.codes.set(codes, at * codeSize)
        items.lists.fill(l, at, at + ids.length)
        at += ids.length
      })
      const ivf = { nlist: iv.nlist, centroids: iv.centroids, byResidual, nprobe: iv.nprobe }
      return { d: iv.hd.d, metric: iv.hd.metric, transform: null, refine: null, ivf, codec, codeSize, ...items, fourccs: [h, 'IxF'] }
    }
    case 'IwPf': {
      const iv = readIvfHeader(r, file, h, depth)
      const byResidual = r.bool(`${h} by_residual`)
      r.size(`${h} code_size`)
      const bbs = r.i32(`${h} bbs`)
      const m2 = r.size(`${h} M2`)
      r.i32(`${h} implem`)
      r.size(`${h} qbs2`)
      const codec = readPq(r, file, h, iv.hd.d)
      if (codec.nbits !== 4) throw r.corrupt(`${h}: a fast-scan PQ has 4-bit sub-codes, this one ${codec.nbits}`)
      if (bbs < 32 || bbs % 32 !== 0) throw r.corrupt(`${h}: bbs = ${bbs} (a multiple of 32)`)
      if (m2 !== codec.m + (codec.m & 1)) throw r.corrupt(`${h}: M2 = ${m2} for M = ${codec.m}`)
      const items = readBlockLists(r, file, h, iv.nlist, codec.m, bbs, iv.hd.ntotal)
      const ivf = { nlist: iv.nlist, centroids: iv.centroids, byResidual, nprobe: iv.nprobe }
      return {
        d: iv.hd.d,
        metric: iv.hd.metric,
        transform: null,
        refine: null,
        ivf,
        codec,
        codeSize: pqCodeSize(codec.m, 4),
        ...items,
        fourccs: [h, 'IxF'],
      }
    }
    case 'IxPT': {
      const hd = readHeader(r, file, h)
      const nt = r.i32(`${h} chain length`)
      if (nt !== 1) throw unsupported(file, h, `a chain of ${nt} transforms (vqlite reads one OPQ matrix, LTra or rrot)`)
      const t = fourccName(r.u32(`${h} transform fourcc`))
      if (t !== 'LTra' && t !== 'rrot') {
        throw unsupported(
          file,
          h,
          `transform ${t} (vqlite reads an OPQ matrix: LTra, or rrot; PCA, ITQ, normalisation and the others are refused)`,
        )
      }
      const haveBias = r.bool(`${h} ${t} have_bias`)
      const A = r.floatVector(`${h} ${t} A`)
      const b = r.floatVector(`${h} ${t} b`)
      const dIn = r.i32(`${h} ${t} d_in`)
      const dOut = r.i32(`${h} ${t} d_out`)
      const vtTrained = r.bool(`${h} ${t} is_trained`)
      if (dIn !== hd.d || dOut < 1 || A.length !== dIn * dOut) {
        throw r.corrupt(`${h}: ${t} maps ${dIn} -> ${dOut} dimensions with ${A.length} coefficients, for an index of d = ${hd.d}`)
      }
      if (haveBias && b.some((v) => v !== 0)) throw unsupported(file, h, `${t} with a bias (vqlite's OPQ stage is a rotation, y = R x)`)
      if (!vtTrained) throw unsupported(file, h, `${t} is not trained`)
      const inner = readIndex(r, file, depth + 1)
      if (inner.d !== dOut) throw r.corrupt(`${h}: ${t} gives ${dOut} dimensions, the index under it has d = ${inner.d}`)
      if (inner.transform) throw unsupported(file, h, 'nested IndexPreTransform')
      if (inner.refine) throw unsupported(file, h, 'an IndexRefine under the transform (vqlite re-ranks on the vectors as given)')
      if (inner.metric !== hd.metric) throw r.corrupt(`${h}: metric_type ${hd.metric}, the index under it ${inner.metric}`)
      if (inner.ids.length !== hd.ntotal) throw r.corrupt(`${h}: ntotal = ${hd.ntotal}, the index under it holds ${inner.ids.length}`)
      return { ...inner, d: hd.d, transform: { fourcc: t, dIn, dOut, A }, fourccs: [h, t, ...inner.fourccs] }
    }
    case 'IxRF': {
      const hd = readHeader(r, file, h)
      const base = readIndex(r, file, depth + 1)
      const flat = readIndex(r, file, depth + 1)
      const kFactor = r.f32(`${h} k_factor`)
      if (flat.codec.kind !== 'flat' || flat.ivf || flat.transform || flat.refine || flat.fourccs.length !== 1) {
        throw unsupported(file, h, `refine index ${flat.fourccs.join('/')} (vqlite re-ranks on an IndexFlat of the full vectors, RFlat)`)
      }
      if (base.refine) throw unsupported(file, h, 'nested IndexRefine')
      if (base.fourccs[0] === 'IxMp' || base.fourccs[0] === 'IxM2') throw unsupported(file, h, 'an IndexIDMap under the IndexRefine')
      const n = hd.ntotal
      if (
        base.ids.length !== n ||
        flat.ids.length !== n ||
        base.d !== hd.d ||
        flat.d !== hd.d ||
        base.metric !== hd.metric ||
        flat.metric !== hd.metric
      ) {
        throw r.corrupt(
          `${h}: ntotal = ${n}, d = ${hd.d}: the base holds ${base.ids.length} of d = ${base.d}, the refine index ${flat.ids.length} of d = ${flat.d}`,
        )
      }
      if (!(kFactor >= 1 && kFactor <= 1000)) throw r.corrupt(`${h}: k_factor = ${kFactor}`)
      const all = new Float32Array(flat.codes.buffer, flat.codes.byteOffset, n * hd.d)
      const vectors = new Float32Array(n * hd.d)
      for (let i = 0; i < n; i++) {
        const label = base.ids[i]!
        if (!(label >= 0 && label < n)) throw r.corrupt(`${h}: the base has label ${label}, outside the refine index's 0..${n - 1}`)
        vectors.set(all.subarray(label * hd.d, (label + 1) * hd.d), i * hd.d)
      }
      return { ...base, refine: { vectors, kFactor }, fourccs: [h, ...base.fourccs] }
    }
    case 'IxMp':
    case 'IxM2': {
      const hd = readHeader(r, file, h)
      const inner = readIndex(r, file, depth + 1)
      const map = r.int64Vector(`${h} id_map`, true)
      if (map.length !== hd.ntotal || inner.ids.length !== hd.ntotal) {
        throw r.corrupt(`${h}: ntotal = ${hd.ntotal}, id_map holds ${map.length}, the index under it ${inner.ids.length}`)
      }
      if (inner.d !== hd.d || inner.metric !== hd.metric) throw r.corrupt(`${h}: d or metric differ from the index under it`)
      if (inner.fourccs[0] === 'IxMp' || inner.fourccs[0] === 'IxM2') throw unsupported(file, h, 'nested IndexIDMap')
      const ids = new Float64Array(inner.ids.length)
      for (let i = 0; i < ids.length; i++) {
        const label = inner.ids[i]!
        if (!(label >= 0 && label < map.length))
          throw r.corrupt(`${h}: the index under it has label ${label}, outside id_map's 0..${map.length - 1}`)
        ids[i] = map[label]!
      }
      return { ...inner, ids, fourccs: [h, ...inner.fourccs] }
    }
    default:
      throw unsupported(file, h, `this index type is not read by vqlite (it reads ${SUPPORTED})`)
  }
}
