import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import type { DecisionContext } from "../decider.js";
import { decideRoute } from "../route/decide-route.js";
import { evolveRoute } from "../route/evolve-route.js";
import { decideConsumer } from "./decide-consumer.js";
import { evolveConsumer } from "./evolve-consumer.js";

const context: DecisionContext = { actor: { kind: "apply", id: "ci" }, now: new Date("2026-11-26T10:00:00Z") };

describe("consumers", () => {
  it("registers, records only changed profile fields, and refuses duplicates", () => {
    const events = decideConsumer({ type: "RegisterConsumer", consumerId: "acme", profile: { name: "Acme", email: null, labels: {} } }, null, context);
    expect(events).toEqual([{ type: "ConsumerRegistered", version: 1, data: { consumerId: "acme", name: "Acme", email: null, labels: {}, actor: context.actor } }]);
    const state = events.reduce(evolveConsumer, null);
    expect(decideConsumer({ type: "UpdateConsumer", consumerId: "acme", changes: { name: "Acme", email: "ops@acme.test" } }, state, context)).toEqual([
      { type: "ConsumerUpdated", version: 1, data: { consumerId: "acme", changes: { email: "ops@acme.test" }, actor: context.actor } },
    ]);
    expect(() => decideConsumer({ type: "RegisterConsumer", consumerId: "acme", profile: { name: "A", email: null, labels: {} } }, state, context)).toThrow(
      ControlPlaneError,
    );
  });
});

describe("routes", () => {
  const definition = { match: { pathPrefix: "/demo", hosts: [], methods: [] }, upstream: "demo", stripPrefix: false };

  it("defines a route, skips an identical redefinition, and removes it once", () => {
    const defined = decideRoute({ type: "DefineRoute", routeId: "demo", definition }, null, context).reduce(evolveRoute, null);
    expect(defined).toEqual({ routeId: "demo", ...definition, removed: false });
    expect(decideRoute({ type: "DefineRoute", routeId: "demo", definition }, defined, context)).toEqual([]);
    expect(decideRoute({ type: "DefineRoute", routeId: "demo", definition: { ...definition, stripPrefix: true } }, defined, context)).toHaveLength(1);
    const removed = decideRoute({ type: "RemoveRoute", routeId: "demo" }, defined, context).reduce(evolveRoute, defined);
    expect(removed?.removed).toBe(true);
    expect(decideRoute({ type: "RemoveRoute", routeId: "demo" }, removed, context)).toEqual([]);
    expect(() => decideRoute({ type: "RemoveRoute", routeId: "nope" }, null, context)).toThrow(ControlPlaneError);
  });
});
