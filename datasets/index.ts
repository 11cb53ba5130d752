/** Dataset readers and loaders (import from "vqlite-cli/datasets"). */
export { defaultCacheDir } from 'vqlite'
export { FIORI_PACKAGE, type FioriDocs, type FioriRecord, loadFioriDocs } from './fiori.js'
export { fromWink, GLOVE_PACKAGE, type GloveVectors, loadGlove } from 'vqlite/text'
export type { DatasetOptions } from './glove100.js'
export {
  type EvalDataset, GLOVE100_GT_K, GLOVE100_QUERIES, GLOVE100_SEED, type Glove100, glove100QueryRows, loadGlove100,
} from './glove100.js'
export {
  bytesToFloat32, readBvecs, readFvecs, readIvecs, type ReadVecsOptions, streamVecs, type VecsBlock, type VecsFormat,
  vecsFormatOf, type VecsInfo, vecsInfo, writeVecs,
} from './texmex.js'
export { CATALOGUE, type CatalogueEntry, catalogueEntry, type DatasetSource } from './catalogue.js'
export { type DownloadOptions, type DownloadProgress, downloadDataset, downloadedPath, downloadUrl, isDownloaded } from './download.js'
export { type AnnBenchmarksData, metricOfAnnDistance, readAnnBenchmarks, readAnnBenchmarksShape, writeAnnBenchmarks } from './hdf5.js'
export { loadDataset, type LoadDatasetOptions, trueDistances } from './load.js'
export { type SyntheticData, syntheticMixture, type SyntheticOptions } from './synthetic.js'
