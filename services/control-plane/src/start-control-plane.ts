import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { defaultScryptParameters, type Entropy, type ScryptParameters, SecretBox, systemEntropy } from "@tollgate/credentials";
import { AnalyticsQueries, openAnalyticsStore, type AnalyticsStore } from "@tollgate/analytics";
import { openEventStore, type EventStore } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { createControlPlaneApp, type ControlPlaneApp } from "./api/create-control-plane-app.js";
import { AdminAuthenticator } from "./api/admin-authenticator.js";
import { StripeWebhookReceiver } from "./api/webhooks/stripe-webhook-receiver.js";
import { CommandHandler } from "./application/command-handler.js";
import { createServices, type ControlPlaneServices } from "./application/control-plane-services.js";
import { QuotaUsageReader } from "./application/quota-usage-reader.js";
import { BillingRecordsService } from "./application/billing-records-service.js";
import type { ServiceContext } from "./application/service-context.js";
import type { ControlPlaneConfig, SecretKeysConfig } from "./config/control-plane-config.js";
import { ControlPlaneReadModel } from "./projections/control-plane-read-model.js";
import { UsageReadModel } from "./projections/usage-read-model.js";
import { systemClock, type Clock } from "./runtime/clock.js";
import { randomIds, type IdGenerator } from "./runtime/id-generator.js";

export interface StartControlPlaneOptions {
  config: ControlPlaneConfig;
  /** A store to use instead of opening `config.eventStore`; the caller keeps ownership and closes it. */
  store?: EventStore;
  clock?: Clock;
  ids?: IdGenerator;
  entropy?: Entropy;
  logger?: Logger;
  /** Lower only in tests: the default is what production hashes with. */
  scryptParameters?: ScryptParameters;
  /** Where STRIPE_WEBHOOK_SECRET is read when the config names no signing secret; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface RunningControlPlane {
  url: string;
  port: number;
  server: Server;
  services: ControlPlaneServices;
  http: ControlPlaneApp;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then stops the read models and closes the store it opened. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Boots the control plane. Order: open the log, fold it into the read model (the API
 * answers only from a caught-up read model, so it never serves a state older than what
 * it served before a restart), then listen. Usage counts catch up in the background:
 * they may lag at start, and say up to which position they count.
 */
export async function startControlPlane(options: StartControlPlaneOptions): Promise<RunningControlPlane> {
  const { config, logger } = options;
  const ownsStore = options.store === undefined;
  const store = options.store ?? (await openEventStore(config.eventStore)).store;
  const readModel = new ControlPlaneReadModel(logger ? { logger } : {});
  const usage = new UsageReadModel(logger ? { logger } : {});
  try {
    await readModel.start(store);
  } catch (error) {
    await readModel.stop();
    if (ownsStore) await store.close();
    throw error;
  }
  let stopping = false;
  const usageStarted = usage.start(store).catch((error: unknown) => {
    if (!stopping) logger?.error({ err: error }, "usage read model failed to start");
  });

  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const entropy = options.entropy ?? systemEntropy;
  const context: ServiceContext = {
    store,
    commands: new CommandHandler({ store, clock, ids }),
    readModel,
    clock,
    ids,
    entropy,
    secretBox: config.secretKeys ? new SecretBox(keyRing(config.secretKeys), entropy) : null,
    scryptParameters: options.scryptParameters ?? defaultScryptParameters,
    readYourWritesTimeoutMs: config.readYourWritesTimeoutMs,
    ...(logger ? { logger } : {}),
  };
  const quotaUsage = new QuotaUsageReader({
    file: config.quotaStore.file,
    projectorName: config.quotaStore.projectorName,
    clock,
    ...(logger ? { logger } : {}),
  });
  const services = createServices(context, usage, quotaUsage);
  const billing = new BillingRecordsService({
    file: config.billingStore.file,
    projectorName: config.billingStore.projectorName,
    store,
    clock,
    ...(logger ? { logger } : {}),
  });
  const analyticsStore = config.analytics === null ? null : openAnalyticsStore(config.analytics);
  const analyticsMigrated = analyticsStore === null ? Promise.resolve() : migrateAnalytics(analyticsStore, logger);
  const http = createControlPlaneApp({
    services,
    admin: new AdminAuthenticator(config.adminTokens),
    ...(logger ? { logger } : {}),
    ...(analyticsStore ? { analytics: new AnalyticsQueries(analyticsStore) } : {}),
    billing,
    stripeWebhooks: new StripeWebhookReceiver({
      services,
      signingSecret: config.stripeWebhooks.signingSecret ?? nonEmpty((options.env ?? process.env).STRIPE_WEBHOOK_SECRET),
      toleranceSeconds: config.stripeWebhooks.toleranceSeconds,
      now: () => clock.now().getTime(),
      ...(logger ? { logger } : {}),
    }),
  });

  const server = createServer(http.app);
  server.listen(config.listen.port, config.listen.host);
  await once(server, "listening");
  const { port, address } = server.address() as AddressInfo;
  const host = address === "0.0.0.0" || address === "::" ? "127.0.0.1" : address;

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.shutdownGraceMs): Promise<void> =>
    (closing ??= (async () => {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      await Promise.all([readModel.stop(), usage.stop()]);
      await usageStarted;
      await analyticsMigrated;
      await analyticsStore?.close();
      billing.close();
      if (ownsStore) await store.close();
    })());

  return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, port, server, services, http, close };
}

/**
 * Creates the analytics tables if the projector has not yet, in the background: a store
 * that is slow or down never delays the control plane's start. Until it answers, the
 * analytics queries answer 503.
 */
async function migrateAnalytics(store: AnalyticsStore, logger: Logger | undefined): Promise<void> {
  try {
    await store.migrate();
  } catch (error) {
    logger?.warn({ err: error, engine: store.engine }, "analytics store not reachable at start; analytics queries answer 503 until it is");
  }
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === "" ? null : value;
}

function keyRing(config: SecretKeysConfig): { current: string; keys: Map<string, Buffer> } {
  return { current: config.current, keys: new Map(Object.entries(config.keys).map(([id, key]) => [id, Buffer.from(key, "base64")])) };
}
