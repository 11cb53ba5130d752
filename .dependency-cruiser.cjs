/**
 * Import rules of the repository (dependency-cruiser), run by `npm run deps:check`.
 *
 * Layout: the library package `vqlite` is `src/` and `native-free-kernels/`; the tooling is
 * `cli/` (the CLI), `bench/` and `datasets/`; tests are in `test/`. The tooling reaches the
 * library by package name ('vqlite', 'vqlite/text', 'vqlite/kernels'), which tsconfig.json's
 * `paths` map to the three public entry points below.
 */

/** The library's public entry points: the only library files tooling may import. */
const PUBLIC_ENTRY = ['^src/index\\.ts$', '^src/text/index\\.ts$', '^native-free-kernels/index\\.ts$']

/** Packages only the tooling may use (plots, HDF5, downloads, CLI, the hnswlib peer). */
const TOOLING_PACKAGES = ['vega', 'vega-lite', 'h5wasm', 'basic-ftp', 'tar', 'commander', 'cli-progress', 'csv-parse', 'hnswlib-node']

/** Matches a package whether it resolved into node_modules or not (an unresolved import keeps its bare name). */
const packagePath = (names) => `(^|/)node_modules/(${names.join('|')})(/|$)|^(${names.join('|')})(/|$)`

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'library-not-to-tooling',
      comment: 'Library code (src/, native-free-kernels/) imports nothing from bench/, datasets/, cli/ or test/.',
      severity: 'error',
      from: { path: '^(src|native-free-kernels)/' },
      to: { path: '^(bench|datasets|cli|test)/' },
    },
    {
      name: 'library-no-tooling-packages',
      comment: `Library code uses none of the tooling packages (${TOOLING_PACKAGES.join(', ')}): a library install must not need them.`,
      severity: 'error',
      from: { path: '^(src|native-free-kernels)/' },
      to: { path: packagePath(TOOLING_PACKAGES) },
    },
    {
      name: 'kernels-self-contained',
      comment: 'native-free-kernels/ imports nothing outside itself except node: built-ins.',
      severity: 'error',
      from: { path: '^native-free-kernels/' },
      to: { pathNot: '^native-free-kernels/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'tooling-through-public-entry',
      comment:
        'cli/, bench/ and datasets/ reach the library only through its public entry points ' +
        "(src/index.ts, src/text/index.ts, native-free-kernels/index.ts; imported as 'vqlite', 'vqlite/text', 'vqlite/kernels').",
      severity: 'error',
      from: { path: '^(cli|bench|datasets)/' },
      to: { path: '^(src|native-free-kernels)/', pathNot: PUBLIC_ENTRY },
    },
    {
      name: 'codecs-not-to-storage',
      comment: 'Quantizers, clustering, transforms, IVF and search know nothing of storage.',
      severity: 'error',
      from: { path: '^src/(quantizers|clustering|transforms|ivf|search)/' },
      to: { path: '^src/storage/' },
    },
    {
      name: 'storage-not-to-codecs',
      comment: 'Storage knows nothing of the kernels, the search, the quantizers or clustering.',
      severity: 'error',
      from: { path: '^src/storage/' },
      to: { path: '^(native-free-kernels|src/search|src/quantizers|src/clustering)/' },
    },
    {
      name: 'no-circular-in-library',
      comment:
        'No import cycles inside src/ that exist at run time. Type-only edges do not count: a contract module (quantizer.ts) ' +
        'may name the types of the scanners its implementations return, as TypeScript interfaces and their implementers do.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { path: '^src/', dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'worker-not-to-facade',
      comment: 'The worker thread runs the search core; it does not load the public facade (src/index.ts) or VqIndex.',
      severity: 'error',
      from: { path: '^src/parallel/worker\\.ts$' },
      to: { path: '^src/(index|vq-index)\\.ts$' },
    },
    {
      name: 'pool-only-from-index',
      comment:
        'Only the index layer starts worker threads: the numeric layers, storage, text, the kernels and the worker itself ' +
        'do not import the pool (src/parallel/pool.ts).',
      severity: 'error',
      from: {
        path: [
          '^src/(quantizers|clustering|transforms|ivf|search|storage|text|util)/',
          '^native-free-kernels/',
          '^src/parallel/worker\\.ts$',
        ],
      },
      to: { path: '^src/parallel/pool\\.ts$' },
    },
    {
      name: 'sources-not-to-built-output',
      comment:
        "Sources import sources, never dist/: an import of 'vqlite' that lands in dist/ means tsconfig.json's paths lost an entry point.",
      severity: 'error',
      from: {},
      to: { path: '^dist/' },
    },
    {
      name: 'no-unresolvable',
      comment: "Every relative import, and every import of the library by its name ('vqlite', 'vqlite/...'), resolves to a file.",
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, path: ['^\\.', '^vqlite(/|$)'] },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '^dist/'] },
    exclude: { path: ['^coverage/', '^bench/results/', '^native-free-kernels/wasm/assembly/'] },
    // Type-only imports count: a layer that imports another's types depends on it.
    tsPreCompilationDeps: true,
    // Resolves 'vqlite', 'vqlite/text' and 'vqlite/kernels' through tsconfig.json's `paths`.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
