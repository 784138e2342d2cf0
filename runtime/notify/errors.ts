/**
 * Errors of notify's reads and settings. Each has a stable lower-case `code` and
 * a `statusCode`, so the gateway answers it as a problem without a mapping of its
 * own (runtime/gateway/app.ts `problemOf`). Delivery failures are effect errors
 * instead: TerminalEffectError (do not retry) or a plain Error (retry).
 */

/** Stable codes of {@link NotifyError}. */
export type NotifyErrorCode = 'invalid_webhook' | 'invalid_cursor';

/** A request to notify's reads or settings was refused. */
export class NotifyError extends Error {
  readonly statusCode = 400;
  constructor(
    readonly code: NotifyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'NotifyError';
  }
}
