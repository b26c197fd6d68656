import type { PlanDefinition, PlanEvent } from "@tollgate/events";

export interface Plan extends PlanDefinition {
  planId: string;
  /** An archived plan takes no new subscriptions; existing ones keep it until they change plan. */
  archived: boolean;
}

/** Folds one plan event; `null` is a plan that does not exist yet. */
export function evolvePlan(state: Plan | null, event: PlanEvent): Plan | null {
  switch (event.type) {
    case "PlanCreated": {
      const { actor: _actor, ...plan } = event.data;
      return { ...plan, archived: false };
    }
    case "PlanUpdated":
      return state && { ...state, ...event.data.changes };
    case "PlanArchived":
      return state && { ...state, archived: true };
  }
}
