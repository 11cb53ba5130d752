/**
 * Fault injection for the SQLite layer: makes the Nth SQLite step (a statement's run, get,
 * all or iterate, an exec or a pragma, BEGIN and COMMIT included) after arming throw
 * SQLite's own error (better-sqlite3's SqliteError, SQLITE_FULL by default), as a disk
 * that fills up at that point would. ROLLBACK is never failed (SQLite's rollback of a
 * journal does not need space). Patches better-sqlite3's prototypes while installed.
 */
import Database from 'better-sqlite3'

type Fn = (...args: unknown[]) => unknown

interface FaultState {
  /** Steps counted since arming. */
  steps: number
  /** The step that fails (1-based), or 0 when disarmed. */
  failAt: number
  code: string
  /** True once the armed step has failed. */
  fired: boolean
}

const state: FaultState = { steps: 0, failAt: 0, code: 'SQLITE_FULL', fired: false }

function step(source: string | undefined): void {
  if (state.failAt === 0) return
  if (source !== undefined && /^\s*ROLLBACK/i.test(source)) return
  state.steps++
  if (state.steps === state.failAt) {
    state.fired = true
    throw new Database.SqliteError(`injected fault at SQLite step ${state.steps}`, state.code)
  }
}

const restore: (() => void)[] = []

function patch(proto: Record<string, unknown>, name: string, sourceOf: (self: unknown, args: unknown[]) => string | undefined): void {
  const original = proto[name] as Fn
  proto[name] = function (this: unknown, ...args: unknown[]) {
    step(sourceOf(this, args))
    return original.apply(this, args)
  }
  restore.push(() => {
    proto[name] = original
  })
}

/** Installs the patches (once; uninstall() removes them). */
export function installFaults(): void {
  if (restore.length > 0) return
  const probe = new Database(':memory:')
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>
  probe.close()
  const src = (self: unknown): string | undefined => (self as { source?: string }).source
  for (const name of ['run', 'get', 'all', 'iterate']) patch(statementProto, name, src)
  const dbProto = Database.prototype as unknown as Record<string, unknown>
  patch(dbProto, 'exec', (_self, args) => String(args[0]))
  patch(dbProto, 'pragma', (_self, args) => `PRAGMA ${String(args[0])}`)
}

export function uninstallFaults(): void {
  while (restore.length > 0) restore.pop()!()
}

/** Arms the fault: the nth step from now fails with `code`. */
export function armFault(n: number, code = 'SQLITE_FULL'): void {
  state.steps = 0
  state.failAt = n
  state.code = code
  state.fired = false
}

/** Disarms; returns whether the armed step failed and how many steps ran. */
export function disarmFault(): { fired: boolean; steps: number } {
  const out = { fired: state.fired, steps: state.steps }
  state.failAt = 0
  state.steps = 0
  return out
}
