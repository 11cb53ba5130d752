/**
 * Typed errors. Every error vqlite throws on purpose is a VqError with a stable `code`;
 * the subclass says whose fault it is:
 * - VqInputError: the data passed to a call is wrong (dimension, NaN, ids, ...);
 * - VqOptionError: an option or description string is wrong;
 * - VqStateError: the call is not allowed in the index's current state;
 * - VqFormatError: a file (dataset or index) is malformed, truncated, foreign or too new;
 * - VqStorageError: the file system, the database or the network refused (exists, read-only,
 *   locked, I/O, no network);
 * - VqAbortError: the caller's AbortSignal aborted the call (code ABORTED; `cause` is the
 *   signal's reason).
 * A rejected call leaves the index exactly as it was.
 */

import { VqError } from '../native-free-kernels/errors.js'

export { VqError, type VqErrorCode } from '../native-free-kernels/errors.js'

/** The data given to a call is wrong: dimension, NaN/Infinity, ids, k. */
export class VqInputError extends VqError {}
/** An option, option combination or description string is wrong. */
export class VqOptionError extends VqError {}
/** The call is not allowed in the current state (not trained, closed, ...). */
export class VqStateError extends VqError {}
/** A file is malformed, truncated or not of the expected kind. */
export class VqFormatError extends VqError {}

/** The call was cancelled by its AbortSignal before its commit point (code ABORTED, cause: signal.reason); nothing was changed. */
export class VqAbortError extends VqError {}

/** The file system or database refused: FILE_EXISTS, NOT_FOUND, READ_ONLY, CANNOT_OPEN, LOCKED, IO_ERROR. */
export class VqStorageError extends VqError {}

/** A non-fatal condition reported through an `onWarning` callback (library code never prints). */
export interface VqWarning {
  /** 'FEW_TRAINING_POINTS': fewer than minPointsPerCentroid training points per centroid. */
  readonly code: 'FEW_TRAINING_POINTS'
  readonly message: string
}
