/**
 * export(): a portable snapshot of the index (storage/snapshot.ts), written as a reader of
 * the write coordinator, so that no write of this handle commits while the snapshot's read
 * transaction is open across its pauses. The signal cancels it (ABORTED) until the file is
 * in place; the half-written temporary file is removed.
 */
import { writeSnapshot } from '../storage/snapshot.js'
import type { ExportOptions } from '../types.js'
import { CallControl } from '../util/cancel.js'
import type { IndexState } from './state.js'

/** Writes the snapshot of the index to path (a new file); returns the item count. */
export async function exportIndex(state: IndexState, path: string, o: ExportOptions): Promise<number> {
  const control = new CallControl('export()', [o.signal])
  control.check()
  return state.coordinator.read(() => {
    state.open()
    return writeSnapshot(state.store, path, state.model.codeSize + state.model.refineSize, control.cancellable ? control : undefined)
  })
}
