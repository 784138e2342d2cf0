import { StoreAssertionError, StoreConflictError, StoreError, UniqueViolationError } from '../store/index.ts';

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
