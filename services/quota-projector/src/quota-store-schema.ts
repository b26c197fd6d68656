import { BillingRulesOverride, type Quota, type QuotaPeriod } from "@tollgate/events";
import type Database from "better-sqlite3";
import type { PlanTerms, SubscriptionTerms, UsageCounts } from "./quota-projection.js";

/**
 * The tables of the projector's SQLite file and how their rows map to the projection's
 * documents. The writer (SqliteQuotaStore) and read-only readers (SqliteQuotaReader, as
 * the control plane uses it) share this module, so they cannot disagree on a column.
 *
 * The version is kept in `quota_schema`, not in `PRAGMA user_version`: the file is
 * opened with the event store's settings, and the event store's own schema (its
 * `checkpoints` table) owns user_version. The projection is a pure function of the log,
 * so a file of another version is not migrated: its tables are dropped and its
 * checkpoint deleted, and the projector replays the log from position 0.
 *
 * - 1: plans, subscriptions' plans, usage.
 * - 2: subscriptions' billing anchors (`quota_subscription_plans.billing_anchor`), which
 *   move the periods of anchored subscriptions: counts made under version 1 were in
 *   calendar periods, so they are rebuilt rather than kept.
 * - 3: plans' own billing rules (`quota_plans.billing`, PlanDefinition.billing as JSON),
 *   which change which requests were billable: counts made under version 2 followed the
 *   config alone, so they are rebuilt.
 *
 * `quota_usage.billable` counts units (`billableUnits`) rather than billable requests
 * since WebSocket sessions bill per message or per minute. The columns did not change, so
 * neither did the version: counts made before held 1 per billable request, which is what
 * every request billed then (the billing projector keeps its version-3 rows at 1 unit too,
 * so the two still agree); what the log brings next is counted in units.
 */
export const QUOTA_STORE_SCHEMA_VERSION = 3;

export const quotaTables = ["quota_plans", "quota_subscription_plans", "quota_usage"] as const;

export const quotaStoreSchema = `
  CREATE TABLE IF NOT EXISTS quota_schema (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS quota_plans (
    plan_id           TEXT PRIMARY KEY,
    quota_limit       INTEGER,
    quota_period      TEXT,
    quota_enforcement TEXT,
    billing           TEXT
  ) STRICT;
  CREATE TABLE IF NOT EXISTS quota_subscription_plans (
    subscription_id TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL,
    billing_anchor  INTEGER
  ) STRICT;
  CREATE TABLE IF NOT EXISTS quota_usage (
    subscription_id   TEXT    NOT NULL,
    period            TEXT    NOT NULL,
    period_start      INTEGER NOT NULL,
    period_end        INTEGER NOT NULL,
    plan_id           TEXT,
    quota_limit       INTEGER,
    quota_period      TEXT,
    quota_enforcement TEXT,
    requests          INTEGER NOT NULL,
    admitted          INTEGER NOT NULL,
    billable          INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, period, period_start)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS quota_usage_by_end ON quota_usage (period_end);
`;

export interface UsageRow {
  subscription_id: string;
  plan_id: string | null;
  period: QuotaPeriod;
  period_start: number;
  period_end: number;
  quota_limit: number | null;
  quota_period: QuotaPeriod | null;
  quota_enforcement: Quota["enforcement"] | null;
  requests: number;
  admitted: number;
  billable: number;
}

export interface PlanRow {
  plan_id: string;
  quota_limit: number | null;
  quota_period: QuotaPeriod | null;
  quota_enforcement: Quota["enforcement"] | null;
  /** The plan's own billing rules as JSON; null when it has none. */
  billing: string | null;
}

export interface SubscriptionRow {
  plan_id: string;
  billing_anchor: number | null;
}

export const usageColumns =
  "subscription_id, plan_id, period, period_start, period_end, quota_limit, quota_period, quota_enforcement, requests, admitted, billable";

export const selectPlanSql = "SELECT plan_id, quota_limit, quota_period, quota_enforcement, billing FROM quota_plans WHERE plan_id = ?";
export const selectSubscriptionSql = "SELECT plan_id, billing_anchor FROM quota_subscription_plans WHERE subscription_id = ?";
export const selectUsageSql = `SELECT ${usageColumns} FROM quota_usage WHERE subscription_id = ? AND period = ? AND period_start = ?`;

/** The file's schema version: 0 for a fresh file or one of version 1 (which did not record it). */
export function readQuotaSchemaVersion(db: Database.Database): number {
  const recorded = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'quota_schema'").get() !== undefined;
  return recorded ? (db.prepare<[], number>("SELECT version FROM quota_schema WHERE id = 1").pluck().get() ?? 0) : 0;
}

export function quotaOf(row: Pick<PlanRow, "quota_limit" | "quota_period" | "quota_enforcement">): Quota | null {
  if (row.quota_limit === null || row.quota_period === null || row.quota_enforcement === null) return null;
  return { limit: row.quota_limit, period: row.quota_period, enforcement: row.quota_enforcement };
}

export function planOf(row: PlanRow): PlanTerms {
  return { planId: row.plan_id, quota: quotaOf(row), billing: row.billing === null ? null : BillingRulesOverride.parse(JSON.parse(row.billing)) };
}

export function subscriptionOf(row: SubscriptionRow): SubscriptionTerms {
  return { planId: row.plan_id, billingAnchor: row.billing_anchor };
}

export function usageOf(row: UsageRow): UsageCounts {
  return {
    subscriptionId: row.subscription_id,
    planId: row.plan_id,
    period: row.period,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    quota: quotaOf(row),
    requests: row.requests,
    admitted: row.admitted,
    billable: row.billable,
  };
}

export function rowOf(usage: UsageCounts): UsageRow {
  return {
    subscription_id: usage.subscriptionId,
    plan_id: usage.planId,
    period: usage.period,
    period_start: usage.periodStart,
    period_end: usage.periodEnd,
    quota_limit: usage.quota?.limit ?? null,
    quota_period: usage.quota?.period ?? null,
    quota_enforcement: usage.quota?.enforcement ?? null,
    requests: usage.requests,
    admitted: usage.admitted,
    billable: usage.billable,
  };
}
