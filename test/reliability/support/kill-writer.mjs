// The child of the kill tests (test/reliability/kill.int.test.ts): random write calls on one
// index file until it is killed. Runs the build (dist/), for a fast start.
// Usage: node kill-writer.mjs PATH SEED PREFER
//   PREFER: a call kind to choose more often ('close', 'train', 'retrain', 'export', ...,
//   or 'none').
// Creates PATH if absent (IVF2,PQ2x4,RFlat, dim 4, stored float32 vectors), trains it if
// untrained, then loops over add, upsert, delete, retrain, setProperty, createTextIndex,
// export and close (reopening after each close). Every call is announced on stdout as one
// JSON line {"call": kind, ...its full effect} before it starts, and {"done": kind} after
// its await returns (or {"failed": kind, "code"} for a VqError, {"raw": kind, "error"} for
// anything else), written synchronously, so the parent knows what was committed.
// It waits for SIGUSR2 (after printing {"ready"}) before it touches the file.
import { writeSync } from 'node:fs'

const [path, seedArg, prefer] = process.argv.slice(2)
const { VqIndex, VqError } = await import(new URL('../../../dist/src/index.js', import.meta.url).href)

const DIM = 4
const WORDS = ['amber', 'birch', 'cedar', 'dune', 'ember', 'fjord', 'glade', 'heath']
const say = (o) => writeSync(1, `${JSON.stringify(o)}\n`)

// xorshift32, seeded (the parent's seed per run).
let s = Number(seedArg) >>> 0 || 1
const next = () => {
  s ^= s << 13
  s >>>= 0
  s ^= s >>> 17
  s ^= s << 5
  s >>>= 0
  return s / 4294967296
}
const int = (n) => Math.floor(next() * n)
const vectors = (n) => {
  const x = new Float32Array(n * DIM)
  for (let i = 0; i < x.length; i++) x[i] = Math.round((next() * 2 - 1) * 1000) / 1000
  return x
}
const rows = (x) => Array.from({ length: x.length / DIM }, (_, i) => Array.from(x.subarray(i * DIM, (i + 1) * DIM)))
// 40 words a row: createTextIndex then takes a few milliseconds, long enough for a kill aimed at it
// (0-2 ms after the parent reads its announcement) to land inside it.
const meta = (id) => ({ g: id % 3, v: int(1000), text: `${Array.from({ length: 40 }, () => WORDS[int(WORDS.length)]).join(' ')} n${id}` })

/** Announces, runs and acknowledges one call. */
async function call(kind, effect, fn) {
  say({ call: kind, ...effect })
  try {
    const r = await fn()
    say({ done: kind })
    return r
  } catch (e) {
    if (e instanceof VqError) say({ failed: kind, code: e.code, message: e.message.slice(0, 200) })
    else say({ raw: kind, error: `${e?.constructor?.name}: ${e?.message}` })
    return undefined
  }
}

// Warm start: the parent spawns the next child while it checks the last kill; the child
// loads vqlite, says "ready", and touches the file only after the parent's SIGUSR2.
// (A signal listener does not keep the event loop alive: the interval does, until the signal.)
const alive = setInterval(() => {}, 1000)
const go = new Promise((resolve) => process.once('SIGUSR2', resolve))
say({ ready: process.pid })
await go
clearInterval(alive)
say({ start: process.pid })
let index
{
  const { existsSync } = await import('node:fs')
  if (existsSync(path)) index = await call('open', {}, () => VqIndex.open(path, { threads: 0 }))
  else
    index = await call('create', {}, () =>
      VqIndex.create(path, { dim: DIM, description: 'IVF2,PQ2x4,RFlat', storeVectors: 'float32', threads: 0 }),
    )
  if (!index) process.exit(2)
}
let exports = 0
for (;;) {
  if (!index.manifest.trained) {
    await call('train', {}, () => index.train(vectors(64), { seed: int(1000) }))
    continue
  }
  const size = index.size
  const max = index.size > 0 ? index.maxId() : -1
  const w = {
    add: size > 250 ? 1 : 6,
    upsert: 4,
    delete: size > 250 ? 8 : 3,
    setProperty: 2,
    // Only when the parent aims at it: a file gets one text index, so its kills are rare otherwise.
    createTextIndex: index.textField || prefer !== 'createTextIndex' ? 0 : size > 40 ? 1 : 0,
    retrain: size >= 64 ? 1 : 0,
    export: 1,
    close: 2,
  }
  if (prefer in w && w[prefer] > 0) w[prefer] += 20
  let r = next() * Object.values(w).reduce((a, b) => a + b, 0)
  let kind = 'add'
  for (const k of Object.keys(w)) {
    r -= w[k]
    if (r < 0) {
      kind = k
      break
    }
  }
  if (kind === 'add' || kind === 'upsert') {
    const n = 1 + int(16)
    const ids =
      kind === 'add' ? Array.from({ length: n }, (_, i) => max + 1 + i) : [...new Set(Array.from({ length: n }, () => int(max + 8)))]
    const x = vectors(ids.length)
    const metadata = ids.map(meta)
    await call(kind, { ids, vectors: rows(x), metadata }, () => index[kind](ids, x, metadata))
  } else if (kind === 'delete') {
    const ids = [...new Set(Array.from({ length: 1 + int(12) }, () => int(max + 4)))]
    await call('delete', { ids }, () => index.delete(ids))
  } else if (kind === 'setProperty') {
    const name = `p${int(3)}`
    const value = { n: int(1e6), list: [int(10), 'x'] }
    await call('setProperty', { name, value }, () => index.setProperty(name, value))
  } else if (kind === 'createTextIndex') {
    await call('createTextIndex', { field: 'text' }, () => index.createTextIndex('text'))
  } else if (kind === 'retrain') {
    await call('retrain', {}, () => index.retrain({ seed: int(1000) }))
  } else if (kind === 'export') {
    const file = `${path}.export-${process.pid}-${exports++}.vqs`
    await call('export', { file }, () => index.export(file))
  } else {
    await call('close', {}, () => index.close())
    index = await call('open', {}, () => VqIndex.open(path, { threads: 0 }))
    if (!index) process.exit(2)
  }
}
