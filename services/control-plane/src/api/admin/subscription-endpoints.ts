import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import type { SubscriptionView } from "../../application/entity-views.js";
import type { WriteOptions } from "../../application/service-context.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { AsOfQuery, ReasonBody, idParams } from "../schemas/common-schemas.js";
import { QuotaUsageView } from "../schemas/quota-usage-schemas.js";
import { ChangePlanBody, ListSubscriptionsQuery, StartSubscriptionBody, SubscriptionList, SubscriptionView as SubscriptionViewSchema } from "../schemas/subscription-schemas.js";
import { conflictResponses, readResponses, writeResponses } from "../standard-responses.js";

export function subscriptionEndpoints({ subscriptions, plans, quotaUsage }: ControlPlaneServices): AnyEndpoint[] {
  const subscriptionParams = idParams("subscriptionId");
  const transition = (
    action: "suspend" | "reactivate" | "cancel",
    summary: string,
    run: (id: string, reason: string | null, options: WriteOptions) => Promise<SubscriptionView>,
  ): AnyEndpoint =>
    defineEndpoint({
      method: "post",
      path: `/admin/subscriptions/:subscriptionId/${action}`,
      operationId: `${action}Subscription`,
      summary,
      tag: "subscriptions",
      access: "admin:write",
      params: subscriptionParams,
      body: ReasonBody,
      conditional: true,
      responses: { 200: { description: "The subscription after the change", schema: SubscriptionViewSchema }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const subscription = await run(params.subscriptionId, body.reason, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: subscription, etag: subscription.version };
      },
    });

  return [
    defineEndpoint({
      method: "get",
      path: "/admin/subscriptions",
      operationId: "listSubscriptions",
      summary: "List subscriptions, optionally of one consumer or plan",
      tag: "subscriptions",
      access: "admin:read",
      query: ListSubscriptionsQuery,
      responses: { 200: { description: "The subscriptions", schema: SubscriptionList }, ...readResponses },
      handle: ({ query }) => Promise.resolve({ status: 200, body: { items: subscriptions.list(query) } }),
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/subscriptions",
      operationId: "startSubscription",
      summary: "Subscribe a consumer to a plan (SubscriptionStarted)",
      tag: "subscriptions",
      access: "admin:write",
      body: StartSubscriptionBody,
      responses: { 201: { description: "Started", schema: SubscriptionViewSchema }, ...writeResponses },
      handle: async ({ body, actor, requestId }) => {
        const subscription = await subscriptions.start(
          { subscriptionId: body.id, consumerId: body.consumerId, planId: body.planId, billingAnchor: body.billingAnchor },
          { actor, requestId },
        );
        return { status: 201, body: subscription, etag: subscription.version };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/subscriptions/:subscriptionId",
      operationId: "getSubscription",
      summary: "Read a subscription, now or as of a past instant",
      tag: "subscriptions",
      access: "admin:read",
      params: subscriptionParams,
      query: AsOfQuery,
      responses: { 200: { description: "The subscription", schema: SubscriptionViewSchema }, ...readResponses },
      handle: async ({ params, query }) => {
        const subscription = await subscriptions.get(params.subscriptionId, query.asOf ? new Date(query.asOf) : undefined);
        return { status: 200, body: subscription, etag: subscription.version };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/subscriptions/:subscriptionId/usage",
      operationId: "getSubscriptionUsage",
      summary: "The subscription's quota use in its current period, as the quota projector counted it from the log",
      tag: "subscriptions",
      access: "admin:read",
      params: subscriptionParams,
      responses: { 200: { description: "Quota use in the current period, and the log position it is counted through", schema: QuotaUsageView }, ...readResponses },
      handle: async ({ params }) => {
        const subscription = await subscriptions.get(params.subscriptionId);
        return { status: 200, body: quotaUsage.read(subscription, await plans.get(subscription.planId)) };
      },
    }),
    transition("suspend", "Suspend a subscription: the gateway refuses its requests with 403 (SubscriptionSuspended)", (id, reason, options) =>
      subscriptions.suspend(id, reason, options),
    ),
    transition("reactivate", "Reactivate a suspended subscription (SubscriptionReactivated)", (id, _reason, options) =>
      subscriptions.reactivate(id, options),
    ),
    transition("cancel", "Cancel a subscription, for good (SubscriptionCancelled)", (id, reason, options) => subscriptions.cancel(id, reason, options)),
    defineEndpoint({
      method: "post",
      path: "/admin/subscriptions/:subscriptionId/change-plan",
      operationId: "changeSubscriptionPlan",
      summary: "Move a subscription to another plan (SubscriptionPlanChanged)",
      tag: "subscriptions",
      access: "admin:write",
      params: subscriptionParams,
      body: ChangePlanBody,
      conditional: true,
      responses: { 200: { description: "The subscription after the change", schema: SubscriptionViewSchema }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const subscription = await subscriptions.changePlan(params.subscriptionId, body.planId, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: subscription, etag: subscription.version };
      },
    }),
  ];
}
