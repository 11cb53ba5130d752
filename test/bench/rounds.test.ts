import { existsSync, readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bestAtRecall, interleavedRounds, median, ownedBytes, parseProcStatus, roundOrder } from '../../bench/lib/rounds.js'

describe('median', () => {
  it('odd and even counts, unsorted input left untouched', () => {
    const xs = [5, 1, 3]
    expect(median(xs)).toBe(3)
    expect(xs).toEqual([5, 1, 3])
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([7])).toBe(7)
    expect(() => median([])).toThrow(RangeError)
  })

  it('agrees with a sort-based reference and is insensitive to one outlier', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 30 }), (xs) => {
        const s = [...xs].sort((a, b) => a - b)
        const want = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
        expect(median(xs)).toBe(want)
      }),
      { seed: 15 },
    )
    expect(median([100, 101, 99, 1e9, 100])).toBe(100)
  })
})

describe('interleaved rounds', () => {
  it('round orders are seeded permutations that differ between rounds', () => {
    for (const n of [1, 2, 7, 30]) {
      for (let r = 0; r < 4; r++) expect([...roundOrder(n, r, 1)].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))
    }
    expect(roundOrder(30, 2, 1)).toEqual(roundOrder(30, 2, 1))
    expect(roundOrder(30, 0, 1)).not.toEqual(roundOrder(30, 1, 1))
    expect(roundOrder(30, 0, 1)).not.toEqual(roundOrder(30, 0, 2))
    // Over many rounds every point is visited first sometimes (no fixed position).
    const firsts = new Set(Array.from({ length: 200 }, (_, r) => roundOrder(5, r, 3)[0]))
    expect(firsts.size).toBe(5)
  })

  it('warms every point once before any timed visit, visits each point once per round, returns samples per point', async () => {
    const events: string[] = []
    const samples = await interleavedRounds(
      3,
      (p, r) => {
        events.push(`m${p}.${r}`)
        return 10 * p + r
      },
      {
        rounds: 4,
        seed: 9,
        warm: (p) => events.push(`w${p}`),
      },
    )
    expect(events.slice(0, 3)).toEqual(['w0', 'w1', 'w2'])
    expect(events.slice(3).every((e) => e.startsWith('m'))).toBe(true)
    for (let r = 0; r < 4; r++) {
      const round = events.slice(3 + 3 * r, 6 + 3 * r)
      expect(round.map((e) => e.split('.')[1])).toEqual([String(r), String(r), String(r)])
      expect(round.map((e) => Number(e[1])).sort()).toEqual([0, 1, 2])
      expect(round.map((e) => Number(e[1]))).toEqual(roundOrder(3, r, 9))
    }
    expect(samples).toEqual([
      [0, 1, 2, 3],
      [10, 11, 12, 13],
      [20, 21, 22, 23],
    ])
  })

  it('removes the order bias of a machine that warms up over time (the bug of issue 15)', async () => {
    // Every point has the same true speed; the machine is slow at first (JIT, cold pages,
    // caches) and reaches full speed over the first visits. Measured once each in list order,
    // QPS rises with the position in the list; with one warm-up pass per point, shuffled
    // rounds and medians, the points come out equal within a few percent.
    const speed = (visit: number): number => 1000 * (1 - 0.6 * Math.exp(-visit / 4))
    let visits = 0
    const n = 6
    const sequential = Array.from({ length: n }, () => speed(visits++))
    expect(sequential[n - 1]! / sequential[0]!).toBeGreaterThan(1.5)
    visits = 0
    const samples = await interleavedRounds(n, () => speed(visits++), { rounds: 5, seed: 1, warm: () => visits++ })
    const med = samples.map(median)
    expect(Math.max(...med) / Math.min(...med)).toBeLessThan(1.05)
    // The same machine without the warm-up, one round: the bias is back.
    visits = 0
    const noWarm = await interleavedRounds(n, () => speed(visits++), { rounds: 1, seed: 1 })
    expect(Math.max(...noWarm.flat()) / Math.min(...noWarm.flat())).toBeGreaterThan(1.5)
  })

  it('stop() ends the rounds and keeps the samples measured so far', async () => {
    let calls = 0
    const samples = await interleavedRounds(4, () => ++calls, { rounds: 3, stop: () => calls >= 6 })
    expect(samples.flat().length).toBe(6)
    expect(samples.every((s) => s.length >= 1 && s.length <= 2)).toBe(true)
  })
})

describe('best QPS at a recall target', () => {
  const pts = [
    { id: 'a', recall10: 0.89, qps: 9000 },
    { id: 'b', recall10: 0.9, qps: 5000 },
    { id: 'c', recall10: 0.96, qps: 3000 },
    { id: 'd', recall10: 0.95, qps: 3000 },
    { id: 'e', recall10: 0.99, qps: 800 },
    { id: 'f', recall10: Number.NaN, qps: 1e9 },
  ]
  it('the fastest point at or above the target; ties go to the higher recall; null when none reaches it', () => {
    expect(bestAtRecall(pts, 0.9)?.id).toBe('b')
    expect(bestAtRecall(pts, 0.95)?.id).toBe('c')
    expect(bestAtRecall(pts, 0.99)?.id).toBe('e')
    expect(bestAtRecall(pts, 0.995)).toBeNull()
    expect(bestAtRecall([], 0.5)).toBeNull()
  })

  it('agrees with a filter-and-sort reference', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ recall10: fc.double({ min: 0, max: 1, noNaN: true }), qps: fc.integer({ min: 1, max: 100 }) }), {
          maxLength: 20,
        }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (ps, t) => {
          const ok = ps.filter((p) => p.recall10 >= t)
          const got = bestAtRecall(ps, t)
          if (ok.length === 0) expect(got).toBeNull()
          else expect(got!.qps).toBe(Math.max(...ok.map((p) => p.qps)))
        },
      ),
      { seed: 16 },
    )
  })
})

describe('/proc/self/status', () => {
  const text = [
    'Name:\tnode',
    'Umask:\t0022',
    'State:\tR (running)',
    'VmPeak:\t 1234567 kB',
    'VmHWM:\t  204800 kB',
    'VmRSS:\t  102400 kB',
    'RssAnon:\t   61440 kB',
    'RssFile:\t   40000 kB',
    'RssShmem:\t     960 kB',
    'Threads:\t11',
    'Cpus_allowed_list:\t0-1',
    '',
  ].join('\n')

  it('reads the memory lines in bytes (kB are KiB); RssAnon + RssShmem is the owned memory', () => {
    const s = parseProcStatus(text)
    expect(s).toEqual({ vmRss: 102400 * 1024, vmHwm: 204800 * 1024, rssAnon: 61440 * 1024, rssFile: 40000 * 1024, rssShmem: 960 * 1024 })
    expect(ownedBytes(s)).toBe((61440 + 960) * 1024)
  })

  it('missing fields are null, and ownedBytes is then null', () => {
    const s = parseProcStatus('VmRSS:\t 10 kB\nRssAnon: 4 kB\n')
    expect(s.rssShmem).toBeNull()
    expect(s.rssAnon).toBe(4096)
    expect(ownedBytes(s)).toBeNull()
  })

  it.skipIf(!existsSync('/proc/self/status'))("parses this process's own status file consistently (Linux)", () => {
    const s = parseProcStatus(readFileSync('/proc/self/status', 'utf8'))
    expect(s.rssAnon).toBeGreaterThan(0)
    // VmRSS = RssAnon + RssFile + RssShmem (the kernel sums the same counters).
    expect(s.rssAnon! + s.rssFile! + s.rssShmem!).toBe(s.vmRss)
  })
})
