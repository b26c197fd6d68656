import { routeEventTypes, streamCategories, type RouteEvent } from "@tollgate/events";
import type { Decider } from "../decider.js";
import { decideRoute, type RouteCommand } from "./decide-route.js";
import { evolveRoute, type Route } from "./evolve-route.js";

export const routeDecider: Decider<RouteCommand, Route | null, RouteEvent> = {
  category: streamCategories.route,
  eventTypes: routeEventTypes,
  initialState: null,
  evolve: evolveRoute,
  decide: decideRoute,
};
