import type { RouteDefinition } from "@tollgate/events";
import type { RouteCommand } from "../domain/route/decide-route.js";
import { routeDecider } from "../domain/route/route-decider.js";
import { routeView, type RouteView } from "./entity-views.js";
import { loadEntityRecord } from "./load-entity-record.js";
import { notFound, readAfterWrite, type ServiceContext, type WriteOptions } from "./service-context.js";

export class RouteService {
  constructor(private readonly context: ServiceContext) {}

  list(): RouteView[] {
    return this.context.readModel.listRoutes().map(routeView);
  }

  async get(routeId: string, asOf?: Date): Promise<RouteView> {
    const record = asOf ? await loadEntityRecord(this.context.store, routeDecider, routeId, asOf) : this.context.readModel.route(routeId);
    if (!record) throw notFound("route", routeId);
    return routeView(record);
  }

  define(routeId: string, definition: RouteDefinition, options: WriteOptions): Promise<RouteView> {
    return this.#execute(routeId, { type: "DefineRoute", routeId, definition }, options);
  }

  remove(routeId: string, options: WriteOptions): Promise<RouteView> {
    return this.#execute(routeId, { type: "RemoveRoute", routeId }, options);
  }

  async #execute(routeId: string, command: RouteCommand, options: WriteOptions): Promise<RouteView> {
    const result = await this.context.commands.execute(routeDecider, routeId, command, options);
    const record = await readAfterWrite(
      this.context,
      result.position,
      () => this.context.readModel.route(routeId),
      () => loadEntityRecord(this.context.store, routeDecider, routeId),
    );
    return routeView(record);
  }
}
