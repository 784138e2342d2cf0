/** Base of the bus's errors: a stable `code` and whether a retry can help. */
export class BusError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The bus cannot be reached or is not started; retry later. */
export class BusUnavailableError extends BusError {
  constructor(message: string, cause?: unknown) {
    super(message, 'BUS_UNAVAILABLE', true, { cause });
  }
}
