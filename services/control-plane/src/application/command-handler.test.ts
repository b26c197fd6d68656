import { InMemoryEventStore, type AppendOptions, type AppendResult, type EventToAppend } from "@tollgate/eventstore";
import { describe, expect, it } from "vitest";
import { planDecider } from "../domain/plan/plan-decider.js";
import { ControlPlaneError } from "../errors/control-plane-error.js";
import { fixedClock } from "../runtime/clock.js";
import { sequentialIds } from "../runtime/id-generator.js";
import { CommandHandler } from "./command-handler.js";

const definition = {
  name: "Free",
  description: "",
  public: true,
  rateLimits: [],
  quota: null,
  routes: [],
  scopes: [],
  price: { stripePriceId: null, stripeMeterEventName: null },
};
const actor = { kind: "admin", id: "ops" } as const;

/** Holds every append until released, so two commands can both read before either writes. */
class GatedStore extends InMemoryEventStore {
  gate: Promise<void> = Promise.resolve();
  override async append(streamId: string, events: readonly EventToAppend[], options?: AppendOptions): Promise<AppendResult> {
    await this.gate;
    return super.append(streamId, events, options);
  }
}

async function conflictOf(promise: Promise<unknown>): Promise<ControlPlaneError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError);
    return error as ControlPlaneError;
  }
  throw new Error("expected a conflict");
}

describe("CommandHandler", () => {
  it("appends the decided events with injected ids and metadata, and returns the new state and position", async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler({ store, clock: fixedClock("2026-11-26T10:00:00Z"), ids: sequentialIds() });
    const result = await handler.execute(planDecider, "free", { type: "CreatePlan", planId: "free", definition }, { actor, requestId: "req-1" });
    expect(result).toMatchObject({ revision: 0, position: 1n, state: { planId: "free", archived: false } });
    const [recorded] = await store.readStream("plan-free");
    expect(recorded).toMatchObject({ id: "evt-1", type: "PlanCreated", metadata: { requestId: "req-1" } });
  });

  it("changes nothing when the command decides nothing", async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler({ store, clock: fixedClock("2026-11-26T10:00:00Z"), ids: sequentialIds() });
    await handler.execute(planDecider, "free", { type: "CreatePlan", planId: "free", definition }, { actor });
    const again = await handler.execute(planDecider, "free", { type: "UpdatePlan", planId: "free", changes: { name: "Free" } }, { actor });
    expect(again).toMatchObject({ events: [], position: null, revision: 0 });
  });

  it("refuses a change based on an older version (If-Match) without deciding", async () => {
    const store = new InMemoryEventStore();
    const handler = new CommandHandler({ store, clock: fixedClock("2026-11-26T10:00:00Z"), ids: sequentialIds() });
    await handler.execute(planDecider, "free", { type: "CreatePlan", planId: "free", definition }, { actor });
    await handler.execute(planDecider, "free", { type: "UpdatePlan", planId: "free", changes: { name: "A" } }, { actor, expectedRevision: 0 });
    const error = await conflictOf(
      handler.execute(planDecider, "free", { type: "UpdatePlan", planId: "free", changes: { name: "B" } }, { actor, expectedRevision: 0 }),
    );
    expect(error.problem.code).toBe("version-conflict");
    expect(error.extensions).toEqual({ currentVersion: 1 });
  });

  it("lets only one of two concurrent changes decided on the same state succeed", async () => {
    const store = new GatedStore();
    const handler = new CommandHandler({ store, clock: fixedClock("2026-11-26T10:00:00Z"), ids: sequentialIds() });
    await handler.execute(planDecider, "free", { type: "CreatePlan", planId: "free", definition }, { actor });
    let release!: () => void;
    store.gate = new Promise((resolve) => (release = resolve));
    const a = handler.execute(planDecider, "free", { type: "UpdatePlan", planId: "free", changes: { name: "A" } }, { actor });
    const b = handler.execute(planDecider, "free", { type: "UpdatePlan", planId: "free", changes: { name: "B" } }, { actor });
    release();
    const results = await Promise.allSettled([a, b]);
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
    const rejected = results.find((result) => result.status === "rejected")!;
    expect(((rejected).reason as ControlPlaneError).problem.code).toBe("version-conflict");
    expect(await store.readStream("plan-free")).toHaveLength(2);
  });
});
