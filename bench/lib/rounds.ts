/**
 * The measurement discipline shared by the benches: every point is warmed once, then
 * measured in rounds (each round visits every point once, in an order shuffled with a seed
 * per round), and a point's figure is the median of its rounds. A machine whose speed drifts
 * (other processes, frequency scaling, caches warming) then biases no point more than
 * another, and the order points are listed in no longer ranks them.
 * Also: the best point at a recall target, and the parser of /proc/self/status.
 * Pure functions (no I/O), tested in test/bench/rounds.test.ts.
 */

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list')
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** A small seeded generator (mulberry32): the same seed gives the same orders everywhere. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The order in which round `round` (0-based) visits n points: a permutation of 0..n-1,
 * shuffled (Fisher-Yates) with a generator seeded by (seed, round). Round 0 with seed 0 is
 * not special: every round is shuffled.
 */
export function roundOrder(n: number, round: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  const rand = mulberry32(Math.imul(seed ^ 0x9e3779b9, 31) + round * 0x85ebca6b)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = order[i]!
    order[i] = order[j]!
    order[j] = t
  }
  return order
}

export interface InterleaveOptions {
  readonly rounds: number
  /** Seed of the round orders. Default 1. */
  readonly seed?: number
  /** Called once per point before the rounds, untimed (default: no warm-up). */
  readonly warm?: (point: number) => unknown | Promise<unknown>
  /** Checked before every visit: true stops the rounds (the samples so far are returned). */
  readonly stop?: () => boolean
  /** After each visit: round (0-based), point, its sample. */
  readonly onSample?: (round: number, point: number, sample: number) => void
}

/**
 * Warms each of n points once (in order), then runs `rounds` rounds, each visiting every
 * point once in roundOrder(n, round, seed) and recording the number `measure` returns (a
 * QPS, a time: whatever the caller's figure is). Returns the samples of each point in round
 * order (fewer than `rounds` when stop() ended the rounds early).
 */
export async function interleavedRounds(
  n: number,
  measure: (point: number, round: number) => number | Promise<number>,
  options: InterleaveOptions,
): Promise<number[][]> {
  const samples: number[][] = Array.from({ length: n }, () => [])
  const stop = options.stop ?? (() => false)
  if (options.warm) {
    for (let p = 0; p < n; p++) {
      if (stop()) return samples
      await options.warm(p)
    }
  }
  for (let round = 0; round < options.rounds; round++) {
    for (const p of roundOrder(n, round, options.seed ?? 1)) {
      if (stop()) return samples
      const s = await measure(p, round)
      samples[p]!.push(s)
      options.onSample?.(round, p, s)
    }
  }
  return samples
}

/** A measured point of some system: its recall and its QPS (the median of its rounds). */
export interface RecallQps {
  readonly recall10: number
  readonly qps: number
}

/**
 * The point with the highest QPS among those whose recall@10 reaches `target` (null when
 * none does). Ties in QPS go to the higher recall, then to the earlier point.
 */
export function bestAtRecall<P extends RecallQps>(points: readonly P[], target: number): P | null {
  let best: P | null = null
  for (const p of points) {
    if (!(p.recall10 >= target)) continue
    if (best === null || p.qps > best.qps || (p.qps === best.qps && p.recall10 > best.recall10)) best = p
  }
  return best
}

/** The memory lines of /proc/<pid>/status that the benches use, in bytes (null when absent). */
export interface ProcStatus {
  readonly vmRss: number | null
  readonly vmHwm: number | null
  readonly rssAnon: number | null
  readonly rssFile: number | null
  readonly rssShmem: number | null
}

const UNITS: Record<string, number> = { B: 1, kB: 1024, KB: 1024, mB: 1024 ** 2, MB: 1024 ** 2, gB: 1024 ** 3, GB: 1024 ** 3 }

/**
 * Parses the text of /proc/self/status ("RssAnon:\t  123456 kB" lines; the kernel's kB
 * are KiB). Unknown or malformed lines are ignored; a field that is missing is null.
 */
export function parseProcStatus(text: string): ProcStatus {
  const found = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+(\w+))?\s*$/.exec(line)
    if (!m) continue
    const unit = m[3] === undefined ? 1 : UNITS[m[3]]
    if (unit === undefined) continue
    found.set(m[1]!, Number(m[2]) * unit)
  }
  const get = (k: string): number | null => found.get(k) ?? null
  return { vmRss: get('VmRSS'), vmHwm: get('VmHWM'), rssAnon: get('RssAnon'), rssFile: get('RssFile'), rssShmem: get('RssShmem') }
}

/** RssAnon + RssShmem: the resident memory the process owns (the definition), or null. */
export function ownedBytes(s: ProcStatus): number | null {
  return s.rssAnon === null || s.rssShmem === null ? null : s.rssAnon + s.rssShmem
}
