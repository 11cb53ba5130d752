/**
 * The build processes of bench/scale-10m.ts, each in a fresh process so that its peak memory
 * is its own (the parent polls /proc/<pid>/status), and so that it can be killed:
 *   node scale-child.js build BASE OUT DESCRIPTION BLOCK_ROWS
 *     creates OUT (or opens it, when a killed run left it: the add resumes) and adds every
 *     row of BASE with index.addFile (trained on its default sample); prints a JSON line per
 *     committed block ({ phase, done, total, t }) and a last one with the timings.
 *   node scale-child.js shards SOURCE BASE BLOCK_ROWS OUT1 OUT2 ...
 *     VqShards.create(OUTs, SOURCE's model), then shard i gets rows [i*n/S, (i+1)*n/S) of
 *     BASE (ids = rows) with addFile({ start, end }); last line: the timings.
 * Both end with VmHWM and the peak of RssAnon + RssShmem seen by the child itself.
 */
import { existsSync, readFileSync } from 'node:fs'
import { VqIndex, VqShards, vectorFileInfo } from 'vqlite'
import { ownedBytes, parseProcStatus } from './rounds.js'

const [cmd, ...args] = process.argv.slice(2)
const t0 = performance.now()
const secs = (): number => (performance.now() - t0) / 1000
const status = () => parseProcStatus(readFileSync('/proc/self/status', 'utf8'))
const say = (o: Record<string, unknown>): void => console.log(JSON.stringify(o))

if (cmd === 'build') {
  const [base, out, description, block] = args as [string, string, string, string]
  const resumed = existsSync(out)
  const info = await vectorFileInfo(base)
  const index = resumed ? VqIndex.open(out) : VqIndex.create(out, { dim: info.d, description, storeVectors: 'float32' })
  let trainedAt = 0
  const r = await index.addFile(base, {
    blockRows: Number(block),
    onProgress: (p) => {
      if (p.phase === 'adding') say({ phase: p.phase, done: p.done, total: p.total, t: secs() })
      if (p.phase === 'training') trainedAt = secs()
    },
  })
  const addS = secs()
  await index.close()
  const s = status()
  say({ done: true, resumed, ...r, sampleS: trainedAt, totalS: secs(), addEndS: addS, vmHwm: s.vmHwm, ownedEnd: ownedBytes(s) })
} else if (cmd === 'shards') {
  const [source, base, block, ...outs] = args as [string, string, string, ...string[]]
  const src = VqIndex.open(source, { readonly: true, threads: 0 })
  const shards = await VqShards.create(outs, src)
  await src.close()
  const info = await vectorFileInfo(base)
  const S = outs.length
  for (let i = 0; i < S; i++) {
    const start = Math.floor((i * info.n) / S)
    const end = Math.floor(((i + 1) * info.n) / S)
    await shards.shards[i]!.addFile(base, { start, end, blockRows: Number(block) })
    say({ phase: 'shard', shard: i, start, end, t: secs() })
  }
  const size = shards.size
  await shards.close()
  const s = status()
  say({ done: true, size, totalS: secs(), vmHwm: s.vmHwm, ownedEnd: ownedBytes(s) })
} else {
  throw new Error(`scale-child: unknown command ${cmd}`)
}
