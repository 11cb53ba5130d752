/** Dataset readers and loaders (import from "vqlite/datasets"). */
export { defaultCacheDir } from './cache.js'
export { FIORI_PACKAGE, type FioriDocs, type FioriRecord, loadFioriDocs } from './fiori.js'
export { type DatasetOptions, fromWink, GLOVE_PACKAGE, type GloveVectors, loadGlove } from './glove.js'
export {
  type EvalDataset, GLOVE100_GT_K, GLOVE100_QUERIES, GLOVE100_SEED, type Glove100, glove100QueryRows, loadGlove100,
} from './glove100.js'
export {
  bytesToFloat32, readBvecs, readFvecs, readIvecs, type ReadVecsOptions, streamVecs, type VecsBlock, type VecsFormat,
  vecsFormatOf, type VecsInfo, vecsInfo, writeVecs,
} from './texmex.js'
