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
  /**
   * The units it contributes to the range asked for (a line, a page): all it billed, or
   * part of them when its units straddle the range's edge (a WebSocket session billed per
   * message across the included/overage boundary is on both lines, with its units on each).
   */
  readonly units: number;
  /** All the units it billed. */
  readonly requestUnits: number;
}

/** The usage document a receipt reads: billing_requests' key. */
export interface ReceiptKey {
  readonly subscriptionId: string;
  readonly meterEventName: string;
  readonly periodStart: number;
  readonly originPeriodStart: number;
}

/** One page of the requests behind an invoice line. */
export interface ReceiptRequestPage {
  readonly items: ReceiptRequest[];
  /** The unit offset, within the line, of the next page; null on the last one. */
  readonly nextCursor: number | null;
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
   * The billable requests behind units `offset + 1` to `offset + limit` of one usage
   * document, in log order. A document's units are numbered in log order (a request of n
   * units holds n consecutive numbers), which is what lets an invoice line name the requests
   * behind it; each item says how many of its units fall in the range. With 1-unit
   * requests, the n-th unit is the n-th request.
   */
  requests(key: ReceiptKey, offset: number, limit: number): ReceiptRequest[] {
    return this.#range(key, offset + 1, offset + limit, limit);
  }

  /**
   * One page of the requests behind an invoice line (units `line.firstUnit` to
   * `line.firstUnit + line.units - 1`): at most `limit` requests from the line's unit
   * `cursor` (0-based), and the cursor of the next page, in units. A request straddling
   * the line's edge is listed with the units it has on the line.
   */
  receiptPage(key: ReceiptKey, line: { readonly firstUnit: number; readonly units: number }, cursor: number, limit: number): ReceiptRequestPage {
    if (cursor >= line.units || limit <= 0) return { items: [], nextCursor: null };
    const items = this.#range(key, line.firstUnit + cursor, line.firstUnit + line.units - 1, limit);
    const next = cursor + items.reduce((sum, item) => sum + item.units, 0);
    return { items, nextCursor: next < line.units && items.length > 0 ? next : null };
  }

  /** Requests holding any unit in [from, to] (1-based), at most `limit`, with the units each holds in it. */
  #range(key: ReceiptKey, from: number, to: number, limit: number): ReceiptRequest[] {
    if (to < from || limit <= 0) return [];
    const rows = this.#statements.selectRequests.all({
      subscription_id: key.subscriptionId,
      meter_event_name: key.meterEventName,
      period_start: key.periodStart,
      origin_period_start: key.originPeriodStart,
      from,
      to,
      limit,
    });
    return rows.map((row) => ({
      requestId: row.request_id,
      position: BigInt(row.position),
      startedAt: row.started_at,
      status: row.status,
      outcome: row.outcome,
      units: Math.min(to, row.first_unit + row.units - 1) - Math.max(from, row.first_unit) + 1,
      requestUnits: row.units,
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
    // From the request holding unit `from` (the last to start at or before it) to the last one starting at or before `to`: two seeks on billing_requests_by_unit.
    selectRequests: db.prepare<[{ subscription_id: string; meter_event_name: string; period_start: number; origin_period_start: number; from: number; to: number; limit: number }], RequestRow>(
      "SELECT position, subscription_id, meter_event_name, period_start, origin_period_start, request_id, started_at, status, outcome, units, first_unit FROM billing_requests " +
        "WHERE subscription_id = @subscription_id AND meter_event_name = @meter_event_name AND period_start = @period_start AND origin_period_start = @origin_period_start " +
        "AND first_unit >= COALESCE((SELECT first_unit FROM billing_requests WHERE subscription_id = @subscription_id AND meter_event_name = @meter_event_name " +
        "AND period_start = @period_start AND origin_period_start = @origin_period_start AND first_unit <= @from ORDER BY first_unit DESC LIMIT 1), @from) " +
        "AND first_unit <= @to ORDER BY first_unit LIMIT @limit",
    ),
  };
}
