import { SubscriptionRunner, type EventStore } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import type { BillingProjectorConfig } from "../billing-projector-config.js";
import type { StripeBillingClient } from "./stripe-billing-client.js";
import { StripeCustomerLinks } from "./stripe-customer-links.js";
import { StripeSync } from "./stripe-sync.js";

export interface RunningStripeSync {
  sync: StripeSync;
  runner: SubscriptionRunner;
  links: StripeCustomerLinks;
  /** Ends a backoff wait, stops the runner (a batch cut short is delivered again next time), closes its connection. */
  close(): Promise<void>;
}

/** The sync's checkpoint name: the projector's name with a suffix, in the projector's own file. */
export function stripeSyncName(config: Pick<BillingProjectorConfig, "name">): string {
  return `${config.name}-stripe-sync`;
}

/**
 * Starts the Stripe sync beside the usage projection: its own runner, its own checkpoint
 * (in the billing projector's file, next to the customer links it writes), the same log.
 * That checkpoint is not registered with the log's retention, which needs none: the sync
 * reads only subscription and billing events, and retention removes request events only.
 */
export function startStripeSync(options: {
  config: BillingProjectorConfig;
  eventStore: EventStore;
  client: StripeBillingClient;
  logger: Logger;
  onCustomerLinked: () => void;
}): RunningStripeSync {
  const { config, eventStore, client, logger, onCustomerLinked } = options;
  const links = StripeCustomerLinks.open({ file: config.store.file, synchronous: config.store.synchronous });
  const sync = new StripeSync({
    name: stripeSyncName(config),
    eventStore,
    client,
    links,
    backoff: { initialMs: config.reporter.backoffInitialMs, maxMs: config.reporter.backoffMaxMs },
    onCustomerLinked,
    logger,
  });
  let failing = false;
  const runner = new SubscriptionRunner({
    store: eventStore,
    checkpoints: links.checkpoints,
    projector: sync.projector(),
    maxBatchSize: config.runner.maxBatchSize,
    maxBatchWaitMs: config.runner.maxBatchWaitMs,
    backoff: { initialMs: config.runner.backoffInitialMs, maxMs: config.runner.backoffMaxMs },
    onError: (error, retry) => {
      if (!failing || retry.consecutiveFailures % 10 === 0) logger.error({ err: error, ...retry }, "Stripe sync failed; retrying from its checkpoint");
      failing = true;
    },
    onBatch: () => {
      failing = false;
    },
  }).start();
  return {
    sync,
    runner,
    links,
    close: async () => {
      sync.stop();
      await runner.stop();
      links.close();
    },
  };
}
