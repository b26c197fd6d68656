import type { ConsumerEvent, ConsumerProfile } from "@tollgate/events";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { problems } from "../../errors/problem-catalog.js";
import type { DecisionContext } from "../decider.js";
import { sameValue } from "../same-value.js";
import type { Consumer } from "./evolve-consumer.js";

export type ConsumerCommand =
  | { type: "RegisterConsumer"; consumerId: string; profile: ConsumerProfile }
  | { type: "UpdateConsumer"; consumerId: string; changes: Partial<ConsumerProfile> };

export function decideConsumer(command: ConsumerCommand, state: Consumer | null, { actor }: DecisionContext): ConsumerEvent[] {
  switch (command.type) {
    case "RegisterConsumer":
      if (state) throw new ControlPlaneError(problems.alreadyExists, `consumer "${command.consumerId}" already exists`);
      return [{ type: "ConsumerRegistered", version: 1, data: { consumerId: command.consumerId, ...command.profile, actor } }];

    case "UpdateConsumer": {
      if (!state) throw new ControlPlaneError(problems.notFound, `consumer "${command.consumerId}" does not exist`);
      const changes: Partial<ConsumerProfile> = {};
      for (const [field, value] of Object.entries(command.changes) as [keyof ConsumerProfile, unknown][]) {
        if (value !== undefined && !sameValue(state[field], value)) Object.assign(changes, { [field]: value });
      }
      if (Object.keys(changes).length === 0) return [];
      return [{ type: "ConsumerUpdated", version: 1, data: { consumerId: command.consumerId, changes, actor } }];
    }
  }
}
