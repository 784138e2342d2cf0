import { randomUUID } from 'node:crypto';

/** A new random message id. */
export function newId(): string {
  return randomUUID();
}
