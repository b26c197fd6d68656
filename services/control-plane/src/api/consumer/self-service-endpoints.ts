import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint, type EndpointRequest } from "../endpoint.js";
import { ReasonBody, idParams } from "../schemas/common-schemas.js";
import { ConsumerView } from "../schemas/consumer-schemas.js";
import { CredentialList, CredentialView, IssueApiKeyBody, IssuedSecret } from "../schemas/credential-schemas.js";
import { PlanList } from "../schemas/plan-schemas.js";
import { QuotaUsageView } from "../schemas/quota-usage-schemas.js";
import { ChangePlanBody, SelfServiceSubscribeBody, SubscriptionList, SubscriptionView } from "../schemas/subscription-schemas.js";
import { UsageReport } from "../schemas/usage-schemas.js";
import { readResponses, writeResponses } from "../standard-responses.js";

/**
 * The consumer's own API, authenticated with one of its API keys. Everything is scoped
 * to the calling consumer: another consumer's subscription or key is reported as not
 * found, never as forbidden, so ids cannot be probed; private plans look like missing ones.
 */
export function selfServiceEndpoints({ consumers, plans, subscriptions, credentials, usage, quotaUsage }: ControlPlaneServices): AnyEndpoint[] {
  const me = (request: EndpointRequest<unknown, unknown, unknown>): { consumerId: string } => ({ consumerId: request.consumerId! });
  const subscriptionParams = idParams("subscriptionId");
  return [
    defineEndpoint({
      method: "get",
      path: "/consumer/me",
      operationId: "getMe",
      summary: "The calling consumer",
      tag: "self-service",
      access: "consumer",
      responses: { 200: { description: "The consumer", schema: ConsumerView }, ...readResponses },
      handle: async (request) => {
        const consumer = await consumers.get(me(request).consumerId);
        return { status: 200, body: consumer, etag: consumer.version };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/plans",
      operationId: "listPublicPlans",
      summary: "The public plans open for subscription",
      tag: "self-service",
      access: "consumer",
      responses: { 200: { description: "Public, unarchived plans", schema: PlanList }, ...readResponses },
      handle: () => Promise.resolve({ status: 200, body: { items: plans.list({ publicOnly: true, includeArchived: false }) } }),
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/subscriptions",
      operationId: "listMySubscriptions",
      summary: "The calling consumer's subscriptions",
      tag: "self-service",
      access: "consumer",
      responses: { 200: { description: "The subscriptions", schema: SubscriptionList }, ...readResponses },
      handle: (request) => Promise.resolve({ status: 200, body: { items: subscriptions.list({ consumerId: me(request).consumerId }) } }),
    }),
    defineEndpoint({
      method: "post",
      path: "/consumer/subscriptions",
      operationId: "subscribe",
      summary: "Subscribe to a public plan (SubscriptionStarted)",
      tag: "self-service",
      access: "consumer",
      body: SelfServiceSubscribeBody,
      responses: { 201: { description: "Started", schema: SubscriptionView }, ...writeResponses },
      handle: async (request) => {
        const scope = me(request);
        const subscription = await subscriptions.start(
          { consumerId: scope.consumerId, planId: request.body.planId },
          { actor: request.actor, requestId: request.requestId },
          scope,
        );
        return { status: 201, body: subscription, etag: subscription.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/consumer/subscriptions/:subscriptionId/change-plan",
      operationId: "changeMyPlan",
      summary: "Move one of the consumer's subscriptions to another public plan (SubscriptionPlanChanged)",
      tag: "self-service",
      access: "consumer",
      params: subscriptionParams,
      body: ChangePlanBody,
      responses: { 200: { description: "The subscription after the change", schema: SubscriptionView }, ...writeResponses },
      handle: async (request) => {
        const subscription = await subscriptions.changePlan(
          request.params.subscriptionId,
          request.body.planId,
          { actor: request.actor, requestId: request.requestId, expectedRevision: request.ifMatch },
          me(request),
        );
        return { status: 200, body: subscription, etag: subscription.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/consumer/subscriptions/:subscriptionId/cancel",
      operationId: "cancelMySubscription",
      summary: "Cancel one of the consumer's subscriptions (SubscriptionCancelled)",
      tag: "self-service",
      access: "consumer",
      params: subscriptionParams,
      body: ReasonBody,
      responses: { 200: { description: "The cancelled subscription", schema: SubscriptionView }, ...writeResponses },
      handle: async (request) => {
        const subscription = await subscriptions.cancel(
          request.params.subscriptionId,
          request.body.reason,
          { actor: request.actor, requestId: request.requestId, expectedRevision: request.ifMatch },
          me(request),
        );
        return { status: 200, body: subscription, etag: subscription.version };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/subscriptions/:subscriptionId/usage",
      operationId: "getMySubscriptionUsage",
      summary: "Quota use of one of the consumer's subscriptions in its current period, counted from the log",
      tag: "self-service",
      access: "consumer",
      params: subscriptionParams,
      responses: { 200: { description: "Quota use in the current period, and the log position it is counted through", schema: QuotaUsageView }, ...readResponses },
      handle: async (request) => {
        // Scoped: another consumer's subscription is not found.
        const subscription = await subscriptions.get(request.params.subscriptionId, undefined, me(request));
        // The plan is read for its quota only, which the consumer sees on its own subscription even when the plan is private.
        return { status: 200, body: quotaUsage.read(subscription, await plans.get(subscription.planId)) };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/api-keys",
      operationId: "listMyApiKeys",
      summary: "The consumer's API keys (display prefixes only)",
      tag: "self-service",
      access: "consumer",
      responses: { 200: { description: "The API keys", schema: CredentialList }, ...readResponses },
      handle: (request) =>
        Promise.resolve({
          status: 200,
          body: { items: credentials.list(me(request).consumerId).filter((credential) => credential.kind === "api-key") },
        }),
    }),
    defineEndpoint({
      method: "post",
      path: "/consumer/api-keys",
      operationId: "createMyApiKey",
      summary: "Create an API key for the consumer (ApiKeyIssued); the key is in this response only",
      tag: "self-service",
      access: "consumer",
      body: IssueApiKeyBody.omit({ id: true }),
      responses: { 201: { description: "The credential and, once, its key", schema: IssuedSecret }, ...writeResponses },
      handle: async (request) => {
        const issued = await credentials.issueApiKey(
          { consumerId: me(request).consumerId, name: request.body.name, expiresAt: request.body.expiresAt },
          { actor: request.actor, requestId: request.requestId },
        );
        return { status: 201, body: issued, etag: issued.credential.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/consumer/api-keys/:credentialId/revoke",
      operationId: "revokeMyApiKey",
      summary: "Revoke one of the consumer's API keys (ApiKeyRevoked); it may be the key making this call",
      tag: "self-service",
      access: "consumer",
      params: idParams("credentialId"),
      body: ReasonBody,
      responses: { 200: { description: "The revoked key", schema: CredentialView }, ...writeResponses },
      handle: async (request) => {
        const credential = await credentials.revoke(
          request.params.credentialId,
          request.body.reason,
          { actor: request.actor, requestId: request.requestId, expectedRevision: request.ifMatch },
          me(request),
        );
        return { status: 200, body: credential, etag: credential.version };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/consumer/usage",
      operationId: "getMyUsage",
      summary: "The consumer's requests so far, counted from the request events in the log",
      tag: "self-service",
      access: "consumer",
      responses: { 200: { description: "Counts", schema: UsageReport }, ...readResponses },
      handle: (request) => {
        const consumerId = me(request).consumerId;
        return Promise.resolve({
          status: 200,
          body: { consumerId, requests: usage.usageOf(consumerId), countedThroughPosition: usage.live.version.toString() },
        });
      },
    }),
  ];
}
