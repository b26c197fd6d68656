import { PlanDefinition, PriceReference, Quota, RateLimit, EntityId } from "@tollgate/events";
import { z } from "zod";
import { Versioned } from "./common-schemas.js";

export const CreatePlanBody = z.strictObject({
  id: EntityId.optional().describe("The plan's id; generated when absent"),
  name: PlanDefinition.shape.name,
  description: PlanDefinition.shape.description.default(""),
  public: PlanDefinition.shape.public.default(false),
  rateLimits: z.array(RateLimit).max(10).default([]).describe("Every limit must admit a request; names are unique within the plan"),
  quota: Quota.nullable().default(null).describe("Requests per period; null for none"),
  routes: PlanDefinition.shape.routes.default([]),
  scopes: PlanDefinition.shape.scopes.default([]),
  price: PriceReference.default({ stripePriceId: null, stripeMeterEventName: null }),
  pricing: PlanDefinition.shape.pricing,
  billing: PlanDefinition.shape.billing,
});

export const UpdatePlanBody = z
  .strictObject({
    name: PlanDefinition.shape.name.optional(),
    description: PlanDefinition.shape.description.optional(),
    public: PlanDefinition.shape.public.optional(),
    rateLimits: PlanDefinition.shape.rateLimits.optional(),
    quota: PlanDefinition.shape.quota.optional(),
    routes: PlanDefinition.shape.routes.optional(),
    scopes: PlanDefinition.shape.scopes.optional(),
    price: PlanDefinition.shape.price.optional(),
    pricing: PlanDefinition.shape.pricing,
    billing: PlanDefinition.shape.billing,
  })
  .refine((body) => Object.keys(body).length > 0, "name at least one field to change")
  .describe("The fields to change; the others keep their values");

export const PlanView = z.object({ ...Versioned, ...PlanDefinition.shape, archived: z.boolean() });
export const PlanList = z.object({ items: z.array(PlanView) });
