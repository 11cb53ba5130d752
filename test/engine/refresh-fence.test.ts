/**
 * refresh() while a pooled searchBatch of the same read-only connection is in flight: the
 * catch-up must not change the lists the workers are reading (it is synchronous and
 * cannot wait, so it applies the changes to a copy). The batch sees the state it started
 * with; searches after the refresh see the other connection's deletions and additions.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { VqIndex } from '../../src/vq-index.js'
import { randomVectors } from '../helpers/data.js'

const D = 32
const N = 6000
const NQ = 768
const K = 10

let open: VqIndex[] = []
let dir: string | undefined
afterEach(async () => {
  await Promise.all(open.map((i) => i.close()))
  open = []
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

describe('refresh during a pooled searchBatch', () => {
  it('leaves the lists of the batch in flight untouched and catches up for later searches', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vqlite-refresh-fence-'))
    const path = join(dir, 'i.vq')
    const writer = VqIndex.create(path, { dim: D, description: 'Flat', threads: 0 })
    open.push(writer)
    const x = randomVectors(N, D, 11)
    await writer.add(
      Float64Array.from({ length: N }, (_, i) => i),
      x,
    )
    const reader = VqIndex.open(path, { readonly: true, threads: 2 })
    open.push(reader)
    const queries = randomVectors(NQ, D, 12)
    const before = await reader.searchBatch(queries, K)

    const batch = reader.searchBatch(queries, K)
    // Another connection deletes the first half (compaction) and adds new items, then this one catches up.
    await writer.delete(Float64Array.from({ length: N / 2 }, (_, i) => i))
    const added = randomVectors(100, D, 13)
    await writer.add(
      Float64Array.from({ length: 100 }, (_, i) => N + i),
      added,
    )
    expect(reader.refresh()).toBe(true)
    const during = await batch

    let wrong = 0
    for (let i = 0; i < NQ * K; i++) if (during.ids[i] !== before.ids[i] || during.distances[i] !== before.distances[i]) wrong++
    expect(wrong).toBe(0)

    expect(reader.size).toBe(N / 2 + 100)
    const after = await reader.searchBatch(queries, K)
    for (let i = 0; i < NQ * K; i++) expect(after.ids[i]! >= N / 2).toBe(true)
    const probe = reader.search(added.subarray(0, D), 1)
    expect(probe.ids[0]).toBe(N)
    expect(probe.distances[0]).toBe(0)
    expect(Array.from(after.row(0).ids)).toEqual(Array.from(reader.search(queries.subarray(0, D), K).ids))
  })
})
