import { billingStream, type UsageAdjustmentReported, type UsageReported } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { reportBackoffDelay, type ReportBackoff } from "./report-backoff.js";
import type { SqliteBillingStore, UsageReport } from "./sqlite-billing-store.js";
import { MeterEventError, type MeterEventSender } from "./stripe-meter-sender.js";
import { meterTimestamp, reportEventId, stripeTimestampRule, type TimestampRule } from "./usage-report.js";
import { abortableSleep } from "./abortable-sleep.js";

export interface UsageReporterOptions {
  store: SqliteBillingStore;
  /** Where UsageReported events are appended: the log. */
  eventStore: EventStore;
  sender: MeterEventSender;
  backoff: ReportBackoff;
  /** How often pending usage is looked at when no batch woke the reporter. */
  pollIntervalMs: number;
  rule?: TimestampRule;
  now?: () => number;
  random?: () => number;
  logger?: Logger;
}

export interface ReporterStats {
  sent: number;
  retries: number;
  rejected: number;
  consecutiveFailures: number;
  lastError: string | null;
}

/**
 * Sends the ledger's pending reports to Stripe, one at a time, oldest first.
 *
 * For each report, in this order (each step survives a crash of the process):
 * 1. the report is already in the ledger, `pending` (SqliteBillingStore.planReports);
 * 2. it is sent with its identifier, and an Idempotency-Key of identifier + timestamp;
 *    on 429, 5xx, a timeout or a connection error the same report is sent again after a
 *    backoff: Stripe replays the first answer for a known key, and counts an
 *    identifier once;
 * 3. once Stripe accepted it, UsageReported is appended to the log, with an event id
 *    derived from the identifier (a second append of it is skipped by the store);
 * 4. the report is marked `reported` in the ledger.
 * A crash after 2 sends the report again on restart (Stripe counts it once); a crash
 * after 3 appends nothing new. Only 4 lets the next report of the same usage be planned.
 */
export class UsageReporter {
  readonly #options: UsageReporterOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #rule: TimestampRule;
  readonly #stopping = new AbortController();
  #wake: (() => void) | null = null;
  #kicked = false;
  #loop: Promise<void> | null = null;
  readonly #stats: ReporterStats = { sent: 0, retries: 0, rejected: 0, consecutiveFailures: 0, lastError: null };

  constructor(options: UsageReporterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#rule = options.rule ?? stripeTimestampRule;
  }

  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  /** New usage was committed: look at it now rather than at the next poll. */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  stats(): ReporterStats {
    return { ...this.#stats };
  }

  /** Stops after the request in flight (its outcome is recorded); a backoff wait ends at once. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#wake?.();
    await this.#loop;
  }

  /** Plans and sends everything pending once; for tests and for the loop. */
  async drain(): Promise<void> {
    const { store } = this.#options;
    for (;;) {
      const pending = store.planReports(this.#now(), this.#rule);
      if (pending.length === 0 || this.#stopping.signal.aborted) return;
      for (const report of pending) {
        if (this.#stopping.signal.aborted) return;
        await this.#deliver(report);
      }
    }
  }

  async #run(): Promise<void> {
    const { logger, pollIntervalMs } = this.#options;
    while (!this.#stopping.signal.aborted) {
      this.#kicked = false;
      try {
        await this.drain();
      } catch (error) {
        // The ledger or the log failed (not Stripe): wait for the next poll.
        logger?.error({ err: error }, "usage reporting failed; retrying at the next poll");
      }
      if (this.#stopping.signal.aborted || this.#kicked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollIntervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  async #deliver(initial: UsageReport): Promise<void> {
    const { store, sender, eventStore, backoff, logger } = this.#options;
    let report = initial;
    let failures = 0;
    while (!this.#stopping.signal.aborted) {
      // A report that waited (no key, Stripe down) may have become older than Stripe accepts.
      const retimed = meterTimestamp(report.timestampSeconds * 1_000, this.#now(), this.#rule);
      if (retimed.clamped) {
        store.retime(report.reportId, retimed.seconds, true);
        report = { ...report, timestampSeconds: retimed.seconds, timestampClamped: true };
        logger?.warn({ reportId: report.reportId, subscriptionId: report.subscriptionId }, "usage older than Stripe accepts: timestamp moved forward");
      }
      try {
        await sender.send(
          { eventName: report.meterEventName, stripeCustomerId: report.stripeCustomerId, value: report.units, identifier: report.reportId, timestampSeconds: report.timestampSeconds },
          // The body of a key must never change: a re-timed report gets a new key (and keeps its identifier).
          `${report.reportId}-${report.timestampSeconds}`,
        );
        const reportedAt = this.#now();
        await eventStore.append(billingStream(report.subscriptionId), [usageReportedEvent(report, reportedAt)]);
        store.markReported(report.reportId, reportedAt);
        this.#stats.sent += 1;
        this.#stats.consecutiveFailures = 0;
        logger?.debug({ reportId: report.reportId, units: report.units, subscriptionId: report.subscriptionId }, "usage reported");
        return;
      } catch (error) {
        if (error instanceof MeterEventError && !error.retryable) {
          store.markRejected(report.reportId, error.message);
          this.#stats.rejected += 1;
          this.#stats.lastError = error.message;
          logger?.error({ reportId: report.reportId, subscriptionId: report.subscriptionId, statusCode: error.statusCode, err: error }, "Stripe rejected a usage report; it stays in the ledger as rejected");
          return;
        }
        failures += 1;
        const message = error instanceof Error ? error.message : String(error);
        store.recordAttempt(report.reportId, message);
        this.#stats.retries += 1;
        this.#stats.consecutiveFailures = failures;
        this.#stats.lastError = message;
        const delayMs = reportBackoffDelay(failures, backoff, this.#random);
        logger?.warn({ reportId: report.reportId, kind: error instanceof MeterEventError ? error.kind : "store", failures, delayMs, error: message }, "usage report failed; retrying");
        await abortableSleep(delayMs, this.#stopping.signal);
      }
    }
  }
}

type ReportEvent =
  | { id: string; type: "UsageReported"; version: 1; data: UsageReported["data"] }
  | { id: string; type: "UsageAdjustmentReported"; version: 1; data: UsageAdjustmentReported["data"] };

/** UsageReported for a regular report; UsageAdjustmentReported, naming the closed period, for late usage. */
function usageReportedEvent(report: UsageReport, reportedAt: number): ReportEvent {
  const data = reportedData(report, reportedAt);
  if (report.originPeriodStart === report.periodStart) return { id: reportEventId(report.reportId), type: "UsageReported", version: 1, data };
  return {
    id: reportEventId(report.reportId),
    type: "UsageAdjustmentReported",
    version: 1,
    data: { ...data, adjustsPeriodStart: new Date(report.originPeriodStart).toISOString(), adjustsPeriodEnd: new Date(report.originPeriodEnd).toISOString() },
  };
}

function reportedData(report: UsageReport, reportedAt: number): UsageReported["data"] {
  return {
      reportId: report.reportId,
      subscriptionId: report.subscriptionId,
      consumerId: report.consumerId,
      planId: report.planId,
      stripeCustomerId: report.stripeCustomerId,
      meterEventName: report.meterEventName,
      periodStart: new Date(report.periodStart).toISOString(),
      periodEnd: new Date(report.periodEnd).toISOString(),
      fromPosition: String(report.fromPosition),
      toPosition: String(report.toPosition),
      units: report.units,
      meterTimestamp: new Date(report.timestampSeconds * 1_000).toISOString(),
      timestampClamped: report.timestampClamped,
      reportedAt: new Date(reportedAt).toISOString(),
  };
}
