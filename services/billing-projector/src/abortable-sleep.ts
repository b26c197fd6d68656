/**
 * Waits `ms`, or less if `signal` aborts first; never rejects. (node:timers/promises
 * rejects on abort, and both loops that back off here, the usage reporter and the Stripe
 * sync, treat a stop as the end of the wait, not as an error.)
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
