export interface ReportBackoff {
  /** Delay after the first failure. */
  readonly initialMs: number;
  /** Ceiling. */
  readonly maxMs: number;
}

/**
 * The wait before re-sending a report after `consecutiveFailures` retryable failures
 * (429, 5xx, timeouts, connection errors): exponential from `initialMs`, capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so that several projectors
 * throttled at once do not retry in lockstep. `random` is injected for tests.
 */
export function reportBackoffDelay(consecutiveFailures: number, backoff: ReportBackoff, random: () => number = Math.random): number {
  if (consecutiveFailures <= 0) return 0;
  const exponent = Math.min(consecutiveFailures - 1, 40);
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  return Math.round(base / 2 + random() * (base / 2));
}
