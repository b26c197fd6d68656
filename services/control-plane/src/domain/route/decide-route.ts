import type { RouteDefinition, RouteEvent } from "@tollgate/events";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { problems } from "../../errors/problem-catalog.js";
import type { DecisionContext } from "../decider.js";
import { sameValue } from "../same-value.js";
import type { Route } from "./evolve-route.js";

export type RouteCommand =
  | { type: "DefineRoute"; routeId: string; definition: RouteDefinition }
  | { type: "RemoveRoute"; routeId: string };

export function decideRoute(command: RouteCommand, state: Route | null, { actor }: DecisionContext): RouteEvent[] {
  switch (command.type) {
    case "DefineRoute": {
      if (state && !state.removed) {
        const { routeId: _id, removed: _removed, ...current } = state;
        if (sameValue(current, command.definition)) return [];
      }
      return [{ type: "RouteDefined", version: 1, data: { routeId: command.routeId, ...command.definition, actor } }];
    }
    case "RemoveRoute":
      if (!state) throw new ControlPlaneError(problems.notFound, `route "${command.routeId}" does not exist`);
      if (state.removed) return [];
      return [{ type: "RouteRemoved", version: 1, data: { routeId: command.routeId, actor } }];
  }
}
