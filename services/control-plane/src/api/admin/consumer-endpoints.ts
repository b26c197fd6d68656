import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { AsOfQuery, idParams } from "../schemas/common-schemas.js";
import { ConsumerList, ConsumerView, RegisterConsumerBody, UpdateConsumerBody } from "../schemas/consumer-schemas.js";
import { conflictResponses, readResponses, writeResponses } from "../standard-responses.js";

export function consumerEndpoints({ consumers }: ControlPlaneServices): AnyEndpoint[] {
  const consumerParams = idParams("consumerId");
  return [
    defineEndpoint({
      method: "get",
      path: "/admin/consumers",
      operationId: "listConsumers",
      summary: "List every consumer",
      tag: "consumers",
      access: "admin:read",
      responses: { 200: { description: "The consumers", schema: ConsumerList }, ...readResponses },
      handle: () => Promise.resolve({ status: 200, body: { items: consumers.list() } }),
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/consumers",
      operationId: "registerConsumer",
      summary: "Register a consumer (ConsumerRegistered)",
      tag: "consumers",
      access: "admin:write",
      body: RegisterConsumerBody,
      responses: { 201: { description: "Registered", schema: ConsumerView }, ...writeResponses },
      handle: async ({ body: { id, ...profile }, actor, requestId }) => {
        const consumer = await consumers.register(id, profile, { actor, requestId });
        return { status: 201, body: consumer, etag: consumer.version };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/consumers/:consumerId",
      operationId: "getConsumer",
      summary: "Read a consumer, now or as of a past instant",
      tag: "consumers",
      access: "admin:read",
      params: consumerParams,
      query: AsOfQuery,
      responses: { 200: { description: "The consumer", schema: ConsumerView }, ...readResponses },
      handle: async ({ params, query }) => {
        const consumer = await consumers.get(params.consumerId, query.asOf ? new Date(query.asOf) : undefined);
        return { status: 200, body: consumer, etag: consumer.version };
      },
    }),
    defineEndpoint({
      method: "patch",
      path: "/admin/consumers/:consumerId",
      operationId: "updateConsumer",
      summary: "Change a consumer's profile (ConsumerUpdated)",
      tag: "consumers",
      access: "admin:write",
      params: consumerParams,
      body: UpdateConsumerBody,
      conditional: true,
      responses: { 200: { description: "The consumer after the change", schema: ConsumerView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const consumer = await consumers.update(params.consumerId, body, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: consumer, etag: consumer.version };
      },
    }),
  ];
}
