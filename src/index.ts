/** vqlite: embedded vector-quantization similarity search. The public API, as an explicit list. */
export { VqIndex } from './vq-index.js'
export { trainKMeans, assignNearest } from './clustering/kmeans.js'
export { ProductQuantizer } from './quantizers/pq.js'
export { ScalarQuantizer, Fp16Codec } from './quantizers/sq.js'
export { FlatCodec } from './quantizers/flat.js'
export { parseDescription, formatDescription, parseIndexDescription, formatIndexDescription } from './factory/parse.js'
export { OpqTransform } from './transforms/opq.js'
export { CoarseQuantizer } from './ivf/coarse.js'
export { IndexModel } from './search/model.js'
export { exactKnn, normalizedCopy } from './search/exact.js'
export { VqError, VqInputError, VqOptionError, VqStateError, VqFormatError, VqStorageError } from './errors.js'
export { getKernels } from '../native-free-kernels/index.js'

export type {
  Metric, CodecSpec, CreateOptions, OpenOptions, ConnectionOptions, TrainOptions, TrainProgress, SearchResult,
  BatchSearchResult, VectorStorage, Durability, Metadata, StoredItem, DeleteOptions, MemoryUsage, IndexSpec, IvfSpec,
  TransformSpec, RefineSpec, Filter, FilterValue, FieldOperators, SearchOptions, BatchSearchOptions, IndexStats,
} from './types.js'
export type { Manifest, TrainingRecord } from './manifest.js'
export type { KMeansOptions, KMeansResult, KMeansProgress, KMeansInit } from './clustering/kmeans.js'
export type { Quantizer, CodeScanner, QuantizerState, InnerMetric } from './quantizers/quantizer.js'
export type { VqErrorCode, VqWarning } from './errors.js'
export type { KnnResult } from './search/exact.js'
export type { Kernels, KernelBackend } from '../native-free-kernels/index.js'
export { Rng } from './util/random.js'
export { defaultCacheDir } from './util/cache-dir.js'
