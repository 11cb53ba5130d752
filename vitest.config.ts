/**
 * Two test projects:
 * - unit: hermetic tests on the TypeScript sources (no dist/, no network, no child process
 *   that needs a build), default timeouts; must stay fast (<= 60 s on 2 cores).
 * - integration: child processes, real GloVe and npm data, crash tests, the WebAssembly
 *   rebuild, the CLI and the bench suite, after one `npm run build` in a global setup.
 * Which project a test file belongs to is decided here, by path: INTEGRATION lists the
 * integration files, everything else under test/ is unit.
 * Both projects get a fresh VQLITE_CACHE_DIR per run (test/setup/cache-dir.ts) and resolve
 * the package names 'vqlite', 'vqlite/text', 'vqlite/kernels' and 'vqlite/langchain' to the
 * sources.
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))

/** Test files of the integration project (globs from the repository root). */
const INTEGRATION = [
  // Any test named *.int.test.ts (kill tests, fault injection, fuzzing over built files).
  'test/**/*.int.test.ts',
  'test/cli/**/*.test.ts',
  'test/bench/**/*.test.ts',
  'test/text/**/*.test.ts',
  'test/datasets/npm-data.test.ts',
  'test/storage/crash.test.ts',
  'test/storage/concurrency.test.ts',
  'test/native-free-kernels/wasm.test.ts',
  'test/readme.test.ts',
  // Real worker pools (each worker loads the sources through tsx: about a second of CPU per pool).
  'test/search/pool.test.ts',
]

/** The package's public entry points, mapped to their sources (only those that exist yet). */
const entries: [string, string][] = [
  ['vqlite', 'src/index.ts'],
  ['vqlite/text', 'src/text/index.ts'],
  ['vqlite/kernels', 'native-free-kernels/index.ts'],
  ['vqlite/langchain', 'src/langchain/index.ts'],
]
const alias = entries
  .filter(([, file]) => existsSync(here(file)))
  .map(([name, file]) => ({ find: new RegExp(`^${name}$`), replacement: here(file) }))

export default defineConfig({
  resolve: { alias },
  test: {
    globalSetup: ['test/setup/cache-dir.ts', 'test/setup/wasm.ts'],
    setupFiles: ['test/setup/env.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: INTEGRATION,
          // Twice vitest's 5 s defaults: a 2-core machine; a unit test slower than this is a bug.
          testTimeout: 10_000,
          hookTimeout: 10_000,
          // Most unit tests use one core: run a file per core (vitest's default leaves one idle).
          maxWorkers: Math.max(2, availableParallelism() - 1),
          // The unit project runs first, then the integration project (its own worker count).
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: INTEGRATION,
          globalSetup: ['test/setup/build.ts', 'test/setup/glove.ts'],
          // Child processes and real data sets: slower than unit tests, still bounded.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
})
