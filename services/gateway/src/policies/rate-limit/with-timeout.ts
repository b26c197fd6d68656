export class RedisTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
    this.name = "RedisTimeoutError";
  }
}

/**
 * Settles like `work`, or rejects with RedisTimeoutError after `timeoutMs`, so that a
 * Redis that stopped answering cannot hold a request. The work is not cancelled: a
 * reply that arrives later is ignored.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  // One promise and one timer per call, on every Redis-backed request: no race between
  // two promises, no async frames.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisTimeoutError(timeoutMs)), timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the work's own failure, passed on unchanged
        reject(error);
      },
    );
  });
}
