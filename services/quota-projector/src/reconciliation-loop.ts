import type { Logger } from "@tollgate/observability";
import type { UsageCounts } from "./quota-projection.js";
import type { CounterReconciliation, RedisQuotaReconciler } from "./redis-quota-reconciler.js";
import type { SqliteQuotaStore } from "./sqlite-quota-store.js";

export interface ReconciliationStats {
  runs: number;
  countersReconciled: number;
  /** Units given back to counters (requests the plans do not bill). */
  refunded: number;
  /** Units added to counters for WebSocket sessions that billed more than the one unit taken at their handshake. */
  charged: number;
  /** Units added back to counters that had lost data (see CounterReconciliation.restored). */
  restored: number;
  errors: number;
  /** Epoch ms of the last run that succeeded; null before the first. */
  lastSuccessAt: number | null;
  /** Counters waiting for the next run. */
  pending: number;
}

export interface ReconciliationLoopOptions {
  reconciler: RedisQuotaReconciler;
  store: SqliteQuotaStore;
  /** Every this often, every counter that may still exist is reconciled, touched or not. */
  sweepIntervalMs: number;
  /** How long counters outlive their period (the gateways' retention). */
  retentionMs: number;
  logger?: Logger;
  clock?: () => number;
}

/**
 * When counters are reconciled, and what happens when Redis is not there.
 *
 * Ordering: a batch's counts are committed to SQLite first; only then are its rows
 * handed here (`touched`). Redis is never written from inside the batch's transaction,
 * because the two cannot commit together; instead the reconciliation is idempotent (see
 * RedisQuotaReconciler), so it is simply run again until it succeeds. A crash after
 * COMMIT and before the reconciliation loses nothing: the next sweep reconciles from the
 * committed counts.
 *
 * - Touched rows are reconciled as soon as their batch commits (refunds reach the
 *   gateways within a batch of the log).
 * - A full sweep every `sweepIntervalMs` covers counters no request has touched since
 *   Redis lost them: that bounds how long a restore can take.
 * - A Redis failure keeps the rows pending and is retried on the next sweep; the runner
 *   keeps projecting into SQLite meanwhile.
 */
export class ReconciliationLoop {
  readonly #reconciler: RedisQuotaReconciler;
  readonly #store: SqliteQuotaStore;
  readonly #sweepIntervalMs: number;
  readonly #retentionMs: number;
  readonly #logger: Logger | undefined;
  readonly #clock: () => number;
  readonly #pending = new Map<string, UsageCounts>();
  readonly #stats: ReconciliationStats = { runs: 0, countersReconciled: 0, refunded: 0, charged: 0, restored: 0, errors: 0, lastSuccessAt: null, pending: 0 };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #sweepDue = true;
  #failing = false;
  #stopped = false;

  constructor(options: ReconciliationLoopOptions) {
    this.#reconciler = options.reconciler;
    this.#store = options.store;
    this.#sweepIntervalMs = options.sweepIntervalMs;
    this.#retentionMs = options.retentionMs;
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
  }

  /** Starts the sweeps; the first one runs at once. */
  start(): this {
    this.#timer = setInterval(() => {
      this.#sweepDue = true;
      this.#kick();
    }, this.#sweepIntervalMs);
    this.#timer.unref();
    this.#kick();
    return this;
  }

  /** Rows a batch changed, after its commit. */
  touched(rows: readonly UsageCounts[]): void {
    for (const row of rows) if (row.quota !== null) this.#pending.set(this.#reconciler.counterKey(row), row);
    if (this.#pending.size > 0) this.#kick();
  }

  /** Reconciles everything now and waits for it (the end of a rebuild, tests). */
  async flush(): Promise<void> {
    this.#sweepDue = true;
    this.#kick();
    while (this.#running) await this.#running;
  }

  stats(): ReconciliationStats {
    return { ...this.#stats, pending: this.#pending.size };
  }

  /** Stops sweeping; waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    while (this.#running) await this.#running;
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.#kick();
      }
    });
  }

  async #run(): Promise<void> {
    const sweep = this.#sweepDue;
    this.#sweepDue = false;
    const batch = new Map(this.#pending);
    this.#pending.clear();
    if (sweep) {
      // Committed rows of every period whose counter may still exist; they supersede
      // older pending copies of the same rows.
      for (const row of this.#store.usage({ endingAfter: this.#clock() - this.#retentionMs })) {
        if (row.quota !== null) batch.set(this.#reconciler.counterKey(row), row);
      }
    }
    if (batch.size === 0) {
      // Nothing to reconcile is a successful sweep: the counters are as fresh as the log.
      if (sweep) this.#stats.lastSuccessAt = this.#clock();
      return;
    }
    let results: CounterReconciliation[];
    try {
      results = await this.#reconciler.reconcile([...batch.values()]);
    } catch (error) {
      // Keep what did not get through, unless a newer version of the row arrived meanwhile.
      for (const [key, row] of batch) if (!this.#pending.has(key)) this.#pending.set(key, row);
      this.#stats.errors += 1;
      if (!this.#failing) this.#logger?.warn({ err: error, pending: this.#pending.size }, "quota reconciliation failed; retrying on the next sweep");
      this.#failing = true;
      return;
    }
    if (this.#failing) this.#logger?.info({ counters: results.length }, "quota reconciliation works again");
    this.#failing = false;
    this.#stats.runs += 1;
    this.#stats.countersReconciled += results.length;
    this.#stats.lastSuccessAt = this.#clock();
    for (const result of results) {
      this.#stats.refunded += result.refunded;
      this.#stats.charged += result.charged;
      this.#stats.restored += result.restored;
      if (result.restored > 0) {
        this.#logger?.warn(
          { counter: result.key, before: result.before, after: result.after, restored: result.restored },
          "quota counter was below the log's billable count (Redis lost data, or requests were admitted in memory during an outage); restored",
        );
      }
    }
  }
}
