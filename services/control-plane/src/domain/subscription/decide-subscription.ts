import type { Plan, Subscription } from "@tollgate/credentials";
import type { SubscriptionEvent } from "@tollgate/events";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { problems } from "../../errors/problem-catalog.js";
import type { Consumer } from "../consumer/evolve-consumer.js";
import type { DecisionContext } from "../decider.js";

export type SubscriptionCommand =
  | {
      type: "StartSubscription";
      subscriptionId: string;
      consumerId: string;
      planId: string;
      /** ISO 8601 instant quota and billing periods are aligned to; null: calendar periods. */
      billingAnchor: string | null;
      /** The consumer and plan as the read model holds them; null when they do not exist. */
      consumer: Consumer | null;
      plan: Plan | null;
      /** The consumer's other subscriptions: at most one that is not cancelled may use a given plan. */
      consumerSubscriptions: readonly Subscription[];
    }
  | { type: "SuspendSubscription"; subscriptionId: string; reason: string | null }
  | { type: "ReactivateSubscription"; subscriptionId: string }
  | { type: "CancelSubscription"; subscriptionId: string; reason: string | null }
  | { type: "ChangeSubscriptionPlan"; subscriptionId: string; planId: string; plan: Plan | null };

export function decideSubscription(command: SubscriptionCommand, state: Subscription | null, { actor }: DecisionContext): SubscriptionEvent[] {
  switch (command.type) {
    case "StartSubscription": {
      const { subscriptionId, consumerId, planId, billingAnchor } = command;
      if (state) throw new ControlPlaneError(problems.alreadyExists, `subscription "${subscriptionId}" already exists`);
      if (!command.consumer) throw new ControlPlaneError(problems.invalidReference, `consumer "${consumerId}" does not exist`);
      usablePlan(command.plan, planId);
      const duplicate = command.consumerSubscriptions.find((other) => other.planId === planId && other.status !== "cancelled");
      if (duplicate) {
        throw new ControlPlaneError(problems.alreadyExists, `consumer "${consumerId}" already has subscription "${duplicate.subscriptionId}" to plan "${planId}"`, {
          subscriptionId: duplicate.subscriptionId,
        });
      }
      const data = billingAnchor === null ? { subscriptionId, consumerId, planId, actor } : { subscriptionId, consumerId, planId, billingAnchor, actor };
      return [{ type: "SubscriptionStarted", version: 1, data }];
    }

    case "SuspendSubscription": {
      const subscription = notCancelled(state, command.subscriptionId);
      if (subscription.status === "suspended") return [];
      const data = { subscriptionId: subscription.subscriptionId, consumerId: subscription.consumerId, reason: command.reason, actor };
      return [{ type: "SubscriptionSuspended", version: 1, data }];
    }

    case "ReactivateSubscription": {
      const subscription = notCancelled(state, command.subscriptionId);
      if (subscription.status === "active") return [];
      const data = { subscriptionId: subscription.subscriptionId, consumerId: subscription.consumerId, actor };
      return [{ type: "SubscriptionReactivated", version: 1, data }];
    }

    case "CancelSubscription": {
      const subscription = existing(state, command.subscriptionId);
      if (subscription.status === "cancelled") return [];
      const data = { subscriptionId: subscription.subscriptionId, consumerId: subscription.consumerId, reason: command.reason, actor };
      return [{ type: "SubscriptionCancelled", version: 1, data }];
    }

    case "ChangeSubscriptionPlan": {
      const subscription = notCancelled(state, command.subscriptionId);
      if (subscription.planId === command.planId) return [];
      usablePlan(command.plan, command.planId);
      const data = {
        subscriptionId: subscription.subscriptionId,
        consumerId: subscription.consumerId,
        fromPlanId: subscription.planId,
        toPlanId: command.planId,
        actor,
      };
      return [{ type: "SubscriptionPlanChanged", version: 1, data }];
    }
  }
}

function usablePlan(plan: Plan | null, planId: string): Plan {
  if (!plan) throw new ControlPlaneError(problems.invalidReference, `plan "${planId}" does not exist`);
  if (plan.archived) throw new ControlPlaneError(problems.invalidReference, `plan "${planId}" is archived and takes no new subscriptions`);
  return plan;
}

function existing(state: Subscription | null, subscriptionId: string): Subscription {
  if (!state) throw new ControlPlaneError(problems.notFound, `subscription "${subscriptionId}" does not exist`);
  return state;
}

function notCancelled(state: Subscription | null, subscriptionId: string): Subscription {
  const subscription = existing(state, subscriptionId);
  if (subscription.status === "cancelled") {
    throw new ControlPlaneError(problems.invalidState, `subscription "${subscriptionId}" is cancelled; start a new one instead`);
  }
  return subscription;
}
