import { openAnalyticsStore, withClickHouseUrl, type AnalyticsStore } from "@tollgate/analytics";
import { openEventStore, SubscriptionRunner, type EventStore, type OpenedEventStore, type Position } from "@tollgate/eventstore";
import type { Logger, Registry } from "@tollgate/observability";
import { createAnalyticsProjector } from "./analytics-projector.js";
import type { AnalyticsProjectorConfig } from "./analytics-projector-config.js";
import { registerAnalyticsMetrics } from "./projector-metrics.js";

export interface RunningAnalyticsProjector {
  runner: SubscriptionRunner;
  store: AnalyticsStore;
  eventStore: EventStore;
  ready(): boolean;
  /** Stops the runner (the batch in flight finishes), stops retention, closes everything. */
  close(): Promise<void>;
}

/** The analytics store the config (and CLICKHOUSE_URL) names. */
export function analyticsStoreOf(config: AnalyticsProjectorConfig, env: Record<string, string | undefined>, suffix?: string): AnalyticsStore {
  return openAnalyticsStore(withClickHouseUrl(config.analytics, env), suffix === undefined ? {} : { suffix });
}

export async function startAnalyticsProjector(
  config: AnalyticsProjectorConfig,
  dependencies: { logger: Logger; registry: Registry; env?: Record<string, string | undefined> },
): Promise<RunningAnalyticsProjector> {
  const { logger, registry } = dependencies;
  const store = analyticsStoreOf(config, dependencies.env ?? process.env);
  const applied = await store.migrate();
  if (applied.length > 0) logger.info({ engine: store.engine, applied }, "migrations applied");
  const opened: OpenedEventStore = await openEventStore(config.eventStore);
  const projector = createAnalyticsProjector({ name: config.name, store, logger, holdBeforeCheckpointMs: config.testing.holdBeforeCheckpointMs });
  let failing = false;
  const runner = new SubscriptionRunner({
    store: opened.store,
    checkpoints: opened.checkpoints,
    projector,
    maxBatchSize: config.runner.maxBatchSize,
    maxBatchWaitMs: config.runner.maxBatchWaitMs,
    backoff: { initialMs: config.runner.backoffInitialMs, maxMs: config.runner.backoffMaxMs },
    onError: (error, retry) => {
      if (!failing || retry.consecutiveFailures % 10 === 0) logger.error({ err: error, ...retry }, "analytics projection failed; retrying from the stored checkpoint");
      failing = true;
    },
    onBatch: () => {
      if (failing) logger.info("analytics projection writes batches again");
      failing = false;
    },
  }).start();

  const retention = { runs: 0, removed: 0, errors: 0 };
  const applyRetention = (): void => {
    const olderThan = new Date(Date.now() - config.retention.rawDays * 86_400_000);
    store.applyRetention(olderThan).then(
      (result) => {
        retention.runs += 1;
        retention.removed += result.removed;
        if (result.removed > 0) logger.info({ removed: result.removed, olderThan }, "analytics retention applied");
      },
      (error: unknown) => {
        retention.errors += 1;
        logger.warn({ err: error }, "analytics retention failed; next run retries");
      },
    );
  };
  const retentionTimer = setInterval(applyRetention, config.retention.intervalMs);
  retentionTimer.unref();

  registerAnalyticsMetrics(registry, {
    runner: () => runner.status(),
    head: () => opened.store.headPosition(),
    stats: () => projector.stats,
    retention: () => retention,
  });

  return {
    runner,
    store,
    eventStore: opened.store,
    ready: () => {
      const status = runner.status();
      return (status.state === "waiting" || status.state === "handling") && status.consecutiveFailures === 0;
    },
    close: async () => {
      clearInterval(retentionTimer);
      await runner.stop();
      await store.close();
      await opened.store.close();
    },
  };
}

export interface RebuildSummary {
  engine: string;
  events: number;
  checkpoint: string | null;
}

/**
 * Rebuilds the projection from position 0 into fresh tables (suffix `_rebuild`), up to
 * the last request event in the log when the rebuild started, then switches them in
 * place of the live ones and drops the old. Queries keep answering from the old tables
 * until the switch. Stop the running projector first: it is the only writer.
 */
export async function rebuildAnalyticsProjection(
  config: AnalyticsProjectorConfig,
  dependencies: { logger: Logger; env?: Record<string, string | undefined> },
): Promise<RebuildSummary> {
  const { logger } = dependencies;
  const live = analyticsStoreOf(config, dependencies.env ?? process.env);
  await live.migrate();
  const opened = await openEventStore(config.eventStore);
  const next = await live.createFreshTables("_rebuild");
  try {
    const projector = createAnalyticsProjector({ name: config.name, store: next, logger });
    const last = (await opened.store.readLatest(1, projector.filter)).at(-1)?.position ?? null;
    let events = 0;
    if (last !== null) {
      let reached: (position: Position) => void = () => undefined;
      const done = new Promise<Position>((resolve) => (reached = resolve));
      const runner = new SubscriptionRunner({
        store: opened.store,
        // The runner's mirror of the checkpoint is not written: the live projector's
        // registration (which holds retention back) is left as it is.
        checkpoints: { load: () => Promise.resolve(null), store: () => Promise.resolve(), list: () => opened.checkpoints.list() },
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
    const checkpoint = await next.loadCheckpoint(config.name);
    await live.switchTo("_rebuild");
    return { engine: live.engine, events, checkpoint: checkpoint === null ? null : String(checkpoint) };
  } finally {
    if (next !== live && live.engine === "clickhouse") await next.close();
    await live.close();
    await opened.store.close();
  }
}
