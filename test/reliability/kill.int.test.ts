/**
 * Kill tests: a child (support/kill-writer.mjs) makes random write calls (create, train,
 * add, upsert, delete, retrain, setProperty, createTextIndex, export, close and reopen) on
 * one file and is killed with SIGKILL at a seeded moment: a random delay after it starts,
 * or aimed at a call kind (killed 0-2 ms after it announces the call, which is how kills
 * land inside close(), the switch from WAL back to a rollback journal). The child
 * announces each call with its full effect before it starts and acknowledges it after the
 * await returns, so the parent keeps a model of what was committed.
 *
 * After each kill the file must open read-only and writable (alternating which comes
 * first: a read-only open must itself recover a hot journal or WAL), pass integrity_check,
 * and hold exactly the committed state, or that state plus the one call in flight, entirely
 * (never a part of a batch). A finished export must import to the state it was made from;
 * a killed one leaves no snapshot at its path, or a complete one. Then a new child goes on
 * with the same file (a new file every PER_FILE kills, so train and createTextIndex recur).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { VqError, VqIndex } from '../../src/index.js'
import { Rng } from '../../src/util/random.js'
import { type Child, startNode } from '../helpers/child.js'

const SEED = 0x6b111
const KILLS = 230
const PER_FILE = 23
const MIN_CLOSE_KILLS = 40
const writer = join(import.meta.dirname, 'support/kill-writer.mjs')
// The OS temp folder (a real disk: fsync, the journal switch of close() take real time).
const dir = mkdtempSync(join(tmpdir(), 'vqlite-kill-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Item {
  readonly vector: number[]
  readonly metadata: string
}
interface State {
  readonly created: boolean
  readonly trained: boolean
  readonly textField: string | null
  readonly props: ReadonlyMap<string, string>
  readonly items: ReadonlyMap<number, Item>
}
type Call = {
  call: string
  ids?: number[]
  vectors?: number[][]
  metadata?: unknown[]
  name?: string
  value?: unknown
  field?: string
  file?: string
}

const EMPTY: State = { created: false, trained: false, textField: null, props: new Map(), items: new Map() }

/** The state after call committed on top of s. */
function apply(s: State, c: Call): State {
  switch (c.call) {
    case 'create':
      return { ...EMPTY, created: true }
    case 'train':
      return { ...s, trained: true }
    case 'add':
    case 'upsert': {
      const items = new Map(s.items)
      for (const [i, id] of c.ids!.entries()) items.set(id, { vector: c.vectors![i]!, metadata: JSON.stringify(c.metadata![i]) })
      return { ...s, items }
    }
    case 'delete': {
      const items = new Map(s.items)
      for (const id of c.ids!) items.delete(id)
      return { ...s, items }
    }
    case 'setProperty':
      return { ...s, props: new Map(s.props).set(c.name!, JSON.stringify(c.value)) }
    case 'createTextIndex':
      return { ...s, textField: c.field! }
    default:
      // retrain, export, open, close: the items stay as they are.
      return s
  }
}

const describeError = (e: unknown): string =>
  e instanceof VqError ? `${e.code}: ${e.message}` : `raw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`

/** How index differs from state (empty: identical). */
function differences(index: VqIndex, s: State): string[] {
  const d: string[] = []
  if (index.manifest.trained !== s.trained) d.push(`trained ${index.manifest.trained}, expected ${s.trained}`)
  if ((index.textField ?? null) !== s.textField) d.push(`textField ${index.textField}, expected ${s.textField}`)
  for (const name of ['p0', 'p1', 'p2']) {
    const got = index.getProperty(name)
    const want = s.props.get(name)
    if ((got === undefined ? undefined : JSON.stringify(got)) !== want) d.push(`property ${name} ${JSON.stringify(got)}, expected ${want}`)
  }
  if (index.size !== s.items.size) d.push(`size ${index.size}, expected ${s.items.size}`)
  for (const [id, item] of s.items) {
    const got = index.get(id)
    if (!got) d.push(`id ${id} missing`)
    else if (JSON.stringify(Array.from(got.vector ?? [])) !== JSON.stringify(item.vector))
      d.push(`id ${id} vector ${Array.from(got.vector ?? [])}`)
    else if (JSON.stringify(got.metadata) !== item.metadata) d.push(`id ${id} metadata ${JSON.stringify(got.metadata)}`)
    if (d.length > 5) break
  }
  if (d.length === 0 && s.textField && s.items.size > 0) {
    try {
      const r = index.keywordSearch('amber', 50)
      for (const id of r.ids) if (id >= 0 && !s.items.has(id)) d.push(`keywordSearch returned id ${id}, not an item`)
    } catch (e) {
      d.push(`keywordSearch threw ${describeError(e)}`)
    }
  }
  return d
}

describe(`kill tests (seed ${SEED})`, () => {
  it(`${KILLS} SIGKILLs across every write call and close(): exactly the committed state survives, whole`, async () => {
    const rng = new Rng(SEED)
    // The plan of every kill (seeded): its file, its aim, which occurrence of the aimed call, the delay.
    const plan = Array.from({ length: KILLS }, (_, k) => {
      const inFile = k % PER_FILE
      const r = rng.float()
      const later = inFile > 6 ? ['retrain', 'createTextIndex', 'retrain', 'createTextIndex'] : []
      const kinds = ['add', 'upsert', 'delete', 'setProperty', 'export', ...later]
      const aim = inFile === 0 ? (r < 0.5 ? 'train' : 'create') : r < 0.3 ? 'close' : r < 0.45 ? 'none' : kinds[rng.int(kinds.length)]!
      return {
        path: join(dir, `k${Math.floor(k / PER_FILE)}.vqlite`),
        aim,
        occurrence: 1 + rng.int(2),
        delay: aim === 'none' ? rng.int(400) : rng.int(3),
      }
    })
    const live = new Set<Child>()
    const spawnChild = (k: number): Child => {
      const c = startNode(writer, [plan[k]!.path, String(SEED + k), plan[k]!.aim])
      live.add(c)
      return c
    }
    const problems: string[] = []
    const kills = new Map<string, number>()
    const partial: string[] = []
    let state = EMPTY
    const t0 = performance.now()
    let waitedReady = 0
    let runTime = 0
    // Two children load ahead of the one running (loading vqlite is most of a child's CPU).
    const ahead = [spawnChild(0), ...(KILLS > 1 ? [spawnChild(1)] : [])]
    try {
      for (let k = 0; k < KILLS; k++) {
        const { path, aim, occurrence, delay } = plan[k]!
        if (k % PER_FILE === 0) state = EMPTY
        const child = ahead.shift()!
        const tReady = performance.now()
        await child.waitFor((out) => out.includes('"ready"'), 30_000, 'ready')
        waitedReady += performance.now() - tReady
        child.process.kill('SIGUSR2')
        // The next children load vqlite while this one runs and its kill is checked.
        if (k + 2 < KILLS) ahead.push(spawnChild(k + 2))
        const tRun = performance.now()
        try {
          if (aim === 'none') await child.waitFor((out) => out.includes('"start"'), 20_000, 'the start')
          else {
            const needle = `{"call":"${aim}"`
            // Not reached in time (or the call never came): kill anyway.
            await child.waitFor((out) => out.split(needle).length > occurrence, 1500, `call ${aim}`).catch(() => undefined)
          }
        } catch {
          // the child exited (it should not): reported below
        }
        await new Promise((res) => setTimeout(res, delay))
        const exit = await child.stop('SIGKILL')
        live.delete(child)
        runTime += performance.now() - tRun
        if (exit.signal !== 'SIGKILL')
          problems.push(`kill ${k}: the child exited by itself (${JSON.stringify(exit)}): ${child.stderr().slice(0, 500)}`)
        if (child.stderr() !== '') problems.push(`kill ${k}: stderr ${child.stderr().slice(0, 300)}`)

        // Replay the child's log onto the model.
        let pending: Call | undefined
        const exportsMade: { file: string; state: State; done: boolean }[] = []
        for (const line of child.stdout().split('\n')) {
          let ev: Record<string, unknown>
          try {
            ev = JSON.parse(line)
          } catch {
            continue // the last line, cut by the kill
          }
          if (typeof ev.call === 'string') {
            pending = ev as Call
            if (pending.call === 'export') exportsMade.push({ file: pending.file!, state, done: false })
          } else if (typeof ev.done === 'string') {
            state = apply(state, pending!)
            if (pending!.call === 'export') exportsMade[exportsMade.length - 1]!.done = true
            pending = undefined
          } else if (typeof ev.failed === 'string' || typeof ev.raw === 'string') {
            if (typeof ev.raw === 'string') problems.push(`kill ${k}: ${ev.raw} threw a raw error: ${String(ev.error)}`)
            if (ev.failed === 'open' || ev.failed === 'create') problems.push(`kill ${k}: ${ev.failed} failed: ${ev.code} ${ev.message}`)
            pending = undefined
          }
        }
        const during = pending?.call ?? 'idle'
        kills.set(during, (kills.get(during) ?? 0) + 1)
        const label = `kill ${k} (aim ${aim}, during ${during})`
        const candidates = pending ? [state, apply(state, pending)] : [state]

        // The file opens, read-only and writable, and holds one of the candidate states.
        if (!existsSync(path)) {
          if (!candidates.some((c) => !c.created)) problems.push(`${label}: the file is gone`)
          continue
        }
        let matched: State | undefined
        const modes = k % 2 === 0 ? [true, false] : [false, true]
        for (const readonly of modes) {
          let index: VqIndex
          try {
            index = VqIndex.open(path, { readonly, threads: 0 })
          } catch (e) {
            problems.push(`${label}: open ${readonly ? 'read-only' : 'writable'} threw ${describeError(e)}`)
            continue
          }
          try {
            if (!readonly) {
              const ic = index.integrityCheck()
              if (ic !== 'ok') problems.push(`${label}: integrityCheck ${ic}`)
            }
            const diffs = candidates.map((c) => differences(index, c))
            const i = diffs.findIndex((d) => d.length === 0)
            if (i < 0) {
              const what = `${label}, ${readonly ? 'read-only' : 'writable'}: matches neither the committed state nor it plus the call in flight: ${diffs.map((d) => d.join('; ')).join(' | ')}`
              problems.push(what)
              if (pending && ['add', 'upsert', 'delete'].includes(pending.call)) partial.push(what)
            } else if (matched && matched !== candidates[i]) problems.push(`${label}: the read-only and writable opens disagree`)
            else matched = candidates[i]
          } catch (e) {
            problems.push(`${label}: checking threw ${describeError(e)}`)
          } finally {
            await index.close().catch((e: unknown) => problems.push(`${label}: close threw ${describeError(e)}`))
          }
        }
        // Whatever the opens did, leave a file the next child can use (SQLite's own recovery).
        {
          const db = new Database(path)
          const ic = db.pragma('integrity_check', { simple: true })
          if (ic !== 'ok') problems.push(`${label}: SQLite integrity_check ${String(ic)}`)
          const rows = db
            .prepare('SELECT (SELECT count(*) FROM vq_codes) c, (SELECT count(*) FROM vq_vectors) v, (SELECT count(*) FROM vq_metadata) m')
            .get() as { c: number; v: number; m: number }
          if (rows.v !== rows.c || rows.m !== rows.c) problems.push(`${label}: tables disagree ${JSON.stringify(rows)}`)
          db.close()
        }
        if (!matched) {
          // Resynchronise the model with the file, so one failure does not cascade.
          const index = VqIndex.open(path, { readonly: true, threads: 0 })
          matched = candidates.find((c) => differences(index, c).length === 0) ?? candidates[candidates.length - 1]!
          await index.close()
        }
        state = matched
        // Snapshots: a finished export imports to the state it was made from; a killed one is whole or absent.
        for (const e of exportsMade) {
          if (!existsSync(e.file)) {
            if (e.done) problems.push(`${label}: the finished export ${e.file} is missing`)
            continue
          }
          const target = join(dir, 'imported.vqlite')
          try {
            const imported = VqIndex.import(e.file, target, { threads: 0 })
            const d = differences(imported, e.state)
            if (d.length > 0) problems.push(`${label}: export ${e.done ? 'finished' : 'killed'} imports differently: ${d.join('; ')}`)
            await imported.close()
          } catch (err) {
            problems.push(`${label}: ${e.done ? 'finished' : 'killed'} export at its path does not import: ${describeError(err)}`)
          }
          rmSync(target, { force: true })
          rmSync(e.file, { force: true })
        }
        // Temporary files of killed exports and creations are litter, not state: clear them.
        for (const f of readdirSync(dir)) if (/\.tmp-\d+$|\.creating-/.test(f)) rmSync(join(dir, f), { force: true })
      }
    } finally {
      // A failure above must not leave a child waiting for its SIGUSR2.
      await Promise.all([...live].map((c) => c.stop('SIGKILL')))
    }
    const seconds = ((performance.now() - t0) / 1000).toFixed(1)
    const perKind = [...kills]
      .sort((a, b) => b[1] - a[1])
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ')
    process.stdout.write(
      `kill tests: ${KILLS} SIGKILLs in ${seconds} s (${(waitedReady / 1000).toFixed(1)} s waiting for a child to load, ${(runTime / 1000).toFixed(1)} s of child runs; seed ${SEED}); during: ${perKind}; ${problems.length} problems, ${partial.length} partial\n`,
    )
    expect(problems.slice(0, 30)).toEqual([])
    expect(partial).toEqual([])
    // The kills landed where they were aimed: inside close() often, inside every write call at least once.
    expect(kills.get('close') ?? 0).toBeGreaterThanOrEqual(MIN_CLOSE_KILLS)
    for (const kind of ['train', 'add', 'upsert', 'delete', 'retrain', 'setProperty', 'createTextIndex', 'export'])
      expect(kills.get(kind) ?? 0, kind).toBeGreaterThan(0)
  }, 400_000)
})
