import Database from "better-sqlite3";
import { usageWindow, type PlanTerms, type SubscriptionTerms, type UsageCounts } from "./quota-projection.js";
import {
  planOf,
  QUOTA_STORE_SCHEMA_VERSION,
  readQuotaSchemaVersion,
  selectPlanSql,
  selectSubscriptionSql,
  selectUsageSql,
  subscriptionOf,
  usageOf,
  type PlanRow,
  type SubscriptionRow,
  type UsageRow,
} from "./quota-store-schema.js";

/** A subscription's usage in the period containing an instant, as the projection stood at its checkpoint. */
export interface ProjectedUsage {
  /** The position of the last event whose effects the counts include; null before the projector's first batch. */
  readonly checkpoint: bigint | null;
  /** Whether the projection has seen the subscription start; when not, `subscription` and `plan` are the caller's fallback. */
  readonly subscriptionProjected: boolean;
  readonly subscription: SubscriptionTerms;
  readonly plan: PlanTerms | null;
  /** The counts of the period; zero counts when the subscription made no request in it. */
  readonly usage: UsageCounts;
}

/** What the caller knows of the subscription, for a subscription the projection has not reached yet. */
export interface UsageFallback {
  readonly subscription: SubscriptionTerms;
  readonly plan: PlanTerms | null;
}

/**
 * Reads the quota projection from another process, read-only: the control plane shows
 * quota use from it. Only the projector writes the file.
 *
 * Each read is one read transaction, so the checkpoint and the counts it returns come
 * from the same commit of the projector (WAL readers see a snapshot and never block the
 * writer). A file of another schema version (the projector has not started on it since
 * an upgrade, and will rebuild it when it does) reads as null rather than as wrong numbers.
 */
export class SqliteQuotaReader {
  readonly #db: Database.Database;
  readonly #name: string;

  private constructor(db: Database.Database, name: string) {
    this.#db = db;
    this.#name = name;
  }

  /**
   * Opens the projector's file read-only; throws when it does not exist.
   * `name` is the projector's name (its checkpoint's name in the file).
   */
  static open(options: { file: string; name: string; busyTimeoutMs?: number }): SqliteQuotaReader {
    const db = new Database(options.file, { readonly: true, fileMustExist: true, timeout: options.busyTimeoutMs ?? 5_000 });
    return new SqliteQuotaReader(db, options.name);
  }

  /**
   * The subscription's usage in the period that contains `at`: the period of its plan's
   * quota (a month without one), aligned to its billing anchor, both as the projection
   * holds them. Null when the file is not (yet) a projection of this schema version.
   */
  usageAt(subscriptionId: string, at: number, fallback: UsageFallback): ProjectedUsage | null {
    const db = this.#db;
    return db.transaction((): ProjectedUsage | null => {
      if (!this.#schemaCurrent()) return null;
      const checkpointText = db.prepare<[string], string>("SELECT position FROM checkpoints WHERE name = ?").pluck().get(this.#name);
      const subscriptionRow = db.prepare<[string], SubscriptionRow>(selectSubscriptionSql).get(subscriptionId);
      const subscription = subscriptionRow === undefined ? fallback.subscription : subscriptionOf(subscriptionRow);
      let plan: PlanTerms | null;
      if (subscriptionRow === undefined) plan = fallback.plan;
      else {
        const planRow = db.prepare<[string], PlanRow>(selectPlanSql).get(subscription.planId);
        plan = planRow === undefined ? null : planOf(planRow);
      }
      const window = usageWindow(at, plan, subscription);
      const row = db.prepare<[string, string, number], UsageRow>(selectUsageSql).get(subscriptionId, window.period, window.start);
      const usage: UsageCounts =
        row === undefined
          ? { subscriptionId, planId: subscription.planId, period: window.period, periodStart: window.start, periodEnd: window.end, quota: plan?.quota ?? null, requests: 0, admitted: 0, billable: 0 }
          : usageOf(row);
      return {
        checkpoint: checkpointText === undefined ? null : BigInt(checkpointText),
        subscriptionProjected: subscriptionRow !== undefined,
        subscription,
        plan,
        usage,
      };
    }).deferred();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #schemaCurrent(): boolean {
    return readQuotaSchemaVersion(this.#db) === QUOTA_STORE_SCHEMA_VERSION;
  }
}
