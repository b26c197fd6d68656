import type { RouteDefinition, RouteEvent } from "@tollgate/events";

export interface Route extends RouteDefinition {
  routeId: string;
  removed: boolean;
}

/** Folds one route event; `null` is a route that was never defined. */
export function evolveRoute(state: Route | null, event: RouteEvent): Route | null {
  switch (event.type) {
    case "RouteDefined": {
      const { actor: _actor, ...route } = event.data;
      return { ...route, removed: false };
    }
    case "RouteRemoved":
      return state && { ...state, removed: true };
  }
}
