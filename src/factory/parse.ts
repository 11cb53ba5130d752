/**
 * FAISS-style description strings <-> typed codec specs.
 *
 *   description := "Flat" | "PQ" m ["x" nbits] | "SQ8" | "SQ4" | "SQfp16"
 *
 * (Later stages such as IVF and re-ranking extend this grammar.)
 */
import { VqOptionError } from '../errors.js'
import type { CodecSpec } from '../types.js'

const FORMS = 'Flat, PQ<m>, PQ<m>x<nbits>, SQ8, SQ4, SQfp16'

/** Parses a description string into a codec spec; throws VqOptionError('BAD_DESCRIPTION') on anything else. */
export function parseDescription(description: string): CodecSpec {
  const s = description.trim()
  if (s === 'Flat') return { kind: 'flat' }
  if (s === 'SQ8') return { kind: 'sq8' }
  if (s === 'SQ4') return { kind: 'sq4' }
  if (s === 'SQfp16') return { kind: 'fp16' }
  const pq = /^PQ(\d+)(?:x(\d+))?$/.exec(s)
  if (pq) {
    const m = Number(pq[1])
    const nbits = pq[2] === undefined ? 8 : Number(pq[2])
    return { kind: 'pq', m, nbits }
  }
  throw new VqOptionError('BAD_DESCRIPTION', `unknown index description "${description}": expected one of ${FORMS}`)
}

/** The canonical description string of a codec spec (inverse of parseDescription). */
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
  }
}

/** Fills defaults so that two specs that mean the same compare equal. */
export function normalizeCodec(spec: CodecSpec): CodecSpec {
  switch (spec.kind) {
    case 'pq':
      return { kind: 'pq', m: spec.m, nbits: spec.nbits ?? 8 }
    case 'sq8':
    case 'sq4':
      return { kind: spec.kind, clip: spec.clip ?? 0 }
    default:
      return { kind: spec.kind }
  }
}
