// Build step: removes the given output folders, so no stale file of an earlier build is packed.
import { rmSync } from 'node:fs'

for (const dir of process.argv.slice(2)) rmSync(dir, { recursive: true, force: true })
