import { type BillingRules, type BillingRulesOverride, parseEvent, PlanPricing } from "@tollgate/events";
import { openSqliteDatabase, SqliteCheckpointStore, type Position, type RecordedEvent } from "@tollgate/eventstore";
import {
  BILLING_STORE_SCHEMA_VERSION,
  billingProjectionTables,
  billingRequestsTable,
  planBillingOf,
  selectPlanSql,
  billingStoreSchema,
  type CustomerRow,
  type PlanRow,
  type ReportRow,
  type RequestRow,
  type ReportStatus,
  type SubscriptionRow,
  type UsageRow,
} from "./billing-store-schema.js";
import { aggregateBatch, type BillingReader, type BillingRulesResolver, type SubscriptionBilling, type UsageAggregate } from "./usage-aggregation.js";
import { planReport, stripeTimestampRule, type PlannedReport, type TimestampRule } from "./usage-report.js";
import { stripeCustomerLinksSchema } from "./stripe-sync/stripe-customer-links.js";

type Database = ReturnType<typeof openSqliteDatabase>;

export interface SqliteBillingStoreOptions {
  /** The projector's own SQLite file (not the event log's). */
  file: string;
  synchronous: "normal" | "full";
  busyTimeoutMs?: number;
  /** The projector's name: its checkpoint is stored under it, in this file. */
  name: string;
  rulesFor: BillingRulesResolver;
  /**
   * What the projector counts with, kept in the file for its readers (the reconciliation
   * recounts the log with the same rules): written at open when given.
   */
  settings?: BillingSettings;
}

/** The billing rules (defaults and per-plan overrides) and the grace window the projector runs with. */
export interface BillingSettings {
  readonly rules: { readonly defaults: BillingRules; readonly plans: Readonly<Record<string, BillingRulesOverride>> };
  readonly graceMs: number;
}

/** A report of the ledger: a planned meter event and what became of it. */
export interface UsageReport extends PlannedReport {
  readonly consumerId: string | null;
  readonly planId: string | null;
  readonly stripeCustomerId: string;
  readonly status: ReportStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly reportedAt: number | null;
}

/** Totals for metrics and tests. */
export interface BillingStats {
  /** Billable units counted by the projection. */
  readonly billableUnits: number;
  /** Units Stripe accepted. */
  readonly reportedUnits: number;
  /** Units in reports planned and not yet accepted. */
  readonly inFlightUnits: number;
  /** Units Stripe refused for good (a non-retryable error): each such report says why. */
  readonly rejectedUnits: number;
  /** Units not yet in any report (no Stripe key, no Stripe customer for the consumer yet, or not planned yet); 0 for a document a replay has not brought up to its reports yet. */
  readonly unplannedUnits: number;
  readonly pendingReports: number;
}

/**
 * The billing projector's store: the projection and its checkpoint, and the report
 * ledger, in one SQLite file of its own.
 *
 * Exactly-once in effect for the projection: a batch's documents and its checkpoint are
 * written in one transaction, so they commit or vanish together, and events at or before
 * the stored checkpoint are skipped inside the transaction.
 *
 * The ledger is written before anything is sent: a report (range, units, identifier,
 * timestamp) is committed as `pending` first, then sent, then marked `reported`. Whatever
 * dies in between, the next attempt sends the same report with the same identifier.
 */
export class SqliteBillingStore {
  readonly #db: Database;
  readonly #name: string;
  readonly #rulesFor: BillingRulesResolver;
  readonly #checkpoints: SqliteCheckpointStore;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #reader: BillingReader;

  /** The schema version the file had when it was opened, when it had another one and its projection was reset; null otherwise. */
  readonly resetFromVersion: number | null;

  private constructor(db: Database, options: SqliteBillingStoreOptions) {
    this.#db = db;
    this.#name = options.name;
    this.#rulesFor = options.rulesFor;
    this.resetFromVersion = prepareSchema(db);
    // The Stripe sync's customer links (its own projection, kept across usage rebuilds): the planner joins them.
    db.exec(stripeCustomerLinksSchema);
    this.#checkpoints = new SqliteCheckpointStore(db);
    this.#statements = prepare(db);
    const statements = this.#statements;
    this.#reader = {
      plan: (planId) => {
        const row = statements.selectPlan.get(planId);
        return row === undefined ? null : planBillingOf(row);
      },
      subscription: (subscriptionId) => {
        const row = statements.selectSubscription.get(subscriptionId);
        return row === undefined ? null : subscriptionOf(row);
      },
      customer: (consumerId) => {
        const row = statements.selectCustomer.get(consumerId);
        return row === undefined ? null : { consumerId: row.consumer_id, stripeCustomerId: row.stripe_customer_id };
      },
      usage: (subscriptionId, meterEventName, periodStart, originPeriodStart) => {
        const row = statements.selectUsage.get(subscriptionId, meterEventName, periodStart, originPeriodStart);
        return row === undefined ? null : usageOf(row);
      },
    };
  }

  /**
   * Opens the file. A projection without a checkpoint under this name (the projector was
   * renamed, or its checkpoint deleted, to replay the log) is dropped first, since
   * replaying the log over it would count every request twice; the ledger is kept.
   */
  static open(options: SqliteBillingStoreOptions): SqliteBillingStore {
    const store = new SqliteBillingStore(openSqliteDatabase({ file: options.file, synchronous: options.synchronous, busyTimeoutMs: options.busyTimeoutMs ?? 5_000 }), options);
    if (store.#statements.selectCheckpoint.get(store.#name) === undefined) store.resetProjection();
    if (options.settings !== undefined) store.#statements.upsertSettings.run(JSON.stringify(options.settings.rules), options.settings.graceMs);
    return store;
  }

  get name(): string {
    return this.#name;
  }

  /** The position of the last event whose effects are in this file; null before the first batch. */
  loadCheckpoint(): Promise<Position | null> {
    return this.#checkpoints.load(this.#name);
  }

  /**
   * Applies a batch and stores `checkpoint`, in one transaction. Returns the number of
   * usage documents it changed. Synchronous from BEGIN to COMMIT: the reporter shares
   * this connection, and nothing it writes can land inside a batch's transaction.
   */
  applyBatch(events: readonly RecordedEvent[], checkpoint: Position): Promise<number> {
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      const storedText = this.#statements.selectCheckpoint.get(this.#name);
      const stored = storedText === undefined ? null : BigInt(storedText);
      const fresh = stored === null ? events : events.filter((event) => event.position > stored);
      const parsed = fresh.map((event) => ({ position: event.position, event: parseEvent(event.type, event.version, event.data) }));
      const changes = aggregateBatch(parsed, this.#reader, this.#rulesFor);
      const s = this.#statements;
      for (const plan of changes.plans.values()) {
        s.upsertPlan.run(plan.planId, plan.meterEventName, plan.stripePriceId, plan.pricing === null ? null : JSON.stringify(plan.pricing), plan.billing === null ? null : JSON.stringify(plan.billing));
      }
      for (const sub of changes.subscriptions.values()) s.upsertSubscription.run(sub.subscriptionId, sub.consumerId, sub.planId, sub.billingAnchor, sub.closedThrough);
      for (const customer of changes.customers.values()) s.upsertCustomer.run(customer.consumerId, customer.stripeCustomerId);
      for (const usage of changes.usage.values()) s.upsertUsage.run(rowOf(usage));
      for (const billed of changes.requests) {
        s.insertRequest.run({
          position: Number(billed.position),
          subscription_id: billed.subscriptionId,
          meter_event_name: billed.meterEventName,
          period_start: billed.periodStart,
          origin_period_start: billed.originPeriodStart,
          request_id: billed.requestId,
          started_at: billed.at,
          status: billed.status,
          outcome: billed.outcome,
          units: billed.units,
          first_unit: billed.firstUnit,
        });
      }
      // The checkpoint in the same transaction as the effects: together or not at all.
      SqliteCheckpointStore.storeInTransaction(db, this.#name, checkpoint);
      db.exec("COMMIT");
      return Promise.resolve(changes.usage.size);
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Plans the next report of every usage document that has billable units beyond its
   * last report, a Stripe customer, and no report still pending, and returns every
   * pending report (oldest first). One transaction: two planners could not both plan
   * the same range. At most one report per usage document is pending at a time, so the
   * ranges stay contiguous and each is sent only after the one before it was accepted
   * (Stripe also allows one concurrent call per customer and meter).
   */
  planReports(now: number, rule: TimestampRule = stripeTimestampRule): UsageReport[] {
    const s = this.#statements;
    return this.#db.transaction((): UsageReport[] => {
      for (const candidate of s.selectPlannable.all()) {
        const usage = usageOf(candidate);
        const planned = planReport(usage, { reportedThrough: BigInt(candidate.reported_through), reportedUnits: candidate.reported_units }, now, rule);
        if (planned === null) continue;
        s.insertReport.run({
          report_id: planned.reportId,
          subscription_id: planned.subscriptionId,
          meter_event_name: planned.meterEventName,
          period_start: planned.periodStart,
          period_end: planned.periodEnd,
          origin_period_start: usage.originPeriodStart,
          origin_period_end: usage.originPeriodEnd,
          from_position: Number(planned.fromPosition),
          to_position: Number(planned.toPosition),
          units: planned.units,
          consumer_id: candidate.consumer_id,
          plan_id: usage.planId,
          stripe_customer_id: candidate.stripe_customer_id,
          timestamp_seconds: planned.timestampSeconds,
          timestamp_clamped: planned.timestampClamped ? 1 : 0,
          status: "pending",
          attempts: 0,
          last_error: null,
          planned_at: now,
          reported_at: null,
        });
      }
      return s.selectPending.all().map(reportOf);
    }).immediate();
  }

  /** Records a failed attempt (the report stays pending). */
  recordAttempt(reportId: string, error: string): void {
    this.#statements.recordAttempt.run(error.slice(0, 500), reportId);
  }

  /** Moves a pending report's timestamp forward (it became older than Stripe accepts while it waited). */
  retime(reportId: string, timestampSeconds: number, clamped: boolean): void {
    this.#statements.retime.run(timestampSeconds, clamped ? 1 : 0, reportId);
  }

  markReported(reportId: string, at: number): void {
    this.#statements.markReported.run(at, reportId);
  }

  markRejected(reportId: string, error: string): void {
    this.#statements.markRejected.run(error.slice(0, 500), reportId);
  }

  reports(): UsageReport[] {
    return this.#statements.selectReports.all().map(reportOf);
  }

  usage(): UsageAggregate[] {
    return this.#statements.selectAllUsage.all().map(usageOf);
  }

  /** Every subscription's terms (period anchor, last closed period): what the period closer looks at. */
  subscriptions(): SubscriptionBilling[] {
    return this.#statements.selectAllSubscriptions.all().map(subscriptionOf);
  }

  stats(): BillingStats {
    const row = this.#statements.selectStats.get()!;
    return {
      billableUnits: row.billable,
      reportedUnits: row.reported,
      inFlightUnits: row.in_flight,
      rejectedUnits: row.rejected,
      unplannedUnits: row.unplanned,
      pendingReports: row.pending_reports,
    };
  }

  /** Forgets the projection and its checkpoint, in one transaction, keeping the ledger: the start of a rebuild. */
  resetProjection(): void {
    this.#db.transaction(() => {
      for (const table of billingProjectionTables) this.#db.exec(`DELETE FROM ${table}`);
      this.#statements.deleteCheckpoint.run(this.#name);
    }).immediate();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

/**
 * Creates the tables, or upgrades a file of an older schema version: a version-3 file in
 * place (migrateRequestUnits), an older one by dropping the projection's tables and its
 * checkpoints so the runner replays the log from position 0. The ledger is kept either
 * way. A file of a newer version is refused. Returns the old version when the projection
 * was dropped, else null.
 */
function prepareSchema(db: Database): number | null {
  return db.transaction((): number | null => {
    const hasVersion = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'billing_schema'").get() !== undefined;
    const version = hasVersion ? (db.prepare<[], number>("SELECT version FROM billing_schema WHERE id = 1").pluck().get() ?? 0) : 0;
    if (version === BILLING_STORE_SCHEMA_VERSION) return null;
    if (version > BILLING_STORE_SCHEMA_VERSION) {
      throw new Error(`billing projection file has schema version ${version}; this build knows up to ${BILLING_STORE_SCHEMA_VERSION}. Upgrade Tollgate.`);
    }
    const inPlace = version === 3;
    if (inPlace) migrateRequestUnits(db);
    else {
      for (const table of billingProjectionTables) db.exec(`DROP TABLE IF EXISTS ${table}`);
      db.exec("DELETE FROM checkpoints");
      addLedgerOriginPeriod(db);
    }
    db.exec(billingStoreSchema);
    db.prepare("INSERT INTO billing_schema (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version").run(BILLING_STORE_SCHEMA_VERSION);
    return hasVersion && !inPlace ? version : null;
  }).immediate();
}

/**
 * Version 3 to 4: receipt rows get `units` and `first_unit`. Version 3 billed every
 * request 1 unit, one row each, in the transaction that added the unit to its usage
 * document, so a row's units are 1 and its first unit is its rank by position in its
 * document: the projection, its checkpoint and the ledger stay valid and are kept. The
 * table is copied rather than altered so that it ends up exactly as the schema declares
 * it (no column default). Runs inside prepareSchema's transaction; a table that already
 * has `units` is left alone, so running it twice changes nothing.
 */
export function migrateRequestUnits(db: Database): void {
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('billing_requests')").all();
  if (columns.length === 0 || columns.some((column) => column.name === "units")) return;
  db.exec("DROP TABLE IF EXISTS billing_requests_v4");
  db.exec(billingRequestsTable("billing_requests_v4"));
  db.exec(
    "INSERT INTO billing_requests_v4 (position, subscription_id, meter_event_name, period_start, origin_period_start, request_id, started_at, status, outcome, units, first_unit) " +
      "SELECT position, subscription_id, meter_event_name, period_start, origin_period_start, request_id, started_at, status, outcome, 1, " +
      "ROW_NUMBER() OVER (PARTITION BY subscription_id, meter_event_name, period_start, origin_period_start ORDER BY position) FROM billing_requests",
  );
  db.exec("DROP TABLE billing_requests");
  db.exec("ALTER TABLE billing_requests_v4 RENAME TO billing_requests");
}

/**
 * A version-1 ledger has no origin period: every report of it was a regular one, so its
 * origin is its own period. Added in place, since the ledger outlives the projection.
 */
function addLedgerOriginPeriod(db: Database): void {
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('billing_reports')").all();
  if (columns.length === 0 || columns.some((column) => column.name === "origin_period_start")) return;
  db.exec("ALTER TABLE billing_reports ADD COLUMN origin_period_start INTEGER NOT NULL DEFAULT 0");
  db.exec("ALTER TABLE billing_reports ADD COLUMN origin_period_end INTEGER NOT NULL DEFAULT 0");
  db.exec("UPDATE billing_reports SET origin_period_start = period_start, origin_period_end = period_end");
}

export const usageColumns =
  "subscription_id, meter_event_name, period_start, period_end, origin_period_start, origin_period_end, plan_id, units, through_position, last_event_at, pricing";
export const reportColumns =
  "report_id, subscription_id, meter_event_name, period_start, period_end, origin_period_start, origin_period_end, from_position, to_position, units, consumer_id, plan_id, stripe_customer_id, " +
  "timestamp_seconds, timestamp_clamped, status, attempts, last_error, planned_at, reported_at";

interface PlannableRow extends UsageRow {
  consumer_id: string;
  stripe_customer_id: string;
  reported_through: number;
  reported_units: number;
}

function prepare(db: Database) {
  return {
    selectPlan: db.prepare<[string], PlanRow>(selectPlanSql),
    selectSubscription: db.prepare<[string], SubscriptionRow>(
      "SELECT subscription_id, consumer_id, plan_id, billing_anchor, closed_through FROM billing_subscriptions WHERE subscription_id = ?",
    ),
    selectAllSubscriptions: db.prepare<[], SubscriptionRow>(
      "SELECT subscription_id, consumer_id, plan_id, billing_anchor, closed_through FROM billing_subscriptions ORDER BY subscription_id",
    ),
    selectCustomer: db.prepare<[string], CustomerRow>("SELECT consumer_id, stripe_customer_id FROM billing_customers WHERE consumer_id = ?"),
    selectUsage: db.prepare<[string, string, number, number], UsageRow>(
      `SELECT ${usageColumns} FROM billing_usage WHERE subscription_id = ? AND meter_event_name = ? AND period_start = ? AND origin_period_start = ?`,
    ),
    selectAllUsage: db.prepare<[], UsageRow>(`SELECT ${usageColumns} FROM billing_usage ORDER BY subscription_id, meter_event_name, period_start, origin_period_start`),
    upsertPlan: db.prepare<[string, string | null, string | null, string | null, string | null]>(
      "INSERT INTO billing_plans (plan_id, meter_event_name, stripe_price_id, pricing, billing) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (plan_id) DO UPDATE SET meter_event_name = excluded.meter_event_name, stripe_price_id = excluded.stripe_price_id, pricing = excluded.pricing, billing = excluded.billing",
    ),
    upsertSubscription: db.prepare<[string, string, string, number | null, number | null]>(
      "INSERT INTO billing_subscriptions (subscription_id, consumer_id, plan_id, billing_anchor, closed_through) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (subscription_id) DO UPDATE SET consumer_id = excluded.consumer_id, plan_id = excluded.plan_id, billing_anchor = excluded.billing_anchor, " +
        "closed_through = excluded.closed_through",
    ),
    upsertCustomer: db.prepare<[string, string | null]>(
      "INSERT INTO billing_customers (consumer_id, stripe_customer_id) VALUES (?, ?) ON CONFLICT (consumer_id) DO UPDATE SET stripe_customer_id = excluded.stripe_customer_id",
    ),
    upsertUsage: db.prepare<[UsageRow]>(
      `INSERT INTO billing_usage (${usageColumns}) VALUES (@subscription_id, @meter_event_name, @period_start, @period_end, @origin_period_start, @origin_period_end, ` +
        "@plan_id, @units, @through_position, @last_event_at, @pricing) " +
        "ON CONFLICT (subscription_id, meter_event_name, period_start, origin_period_start) DO UPDATE SET period_end = excluded.period_end, plan_id = excluded.plan_id, " +
        "units = excluded.units, through_position = excluded.through_position, last_event_at = excluded.last_event_at, pricing = excluded.pricing",
    ),
    insertRequest: db.prepare<[RequestRow]>(
      "INSERT INTO billing_requests (position, subscription_id, meter_event_name, period_start, origin_period_start, request_id, started_at, status, outcome, units, first_unit) " +
        "VALUES (@position, @subscription_id, @meter_event_name, @period_start, @origin_period_start, @request_id, @started_at, @status, @outcome, @units, @first_unit)",
    ),
    upsertSettings: db.prepare<[string, number]>(
      "INSERT INTO billing_settings (id, rules, grace_ms) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, grace_ms = excluded.grace_ms",
    ),
    // Usage with a Stripe customer, no pending report, and billable positions beyond its last report.
    // The customer: the consumer's stripeCustomerId label (an override) or else its StripeCustomerLinked.
    selectPlannable: db.prepare<[], PlannableRow>(
      `SELECT ${usageColumns.split(", ").map((column) => `u.${column}`).join(", ")}, s.consumer_id, COALESCE(c.stripe_customer_id, l.stripe_customer_id) AS stripe_customer_id,
         COALESCE((SELECT MAX(r.to_position) FROM billing_reports r WHERE r.subscription_id = u.subscription_id AND r.meter_event_name = u.meter_event_name AND r.period_start = u.period_start AND r.origin_period_start = u.origin_period_start), 0) AS reported_through,
         COALESCE((SELECT SUM(r.units) FROM billing_reports r WHERE r.subscription_id = u.subscription_id AND r.meter_event_name = u.meter_event_name AND r.period_start = u.period_start AND r.origin_period_start = u.origin_period_start), 0) AS reported_units
       FROM billing_usage u
       JOIN billing_subscriptions s ON s.subscription_id = u.subscription_id
       LEFT JOIN billing_customers c ON c.consumer_id = s.consumer_id
       LEFT JOIN stripe_customer_links l ON l.consumer_id = s.consumer_id
       WHERE COALESCE(c.stripe_customer_id, l.stripe_customer_id) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_reports p WHERE p.subscription_id = u.subscription_id AND p.meter_event_name = u.meter_event_name AND p.period_start = u.period_start AND p.origin_period_start = u.origin_period_start AND p.status = 'pending')
       ORDER BY u.period_start, u.subscription_id, u.meter_event_name`,
    ),
    insertReport: db.prepare<[ReportRow]>(
      `INSERT INTO billing_reports (${reportColumns}) VALUES (@report_id, @subscription_id, @meter_event_name, @period_start, @period_end, @origin_period_start, @origin_period_end, @from_position, @to_position, @units, ` +
        "@consumer_id, @plan_id, @stripe_customer_id, @timestamp_seconds, @timestamp_clamped, @status, @attempts, @last_error, @planned_at, @reported_at)",
    ),
    selectPending: db.prepare<[], ReportRow>(`SELECT ${reportColumns} FROM billing_reports WHERE status = 'pending' ORDER BY planned_at, rowid`),
    selectReports: db.prepare<[], ReportRow>(`SELECT ${reportColumns} FROM billing_reports ORDER BY rowid`),
    recordAttempt: db.prepare<[string, string]>("UPDATE billing_reports SET attempts = attempts + 1, last_error = ? WHERE report_id = ?"),
    retime: db.prepare<[number, number, string]>("UPDATE billing_reports SET timestamp_seconds = ?, timestamp_clamped = ? WHERE report_id = ? AND status = 'pending'"),
    markReported: db.prepare<[number, string]>("UPDATE billing_reports SET status = 'reported', reported_at = ?, last_error = NULL WHERE report_id = ?"),
    markRejected: db.prepare<[string, string]>("UPDATE billing_reports SET status = 'rejected', attempts = attempts + 1, last_error = ? WHERE report_id = ?"),
    // Unplanned, per usage document: its units beyond those of its reports, never below 0
    // (while a replayed projection is still behind the ledger, it has fewer).
    selectStats: db.prepare<[], { billable: number; unplanned: number; reported: number; in_flight: number; rejected: number; pending_reports: number }>(
      "SELECT (SELECT COALESCE(SUM(units), 0) FROM billing_usage) AS billable, " +
        "(SELECT COALESCE(SUM(MAX(u.units - COALESCE((SELECT SUM(r.units) FROM billing_reports r WHERE r.subscription_id = u.subscription_id " +
        "AND r.meter_event_name = u.meter_event_name AND r.period_start = u.period_start AND r.origin_period_start = u.origin_period_start), 0), 0)), 0) " +
        "FROM billing_usage u) AS unplanned, " +
        "COALESCE(SUM(CASE WHEN status = 'reported' THEN units END), 0) AS reported, " +
        "COALESCE(SUM(CASE WHEN status = 'pending' THEN units END), 0) AS in_flight, " +
        "COALESCE(SUM(CASE WHEN status = 'rejected' THEN units END), 0) AS rejected, " +
        "COUNT(CASE WHEN status = 'pending' THEN 1 END) AS pending_reports FROM billing_reports",
    ),
    selectCheckpoint: db.prepare<[string], string>("SELECT position FROM checkpoints WHERE name = ?").pluck(),
    deleteCheckpoint: db.prepare<[string]>("DELETE FROM checkpoints WHERE name = ?"),
  };
}

export function usageOf(row: UsageRow): UsageAggregate {
  return {
    subscriptionId: row.subscription_id,
    meterEventName: row.meter_event_name,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    originPeriodStart: row.origin_period_start,
    originPeriodEnd: row.origin_period_end,
    planId: row.plan_id,
    units: row.units,
    throughPosition: BigInt(row.through_position),
    lastEventAt: row.last_event_at,
    pricing: row.pricing === null ? null : PlanPricing.parse(JSON.parse(row.pricing)),
  };
}

export function subscriptionOf(row: SubscriptionRow): SubscriptionBilling {
  return { subscriptionId: row.subscription_id, consumerId: row.consumer_id, planId: row.plan_id, billingAnchor: row.billing_anchor, closedThrough: row.closed_through };
}

function rowOf(usage: UsageAggregate): UsageRow {
  return {
    subscription_id: usage.subscriptionId,
    meter_event_name: usage.meterEventName,
    period_start: usage.periodStart,
    period_end: usage.periodEnd,
    origin_period_start: usage.originPeriodStart,
    origin_period_end: usage.originPeriodEnd,
    plan_id: usage.planId,
    units: usage.units,
    through_position: Number(usage.throughPosition),
    last_event_at: usage.lastEventAt,
    pricing: usage.pricing === null ? null : JSON.stringify(usage.pricing),
  };
}

export function reportOf(row: ReportRow): UsageReport {
  return {
    reportId: row.report_id,
    subscriptionId: row.subscription_id,
    meterEventName: row.meter_event_name,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    originPeriodStart: row.origin_period_start,
    originPeriodEnd: row.origin_period_end,
    fromPosition: BigInt(row.from_position),
    toPosition: BigInt(row.to_position),
    units: row.units,
    consumerId: row.consumer_id,
    planId: row.plan_id,
    stripeCustomerId: row.stripe_customer_id,
    timestampSeconds: row.timestamp_seconds,
    timestampClamped: row.timestamp_clamped === 1,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    reportedAt: row.reported_at,
  };
}
