import { openEventStore, SubscriptionRunner, type EventStore, type OpenedEventStore, type Position } from "@tollgate/eventstore";
import type { Logger, Registry } from "@tollgate/observability";
import { Redis } from "ioredis";
import { defaultBillingRules, layerBillingRules } from "@tollgate/events";
import { registerProjectorMetrics } from "./projector-metrics.js";
import { createQuotaProjector } from "./quota-projector.js";
import type { QuotaProjectorConfig } from "./quota-projector-config.js";
import { ReconciliationLoop } from "./reconciliation-loop.js";
import { RedisQuotaReconciler } from "./redis-quota-reconciler.js";
import type { BillingRulesResolver } from "./quota-projection.js";
import { QUOTA_STORE_SCHEMA_VERSION } from "./quota-store-schema.js";
import { SqliteQuotaStore } from "./sqlite-quota-store.js";

export interface RunningQuotaProjector {
  runner: SubscriptionRunner;
  store: SqliteQuotaStore;
  eventStore: EventStore;
  /** Null without Redis. */
  reconciliation: ReconciliationLoop | null;
  /** True while the runner is subscribed and not failing. */
  ready(): boolean;
  /** Stops the runner (the batch in flight commits), reconciles what is pending (bounded), closes everything. */
  close(): Promise<void>;
}

/**
 * The billing rules of each plan, in layers: the configured defaults, then the config's
 * override for the plan, then the plan's own rules (PlanDefinition.billing, as the log
 * says at the request's position), which win: the plan is what the product team stated.
 */
export function billingRulesFor(config: QuotaProjectorConfig): BillingRulesResolver {
  const defaults = layerBillingRules(defaultBillingRules, config.billing.defaults);
  const perPlan = new Map(Object.entries(config.billing.plans).map(([planId, rules]) => [planId, layerBillingRules(defaults, rules)]));
  return (planId, planRules) => {
    const configured = planId === null ? defaults : (perPlan.get(planId) ?? defaults);
    return planRules === null ? configured : layerBillingRules(configured, planRules);
  };
}

function createRedis(url: string, logger: Logger): Redis {
  // Commands wait for a connection, but never longer than commandTimeout: while Redis is
  // away the loop keeps its rows and retries on the next sweep.
  const client = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2_000, retryStrategy: (attempt) => Math.min(attempt * 100, 1_000) });
  client.on("error", (error: Error) => logger.debug({ err: error }, "redis connection error"));
  return client;
}

/** Opens the log, the projection and Redis, and starts projecting. */
export async function startQuotaProjector(config: QuotaProjectorConfig, dependencies: { logger: Logger; registry: Registry }): Promise<RunningQuotaProjector> {
  const { logger, registry } = dependencies;
  const opened: OpenedEventStore = await openEventStore(config.eventStore);
  const store = SqliteQuotaStore.open({ file: config.store.file, synchronous: config.store.synchronous, name: config.name, rulesFor: billingRulesFor(config) });
  if (store.resetFromVersion !== null) {
    logger.warn(
      { file: config.store.file, fromVersion: store.resetFromVersion, toVersion: QUOTA_STORE_SCHEMA_VERSION },
      "quota projection file had another schema version: its counts were dropped, replaying the log from position 0",
    );
  }
  const redis = config.redis === null ? null : createRedis(config.redis.url, logger);
  const reconciliation =
    config.redis === null || redis === null
      ? null
      : new ReconciliationLoop({
          reconciler: new RedisQuotaReconciler({ client: redis, keyPrefix: config.redis.keyPrefix, retentionMs: config.redis.retentionDays * 86_400_000 }),
          store,
          sweepIntervalMs: config.redis.sweepIntervalMs,
          retentionMs: config.redis.retentionDays * 86_400_000,
          logger,
        });

  const projector = createQuotaProjector({
    store,
    logger,
    hold: config.testing.holdBatchOpenMs > 0 ? { ms: config.testing.holdBatchOpenMs } : undefined,
    onCommitted: (rows) => {
      if (!replaying) reconciliation?.touched(rows);
    },
  });
  // After a schema reset the log is replayed from position 0 while Redis still holds the
  // refund markers (`<counter>:refunded`) of the dropped counts: reconciling partial counts
  // against them would raise counters, then lower them again as the replay proceeds. So,
  // as --rebuild does, reconciliation waits until the replay reaches the last event the
  // projector reads as of now, and then starts with a full sweep.
  const replayUntil =
    store.resetFromVersion === null || reconciliation === null ? null : ((await opened.store.readLatest(1, projector.filter)).at(-1)?.position ?? null);
  let replaying = replayUntil !== null;
  if (!replaying) reconciliation?.start();
  let failing = false;
  const runner = new SubscriptionRunner({
    store: opened.store,
    checkpoints: opened.checkpoints,
    projector,
    maxBatchSize: config.runner.maxBatchSize,
    maxBatchWaitMs: config.runner.maxBatchWaitMs,
    backoff: { initialMs: config.runner.backoffInitialMs, maxMs: config.runner.backoffMaxMs },
    onError: (error, retry) => {
      if (!failing || retry.consecutiveFailures % 10 === 0) logger.error({ err: error, ...retry }, "quota projection failed; retrying from the committed checkpoint");
      failing = true;
    },
    onBatch: ({ checkpoint }) => {
      if (failing) logger.info("quota projection applies batches again");
      failing = false;
      if (replaying && replayUntil !== null && checkpoint >= replayUntil) {
        replaying = false;
        logger.info({ checkpoint: String(checkpoint) }, "replay after the schema reset caught up; reconciling counters");
        reconciliation?.start();
      }
    },
  }).start();

  registerProjectorMetrics(registry, {
    runner: () => runner.status(),
    head: () => opened.store.headPosition(),
    reconciliation: () => reconciliation?.stats() ?? null,
  });

  return {
    runner,
    store,
    eventStore: opened.store,
    reconciliation,
    ready: () => {
      const status = runner.status();
      return (status.state === "waiting" || status.state === "handling") && status.consecutiveFailures === 0;
    },
    close: async () => {
      await runner.stop();
      if (reconciliation) {
        // A replay that has not caught up leaves Redis alone.
        if (!replaying) await Promise.race([reconciliation.flush(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
        await reconciliation.stop();
      }
      redis?.disconnect();
      store.close();
      await opened.store.close();
    },
  };
}

export interface RebuildSummary {
  /** Events applied from position 0. */
  events: number;
  checkpoint: string | null;
  usageRows: number;
  /** Counters reconciled in Redis at the end; null without Redis. */
  countersReconciled: number | null;
}

/**
 * Rebuilds the projection from position 0: forgets every count and the checkpoint (in
 * one transaction), replays the log up to the last event the projector reads, as it was
 * when the rebuild started, and reconciles every live counter. The same log gives the
 * same numbers. Stop the running service first (or rebuild into another store file):
 * two writers of one projection would count twice.
 */
export async function rebuildQuotaProjection(config: QuotaProjectorConfig, dependencies: { logger: Logger }): Promise<RebuildSummary> {
  const { logger } = dependencies;
  const opened = await openEventStore(config.eventStore);
  const store = SqliteQuotaStore.open({ file: config.store.file, synchronous: config.store.synchronous, name: config.name, rulesFor: billingRulesFor(config) });
  const redis = config.redis === null ? null : createRedis(config.redis.url, logger);
  try {
    store.reset();
    const projector = createQuotaProjector({ store, logger });
    const last = (await opened.store.readLatest(1, projector.filter)).at(-1)?.position ?? null;
    let events = 0;
    if (last !== null) {
      let reached: (position: Position) => void = () => undefined;
      const done = new Promise<Position>((resolve) => (reached = resolve));
      const runner = new SubscriptionRunner({
        store: opened.store,
        checkpoints: opened.checkpoints,
        projector,
        maxBatchSize: config.runner.maxBatchSize,
        maxBatchWaitMs: 0,
        backoff: { initialMs: config.runner.backoffInitialMs, maxMs: config.runner.backoffMaxMs },
        onError: (error, retry) => logger.error({ err: error, ...retry }, "rebuild batch failed; retrying"),
        onBatch: ({ size, checkpoint }) => {
          events += size;
          if (checkpoint >= last) reached(checkpoint);
        },
      }).start();
      await done;
      await runner.stop();
    }
    let countersReconciled: number | null = null;
    if (config.redis !== null && redis !== null) {
      const reconciler = new RedisQuotaReconciler({ client: redis, keyPrefix: config.redis.keyPrefix, retentionMs: config.redis.retentionDays * 86_400_000 });
      countersReconciled = (await reconciler.reconcile(store.usage())).length;
    }
    const checkpoint = await store.loadCheckpoint();
    return { events, checkpoint: checkpoint === null ? null : String(checkpoint), usageRows: store.usage().length, countersReconciled };
  } finally {
    redis?.disconnect();
    store.close();
    await opened.store.close();
  }
}
