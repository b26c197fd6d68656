import type { ControlPlaneServices } from "../../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint } from "../endpoint.js";
import { AsOfQuery, idParams } from "../schemas/common-schemas.js";
import { CreatePlanBody, PlanList, PlanView, UpdatePlanBody } from "../schemas/plan-schemas.js";
import { conflictResponses, readResponses, writeResponses } from "../standard-responses.js";

export function planEndpoints({ plans }: ControlPlaneServices): AnyEndpoint[] {
  const planParams = idParams("planId");
  return [
    defineEndpoint({
      method: "get",
      path: "/admin/plans",
      operationId: "listPlans",
      summary: "List every plan, archived ones included",
      tag: "plans",
      access: "admin:read",
      responses: { 200: { description: "The plans", schema: PlanList }, ...readResponses },
      handle: () => Promise.resolve({ status: 200, body: { items: plans.list() } }),
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/plans",
      operationId: "createPlan",
      summary: "Create a plan (PlanCreated)",
      tag: "plans",
      access: "admin:write",
      body: CreatePlanBody,
      responses: { 201: { description: "Created", schema: PlanView }, ...writeResponses },
      handle: async ({ body: { id, ...definition }, actor, requestId }) => {
        const plan = await plans.create(id, definition, { actor, requestId });
        return { status: 201, body: plan, etag: plan.version };
      },
    }),
    defineEndpoint({
      method: "get",
      path: "/admin/plans/:planId",
      operationId: "getPlan",
      summary: "Read a plan, now or as of a past instant",
      tag: "plans",
      access: "admin:read",
      params: planParams,
      query: AsOfQuery,
      responses: { 200: { description: "The plan", schema: PlanView }, ...readResponses },
      handle: async ({ params, query }) => {
        const plan = await plans.get(params.planId, query.asOf ? new Date(query.asOf) : undefined);
        return { status: 200, body: plan, etag: plan.version };
      },
    }),
    defineEndpoint({
      method: "patch",
      path: "/admin/plans/:planId",
      operationId: "updatePlan",
      summary: "Change some of a plan's fields (PlanUpdated with only the fields that differ)",
      tag: "plans",
      access: "admin:write",
      params: planParams,
      body: UpdatePlanBody,
      conditional: true,
      responses: { 200: { description: "The plan after the change", schema: PlanView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, body, actor, requestId, ifMatch }) => {
        const plan = await plans.update(params.planId, body, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: plan, etag: plan.version };
      },
    }),
    defineEndpoint({
      method: "post",
      path: "/admin/plans/:planId/archive",
      operationId: "archivePlan",
      summary: "Archive a plan: it takes no new subscriptions (PlanArchived)",
      tag: "plans",
      access: "admin:write",
      params: planParams,
      conditional: true,
      responses: { 200: { description: "The archived plan", schema: PlanView }, ...writeResponses, ...conflictResponses },
      handle: async ({ params, actor, requestId, ifMatch }) => {
        const plan = await plans.archive(params.planId, { actor, requestId, expectedRevision: ifMatch });
        return { status: 200, body: plan, etag: plan.version };
      },
    }),
  ];
}
