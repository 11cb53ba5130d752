/**
 * Typed errors. Every error vqlite throws on purpose is a VqError with a stable `code`;
 * the subclass says whose fault it is:
 * - VqInputError: the data passed to a call is wrong (dimension, NaN, ids, ...);
 * - VqOptionError: an option or description string is wrong;
 * - VqStateError: the call is not allowed in the index's current state;
 * - VqFormatError: a file (dataset or index) is malformed, truncated, foreign or too new;
 * - VqStorageError: the file system, the database or the network refused (exists, read-only,
 *   locked, I/O, no network).
 * A rejected call leaves the index exactly as it was.
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
  | 'WORKER_FAILED'
  | 'INTERNAL'
  | 'OUT_OF_MEMORY'
  | 'NETWORK'
  | 'NOT_DOWNLOADED'

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

/** The data given to a call is wrong: dimension, NaN/Infinity, ids, k. */
export class VqInputError extends VqError {}
/** An option, option combination or description string is wrong. */
export class VqOptionError extends VqError {}
/** The call is not allowed in the current state (not trained, closed, ...). */
export class VqStateError extends VqError {}
/** A file is malformed, truncated or not of the expected kind. */
export class VqFormatError extends VqError {}

/** The file system or database refused: FILE_EXISTS, NOT_FOUND, READ_ONLY, CANNOT_OPEN, LOCKED, IO_ERROR. */
export class VqStorageError extends VqError {}

/** A non-fatal condition reported through an `onWarning` callback (library code never prints). */
export interface VqWarning {
  /** 'FEW_TRAINING_POINTS': fewer than minPointsPerCentroid training points per centroid. */
  readonly code: 'FEW_TRAINING_POINTS'
  readonly message: string
}
