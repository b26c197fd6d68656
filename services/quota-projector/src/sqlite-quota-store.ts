import { setTimeout as delay } from "node:timers/promises";
import { parseEvent, type TollgateEvent } from "@tollgate/events";
import { openSqliteDatabase, SqliteCheckpointStore, type Position, type RecordedEvent } from "@tollgate/eventstore";
import { projectBatch, type BillingRulesResolver, type ProjectionReader, type UsageCounts } from "./quota-projection.js";
import {
  planOf,
  QUOTA_STORE_SCHEMA_VERSION,
  quotaStoreSchema,
  quotaTables,
  readQuotaSchemaVersion,
  rowOf,
  selectPlanSql,
  selectSubscriptionSql,
  selectUsageSql,
  subscriptionOf,
  usageColumns,
  usageOf,
  type PlanRow,
  type SubscriptionRow,
  type UsageRow,
} from "./quota-store-schema.js";

type Database = ReturnType<typeof openSqliteDatabase>;

export interface SqliteQuotaStoreOptions {
  /** The projector's own SQLite file (not the event log's). */
  file: string;
  synchronous: "normal" | "full";
  busyTimeoutMs?: number;
  /** The projector's name: its checkpoint is stored under it, in this file. */
  name: string;
  /** The billing rules of a plan (null: the request names no plan). */
  rulesFor: BillingRulesResolver;
}

/** Called with a batch's positions once its transaction is open; a test watches this to kill the process mid-batch. */
export interface BatchHold {
  ms: number;
  onOpen?: (batch: { first: Position; last: Position; size: number }) => void;
}

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
 * SqliteCheckpointStore.storeInTransaction writes to. Only this projector writes here;
 * other processes (the control plane) read it through SqliteQuotaReader, read-only.
 * The file records its schema version; one of another version is reset on open (see
 * quota-store-schema.ts), and the runner then replays the log from position 0.
 */
export class SqliteQuotaStore {
  readonly #db: Database;
  readonly #name: string;
  readonly #rulesFor: BillingRulesResolver;
  readonly #checkpoints: SqliteCheckpointStore;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #reader: ProjectionReader;

  /** The schema version the file had when it was opened, when it had another one and was reset; null otherwise. */
  readonly resetFromVersion: number | null;

  private constructor(db: Database, options: SqliteQuotaStoreOptions) {
    this.#db = db;
    this.#name = options.name;
    this.#rulesFor = options.rulesFor;
    this.resetFromVersion = prepareSchema(db);
    this.#checkpoints = new SqliteCheckpointStore(db);
    this.#statements = prepare(db);
    const statements = this.#statements;
    this.#reader = {
      plan: (planId) => {
        const row = statements.selectPlan.get(planId);
        return row === undefined ? null : planOf(row);
      },
      subscription: (subscriptionId) => {
        const row = statements.selectSubscription.get(subscriptionId);
        return row === undefined ? null : subscriptionOf(row);
      },
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
      for (const plan of changes.plans.values()) statements.upsertPlan.run(plan.planId, plan.quota?.limit ?? null, plan.quota?.period ?? null, plan.quota?.enforcement ?? null, plan.billing === null ? null : JSON.stringify(plan.billing));
      for (const [subscriptionId, terms] of changes.subscriptions) statements.upsertSubscription.run(subscriptionId, terms.planId, terms.billingAnchor);
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

/**
 * Creates the tables, or resets a file of another schema version: drops the projection's
 * tables and every checkpoint in the file, in one transaction, so the runner replays the
 * log from position 0 into the new tables. Returns the version that was reset, if any.
 * A file of a newer version (a newer build wrote it) is refused rather than dropped.
 */
function prepareSchema(db: Database): number | null {
  return db.transaction((): number | null => {
    const version = readQuotaSchemaVersion(db);
    if (version === QUOTA_STORE_SCHEMA_VERSION) return null;
    if (version > QUOTA_STORE_SCHEMA_VERSION) {
      throw new Error(`quota projection file has schema version ${version}; this build knows up to ${QUOTA_STORE_SCHEMA_VERSION}. Upgrade Tollgate.`);
    }
    // A version 1 file had no quota_schema table; a fresh file has no tables at all.
    const hadTables = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'quota_usage'").get() !== undefined;
    for (const table of quotaTables) db.exec(`DROP TABLE IF EXISTS ${table}`);
    // The checkpoints describe the dropped counts: without them the runner starts at 0.
    db.exec("DELETE FROM checkpoints");
    db.exec(quotaStoreSchema);
    db.prepare("INSERT INTO quota_schema (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version").run(QUOTA_STORE_SCHEMA_VERSION);
    return hadTables ? Math.max(version, 1) : null;
  }).immediate();
}

function prepare(db: Database) {
  return {
    selectPlan: db.prepare<[string], PlanRow>(selectPlanSql),
    selectSubscription: db.prepare<[string], SubscriptionRow>(selectSubscriptionSql),
    selectUsage: db.prepare<[string, string, number], UsageRow>(selectUsageSql),
    selectUsageEndingAfter: db.prepare<[number], UsageRow>(
      `SELECT ${usageColumns} FROM quota_usage WHERE period_end > ? ORDER BY subscription_id, period, period_start`,
    ),
    upsertPlan: db.prepare<[string, number | null, string | null, string | null, string | null]>(
      "INSERT INTO quota_plans (plan_id, quota_limit, quota_period, quota_enforcement, billing) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (plan_id) DO UPDATE SET quota_limit = excluded.quota_limit, quota_period = excluded.quota_period, quota_enforcement = excluded.quota_enforcement, billing = excluded.billing",
    ),
    upsertSubscription: db.prepare<[string, string, number | null]>(
      "INSERT INTO quota_subscription_plans (subscription_id, plan_id, billing_anchor) VALUES (?, ?, ?) " +
        "ON CONFLICT (subscription_id) DO UPDATE SET plan_id = excluded.plan_id, billing_anchor = excluded.billing_anchor",
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
