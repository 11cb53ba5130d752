/**
 * Global setup: one temporary VQLITE_CACHE_DIR per test run (removed afterwards), so no
 * test reads or writes the user's ~/.cache/vqlite. Test files get it through
 * test/setup/env.ts, child processes through the environment they inherit.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's dataset cache folder. */
    vqliteCacheDir: string
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'vqlite-test-cache-'))
  project.provide('vqliteCacheDir', dir)
  return () => rmSync(dir, { recursive: true, force: true })
}
