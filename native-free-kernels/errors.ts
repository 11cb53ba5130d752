/**
 * The base error of vqlite, kept in the kernels package (the lowest layer, which imports
 * nothing outside itself) so that the kernels, used alone through 'vqlite/kernels', throw
 * the same typed errors as the library. The library's subclasses (VqInputError,
 * VqOptionError, ...) live in src/errors.ts, which re-exports this class.
 */

/** Stable machine-readable error codes. */
export type VqErrorCode =
  | 'DIMENSION_MISMATCH'
  | 'NON_FINITE_VALUE'
  | 'VALUE_OUT_OF_RANGE'
  | 'ZERO_VECTOR'
  | 'BAD_VECTORS'
  | 'BAD_IDS'
  | 'DUPLICATE_ID'
  | 'ID_KIND'
  | 'ID_EXISTS'
  | 'BAD_K'
  | 'EMPTY_TRAINING_SET'
  | 'TOO_FEW_TRAINING_POINTS'
  | 'BAD_OPTION'
  | 'BAD_ARGUMENT'
  | 'UNKNOWN_OPTION'
  | 'BAD_DESCRIPTION'
  | 'NOT_TRAINED'
  | 'NOT_EMPTY'
  | 'CLOSED'
  | 'UNSUPPORTED'
  | 'UNKNOWN_ID'
  | 'BAD_METADATA'
  | 'BAD_FILTER'
  | 'NO_VECTORS'
  | 'READ_ONLY'
  | 'BAD_FILE'
  | 'TRUNCATED_FILE'
  | 'NOT_SQLITE'
  | 'FOREIGN_FILE'
  | 'NEWER_FORMAT'
  | 'CORRUPT_FILE'
  | 'FILE_EXISTS'
  | 'NOT_FOUND'
  | 'CANNOT_OPEN'
  | 'LOCKED'
  | 'IO_ERROR'
  | 'MISSING_DEPENDENCY'
  | 'EMBEDDER_FAILED'
  | 'EMBEDDER_MISMATCH'
  | 'WORKER_FAILED'
  | 'INTERNAL'
  | 'OUT_OF_MEMORY'
  | 'NETWORK'
  | 'NOT_DOWNLOADED'
  | 'ABORTED'
  | 'UNSUPPORTED_FAISS_INDEX'

/** Base class of every error vqlite throws on purpose. */
export class VqError extends Error {
  /** Stable code, for programs. The message is for people. */
  readonly code: VqErrorCode
  /** code: the stable code; message: what is wrong, for people; options.cause: the underlying error. */
  constructor(code: VqErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}
