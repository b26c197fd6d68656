import { evolvePlan, type Plan } from "@tollgate/credentials";
import { planEventTypes, streamCategories, type PlanEvent } from "@tollgate/events";
import type { Decider } from "../decider.js";
import { decidePlan, type PlanCommand } from "./decide-plan.js";

export const planDecider: Decider<PlanCommand, Plan | null, PlanEvent> = {
  category: streamCategories.plan,
  eventTypes: planEventTypes,
  initialState: null,
  evolve: evolvePlan,
  decide: decidePlan,
};
