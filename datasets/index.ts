/** Dataset readers and loaders (import from "vqlite-cli/datasets"). */
export { defaultCacheDir } from 'vqlite'
export { fromWink, GLOVE_PACKAGE, type GloveVectors, loadGlove } from 'vqlite/text'
export { CATALOGUE, type CatalogueEntry, catalogueEntry, type DatasetSource } from './catalogue.js'
export { type DownloadOptions, type DownloadProgress, downloadDataset, downloadedPath, downloadUrl, isDownloaded } from './download.js'
export { FIORI_PACKAGE, type FioriDocs, type FioriRecord, loadFioriDocs } from './fiori.js'
export type { DatasetOptions } from './glove100.js'
export {
  type EvalDataset,
  GLOVE100_GT_K,
  GLOVE100_QUERIES,
  GLOVE100_SEED,
  type Glove100,
  glove100QueryRows,
  loadGlove100,
} from './glove100.js'
export {
  type AnnBenchmarksData,
  metricOfAnnDistance,
  openAnnBenchmarksRows,
  readAnnBenchmarks,
  readAnnBenchmarksShape,
  writeAnnBenchmarks,
} from './hdf5.js'
export { type LoadDatasetOptions, loadDataset, trueDistances } from './load.js'
export { loadMnistDigits, MNIST_DIM, MNIST_PACKAGE, type MnistDigits } from './mnist.js'
export { type SyntheticData, type SyntheticOptions, syntheticMixture } from './synthetic.js'
export {
  bytesToFloat32,
  type ReadVecsOptions,
  readBvecs,
  readFvecs,
  readIvecs,
  streamVecs,
  type VecsBlock,
  type VecsFormat,
  type VecsInfo,
  vecsFormatOf,
  vecsInfo,
  writeVecs,
} from './texmex.js'
