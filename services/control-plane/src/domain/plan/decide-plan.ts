import type { Plan } from "@tollgate/credentials";
import type { PlanDefinition, PlanEvent } from "@tollgate/events";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { problems } from "../../errors/problem-catalog.js";
import type { DecisionContext } from "../decider.js";
import { sameValue } from "../same-value.js";

export type PlanCommand =
  | { type: "CreatePlan"; planId: string; definition: PlanDefinition }
  | { type: "UpdatePlan"; planId: string; changes: Partial<PlanDefinition> }
  | { type: "ArchivePlan"; planId: string };

export function decidePlan(command: PlanCommand, state: Plan | null, { actor }: DecisionContext): PlanEvent[] {
  switch (command.type) {
    case "CreatePlan":
      if (state) throw new ControlPlaneError(problems.alreadyExists, `plan "${command.planId}" already exists`);
      checkDefinition(command.definition);
      return [{ type: "PlanCreated", version: 1, data: { planId: command.planId, ...command.definition, actor } }];

    case "UpdatePlan": {
      const plan = existing(state, command.planId);
      if (plan.archived) throw new ControlPlaneError(problems.invalidState, `plan "${command.planId}" is archived`);
      // Only fields whose value differs are recorded, so re-applying the same change is a no-op.
      const changes: Partial<PlanDefinition> = {};
      for (const [field, value] of Object.entries(command.changes) as [keyof PlanDefinition, unknown][]) {
        if (value !== undefined && !sameValue(plan[field], value)) Object.assign(changes, { [field]: value });
      }
      if (Object.keys(changes).length === 0) return [];
      checkDefinition({ ...plan, ...changes });
      return [{ type: "PlanUpdated", version: 1, data: { planId: command.planId, changes, actor } }];
    }

    case "ArchivePlan":
      if (existing(state, command.planId).archived) return [];
      return [{ type: "PlanArchived", version: 1, data: { planId: command.planId, actor } }];
  }
}

function existing(state: Plan | null, planId: string): Plan {
  if (!state) throw new ControlPlaneError(problems.notFound, `plan "${planId}" does not exist`);
  return state;
}

function checkDefinition(definition: PlanDefinition): void {
  const names = definition.rateLimits.map((limit) => limit.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) {
    throw new ControlPlaneError(problems.invalidRequest, `rate limit name "${duplicate}" is used twice`, {
      issues: [{ path: "rateLimits", message: `duplicate name "${duplicate}"` }],
    });
  }
}
