// Build step, after tsc: bundles the library's compiled modules (dist/src, dist/native-free-kernels)
// into dist/lib, one file per entry point (index, text, kernels, langchain) plus the worker
// threads' script, with the modules they share split into chunks beside them (esbuild, code
// splitting, ESM). Why: Node 20's ESM loader pays about 0.7 ms per module file (resolve,
// open, read, compile, link); the engine is about a hundred of them, and loading them one by
// one was most of the start-up of every process that imports vqlite (the CLI's `vqlite
// search` among them). The bundle holds the same JavaScript tsc wrote, nothing else:
// packages stay external imports, modules loaded on demand (`import()`) stay on demand (in
// their own chunks), and module state is not duplicated (shared modules live in one chunk).
//
// Layout rules the code relies on (checked by scripts/check-package.sh and the tests):
// - worker.js sits in the same folder as the chunk holding the worker pool (src/parallel/pool.ts
//   looks for `worker.js` beside itself), so every output is written flat into dist/lib;
// - kernels.wasm and kernels-relaxed.wasm sit beside the chunk holding their loader
//   (native-free-kernels/wasm/index.ts reads them relative to itself), so they are copied
//   into dist/lib too.
// The types stay tsc's declarations in dist/src and dist/native-free-kernels.
import { copyFileSync } from 'node:fs'
import { build } from 'esbuild'

const entryPoints = {
  index: 'dist/src/index.js',
  text: 'dist/src/text/index.js',
  kernels: 'dist/native-free-kernels/index.js',
  langchain: 'dist/src/langchain/index.js',
  worker: 'dist/src/parallel/worker.js',
}

await build({
  entryPoints,
  outdir: 'dist/lib',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
})
for (const f of ['kernels.wasm', 'kernels-relaxed.wasm']) copyFileSync(`native-free-kernels/wasm/${f}`, `dist/lib/${f}`)
