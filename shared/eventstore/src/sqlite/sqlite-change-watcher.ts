/**
 * Tells waiting subscriptions that the log may have grown.
 *
 * Appends through the same store object wake them at once (`notify`). Appends by any
 * other connection, in this process or another, are seen by polling `PRAGMA
 * data_version`, which changes exactly when another connection has committed; in WAL
 * mode it is a read of shared memory, cheap enough to run every 20 ms. The timer runs
 * only while someone waits, and keeps the process alive while it does, like a socket.
 *
 * The baseline data_version is only ever advanced by a poll that then bumps `version`,
 * never reset when polling restarts: a commit that lands between a subscriber's last
 * read and its wait is therefore always seen by the next poll.
 */
export class SqliteChangeWatcher {
  readonly #readDataVersion: () => number;
  readonly #pollIntervalMs: number;
  #lastDataVersion: number;
  #version = 0;
  readonly #waiters = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(readDataVersion: () => number, pollIntervalMs: number) {
    this.#readDataVersion = readDataVersion;
    this.#pollIntervalMs = pollIntervalMs;
    this.#lastDataVersion = readDataVersion();
  }

  get version(): number {
    return this.#version;
  }

  /** The log has grown through this connection. */
  notify(): void {
    this.#version += 1;
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves once `version` differs from `seenVersion`, or at once when `signal` aborts. */
  wait(seenVersion: number, signal: AbortSignal): Promise<void> {
    if (this.#version !== seenVersion || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#waiters.delete(wake);
        signal.removeEventListener("abort", wake);
        if (this.#waiters.size === 0) this.#stopPolling();
        resolve();
      };
      this.#waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
      this.#startPolling();
    });
  }

  stop(): void {
    this.#stopPolling();
    for (const wake of [...this.#waiters]) wake();
  }

  #startPolling(): void {
    this.#timer ??= setInterval(() => this.#poll(), this.#pollIntervalMs);
  }

  #stopPolling(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #poll(): void {
    let dataVersion: number;
    try {
      dataVersion = this.#readDataVersion();
    } catch {
      // Let the waiters read: their read raises the real error where it can be handled.
      this.notify();
      return;
    }
    if (dataVersion !== this.#lastDataVersion) {
      this.#lastDataVersion = dataVersion;
      this.notify();
    }
  }
}
