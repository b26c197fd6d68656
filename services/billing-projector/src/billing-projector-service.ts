import { openEventStore, SubscriptionRunner, type EventStore } from "@tollgate/eventstore";
import type { Logger, Registry } from "@tollgate/observability";
import { createBillingProjector } from "./billing-projector.js";
import type { BillingProjectorConfig } from "./billing-projector-config.js";
import { defaultBillingRules, layerBillingRules } from "@tollgate/events";
import { resolveBillingRules } from "./billing-rules-resolver.js";
import type { BillingRulesResolver } from "./usage-aggregation.js";
import { BILLING_STORE_SCHEMA_VERSION } from "./billing-store-schema.js";
import { closeDuePeriods } from "./period-closer.js";
import { registerBillingMetrics } from "./projector-metrics.js";
import { SqliteBillingStore } from "./sqlite-billing-store.js";
import { createStripeClient, stripeMeterEventSender, type MeterEventSender } from "./stripe-meter-sender.js";
import { UsageReporter } from "./usage-reporter.js";
import { startStripeSync, type RunningStripeSync } from "./stripe-sync/start-stripe-sync.js";
import { stripeBillingClient, type StripeBillingClient } from "./stripe-sync/stripe-billing-client.js";

export interface RunningBillingProjector {
  runner: SubscriptionRunner;
  store: SqliteBillingStore;
  eventStore: EventStore;
  /** Null without a Stripe key: usage is counted and stays pending. */
  reporter: UsageReporter | null;
  /** Stripe customers and subscriptions; null without a Stripe key (it waits at its checkpoint) or when stripeSync.enabled is false. */
  stripeSync: RunningStripeSync | null;
  ready(): boolean;
  /** Stops the runner (the batch in flight commits) and the reporter (the send in flight finishes), closes everything. */
  close(): Promise<void>;
}

/** The billing rules of each plan: the plan's overrides over the defaults. */
export function billingRulesFor(config: BillingProjectorConfig): BillingRulesResolver {
  return resolveBillingRules(layerBillingRules(defaultBillingRules, config.billing.defaults), config.billing.plans);
}


export interface BillingProjectorDependencies {
  logger: Logger;
  registry: Registry;
  /** The Stripe secret key (config, else STRIPE_SECRET_KEY); null: no reporting. */
  secretKey: string | null;
  /** Tests: replaces the stripe SDK sender. */
  sender?: MeterEventSender;
  /** Tests: replaces the stripe SDK client of the Stripe sync. */
  stripeClient?: StripeBillingClient;
  /** The clock periods are closed by (epoch ms); tests inject one. */
  now?: () => number;
}

/** Opens the log and the store, starts projecting, and reporting when there is a key. */
export async function startBillingProjector(config: BillingProjectorConfig, dependencies: BillingProjectorDependencies): Promise<RunningBillingProjector> {
  const { logger, registry, secretKey } = dependencies;
  const opened = await openEventStore(config.eventStore);
  const now = dependencies.now ?? Date.now;
  const store = SqliteBillingStore.open({
    file: config.store.file,
    synchronous: config.store.synchronous,
    name: config.name,
    rulesFor: billingRulesFor(config),
    settings: { rules: { defaults: layerBillingRules(defaultBillingRules, config.billing.defaults), plans: config.billing.plans }, graceMs: config.periods.graceMs },
  });
  if (store.resetFromVersion !== null) {
    logger.warn({ file: config.store.file, fromVersion: store.resetFromVersion, toVersion: BILLING_STORE_SCHEMA_VERSION }, "billing projection had another schema version: replaying the log from position 0 (the report ledger is kept)");
  }
  const sender =
    dependencies.sender ??
    (secretKey === null
      ? null
      : stripeMeterEventSender(createStripeClient({ secretKey, host: config.stripe.host, port: config.stripe.port, protocol: config.stripe.protocol, timeoutMs: config.stripe.timeoutMs })));
  const reporter =
    sender === null
      ? null
      : new UsageReporter({
          store,
          eventStore: opened.store,
          sender,
          backoff: { initialMs: config.reporter.backoffInitialMs, maxMs: config.reporter.backoffMaxMs },
          pollIntervalMs: config.reporter.pollIntervalMs,
          now,
          logger,
        }).start();
  if (reporter === null) logger.warn("no Stripe secret key (stripe.secretKey or STRIPE_SECRET_KEY): usage is counted and stays pending until one is configured");

  const stripeClient =
    dependencies.stripeClient ??
    (secretKey === null
      ? null
      : stripeBillingClient(createStripeClient({ secretKey, host: config.stripe.host, port: config.stripe.port, protocol: config.stripe.protocol, timeoutMs: config.stripe.timeoutMs })));
  const stripeSync =
    stripeClient === null || !config.stripeSync.enabled
      ? null
      : startStripeSync({ config, eventStore: opened.store, client: stripeClient, logger, onCustomerLinked: () => reporter?.kick() });

  const projector = createBillingProjector({ store, logger, onCommitted: () => reporter?.kick() });
  let failing = false;
  const runner = new SubscriptionRunner({
    store: opened.store,
    checkpoints: opened.checkpoints,
    projector,
    maxBatchSize: config.runner.maxBatchSize,
    maxBatchWaitMs: config.runner.maxBatchWaitMs,
    backoff: { initialMs: config.runner.backoffInitialMs, maxMs: config.runner.backoffMaxMs },
    onError: (error, retry) => {
      if (!failing || retry.consecutiveFailures % 10 === 0) logger.error({ err: error, ...retry }, "billing projection failed; retrying from the committed checkpoint");
      failing = true;
    },
    onBatch: () => {
      if (failing) logger.info("billing projection applies batches again");
      failing = false;
    },
  }).start();

  // Periods close whether or not there is a Stripe key: late usage is decided by the log either way.
  let closing: Promise<void> = Promise.resolve();
  const closePeriods = (): void => {
    closing = closing.then(() =>
      closeDuePeriods({ subscriptions: () => store.subscriptions(), eventStore: opened.store, graceMs: config.periods.graceMs, now, logger }).then(
        () => undefined,
        (error: unknown) => logger.error({ err: error }, "closing billing periods failed; retrying at the next check"),
      ),
    );
  };
  const closer = setInterval(closePeriods, config.periods.checkIntervalMs);
  closer.unref();
  closePeriods();

  registerBillingMetrics(registry, {
    runner: () => runner.status(),
    head: () => opened.store.headPosition(),
    billing: () => store.stats(),
    reporter: () => reporter?.stats() ?? null,
  });

  return {
    runner,
    store,
    eventStore: opened.store,
    reporter,
    stripeSync,
    ready: () => {
      const status = runner.status();
      return (status.state === "waiting" || status.state === "handling") && status.consecutiveFailures === 0;
    },
    close: async () => {
      clearInterval(closer);
      await closing;
      await runner.stop();
      await stripeSync?.close();
      await reporter?.stop();
      store.close();
      await opened.store.close();
    },
  };
}
