import { CloudError } from '../../common/cloud-error.js';

/**
 * The Redis store could not be reached or did not answer; nothing of the operation is known to be applied.
 * A CloudError (503 over HTTP) whose message does not name the server: it reaches clients. The address is on
 * `where` for logs.
 */
export class StoreUnavailableError extends CloudError {
  constructor(
    readonly where: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('STORE_UNAVAILABLE', 'the store did not answer; try again shortly');
    this.name = 'StoreUnavailableError';
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause });
  }

  /** For logs: the address and what went wrong. */
  describe(): string {
    return `the Redis store at ${this.where} did not answer: ${this.reason}`;
  }
}

/** A record kept changing under a compare-and-swap for longer than the retries allow. */
export class StoreContentionError extends Error {
  readonly code = 'STORE_CONTENTION';

  constructor(what: string) {
    super(`${what} is changing too fast to write`);
    this.name = 'StoreContentionError';
  }
}
