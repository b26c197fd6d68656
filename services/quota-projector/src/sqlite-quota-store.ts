import { setTimeout as delay } from "node:timers/promises";
import { parseEvent, type Quota, type TollgateEvent } from "@tollgate/events";
import { openSqliteDatabase, SqliteCheckpointStore, type Position, type RecordedEvent } from "@tollgate/eventstore";
import type { BillingRules } from "./billing-rules.js";
import { projectBatch, type ProjectionReader, type UsageCounts } from "./quota-projection.js";
import type { QuotaPeriod } from "./quota-window.js";

type Database = ReturnType<typeof openSqliteDatabase>;

export interface SqliteQuotaStoreOptions {
  /** The projector's own SQLite file (not the event log's). */
  file: string;
  synchronous: "normal" | "full";
  busyTimeoutMs?: number;
  /** The projector's name: its checkpoint is stored under it, in this file. */
  name: string;
  /** The billing rules of a plan (null: the request names no plan). */
  rulesFor: (planId: string | null) => BillingRules;
}

/** Called with a batch's positions once its transaction is open; a test watches this to kill the process mid-batch. */
export interface BatchHold {
  ms: number;
  onOpen?: (batch: { first: Position; last: Position; size: number }) => void;
}

interface UsageRow {
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

interface PlanRow {
  plan_id: string;
  quota_limit: number | null;
  quota_period: QuotaPeriod | null;
  quota_enforcement: Quota["enforcement"] | null;
}

const schema = `
  CREATE TABLE IF NOT EXISTS quota_plans (
    plan_id           TEXT PRIMARY KEY,
    quota_limit       INTEGER,
    quota_period      TEXT,
    quota_enforcement TEXT
  ) STRICT;
  CREATE TABLE IF NOT EXISTS quota_subscription_plans (
    subscription_id TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL
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

const usageColumns =
  "subscription_id, plan_id, period, period_start, period_end, quota_limit, quota_period, quota_enforcement, requests, admitted, billable";

/**
 * The projector's store: usage per subscription and period, the plan and subscription
 * documents it needs, and its own checkpoint, all in one SQLite file of its own.
 *
 * Exactly-once in effect: a batch's documents and its checkpoint are written in one
 * transaction, so they commit or vanish together. A kill before COMMIT leaves neither
 * (and the runner re-delivers the batch from the checkpoint that did commit); a kill
 * after it leaves both (and the batch is not delivered again). As a second guard, events
 * at or before the stored checkpoint are skipped inside the transaction, so even a
 * re-delivered batch cannot count twice.
 *
 * The file is opened with the event store's own settings (WAL, synchronous) through
 * openSqliteDatabase, which also gives it the `checkpoints` table that
 * SqliteCheckpointStore.storeInTransaction writes to. Only this projector writes here.
 */
export class SqliteQuotaStore {
  readonly #db: Database;
  readonly #name: string;
  readonly #rulesFor: (planId: string | null) => BillingRules;
  readonly #checkpoints: SqliteCheckpointStore;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #reader: ProjectionReader;

  private constructor(db: Database, options: SqliteQuotaStoreOptions) {
    this.#db = db;
    this.#name = options.name;
    this.#rulesFor = options.rulesFor;
    db.exec(schema);
    this.#checkpoints = new SqliteCheckpointStore(db);
    this.#statements = prepare(db);
    const statements = this.#statements;
    this.#reader = {
      plan: (planId) => {
        const row = statements.selectPlan.get(planId);
        return row === undefined ? null : { planId: row.plan_id, quota: quotaOf(row) };
      },
      subscriptionPlan: (subscriptionId) => statements.selectSubscriptionPlan.get(subscriptionId) ?? null,
      usage: (subscriptionId, period, periodStart) => {
        const row = statements.selectUsage.get(subscriptionId, period, periodStart);
        return row === undefined ? null : usageOf(row);
      },
    };
  }

  static open(options: SqliteQuotaStoreOptions): SqliteQuotaStore {
    return new SqliteQuotaStore(openSqliteDatabase({ file: options.file, synchronous: options.synchronous, busyTimeoutMs: options.busyTimeoutMs ?? 5_000 }), options);
  }

  get name(): string {
    return this.#name;
  }

  /** The position of the last event whose effects are in this file; null before the first batch. */
  loadCheckpoint(): Promise<Position | null> {
    return this.#checkpoints.load(this.#name);
  }

  /**
   * Applies a batch and stores `checkpoint`, in one transaction. Returns the usage rows
   * the batch changed, in their committed state, for the reconciler.
   *
   * Everything from BEGIN to COMMIT is synchronous, except the optional `hold`, which
   * keeps the transaction open before COMMIT so that a crash test can kill the process
   * inside a batch.
   */
  async applyBatch(events: readonly RecordedEvent[], checkpoint: Position, hold?: BatchHold): Promise<UsageCounts[]> {
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      const storedText = this.#statements.selectCheckpoint.get(this.#name);
      const stored = storedText === undefined ? null : BigInt(storedText);
      const fresh = stored === null ? events : events.filter((event) => event.position > stored);
      const parsed: TollgateEvent[] = fresh.map((event) => parseEvent(event.type, event.version, event.data));
      const changes = projectBatch(parsed, this.#reader, this.#rulesFor);
      const statements = this.#statements;
      for (const plan of changes.plans.values()) statements.upsertPlan.run(plan.planId, plan.quota?.limit ?? null, plan.quota?.period ?? null, plan.quota?.enforcement ?? null);
      for (const [subscriptionId, planId] of changes.subscriptionPlans) statements.upsertSubscriptionPlan.run(subscriptionId, planId);
      for (const usage of changes.usage.values()) statements.upsertUsage.run(rowOf(usage));
      // The checkpoint in the same transaction as the effects: together or not at all.
      SqliteCheckpointStore.storeInTransaction(db, this.#name, checkpoint);
      if (hold && hold.ms > 0 && events.length > 0) {
        hold.onOpen?.({ first: events[0]!.position, last: events.at(-1)!.position, size: events.length });
        await delay(hold.ms);
      }
      db.exec("COMMIT");
      return [...changes.usage.values()];
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Usage rows whose period ends after `since` (epoch ms), or all of them. */
  usage(options: { endingAfter?: number } = {}): UsageCounts[] {
    return this.#statements.selectUsageEndingAfter.all(options.endingAfter ?? Number.MIN_SAFE_INTEGER).map(usageOf);
  }

  /** Forgets everything the projection holds, checkpoint included, in one transaction: the start of a rebuild. */
  reset(): void {
    this.#db.transaction(() => {
      this.#db.exec("DELETE FROM quota_usage; DELETE FROM quota_plans; DELETE FROM quota_subscription_plans;");
      this.#statements.deleteCheckpoint.run(this.#name);
    }).immediate();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function prepare(db: Database) {
  return {
    selectPlan: db.prepare<[string], PlanRow>("SELECT plan_id, quota_limit, quota_period, quota_enforcement FROM quota_plans WHERE plan_id = ?"),
    selectSubscriptionPlan: db.prepare<[string], string>("SELECT plan_id FROM quota_subscription_plans WHERE subscription_id = ?").pluck(),
    selectUsage: db.prepare<[string, string, number], UsageRow>(
      `SELECT ${usageColumns} FROM quota_usage WHERE subscription_id = ? AND period = ? AND period_start = ?`,
    ),
    selectUsageEndingAfter: db.prepare<[number], UsageRow>(
      `SELECT ${usageColumns} FROM quota_usage WHERE period_end > ? ORDER BY subscription_id, period, period_start`,
    ),
    upsertPlan: db.prepare<[string, number | null, string | null, string | null]>(
      "INSERT INTO quota_plans (plan_id, quota_limit, quota_period, quota_enforcement) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (plan_id) DO UPDATE SET quota_limit = excluded.quota_limit, quota_period = excluded.quota_period, quota_enforcement = excluded.quota_enforcement",
    ),
    upsertSubscriptionPlan: db.prepare<[string, string]>(
      "INSERT INTO quota_subscription_plans (subscription_id, plan_id) VALUES (?, ?) ON CONFLICT (subscription_id) DO UPDATE SET plan_id = excluded.plan_id",
    ),
    upsertUsage: db.prepare<[UsageRow]>(
      `INSERT INTO quota_usage (${usageColumns}) VALUES (@subscription_id, @plan_id, @period, @period_start, @period_end, @quota_limit, @quota_period, @quota_enforcement, @requests, @admitted, @billable) ` +
        "ON CONFLICT (subscription_id, period, period_start) DO UPDATE SET plan_id = excluded.plan_id, quota_limit = excluded.quota_limit, " +
        "quota_period = excluded.quota_period, quota_enforcement = excluded.quota_enforcement, requests = excluded.requests, " +
        "admitted = excluded.admitted, billable = excluded.billable",
    ),
    selectCheckpoint: db.prepare<[string], string>("SELECT position FROM checkpoints WHERE name = ?").pluck(),
    deleteCheckpoint: db.prepare<[string]>("DELETE FROM checkpoints WHERE name = ?"),
  };
}

function quotaOf(row: Pick<PlanRow, "quota_limit" | "quota_period" | "quota_enforcement">): Quota | null {
  if (row.quota_limit === null || row.quota_period === null || row.quota_enforcement === null) return null;
  return { limit: row.quota_limit, period: row.quota_period, enforcement: row.quota_enforcement };
}

function usageOf(row: UsageRow): UsageCounts {
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

function rowOf(usage: UsageCounts): UsageRow {
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
