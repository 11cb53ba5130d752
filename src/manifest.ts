/**
 * The manifest: what an index file says about itself, stored msgpack-encoded in
 * vq_manifest. Everything needed to rebuild the index object from the file, plus the
 * counters that every committed write updates.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { VqFormatError } from './errors.js'
import { formatIndexDescription, normalizeIndexSpec, parseIndexDescription } from './factory/parse.js'
import { MAX_DIM } from './limits.js'
import type { IdKind, IndexSpec, Metric, VectorStorage } from './types.js'

/** This package's version, from the nearest package.json above this module (source or built). */
export const VQLITE_VERSION: string = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const p = join(dir, 'package.json')
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'vqlite') return pkg.version ?? '0.0.0'
    }
    if (dirname(dir) === dir) return '0.0.0'
  }
})()

/** Training parameters recorded when a codec is trained. */
export interface TrainingRecord {
  readonly at: string
  readonly vectors: number
  readonly seed: number | null
  readonly iterations: number | null
  readonly tolerance: number | null
  readonly init: string | null
  readonly maxPointsPerCentroid: number | null
}

/** The manifest of an index file (msgpack in vq_manifest). */
export interface Manifest {
  /** Index format of the manifest itself (1). */
  readonly format: 1
  /** vqlite version that created the file. */
  readonly createdBy: string
  readonly createdAt: string
  readonly dim: number
  readonly metric: Metric
  /** Canonical description string. */
  readonly description: string
  /** The same composition as a typed spec, every default filled. */
  readonly spec: IndexSpec
  /** Full-precision vectors kept on disk. */
  readonly storeVectors: VectorStorage
  /** 'string' for an index created with string ids (storage/keys.ts); absent for integer ids. */
  readonly ids?: 'string'
  readonly trained: boolean
  readonly training: TrainingRecord | null
  /** Next sequence number to hand out (insertions and deletions share it). */
  readonly nextSeq: number
  /** Number of items. */
  readonly count: number
  /** Bumped by every committed write. */
  readonly generation: number
  /** Bumped whenever every code changes (train, retrain). */
  readonly codesGeneration: number
}

/** The largest sequence number a file may hold (seqs are 32-bit unsigned in memory). */
export const MAX_SEQ = 0xffffffff

/** The kind of ids of a manifest's index. */
export function idKindOf(m: Manifest): IdKind {
  return m.ids === 'string' ? 'string' : 'integer'
}

/** A fresh manifest. */
export function newManifest(dim: number, metric: Metric, spec: IndexSpec, storeVectors: VectorStorage, ids: IdKind = 'integer'): Manifest {
  return {
    ...(ids === 'string' ? { ids } : {}),
    format: 1,
    createdBy: VQLITE_VERSION,
    createdAt: new Date().toISOString(),
    dim,
    metric,
    description: formatIndexDescription(spec, dim),
    spec,
    storeVectors,
    trained: false,
    training: null,
    nextSeq: 1,
    count: 0,
    generation: 0,
    codesGeneration: 0,
  }
}

/** Checks a manifest read from a file; throws VqFormatError('CORRUPT_FILE') naming the bad field. */
export function checkManifest(m: unknown, path: string): Manifest {
  const bad = (what: string): never => {
    throw new VqFormatError('CORRUPT_FILE', `${path}: the manifest is damaged (${what})`)
  }
  if (m === null || typeof m !== 'object') return bad('not an object')
  const r = m as Record<string, unknown>
  if (r['format'] !== 1) bad(`format ${String(r['format'])}`)
  if (r['spec'] === undefined && r['codec'] !== undefined) {
    // Written by a pre-release vqlite 0.1 (before IVF): a different table layout.
    throw new VqFormatError(
      'UNSUPPORTED',
      `${path} was written by a pre-release vqlite (before IVF) whose file layout this version does not read: rebuild the index`,
    )
  }
  if (!Number.isInteger(r['dim']) || (r['dim'] as number) < 1 || (r['dim'] as number) > MAX_DIM)
    bad(`dim ${String(r['dim'])}, outside 1..${MAX_DIM}`)
  if (!['l2', 'ip', 'cosine'].includes(r['metric'] as string)) bad('metric')
  if (!['none', 'float32', 'float16'].includes(r['storeVectors'] as string)) bad('storeVectors')
  for (const k of ['nextSeq', 'count', 'generation', 'codesGeneration']) {
    if (!Number.isSafeInteger(r[k]) || (r[k] as number) < 0) bad(`${k} ${String(r[k])}, not a count`)
  }
  // Sequence numbers are held as 32-bit unsigned integers in memory; every item and every
  // deletion took one, so the count is below nextSeq.
  const nextSeq = r['nextSeq'] as number
  if (nextSeq < 1 || nextSeq > MAX_SEQ + 1) bad(`nextSeq ${nextSeq}, outside 1..${MAX_SEQ + 1}`)
  if ((r['count'] as number) >= nextSeq) bad(`count ${String(r['count'])} is not below nextSeq ${nextSeq}`)
  if (typeof r['trained'] !== 'boolean') bad('trained')
  if (r['ids'] !== undefined && r['ids'] !== 'string') bad(`ids ${JSON.stringify(String(r['ids']))}`)
  if (r['spec'] === null || typeof r['spec'] !== 'object') bad('spec')
  if (typeof r['description'] !== 'string') bad('description')
  try {
    // The description cannot say byResidual (only the spec does): compare without it.
    const comparable = (s: IndexSpec): string => {
      const x = normalizeIndexSpec(s, r['dim'] as number)
      return JSON.stringify(x.ivf ? { ...x, ivf: { nlist: x.ivf.nlist } } : x)
    }
    if (comparable(parseIndexDescription(r['description'] as string)) !== comparable(r['spec'] as IndexSpec))
      bad('spec and description disagree')
  } catch (e) {
    if (e instanceof VqFormatError) throw e
    bad('description')
  }
  return m as Manifest
}
