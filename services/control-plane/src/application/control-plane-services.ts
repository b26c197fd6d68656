import type { UsageReadModel } from "../projections/usage-read-model.js";
import { ConsumerService } from "./consumer-service.js";
import { CredentialService } from "./credential-service.js";
import { PlanService } from "./plan-service.js";
import type { QuotaUsageReader } from "./quota-usage-reader.js";
import { RouteService } from "./route-service.js";
import type { ServiceContext } from "./service-context.js";
import { SubscriptionService } from "./subscription-service.js";
import { UpstreamService } from "./upstream-service.js";

/** Every application service, over one shared context; what the API endpoints call. */
export interface ControlPlaneServices {
  context: ServiceContext;
  plans: PlanService;
  consumers: ConsumerService;
  credentials: CredentialService;
  subscriptions: SubscriptionService;
  routes: RouteService;
  upstreams: UpstreamService;
  usage: UsageReadModel;
  /** Quota use per subscription, from the quota projector's store. */
  quotaUsage: QuotaUsageReader;
}

export function createServices(context: ServiceContext, usage: UsageReadModel, quotaUsage: QuotaUsageReader): ControlPlaneServices {
  return {
    context,
    plans: new PlanService(context),
    consumers: new ConsumerService(context),
    credentials: new CredentialService(context),
    subscriptions: new SubscriptionService(context),
    routes: new RouteService(context),
    upstreams: new UpstreamService(context),
    usage,
    quotaUsage,
  };
}
