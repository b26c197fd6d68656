import type { ApiKeyCredential, Credential, Plan, Subscription } from "@tollgate/credentials";
import type { EventStore, Position } from "@tollgate/eventstore";
import type { Logger } from "@tollgate/observability";
import { consumerDecider } from "../domain/consumer/consumer-decider.js";
import type { Consumer } from "../domain/consumer/evolve-consumer.js";
import { credentialDecider } from "../domain/credential/credential-decider.js";
import { apiKeyLookup, basicUserLookup, credentialLookupKeys, jwtIdentityLookup } from "../domain/credential/credential-lookup-keys.js";
import { planDecider } from "../domain/plan/plan-decider.js";
import type { Route } from "../domain/route/evolve-route.js";
import { routeDecider } from "../domain/route/route-decider.js";
import { subscriptionDecider } from "../domain/subscription/subscription-decider.js";
import type { UpstreamOverride } from "../domain/upstream/evolve-upstream.js";
import { upstreamDecider } from "../domain/upstream/upstream-decider.js";
import type { JwtIdentityMatch } from "@tollgate/events";
import type { EntityRecord } from "./entity-record.js";
import { entityProjection } from "./entity-projection.js";
import { LiveReadModel } from "./live-read-model.js";
import { ProjectionTable } from "./projection-table.js";

/**
 * The control plane's read model: every plan, consumer, credential, subscription and
 * route, folded from the log by the same `evolve` functions the commands are decided
 * with, and kept live by one subscription. `version` is the log position it reflects.
 */
export class ControlPlaneReadModel {
  readonly plans = new ProjectionTable(entityProjection("plans", planDecider));
  readonly consumers = new ProjectionTable(entityProjection("consumers", consumerDecider));
  readonly credentials = new ProjectionTable(entityProjection("credentials", credentialDecider, credentialLookupKeys));
  readonly subscriptions = new ProjectionTable(entityProjection("subscriptions", subscriptionDecider));
  readonly routes = new ProjectionTable(entityProjection("routes", routeDecider));
  readonly upstreams = new ProjectionTable(entityProjection("upstreams", upstreamDecider));
  readonly live: LiveReadModel;

  constructor(options: { logger?: Logger } = {}) {
    this.live = new LiveReadModel({
      name: "control-plane",
      tables: [this.plans, this.consumers, this.credentials, this.subscriptions, this.routes, this.upstreams],
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  get version(): Position {
    return this.live.version;
  }

  start(store: EventStore): Promise<void> {
    return this.live.start(store);
  }

  stop(): Promise<void> {
    return this.live.stop();
  }

  waitFor(position: Position, timeoutMs: number): Promise<boolean> {
    return this.live.waitFor(position, timeoutMs);
  }

  plan(planId: string): EntityRecord<Plan> | undefined {
    return present(this.plans.get(planId));
  }

  listPlans(): EntityRecord<Plan>[] {
    return all(this.plans.values());
  }

  consumer(consumerId: string): EntityRecord<Consumer> | undefined {
    return present(this.consumers.get(consumerId));
  }

  listConsumers(): EntityRecord<Consumer>[] {
    return all(this.consumers.values());
  }

  credential(credentialId: string): EntityRecord<Credential> | undefined {
    return present(this.credentials.get(credentialId));
  }

  listCredentials(consumerId?: string): EntityRecord<Credential>[] {
    return all(this.credentials.values()).filter((record) => consumerId === undefined || record.state.consumerId === consumerId);
  }

  /** The live API key credential holding a key with this hash; expiry is the caller's to check. */
  apiKeyByHash(hash: string): EntityRecord<ApiKeyCredential> | undefined {
    const record = present(this.credentials.find(apiKeyLookup(hash)));
    return record?.state.kind === "api-key" ? (record as EntityRecord<ApiKeyCredential>) : undefined;
  }

  liveBasicUser(username: string): EntityRecord<Credential> | undefined {
    return present(this.credentials.find(basicUserLookup(username)));
  }

  liveJwtIdentity(issuer: string, match: JwtIdentityMatch): EntityRecord<Credential> | undefined {
    return present(this.credentials.find(jwtIdentityLookup(issuer, match)));
  }

  subscription(subscriptionId: string): EntityRecord<Subscription> | undefined {
    return present(this.subscriptions.get(subscriptionId));
  }

  listSubscriptions(filter: { consumerId?: string; planId?: string } = {}): EntityRecord<Subscription>[] {
    return all(this.subscriptions.values()).filter(
      (record) =>
        (filter.consumerId === undefined || record.state.consumerId === filter.consumerId) &&
        (filter.planId === undefined || record.state.planId === filter.planId),
    );
  }

  route(routeId: string): EntityRecord<Route> | undefined {
    return present(this.routes.get(routeId));
  }

  listRoutes(): EntityRecord<Route>[] {
    return all(this.routes.values());
  }

  upstream(name: string): EntityRecord<UpstreamOverride> | undefined {
    return present(this.upstreams.get(name));
  }

  listUpstreams(): EntityRecord<UpstreamOverride>[] {
    return all(this.upstreams.values());
  }
}

function present<State>(record: EntityRecord<State | null> | undefined): EntityRecord<State> | undefined {
  return record && record.state !== null ? (record as EntityRecord<State>) : undefined;
}

/** Every record with a state, ordered by id so that listings are stable. */
function all<State>(records: Iterable<EntityRecord<State | null>>): EntityRecord<State>[] {
  const out: EntityRecord<State>[] = [];
  for (const record of records) if (record.state !== null) out.push(record as EntityRecord<State>);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
