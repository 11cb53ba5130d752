/** vqlite: embedded vector-quantization similarity search. The public API, as an explicit list. */

export type { KernelBackend, Kernels } from '../native-free-kernels/index.js'
export { getKernels } from '../native-free-kernels/index.js'
export type { KMeansInit, KMeansOptions, KMeansProgress, KMeansResult } from './clustering/kmeans.js'
export { assignNearest, trainKMeans } from './clustering/kmeans.js'
export type { StreamAddOptions, StreamAddProgress, StreamAddResult } from './engine/stream-add.js'
export type { VqErrorCode, VqWarning } from './errors.js'
export { VqAbortError, VqError, VqFormatError, VqInputError, VqOptionError, VqStateError, VqStorageError } from './errors.js'
export { formatDescription, formatIndexDescription, minTrainingVectors, parseDescription, parseIndexDescription } from './factory/parse.js'
export { readVectorBlocks, readVectorRows, type VectorBlock, type VectorFileInfo, vectorFileInfo } from './io/vector-stream.js'
export { CoarseQuantizer } from './ivf/coarse.js'
export * from './limits.js'
export type { Manifest, TrainingRecord } from './manifest.js'
export { FlatCodec } from './quantizers/flat.js'
export { ProductQuantizer } from './quantizers/pq.js'
export type { CodeScanner, InnerMetric, Quantizer, QuantizerState } from './quantizers/quantizer.js'
export { RABITQ_EPS0, type RaBitQOptions, RaBitQScanner, type RaBitQScanOptions, RaBitQuantizer } from './quantizers/rabitq.js'
export { Fp16Codec, ScalarQuantizer } from './quantizers/sq.js'
export type { KnnResult } from './search/exact.js'
export { exactKnn, normalizedCopy } from './search/exact.js'
export { IndexModel } from './search/model.js'
export { VqShards } from './shards.js'
export { OpqTransform } from './transforms/opq.js'
export type {
  AddOptions,
  AddProgress,
  BatchProgress,
  BatchSearchOptions,
  BatchSearchResult,
  CodecSpec,
  ConnectionOptions,
  CreateOptions,
  DeleteOptions,
  Durability,
  ExportOptions,
  FaissImportOptions,
  FieldAt,
  FieldCondition,
  FieldOperators,
  FieldPaths,
  Filter,
  FilterValue,
  FilterValueOf,
  Id,
  IdKind,
  IdOf,
  IdsInput,
  ImportOptions,
  IndexSpec,
  IndexStats,
  ItemsOptions,
  IvfSpec,
  MemoryUsage,
  Metadata,
  Metric,
  OpenOptions,
  RefineSpec,
  ResultIds,
  SearchOptions,
  SearchResult,
  SearchStats,
  StoredItem,
  TrainedModel,
  TrainOptions,
  TrainProgress,
  TransformSpec,
  TypedFilter,
  UntypedFilter,
  VectorStorage,
} from './types.js'
export { defaultCacheDir } from './util/cache-dir.js'
export { Rng } from './util/random.js'
export { VqIndex } from './vq-index.js'
