import { randomUUID } from "node:crypto";
import type { AnalyticsQueries } from "@tollgate/analytics";
import express, { type Express } from "express";
import type { Logger } from "@tollgate/observability";
import type { ControlPlaneServices } from "../application/control-plane-services.js";
import { problems } from "../errors/problem-catalog.js";
import type { BillingRecordsService } from "../application/billing-records-service.js";
import { auditEndpoints } from "./admin/audit-endpoints.js";
import { cacheEndpoints } from "./admin/cache-endpoints.js";
import { consumerEndpoints } from "./admin/consumer-endpoints.js";
import { credentialEndpoints } from "./admin/credential-endpoints.js";
import { planEndpoints } from "./admin/plan-endpoints.js";
import { routeEndpoints } from "./admin/route-endpoints.js";
import { subscriptionEndpoints } from "./admin/subscription-endpoints.js";
import { upstreamEndpoints } from "./admin/upstream-endpoints.js";
import type { AdminAuthenticator } from "./admin-authenticator.js";
import { analyticsEndpoints } from "./analytics/analytics-endpoints.js";
import { billingEndpoints } from "./billing/billing-endpoints.js";
import { mountDashboard } from "./analytics/dashboard-routes.js";
import { selfServiceEndpoints } from "./consumer/self-service-endpoints.js";
import type { AnyEndpoint } from "./endpoint.js";
import { metaEndpoints } from "./meta-endpoints.js";
import { mountEndpoints } from "./mount-endpoints.js";
import { buildOpenApiDocument } from "./openapi-document.js";
import { problemErrorHandler, sendProblem } from "./problem-response.js";
import { mountStripeWebhooks } from "./webhooks/mount-stripe-webhooks.js";
import type { StripeWebhookReceiver } from "./webhooks/stripe-webhook-receiver.js";

export interface ControlPlaneApp {
  app: Express;
  /** Every operation, in declaration order; the router and /openapi.json are both built from it. */
  endpoints: readonly AnyEndpoint[];
  openApi: Record<string, unknown>;
}

/** Every endpoint group of the control plane. Adding a group here adds it to the router and to the OpenAPI document. */
export function allEndpoints(services: ControlPlaneServices, analytics?: AnalyticsQueries, billing?: BillingRecordsService): AnyEndpoint[] {
  return [
    ...metaEndpoints(services),
    ...planEndpoints(services),
    ...consumerEndpoints(services),
    ...credentialEndpoints(services),
    ...subscriptionEndpoints(services),
    ...routeEndpoints(services),
    ...upstreamEndpoints(services),
    ...cacheEndpoints(services),
    ...auditEndpoints(services),
    ...selfServiceEndpoints(services),
    ...(analytics ? analyticsEndpoints(analytics) : []),
    ...(billing ? billingEndpoints(services, billing) : []),
  ];
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export function createControlPlaneApp(options: {
  services: ControlPlaneServices;
  admin: AdminAuthenticator;
  logger?: Logger;
  analytics?: AnalyticsQueries;
  stripeWebhooks?: StripeWebhookReceiver;
  billing?: BillingRecordsService;
}): ControlPlaneApp {
  const { services, admin, logger, analytics, stripeWebhooks } = options;
  const endpoints = allEndpoints(services, analytics, options.billing);
  const openApi = buildOpenApiDocument(endpoints, {
    title: "Tollgate control plane",
    version: "1",
    description: "Admin API (/admin, admin tokens) and consumer self-service API (/consumer, the consumer's API key). Errors are application/problem+json (RFC 9457).",
  });

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((req, res, next) => {
    const offered = req.headers["x-request-id"];
    const requestId = typeof offered === "string" && requestIdPattern.test(offered) ? offered : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader("x-request-id", requestId);
    // Answers may carry a one-time secret or per-consumer data: never cached anywhere.
    res.setHeader("cache-control", "no-store");
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      // Method, path without query, status and who: never headers or bodies, which hold tokens and secrets.
      logger?.info(
        {
          requestId,
          method: req.method,
          path: req.path,
          status: res.statusCode,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          actor: res.locals.actorId as string | undefined,
        },
        "request",
      );
    });
    next();
  });
  // Before the JSON parser: a Stripe signature covers the raw bytes.
  if (stripeWebhooks) mountStripeWebhooks(app, stripeWebhooks);
  app.use(express.json({ limit: "64kb", type: "application/json" }));
  app.get("/openapi.json", (_req, res) => {
    res.json(openApi);
  });
  if (analytics) mountDashboard(app);
  const router = express.Router();
  mountEndpoints(router, endpoints, {
    auth: { admin, consumer: (key) => services.credentials.authenticateApiKey(key) },
    version: () => services.context.readModel.version,
  });
  app.use(router);
  app.use((req, res) => {
    sendProblem(res, problems.notFound, `no operation ${req.method} ${req.path}; see /openapi.json`, res.locals.requestId as string);
  });
  app.use(problemErrorHandler(logger));
  return { app, endpoints, openApi };
}
