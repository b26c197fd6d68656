import { layerBillingRules, type BillingRules, type BillingRulesOverride } from "@tollgate/events";
import type { BillingRulesResolver } from "./usage-aggregation.js";

/**
 * The rules of each plan, in layers: the configured defaults, then the config's override
 * for the plan, then the plan's own rules (PlanDefinition.billing, as the log says at the
 * request's position), which win. The quota projector layers them the same way, so the
 * two count the same requests.
 */
export function resolveBillingRules(defaults: BillingRules, plans: Readonly<Record<string, BillingRulesOverride>>): BillingRulesResolver {
  const perPlan = new Map(Object.entries(plans).map(([planId, rules]) => [planId, layerBillingRules(defaults, rules)]));
  return (planId, planRules) => {
    const configured = planId === null ? defaults : (perPlan.get(planId) ?? defaults);
    return planRules === null ? configured : layerBillingRules(configured, planRules);
  };
}
