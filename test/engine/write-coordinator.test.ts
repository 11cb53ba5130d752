/**
 * The write coordinator on its own, with fake async work (promises the test resolves by
 * hand: no timers). It must serialise writes in call order, run a write's apply only when
 * no reader is in flight, hold readers that arrive while an apply waits, and let readers
 * overlap a write's prepare.
 */
import { describe, expect, it } from 'vitest'
import { WriteCoordinator } from '../../src/engine/write-coordinator.js'

/** A promise with its resolve and reject. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Lets every queued microtask and promise continuation run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe('WriteCoordinator', () => {
  it('runs writes one at a time in call order, each prepare after the previous apply', async () => {
    const c = new WriteCoordinator()
    const log: string[] = []
    const gates = [deferred(), deferred(), deferred()]
    const writes = gates.map((g, i) =>
      c.write(
        async () => {
          log.push(`prepare ${i}`)
          await g.promise
          log.push(`prepared ${i}`)
          return i
        },
        (p) => {
          log.push(`apply ${p}`)
          return p * 10
        },
      ),
    )
    await settle()
    expect(log).toEqual(['prepare 0'])
    gates[2]!.resolve()
    gates[1]!.resolve()
    await settle()
    expect(log).toEqual(['prepare 0'])
    gates[0]!.resolve()
    expect(await Promise.all(writes)).toEqual([0, 10, 20])
    expect(log).toEqual(['prepare 0', 'prepared 0', 'apply 0', 'prepare 1', 'prepared 1', 'apply 1', 'prepare 2', 'prepared 2', 'apply 2'])
  })

  it("lets a reader run during a write's prepare, and holds the apply until the reader leaves", async () => {
    const c = new WriteCoordinator()
    const log: string[] = []
    const encode = deferred()
    const scan = deferred()
    const write = c.write(
      async () => {
        log.push('encode start')
        await encode.promise
        log.push('encode done')
      },
      () => {
        expect(c.readers).toBe(0)
        log.push('apply')
      },
    )
    await settle()
    // A reader that starts while the write prepares (the pooled search during a pooled encode).
    const read = c.read(async () => {
      log.push('scan start')
      await scan.promise
      log.push('scan done')
      return 'rows'
    })
    await settle()
    expect(c.readers).toBe(1)
    encode.resolve()
    await settle()
    expect(log).toEqual(['encode start', 'scan start', 'encode done'])
    expect(c.mutating).toBe(false)
    scan.resolve()
    expect(await read).toBe('rows')
    await write
    expect(log).toEqual(['encode start', 'scan start', 'encode done', 'scan done', 'apply'])
  })

  it('holds readers that arrive while an apply waits for earlier readers, and runs them after it', async () => {
    const c = new WriteCoordinator()
    const log: string[] = []
    const first = deferred()
    const r1 = c.read(async () => {
      log.push('r1 start')
      await first.promise
      log.push('r1 done')
    })
    const w = c.write(
      () => undefined,
      () => log.push('apply'),
    )
    await settle()
    const r2 = c.read(async () => {
      log.push('r2 start')
    })
    await settle()
    expect(log).toEqual(['r1 start'])
    first.resolve()
    await Promise.all([r1, w, r2])
    expect(log).toEqual(['r1 start', 'r1 done', 'apply', 'r2 start'])
  })

  it('waits for every reader in flight, not only the first', async () => {
    const c = new WriteCoordinator()
    const a = deferred()
    const b = deferred()
    let applied = false
    const ra = c.read(() => a.promise)
    const rb = c.read(() => b.promise)
    const w = c.write(
      () => undefined,
      () => {
        applied = true
      },
    )
    a.resolve()
    await ra
    await settle()
    expect(applied).toBe(false)
    expect(c.readers).toBe(1)
    b.resolve()
    await Promise.all([rb, w])
    expect(applied).toBe(true)
    expect(c.readers).toBe(0)
  })

  it('a failing prepare, apply or reader rejects only its own call; the queue and the fence go on', async () => {
    const c = new WriteCoordinator()
    const bad = c.write(
      async () => {
        throw new Error('prepare failed')
      },
      () => 1,
    )
    const worse = c.write(
      () => 2,
      () => {
        throw new Error('apply failed')
      },
    )
    const readerFails = c.read(async () => {
      throw new Error('scan failed')
    })
    const good = c.write(
      () => 3,
      (p) => p + 1,
    )
    await expect(bad).rejects.toThrow('prepare failed')
    await expect(worse).rejects.toThrow('apply failed')
    await expect(readerFails).rejects.toThrow('scan failed')
    expect(await good).toBe(4)
    expect(c.readers).toBe(0)
    expect(await c.read(async () => 'after')).toBe('after')
  })

  it('marks the apply as mutating, so a search issued inside it is caught', async () => {
    const c = new WriteCoordinator()
    let inside: unknown
    await c.write(
      () => undefined,
      () => {
        expect(c.mutating).toBe(true)
        try {
          c.assertNotMutating()
        } catch (e) {
          inside = e
        }
      },
    )
    expect(inside).toBeInstanceOf(Error)
    expect(c.mutating).toBe(false)
    expect(() => c.assertNotMutating()).not.toThrow()
  })

  it('rejects an asynchronous apply (the mutation must be one synchronous step)', async () => {
    const c = new WriteCoordinator()
    await expect(
      c.write(
        () => undefined,
        () => Promise.resolve(1),
      ),
    ).rejects.toThrow(/synchronous/)
    expect(c.mutating).toBe(false)
  })
})
