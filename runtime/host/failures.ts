import { StoreAssertionError, StoreConflictError, StoreDataError, StoreError, UniqueViolationError } from '../store/index.ts';

/**
 * A commit lost a race: an actor's sequence number moved, a message id was
 * committed meanwhile, or PostgreSQL reported a serialization failure. Reload and retry.
 */
export function isConflict(e: unknown): boolean {
  return e instanceof StoreAssertionError || e instanceof UniqueViolationError || e instanceof StoreConflictError;
}

/** The database is unavailable for now; the same work may succeed later. */
export function isRetryable(e: unknown): boolean {
  return e instanceof StoreError && e.retryable;
}

/** A value in the batch was refused (SQLSTATE classes 22 and 23): one message's fault, found by bisection. */
export function isDataError(e: unknown): boolean {
  return e instanceof StoreDataError;
}

/** Any error of the store (as opposed to one thrown while processing a message). */
export function isStoreError(e: unknown): boolean {
  return e instanceof StoreError;
}
