import { hashApiKey } from "@tollgate/credentials";
import { InMemoryEventStore, type EventStore } from "@tollgate/eventstore";
import { afterEach, describe, expect, it } from "vitest";
import { ControlPlaneFixture } from "../test-support/control-plane-fixture.js";
import { captureLogger } from "../test-support/fakes.js";
import { ControlPlaneFollower } from "./control-plane-follower.js";
import { IdentityIndex } from "./identity-index.js";

const actor = { kind: "admin", id: "test" } as const;
const followers: ControlPlaneFollower[] = [];

afterEach(async () => {
  for (const follower of followers.splice(0)) await follower.stop();
});

function follow(store: EventStore, index = new IdentityIndex(), retryMs = 200): { follower: ControlPlaneFollower; index: IdentityIndex; log: ReturnType<typeof captureLogger> } {
  const log = captureLogger("debug");
  const follower = new ControlPlaneFollower({ store, index, logger: log.logger, retryMs, pollIntervalMs: 5 });
  followers.push(follower);
  return { follower, index, log };
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("ControlPlaneFollower", () => {
  it("catches up with the control events already in the log before it reports ready, skipping request events", async () => {
    const store = new InMemoryEventStore();
    const history = new ControlPlaneFixture().plan("free").consumer("acme");
    const key = history.issueKey("cred-1", "acme");
    history.subscribe("sub-1", "acme", "free");
    await history.appendTo(store);
    await store.append("requests-gw", [{ id: "r1", type: "RequestCompleted", version: 1, data: {} }]);

    const { follower, index } = follow(store);
    expect(index.ready).toBe(false);
    await follower.start();
    expect(index.ready).toBe(true);
    expect(index.version).toBe("4");
    expect(index.apiKeyByHash(hashApiKey(key))?.consumerId).toBe("acme");
  });

  it("is ready at once on a log without control events", async () => {
    const { follower, index } = follow(new InMemoryEventStore());
    await follower.start();
    expect(index.ready).toBe(true);
    expect(index.version).toBe("0");
  });

  it("applies later changes live, without a restart", async () => {
    const store = new InMemoryEventStore();
    const { follower, index } = follow(store);
    await follower.start();
    await store.append("consumer-acme", [
      { id: "e1", type: "ConsumerRegistered", version: 1, data: { consumerId: "acme", name: "Acme", email: null, labels: {}, actor } },
    ]);
    await store.append("subscription-s1", [{ id: "e2", type: "SubscriptionStarted", version: 1, data: { subscriptionId: "s1", consumerId: "acme", planId: "free", actor } }]);
    await until(() => index.subscriptionsOf("acme").length === 1);
    await store.append("subscription-s1", [
      { id: "e3", type: "SubscriptionSuspended", version: 1, data: { subscriptionId: "s1", consumerId: "acme", reason: null, actor } },
    ]);
    await until(() => index.subscriptionsOf("acme")[0]?.status === "suspended");
    expect(index.version).toBe("3");
  });

  it("pages through the log, both at catch-up and when walking what was appended since its last look", async () => {
    const store = new InMemoryEventStore();
    const history = new ControlPlaneFixture().plan("free").consumer("acme").consumer("beta").consumer("gamma").subscribe("s1", "acme", "free");
    await history.appendTo(store);
    const log = captureLogger("debug");
    const index = new IdentityIndex();
    const follower = new ControlPlaneFollower({ store, index, logger: log.logger, pollIntervalMs: 5, pageSize: 2 });
    followers.push(follower);
    await follower.start();
    expect(index.version).toBe("5");
    const requests = Array.from({ length: 7 }, (_, i) => ({ id: `r${i}`, type: "RequestCompleted", version: 1, data: {} }));
    await store.append("requests-gw", requests);
    await store.append("subscription-s1", [{ id: "e1", type: "SubscriptionSuspended", version: 1, data: { subscriptionId: "s1", consumerId: "acme", reason: null, actor } }]);
    await store.append("requests-gw", requests.map((event) => ({ ...event, id: `${event.id}b` })));
    await store.append("subscription-s1", [{ id: "e2", type: "SubscriptionReactivated", version: 1, data: { subscriptionId: "s1", consumerId: "acme", actor } }]);
    await store.append("consumer-delta", [{ id: "e3", type: "ConsumerRegistered", version: 1, data: { consumerId: "delta", name: "D", email: null, labels: {}, actor } }]);
    await until(() => index.version === "22");
    expect(index.subscriptionsOf("acme")[0]?.status).toBe("active");
  });

  it("reports and skips an invalid event instead of stopping, and moves its version past it", async () => {
    const store = new InMemoryEventStore();
    await store.append("plan-bad", [{ id: "x", type: "PlanCreated", version: 1, data: { planId: "bad" } }]);
    await new ControlPlaneFixture().plan("ok").appendTo(store);
    const { follower, index, log } = follow(store);
    await follower.start();
    expect(index.plan("bad")).toBeUndefined();
    expect(index.plan("ok")).toBeDefined();
    expect(index.version).toBe("2");
    expect(log.lines().some((line) => line.msg === "skipped an invalid control-plane event")).toBe(true);
  });

  it("keeps the last state and retries after the store fails", async () => {
    const store = new InMemoryEventStore();
    await new ControlPlaneFixture().plan("free").appendTo(store);
    let failures = 1;
    const flaky = {
      headPosition: () => store.headPosition(),
      readAll: (options: Parameters<EventStore["readAll"]>[0]) => (failures-- > 0 ? Promise.reject(new Error("store unavailable")) : store.readAll(options)),
    } as unknown as EventStore;
    const { follower, index, log } = follow(flaky, new IdentityIndex(), 10);
    await follower.start();
    expect(index.ready).toBe(true);
    expect(index.plan("free")).toBeDefined();
    expect(log.lines().some((line) => String(line.msg).startsWith("following the control plane failed"))).toBe(true);
  });

  it("rejects start when stopped before catching up", async () => {
    const never = { headPosition: () => new Promise(() => undefined) } as unknown as EventStore;
    const { follower } = follow(never);
    const started = follower.start();
    await follower.stop();
    await expect(started).rejects.toThrow(/stopped before it caught up/);
  });
});
