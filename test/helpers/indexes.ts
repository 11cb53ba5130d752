/**
 * Closing every index a test opened, also when the test fails: call
 * `closeIndexesAfterEach()` at the top of a test file. It watches VqIndex.create, open and
 * import during each test (the calls go through unchanged) and, after the test, closes
 * every index they returned (close() is idempotent), which also stops their worker pools.
 */
import { afterEach, beforeEach, type MockInstance, vi } from 'vitest'
import { VqIndex } from '../../src/vq-index.js'

type Factory = 'create' | 'open' | 'import'

export function closeIndexesAfterEach(): void {
  let spies: MockInstance[] = []
  beforeEach(() => {
    spies = (['create', 'open', 'import'] as Factory[]).map((name) => vi.spyOn(VqIndex, name) as MockInstance)
  })
  afterEach(async () => {
    const opened = spies.flatMap((s) => s.mock.results.flatMap((r) => (r.type === 'return' ? [r.value as VqIndex] : [])))
    for (const s of spies) s.mockRestore()
    spies = []
    await Promise.all(opened.map((index) => index.close()))
  })
}
