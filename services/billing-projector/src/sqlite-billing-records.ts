import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { BILLING_STORE_SCHEMA_VERSION, planBillingOf, selectPlanSql, type PlanRow, type ReportRow, type RequestRow, type SubscriptionRow, type UsageRow } from "./billing-store-schema.js";
import { reportColumns, reportOf, subscriptionOf, usageColumns, usageOf, type BillingSettings, type UsageReport } from "./sqlite-billing-store.js";
import type { PlanBilling, SubscriptionBilling, UsageAggregate } from "./usage-aggregation.js";

/** One billable request behind an invoice line. */
export interface ReceiptRequest {
  readonly requestId: string;
  readonly position: bigint;
  readonly startedAt: number;
  readonly status: number;
  /** RequestCompleted, RequestRejected or RequestFailed. */
  readonly outcome: string;
}

export class BillingRecordsUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BillingRecordsUnavailableError";
  }
}

/**
 * The billing projector's file (billing.db), opened read-only: what the invoice preview,
 * the receipts, the reconciliation and re-rating read, in the control plane and in the
 * CLI. It never writes; the projector keeps writing while it is open (SQLite WAL lets one
 * writer and many readers work at once). Each method is one statement, so it reads one
 * consistent state; `snapshot` runs several in one read transaction.
 */
export class SqliteBillingRecords {
  readonly #db: Database.Database;
  readonly #name: string;
  readonly #statements: ReturnType<typeof prepare>;

  private constructor(db: Database.Database, name: string) {
    this.#db = db;
    this.#name = name;
    this.#statements = prepare(db);
  }

  /** Opens `file` read-only; refuses a missing file or one of another schema version (the projector has not run, or is rebuilding it). */
  static open(options: { file: string; name: string }): SqliteBillingRecords {
    if (!existsSync(options.file)) throw new BillingRecordsUnavailableError(`no billing records at ${options.file}: the billing projector has not run yet`);
    const db = new Database(options.file, { readonly: true, fileMustExist: true });
    try {
      db.pragma("busy_timeout = 5000");
      const version = db.prepare<[], number>("SELECT version FROM billing_schema WHERE id = 1").pluck().get();
      if (version !== BILLING_STORE_SCHEMA_VERSION) {
        throw new BillingRecordsUnavailableError(`billing records at ${options.file} have schema version ${String(version)}, this build reads ${BILLING_STORE_SCHEMA_VERSION}`);
      }
      return new SqliteBillingRecords(db, options.name);
    } catch (error) {
      db.close();
      if (error instanceof BillingRecordsUnavailableError) throw error;
      throw new BillingRecordsUnavailableError(`billing records at ${options.file} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /** Runs `read` in one read transaction: every statement in it sees the same state of the file. */
  snapshot<T>(read: (records: this) => T): T {
    return this.#db.transaction(() => read(this)).deferred();
  }

  /** The last log position the projection includes; null before its first batch. */
  checkpoint(): bigint | null {
    const text = this.#statements.selectCheckpoint.get(this.#name);
    return text === undefined ? null : BigInt(text);
  }

  settings(): BillingSettings | null {
    const row = this.#statements.selectSettings.get();
    return row === undefined ? null : { rules: JSON.parse(row.rules) as BillingSettings["rules"], graceMs: row.grace_ms };
  }

  plan(planId: string): PlanBilling | null {
    const row = this.#statements.selectPlan.get(planId);
    return row === undefined ? null : planBillingOf(row);
  }

  subscription(subscriptionId: string): SubscriptionBilling | null {
    const row = this.#statements.selectSubscription.get(subscriptionId);
    return row === undefined ? null : subscriptionOf(row);
  }

  subscriptions(): SubscriptionBilling[] {
    return this.#statements.selectSubscriptions.all().map(subscriptionOf);
  }

  /** Usage documents billed in the period starting at `periodStart` (its own usage and the adjustments into it), or, without it, all of them. */
  usage(subscriptionId: string, periodStart?: number): UsageAggregate[] {
    const rows = periodStart === undefined ? this.#statements.selectUsageOf.all(subscriptionId) : this.#statements.selectUsageIn.all(subscriptionId, periodStart);
    return rows.map(usageOf);
  }

  allUsage(): UsageAggregate[] {
    return this.#statements.selectAllUsage.all().map(usageOf);
  }

  reports(subscriptionId?: string): UsageReport[] {
    return (subscriptionId === undefined ? this.#statements.selectReports.all() : this.#statements.selectReportsOf.all(subscriptionId)).map(reportOf);
  }

  /**
   * The billable requests of one usage document in log order, from the `offset`-th (0-based):
   * the n-th request of a period is its n-th unit, which is what lets an invoice line name
   * the requests behind it.
   */
  requests(key: { subscriptionId: string; meterEventName: string; periodStart: number; originPeriodStart: number }, offset: number, limit: number): ReceiptRequest[] {
    return this.#statements.selectRequests.all(key.subscriptionId, key.meterEventName, key.periodStart, key.originPeriodStart, limit, offset).map((row) => ({
      requestId: row.request_id,
      position: BigInt(row.position),
      startedAt: row.started_at,
      status: row.status,
      outcome: row.outcome,
    }));
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function prepare(db: Database.Database) {
  const subscriptionColumns = "subscription_id, consumer_id, plan_id, billing_anchor, closed_through";
  return {
    selectCheckpoint: db.prepare<[string], string>("SELECT position FROM checkpoints WHERE name = ?").pluck(),
    selectSettings: db.prepare<[], { rules: string; grace_ms: number }>("SELECT rules, grace_ms FROM billing_settings WHERE id = 1"),
    selectPlan: db.prepare<[string], PlanRow>(selectPlanSql),
    selectSubscription: db.prepare<[string], SubscriptionRow>(`SELECT ${subscriptionColumns} FROM billing_subscriptions WHERE subscription_id = ?`),
    selectSubscriptions: db.prepare<[], SubscriptionRow>(`SELECT ${subscriptionColumns} FROM billing_subscriptions ORDER BY subscription_id`),
    selectUsageIn: db.prepare<[string, number], UsageRow>(
      `SELECT ${usageColumns} FROM billing_usage WHERE subscription_id = ? AND period_start = ? ORDER BY meter_event_name, origin_period_start DESC`,
    ),
    selectUsageOf: db.prepare<[string], UsageRow>(`SELECT ${usageColumns} FROM billing_usage WHERE subscription_id = ? ORDER BY period_start, meter_event_name, origin_period_start`),
    selectAllUsage: db.prepare<[], UsageRow>(`SELECT ${usageColumns} FROM billing_usage ORDER BY subscription_id, period_start, meter_event_name, origin_period_start`),
    selectReports: db.prepare<[], ReportRow>(`SELECT ${reportColumns} FROM billing_reports ORDER BY rowid`),
    selectReportsOf: db.prepare<[string], ReportRow>(`SELECT ${reportColumns} FROM billing_reports WHERE subscription_id = ? ORDER BY rowid`),
    selectRequests: db.prepare<[string, string, number, number, number, number], RequestRow>(
      "SELECT position, subscription_id, meter_event_name, period_start, origin_period_start, request_id, started_at, status, outcome FROM billing_requests " +
        "WHERE subscription_id = ? AND meter_event_name = ? AND period_start = ? AND origin_period_start = ? ORDER BY position LIMIT ? OFFSET ?",
    ),
  };
}
