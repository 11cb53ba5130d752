/**
 * FAISS-style description strings <-> typed index specs. Stages are separated by commas
 * and read left to right:
 *
 *   description := [transform ","] [coarse ","] codec ["," refine]
 *   transform   := "OPQ" m ["_" dOut]          learned rotation (to dOut dimensions), before PQ
 *                | "Pad" dOut                  zero dimensions appended up to dOut (a PQ's m must divide it)
 *   coarse      := "IVF" nlist ["k"]           inverted file with nlist lists (IVF4k = 4096)
 *   codec       := "Flat" | "PQ" m ["x" nbits] | "SQ8" | "SQ4" | "SQfp16" | "RaBitQ" [nbits]
 *   refine      := "RFlat" | "RFlat(" codec ")" | "Refine(" codec ")"   re-rank on stored full vectors (narrowed by
 *                  an in-memory codec of the first stage's error), or on a second codec
 *
 * Examples: "PQ16", "IVF1024,PQ16", "OPQ16,IVF1024,PQ16", "IVF4096,PQ32x4", "IVF256,SQ4,RFlat",
 * "IVF4096,PQ16,Refine(SQ8)", "IVF1024,RaBitQ,RFlat", "RaBitQ4".
 *
 * "RaBitQfs" / "RaBitQfs{nbits}" (FAISS's names of its fast-scan RaBitQ indexes) parse as
 * the RaBitQ codec: vqlite picks its scan path itself. FAISS's batch-size suffix ("_64")
 * is not accepted.
 */
import { VqOptionError } from '../errors.js'
import type { CodecSpec, IndexSpec, RefineSpec } from '../types.js'

const CODEC_FORMS = 'Flat, PQ<m>, PQ<m>x<nbits>, SQ8, SQ4, SQfp16, RaBitQ, RaBitQ<nbits>'
const FORMS = `[OPQ<m>[_<d>],|Pad<d>,][IVF<nlist>,]<codec>[,RFlat|,RFlat(<codec>)|,Refine(<codec>)] with <codec> one of ${CODEC_FORMS}`

function bad(description: string, why: string): never {
  throw new VqOptionError('BAD_DESCRIPTION', `invalid index description "${description}": ${why}; expected ${FORMS}`)
}

/** Parses one codec stage ("PQ16", "SQ8", ...), or returns undefined. */
function parseCodec(s: string): CodecSpec | undefined {
  if (s === 'Flat') return { kind: 'flat' }
  if (s === 'SQ8') return { kind: 'sq8' }
  if (s === 'SQ4') return { kind: 'sq4' }
  if (s === 'SQfp16') return { kind: 'fp16' }
  const pq = /^PQ(\d+)(?:x(\d+))?$/.exec(s)
  if (pq) return { kind: 'pq', m: Number(pq[1]), nbits: pq[2] === undefined ? 8 : Number(pq[2]) }
  const rq = /^RaBitQ(?:fs)?([1-9])?$/.exec(s)
  if (rq) return { kind: 'rabitq', nbits: rq[1] === undefined ? 1 : Number(rq[1]) }
  return undefined
}

/** Parses a description string into an index spec; throws VqOptionError('BAD_DESCRIPTION') on anything else. */
export function parseIndexDescription(description: string): IndexSpec {
  if (typeof description !== 'string') bad(String(description), 'not a string')
  // Split on commas outside parentheses.
  const stages = description
    .trim()
    .split(/,(?![^(]*\))/)
    .map((p) => p.trim())
  let i = 0
  let transform: IndexSpec['transform']
  const opq = /^OPQ(\d+)(?:_(\d+))?$/.exec(stages[i] ?? '')
  if (opq) {
    transform = { kind: 'opq', m: Number(opq[1]), ...(opq[2] !== undefined ? { dOut: Number(opq[2]) } : {}) }
    i++
  }
  const pad = transform ? null : /^Pad(\d+)$/.exec(stages[i] ?? '')
  if (pad) {
    transform = { kind: 'pad', dOut: Number(pad[1]) }
    i++
  }
  let ivf: IndexSpec['ivf']
  const iv = /^IVF(\d+)(k?)$/.exec(stages[i] ?? '')
  if (iv) {
    ivf = { nlist: Number(iv[1]) * (iv[2] === 'k' ? 1024 : 1) }
    i++
  }
  const codec = parseCodec(stages[i] ?? '')
  if (!codec) bad(description, stages[i] === undefined ? 'no codec stage' : `unknown stage "${stages[i]}"`)
  i++
  let refine: RefineSpec | undefined
  const r = stages[i]
  if (r !== undefined) {
    const narrowed = /^RFlat\((.+)\)$/.exec(r)
    if (r === 'RFlat') refine = { kind: 'flat' }
    else if (narrowed) {
      const inner = parseCodec(narrowed[1]!)
      if (!inner) bad(description, `unknown narrowing codec "${narrowed[1]}" in "${r}"`)
      refine = { kind: 'flat', narrow: inner }
    } else {
      const m = /^Refine\((.+)\)$/.exec(r)
      const inner = m ? parseCodec(m[1]!) : undefined
      if (!inner) bad(description, `unknown refine stage "${r}"`)
      refine = inner.kind === 'flat' ? { kind: 'flat' } : { kind: 'codec', codec: inner }
    }
    i++
  }
  if (i < stages.length) bad(description, `unexpected stage "${stages[i]}"`)
  if (transform?.kind === 'opq' && codec.kind !== 'pq') bad(description, 'OPQ must be followed by a PQ codec')
  if (refine?.kind === 'flat' && refine.narrow) {
    const why = narrowRefused(codec, refine.narrow)
    if (why) bad(description, why)
  }
  return {
    ...(transform ? { transform } : {}),
    ...(ivf ? { ivf } : {}),
    codec,
    ...(refine ? { refine } : {}),
  }
}

/**
 * Why a narrowed RFlat cannot pair these codecs (null when it can): the narrowing codec
 * encodes the first codec's reconstruction error, so the first must reconstruct vectors
 * (PQ, scalar codecs), and the narrowing one must be a PQ or scalar codec.
 */
export function narrowRefused(codec: CodecSpec, narrow: CodecSpec): string | null {
  if (codec.kind === 'rabitq' || codec.kind === 'flat')
    return `a narrowed RFlat needs a first codec that reconstructs vectors (PQ, SQ8, SQ4, SQfp16), not ${formatDescription(codec)}`
  if (narrow.kind === 'rabitq' || narrow.kind === 'flat')
    return `the narrowing codec of RFlat(...) must be PQ, SQ8, SQ4 or SQfp16, not ${formatDescription(narrow)}`
  return null
}

/** Parses a description that must be a single codec stage (kept for callers that only want the codec). */
export function parseDescription(description: string): CodecSpec {
  const spec = parseIndexDescription(description)
  if (spec.transform || spec.ivf || spec.refine) bad(description, 'expected a codec alone')
  return spec.codec
}

/** The canonical description string of a codec spec. */
export function formatDescription(spec: CodecSpec): string {
  switch (spec.kind) {
    case 'flat':
      return 'Flat'
    case 'pq':
      return (spec.nbits ?? 8) === 8 ? `PQ${spec.m}` : `PQ${spec.m}x${spec.nbits}`
    case 'sq8':
      return 'SQ8'
    case 'sq4':
      return 'SQ4'
    case 'fp16':
      return 'SQfp16'
    case 'rabitq':
      return (spec.nbits ?? 1) === 1 ? 'RaBitQ' : `RaBitQ${spec.nbits}`
  }
}

/** The canonical description string of an index spec for vectors of dimension dim (inverse of parseIndexDescription). */
export function formatIndexDescription(spec: IndexSpec, dim: number): string {
  const parts: string[] = []
  if (spec.transform?.kind === 'pad') parts.push(`Pad${spec.transform.dOut}`)
  else if (spec.transform) {
    const { m, dOut } = spec.transform
    parts.push(dOut !== undefined && dOut !== dim ? `OPQ${m}_${dOut}` : `OPQ${m}`)
  }
  if (spec.ivf) parts.push(`IVF${spec.ivf.nlist}`)
  parts.push(formatDescription(spec.codec))
  if (spec.refine) parts.push(formatRefine(spec.refine))
  return parts.join(',')
}

function formatRefine(r: RefineSpec): string {
  if (r.kind === 'codec') return `Refine(${formatDescription(r.codec)})`
  return r.narrow ? `RFlat(${formatDescription(r.narrow)})` : 'RFlat'
}

/** Fills defaults so that two codec specs that mean the same compare equal. */
export function normalizeCodec(spec: CodecSpec): CodecSpec {
  switch (spec.kind) {
    case 'pq':
      return { kind: 'pq', m: spec.m, nbits: spec.nbits ?? 8 }
    case 'sq8':
    case 'sq4':
      return { kind: spec.kind, clip: spec.clip ?? 0 }
    case 'rabitq':
      return { kind: 'rabitq', nbits: spec.nbits ?? 1 }
    default:
      return { kind: spec.kind }
  }
}

/**
 * Fills every default so that two index specs that mean the same compare equal:
 * OPQ dOut = dim; IVF byResidual = true for PQ and RaBitQ codecs (as FAISS: RaBitQ codes
 * are of the vector relative to its list's centroid), false for the others (scalar codecs
 * are trained and scanned on the vectors themselves).
 */
export function normalizeIndexSpec(spec: IndexSpec, dim: number): IndexSpec {
  const codec = normalizeCodec(spec.codec)
  return {
    ...(spec.transform
      ? {
          transform:
            spec.transform.kind === 'pad'
              ? { kind: 'pad' as const, dOut: spec.transform.dOut }
              : { kind: 'opq' as const, m: spec.transform.m, dOut: spec.transform.dOut ?? dim },
        }
      : {}),
    ...(spec.ivf
      ? { ivf: { nlist: spec.ivf.nlist, byResidual: spec.ivf.byResidual ?? (codec.kind === 'pq' || codec.kind === 'rabitq') } }
      : {}),
    codec,
    ...(spec.refine
      ? {
          refine:
            spec.refine.kind === 'codec'
              ? { kind: 'codec' as const, codec: normalizeCodec(spec.refine.codec) }
              : spec.refine.narrow
                ? { kind: 'flat' as const, narrow: normalizeCodec(spec.refine.narrow) }
                : { kind: 'flat' as const },
        }
      : {}),
  }
}

/**
 * The fewest vectors a description can be trained on (fewer: TOO_FEW_TRAINING_POINTS):
 * the IVF lists' k-means needs nlist, a PQ (first codec, OPQ's, a refine or narrowing codec)
 * 2^nbits per sub-space; the other codecs train on a single vector. Throws BAD_DESCRIPTION
 * for an invalid description.
 */
export function minTrainingVectors(description: string | IndexSpec): number {
  const spec = typeof description === 'string' ? parseIndexDescription(description) : description
  const pq = (c: CodecSpec | undefined): number => (c?.kind === 'pq' ? 2 ** (c.nbits ?? 8) : 1)
  const r = spec.refine
  return Math.max(
    1,
    spec.ivf?.nlist ?? 1,
    pq(spec.codec),
    spec.transform?.kind === 'opq' ? 2 ** (spec.codec.kind === 'pq' ? (spec.codec.nbits ?? 8) : 8) : 1,
    pq(r?.kind === 'codec' ? r.codec : r?.narrow),
  )
}

/**
 * The spec with a "Pad<d'>" stage in front when a PQ acting on the coded vectors (the codec
 * or a narrowing RFlat codec) has an m that does not divide dim and there is no transform
 * yet: d' is the smallest dimension >= dim that every such m divides. Other specs are
 * returned as they are. (The text layer uses it so that any PQ description works with
 * whatever dimension its embedder has.)
 */
export function padForPq(spec: IndexSpec, dim: number): IndexSpec {
  if (spec.transform) return spec
  const ms: number[] = []
  if (spec.codec.kind === 'pq') ms.push(spec.codec.m)
  if (spec.refine?.kind === 'flat' && spec.refine.narrow?.kind === 'pq') ms.push(spec.refine.narrow.m)
  if (ms.every((m) => m >= 1 && Number.isInteger(m) && dim % m === 0)) return spec
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
  const lcm = ms.reduce((a, m) => (a / gcd(a, m)) * m, 1)
  return { transform: { kind: 'pad', dOut: Math.ceil(dim / lcm) * lcm }, ...spec }
}
