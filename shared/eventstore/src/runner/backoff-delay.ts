export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** Ceiling: retries never wait longer than this. */
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 100, maxMs: 30_000 };

/** Exponential backoff: `initialMs` for the first failure, doubling up to `maxMs`. */
export function backoffDelay(consecutiveFailures: number, options: BackoffOptions): number {
  if (consecutiveFailures <= 0) return 0;
  // Cap the exponent so that the product cannot overflow to Infinity.
  const exponent = Math.min(consecutiveFailures - 1, 52);
  return Math.min(options.maxMs, options.initialMs * 2 ** exponent);
}
