/**
 * Import rules of the repository (dependency-cruiser), run by `npm run deps:check`.
 *
 * Layout: the library package `vqlite` is `src/` and `native-free-kernels/`; the tooling is
 * `cli/` (the CLI), `bench/` and `datasets/`; tests are in `test/`. The tooling reaches the
 * library by package name ('vqlite', 'vqlite/text', 'vqlite/kernels', 'vqlite/langchain'), which
 * tsconfig.json's `paths` map to the four public entry points below.
 */

/** The library's public entry points: the only library files tooling may import. */
const PUBLIC_ENTRY = ['^src/index\\.ts$', '^src/text/index\\.ts$', '^native-free-kernels/index\\.ts$', '^src/langchain/index\\.ts$']

/** The optional peer of the 'vqlite/langchain' entry point: only src/langchain/ may import it. */
const LANGCHAIN_PACKAGES = ['@langchain/[^/]+']

/** Packages only the tooling may use (plots, HDF5, downloads, CLI, the hnswlib peer). */
const TOOLING_PACKAGES = ['vega', 'vega-lite', 'h5wasm', 'basic-ftp', 'tar', 'commander', 'cli-progress', 'csv-parse', 'hnswlib-node']

/** Matches a package whether it resolved into node_modules or not (an unresolved import keeps its bare name). */
const packagePath = (names) => `(^|/)node_modules/(${names.join('|')})(/|$)|^(${names.join('|')})(/|$)`

/** Library code: the `vqlite` package's sources. */
const LIBRARY = '^(src|native-free-kernels)/'

/**
 * A forbidden import: from a module matching `from` to one matching `to` is an error; each is
 * a path pattern or a dependency-cruiser condition. why: the rule's comment, shown with a violation.
 */
const forbid = (name, from, to, why) => ({
  name,
  comment: why,
  severity: 'error',
  from: typeof from === 'string' ? { path: from } : from,
  to: typeof to === 'string' ? { path: to } : to,
})

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      'library-not-to-tooling',
      LIBRARY,
      '^(bench|datasets|cli|test)/',
      'Library code (src/, native-free-kernels/) imports nothing from bench/, datasets/, cli/ or test/.',
    ),
    forbid(
      'library-no-tooling-packages',
      LIBRARY,
      packagePath(TOOLING_PACKAGES),
      `Library code uses none of the tooling packages (${TOOLING_PACKAGES.join(', ')}): a library install must not need them.`,
    ),
    forbid(
      'langchain-only-in-its-entry',
      { path: LIBRARY, pathNot: '^src/langchain/' },
      packagePath(LANGCHAIN_PACKAGES),
      "Only src/langchain/ (the 'vqlite/langchain' entry point) imports @langchain/*, the optional peer: " +
        "'vqlite', 'vqlite/text' and 'vqlite/kernels' load and install without it.",
    ),
    forbid(
      'nothing-into-langchain',
      { path: LIBRARY, pathNot: '^src/langchain/' },
      '^src/langchain/',
      "No other library module imports src/langchain/: it loads @langchain/core, which only 'vqlite/langchain' may need.",
    ),
    forbid(
      'kernels-self-contained',
      '^native-free-kernels/',
      { pathNot: '^native-free-kernels/', dependencyTypesNot: ['core'] },
      'native-free-kernels/ imports nothing outside itself except node: built-ins.',
    ),
    forbid(
      'tooling-through-public-entry',
      '^(cli|bench|datasets)/',
      { path: LIBRARY, pathNot: PUBLIC_ENTRY },
      'cli/, bench/ and datasets/ reach the library only through its public entry points ' +
        "(src/index.ts, src/text/index.ts, native-free-kernels/index.ts; imported as 'vqlite', 'vqlite/text', 'vqlite/kernels').",
    ),
    forbid(
      'codecs-not-to-storage',
      '^src/(quantizers|clustering|transforms|ivf|search)/',
      '^src/storage/',
      'Quantizers, clustering, transforms, IVF and search know nothing of storage.',
    ),
    forbid(
      'storage-not-to-codecs',
      '^src/storage/',
      '^(native-free-kernels|src/search|src/quantizers|src/clustering)/',
      'Storage knows nothing of the kernels, the search, the quantizers or clustering.',
    ),
    forbid(
      'no-circular-in-library',
      '^src/',
      { circular: true, viaOnly: { path: '^src/', dependencyTypesNot: ['type-only'] } },
      'No import cycles inside src/ that exist at run time. Type-only edges do not count: a contract module (quantizer.ts) ' +
        'may name the types of the scanners its implementations return, as TypeScript interfaces and their implementers do.',
    ),
    forbid(
      'worker-not-to-facade',
      '^src/parallel/worker\\.ts$',
      '^src/(index|vq-index)\\.ts$',
      'The worker thread runs the search core; it does not load the public facade (src/index.ts) or VqIndex.',
    ),
    forbid(
      'pool-only-from-index',
      {
        path: [
          '^src/(quantizers|clustering|transforms|ivf|search|storage|text|util)/',
          '^native-free-kernels/',
          '^src/parallel/worker\\.ts$',
        ],
      },
      '^src/parallel/pool\\.ts$',
      'Only the index layer starts worker threads: the numeric layers, storage, text, the kernels and the worker itself ' +
        'do not import the pool (src/parallel/pool.ts).',
    ),
    forbid(
      'sources-not-to-built-output',
      {},
      '^dist/',
      "Sources import sources, never dist/: an import of 'vqlite' that lands in dist/ means tsconfig.json's paths lost an entry point.",
    ),
    forbid(
      'no-unresolvable',
      {},
      { couldNotResolve: true, path: ['^\\.', '^vqlite(/|$)'] },
      "Every relative import, and every import of the library by its name ('vqlite', 'vqlite/...'), resolves to a file.",
    ),
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
