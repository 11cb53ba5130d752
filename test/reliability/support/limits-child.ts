/**
 * Child process of api-limits.int.test.ts: runs ONE oversized call named by argv[2] on a
 * small index and prints one JSON line { name, error, code, ms, peakGrowthMB } (peak RSS
 * growth from the process's own maximum resident set before the call). Run with
 * `node --import tsx`, under a data-size ulimit so that an unbounded allocation fails
 * instead of exhausting the machine.
 */
import { VqIndex } from '../../../src/vq-index.js'

const CASES: Record<string, (ix: VqIndex) => unknown> = {
  'search k=1e9': (ix) => ix.search(new Float32Array(4).fill(0.5), 1e9),
  'search k=2^53-1': (ix) => ix.search(new Float32Array(4).fill(0.5), Number.MAX_SAFE_INTEGER),
  'search refineFactor=1e9': (ix) => ix.search(new Float32Array(4).fill(0.5), 10, { refineFactor: 1e9 }),
  'searchBatch nq=100 k=1e7': (ix) => ix.searchBatch(new Float32Array(400).fill(0.5), 1e7, { threads: 0 }),
  'searchBatch nq=101 k=1e5 (nq*k past 1e7)': (ix) => ix.searchBatch(new Float32Array(404).fill(0.5), 100_000, { threads: 0 }),
  'keywordSearch k=1e9': (ix) => ix.keywordSearch('word', 1e9),
  'find limit=1e9': (ix) => ix.find({ a: 1 }, 1e9),
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? ''
  const run = CASES[name]
  if (!run) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(' | ')}`)
  const ix = VqIndex.create(':memory:', { dim: 4, storeVectors: 'float32', threads: 0 })
  const n = 200
  const x = new Float32Array(n * 4).map((_, i) => Math.sin(i))
  await ix.add(
    Array.from({ length: n }, (_, i) => i),
    x,
    Array.from({ length: n }, (_, i) => ({ a: i % 3, text: `word ${i}` })),
  )
  await ix.createTextIndex('text')
  const before = process.resourceUsage().maxRSS
  const t0 = performance.now()
  let error = 'none'
  let code: unknown = null
  try {
    await run(ix)
  } catch (e) {
    error = e instanceof Error ? e.constructor.name : typeof e
    code = (e as { code?: unknown }).code ?? null
  }
  const ms = performance.now() - t0
  const peakGrowthMB = (process.resourceUsage().maxRSS - before) / 1024
  process.stdout.write(`${JSON.stringify({ name, error, code, ms, peakGrowthMB })}\n`)
  await ix.close()
}

await main()
