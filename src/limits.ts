/**
 * The documented limits of vqlite (README, "Guarantees"). Every public call checks its
 * arguments against them before it allocates or changes anything, and refuses what is
 * past them with a typed error naming the limit.
 */

/** Largest vector dimension. */
export const MAX_DIM = 65_536

/** Largest input dimension of an OPQ transform (its rotation is d x dOut floats, learned by SVD). */
export const MAX_OPQ_DIM = 4_096

/** Most rows items() reads per step. */
export const MAX_ITEMS_BATCH = 10_000
/** Rows items() reads per step by default. */
export const DEFAULT_ITEMS_BATCH = 256

/** Longest string id (UTF-16 code units) of an index created with ids: 'string'. */
export const MAX_KEY_LENGTH = 512

/** Largest id: ids are non-negative safe integers (SQLite INTEGER, exact in a float64). */
export const MAX_ID = Number.MAX_SAFE_INTEGER

/** Largest k of search / searchBatch / keywordSearch (BAD_K past it). */
export const MAX_K = 100_000

/** Largest refineFactor (BAD_OPTION past it); the candidates re-ranked are min(k * refineFactor, index size). */
export const MAX_REFINE_FACTOR = 1_000

/** Largest nq * k of one searchBatch (BAD_K past it: split the batch). */
export const MAX_BATCH_RESULTS = 10_000_000

/** Largest `limit` of find(). */
export const MAX_FIND_LIMIT = 1_000_000

/**
 * Largest squared L2 norm of a vector (VALUE_OUT_OF_RANGE past it), so that every
 * distance between two vectors (at most 4 * this) stays finite in float32.
 */
export const MAX_SQUARED_NORM = 1e37

/** Largest magnitude of a component where vectors are kept as IEEE half floats (storeVectors 'float16', codec SQfp16). */
export const MAX_FLOAT16 = 65_504

/** Deepest nesting of arrays and objects in one item's metadata (BAD_METADATA past it). */
export const MAX_METADATA_DEPTH = 64

/** Largest metadata of one item, as UTF-8 JSON text (BAD_METADATA past it). */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024

/** Deepest nesting of $and / $or / $not and sub-objects in a filter (BAD_FILTER past it). */
export const MAX_FILTER_DEPTH = 32

/** Most conditions (field tests, $in values count once per list) in one filter (BAD_FILTER past it). */
export const MAX_FILTER_TERMS = 10_000

/** Most values in one $in / $nin list (BAD_FILTER past it). */
export const MAX_FILTER_SET = 100_000

/** Longest text-field path, property name and filter field path, in characters. */
export const MAX_NAME_LENGTH = 256
