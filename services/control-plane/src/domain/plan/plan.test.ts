import { evolvePlan, type Plan } from "@tollgate/credentials";
import type { PlanDefinition, PlanEvent } from "@tollgate/events";
import { describe, expect, it } from "vitest";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import type { DecisionContext } from "../decider.js";
import { decidePlan } from "./decide-plan.js";

const context: DecisionContext = { actor: { kind: "admin", id: "ops" }, now: new Date("2026-11-26T10:00:00Z") };
const gold: PlanDefinition = {
  name: "Gold",
  description: "",
  public: true,
  rateLimits: [{ name: "per-second", points: 10, windowSeconds: 1, algorithm: "fixed-window" }],
  quota: { limit: 1_000, period: "month", enforcement: "hard" },
  routes: ["demo"],
  scopes: ["read"],
  price: { stripePriceId: "price_123", stripeMeterEventName: "api_requests" },
};

const fold = (events: PlanEvent[], state: Plan | null = null): Plan | null => events.reduce(evolvePlan, state);
const created = fold(decidePlan({ type: "CreatePlan", planId: "gold", definition: gold }, null, context));

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ControlPlaneError) return error.problem.code;
    throw error;
  }
  throw new Error("expected a ControlPlaneError");
}

describe("plan decide/evolve (happy)", () => {
  it("records PlanCreated with the definition and the actor", () => {
    expect(decidePlan({ type: "CreatePlan", planId: "gold", definition: gold }, null, context)).toEqual([
      { type: "PlanCreated", version: 1, data: { planId: "gold", ...gold, actor: { kind: "admin", id: "ops" } } },
    ]);
    expect(created).toEqual({ planId: "gold", ...gold, archived: false });
  });

  it("records only the fields that differ, and nothing when nothing does", () => {
    const events = decidePlan({ type: "UpdatePlan", planId: "gold", changes: { name: "Gold", quota: { limit: 2_000, period: "month", enforcement: "hard" } } }, created, context);
    expect(events).toEqual([
      { type: "PlanUpdated", version: 1, data: { planId: "gold", changes: { quota: { limit: 2_000, period: "month", enforcement: "hard" } }, actor: context.actor } },
    ]);
    expect(fold(events, created)?.quota?.limit).toBe(2_000);
    expect(decidePlan({ type: "UpdatePlan", planId: "gold", changes: { ...gold } }, created, context)).toEqual([]);
  });

  it("archives once; archiving again changes nothing", () => {
    const events = decidePlan({ type: "ArchivePlan", planId: "gold" }, created, context);
    expect(events.map((event) => event.type)).toEqual(["PlanArchived"]);
    const archived = fold(events, created);
    expect(archived?.archived).toBe(true);
    expect(decidePlan({ type: "ArchivePlan", planId: "gold" }, archived, context)).toEqual([]);
  });
});

describe("plan decide (error)", () => {
  it("refuses to create a plan twice", () => {
    expect(codeOf(() => decidePlan({ type: "CreatePlan", planId: "gold", definition: gold }, created, context))).toBe("already-exists");
  });

  it("refuses to change a missing or archived plan", () => {
    expect(codeOf(() => decidePlan({ type: "UpdatePlan", planId: "nope", changes: { name: "x" } }, null, context))).toBe("not-found");
    const archived = fold(decidePlan({ type: "ArchivePlan", planId: "gold" }, created, context), created);
    expect(codeOf(() => decidePlan({ type: "UpdatePlan", planId: "gold", changes: { name: "x" } }, archived, context))).toBe("invalid-state");
  });

  it("refuses two rate limits with the same name", () => {
    const limit = gold.rateLimits[0]!;
    const definition = { ...gold, rateLimits: [limit, { ...limit, windowSeconds: 60 }] };
    expect(codeOf(() => decidePlan({ type: "CreatePlan", planId: "p", definition }, null, context))).toBe("invalid-request");
    expect(codeOf(() => decidePlan({ type: "UpdatePlan", planId: "gold", changes: { rateLimits: definition.rateLimits } }, created, context))).toBe(
      "invalid-request",
    );
  });
});
