import { BillingRulesOverride, PlanPricing } from "@tollgate/events";
import type { PlanBilling } from "./usage-aggregation.js";

/**
 * The tables of the billing projector's own SQLite file. Two kinds of data live here,
 * with different lifetimes:
 *
 * - the projection (plans, subscriptions, customers, usage): a pure function of the log,
 *   written with the projector's checkpoint in one transaction. A rebuild, or a file of
 *   another schema version, drops it and replays the log from position 0;
 * - the report ledger (`billing_reports`): every report planned, with its range, its
 *   identifier and whether Stripe accepted it. It is never dropped by a rebuild: it is
 *   what makes a replay continue from the ranges already billed instead of billing them
 *   again.
 *
 * Positions are stored as INTEGER (64-bit) and read as JavaScript numbers, exact up to
 * 2^53: beyond any position the SQLite log reaches.
 */
export const BILLING_STORE_SCHEMA_VERSION = 4;

/**
 * Version 2: period close (subscriptions' `closed_through`), adjustment documents
 * (`origin_period_start`), the pricing in force per usage document, one row per billable
 * request (`billing_requests`, the receipts), the settings the projector counts with, and
 * the ledger's origin period (added to a version-1 ledger in place: it is never dropped).
 * Version 3: plans' own billing rules (`billing_plans.billing`), which change what was
 * billable, so the projection is rebuilt (the ledger is kept, as always).
 * Version 4: a request bills `units` (a WebSocket session: per message or per minute), and
 * its receipt row keeps them and `first_unit`, its first unit's number in its usage
 * document. A version-3 file is migrated in place, not rebuilt: every request it counted
 * was 1 unit (its row's number in its document, by position, is its unit), so its
 * projection, checkpoint and ledger stay as they are, and only what the log brings next
 * is billed by the new rule (see migrateRequestUnits in sqlite-billing-store.ts).
 */
export const billingProjectionTables = ["billing_plans", "billing_subscriptions", "billing_customers", "billing_usage", "billing_requests"] as const;

/**
 * One row per billed request (the receipts), under `name`: the schema's table, or the
 * migration's copy. Within a usage document `first_unit` grows with `position`, so the
 * index on it serves both "in log order" and "the requests behind units a to b".
 */
export function billingRequestsTable(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
    position            INTEGER PRIMARY KEY,
    subscription_id     TEXT    NOT NULL,
    meter_event_name    TEXT    NOT NULL,
    period_start        INTEGER NOT NULL,
    origin_period_start INTEGER NOT NULL,
    request_id          TEXT    NOT NULL,
    started_at          INTEGER NOT NULL,
    status              INTEGER NOT NULL,
    outcome             TEXT    NOT NULL,
    units               INTEGER NOT NULL,
    first_unit          INTEGER NOT NULL
  ) STRICT;`;
}

export const billingStoreSchema = `
  CREATE TABLE IF NOT EXISTS billing_schema (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS billing_plans (
    plan_id          TEXT PRIMARY KEY,
    meter_event_name TEXT,
    stripe_price_id  TEXT,
    pricing          TEXT,
    billing          TEXT
  ) STRICT;
  CREATE TABLE IF NOT EXISTS billing_subscriptions (
    subscription_id TEXT PRIMARY KEY,
    consumer_id     TEXT NOT NULL,
    plan_id         TEXT NOT NULL,
    billing_anchor  INTEGER,
    closed_through  INTEGER
  ) STRICT;
  CREATE TABLE IF NOT EXISTS billing_customers (
    consumer_id        TEXT PRIMARY KEY,
    stripe_customer_id TEXT
  ) STRICT;
  CREATE TABLE IF NOT EXISTS billing_usage (
    subscription_id  TEXT    NOT NULL,
    meter_event_name TEXT    NOT NULL,
    period_start     INTEGER NOT NULL,
    period_end       INTEGER NOT NULL,
    plan_id          TEXT,
    units            INTEGER NOT NULL,
    origin_period_start INTEGER NOT NULL,
    origin_period_end   INTEGER NOT NULL,
    through_position INTEGER NOT NULL,
    last_event_at    INTEGER NOT NULL,
    pricing          TEXT,
    PRIMARY KEY (subscription_id, meter_event_name, period_start, origin_period_start)
  ) STRICT;
  ${billingRequestsTable("billing_requests")}
  CREATE INDEX IF NOT EXISTS billing_requests_by_unit ON billing_requests (subscription_id, meter_event_name, period_start, origin_period_start, first_unit);
  CREATE TABLE IF NOT EXISTS billing_settings (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    rules     TEXT    NOT NULL,
    grace_ms  INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS billing_reports (
    report_id          TEXT PRIMARY KEY,
    subscription_id    TEXT    NOT NULL,
    meter_event_name   TEXT    NOT NULL,
    period_start       INTEGER NOT NULL,
    period_end         INTEGER NOT NULL,
    origin_period_start INTEGER NOT NULL,
    origin_period_end   INTEGER NOT NULL,
    from_position      INTEGER NOT NULL,
    to_position        INTEGER NOT NULL,
    units              INTEGER NOT NULL,
    consumer_id        TEXT,
    plan_id            TEXT,
    stripe_customer_id TEXT    NOT NULL,
    timestamp_seconds  INTEGER NOT NULL,
    timestamp_clamped  INTEGER NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'reported', 'rejected')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    planned_at         INTEGER NOT NULL,
    reported_at        INTEGER
  ) STRICT;
  CREATE INDEX IF NOT EXISTS billing_reports_by_usage_v2 ON billing_reports (subscription_id, meter_event_name, period_start, origin_period_start, to_position);
  CREATE INDEX IF NOT EXISTS billing_reports_pending ON billing_reports (status) WHERE status = 'pending';
`;

export interface PlanRow {
  plan_id: string;
  meter_event_name: string | null;
  stripe_price_id: string | null;
  pricing: string | null;
  /** PlanDefinition.billing as JSON; null when the plan has none. */
  billing: string | null;
}

export const selectPlanSql = "SELECT plan_id, meter_event_name, stripe_price_id, pricing, billing FROM billing_plans WHERE plan_id = ?";

export function planBillingOf(row: PlanRow): PlanBilling {
  return {
    planId: row.plan_id,
    meterEventName: row.meter_event_name,
    stripePriceId: row.stripe_price_id,
    pricing: row.pricing === null ? null : PlanPricing.parse(JSON.parse(row.pricing)),
    billing: row.billing === null ? null : BillingRulesOverride.parse(JSON.parse(row.billing)),
  };
}

export interface SubscriptionRow {
  subscription_id: string;
  consumer_id: string;
  plan_id: string;
  billing_anchor: number | null;
  closed_through: number | null;
}

export interface CustomerRow {
  consumer_id: string;
  stripe_customer_id: string | null;
}

export interface UsageRow {
  subscription_id: string;
  meter_event_name: string;
  period_start: number;
  period_end: number;
  plan_id: string | null;
  units: number;
  origin_period_start: number;
  origin_period_end: number;
  through_position: number;
  last_event_at: number;
  pricing: string | null;
}

export interface RequestRow {
  position: number;
  subscription_id: string;
  meter_event_name: string;
  period_start: number;
  origin_period_start: number;
  request_id: string;
  started_at: number;
  status: number;
  outcome: string;
  /** The units the request bills (at least 1). */
  units: number;
  /** Its first unit's number (1-based) in its usage document: it covers first_unit to first_unit + units - 1. */
  first_unit: number;
}

export type ReportStatus = "pending" | "reported" | "rejected";

export interface ReportRow {
  report_id: string;
  subscription_id: string;
  meter_event_name: string;
  period_start: number;
  period_end: number;
  origin_period_start: number;
  origin_period_end: number;
  from_position: number;
  to_position: number;
  units: number;
  consumer_id: string | null;
  plan_id: string | null;
  stripe_customer_id: string;
  timestamp_seconds: number;
  timestamp_clamped: number;
  status: ReportStatus;
  attempts: number;
  last_error: string | null;
  planned_at: number;
  reported_at: number | null;
}
