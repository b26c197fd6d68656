import { generateApiKey } from "@tollgate/credentials";
import { InMemoryEventStore } from "@tollgate/eventstore";
import { describe, expect, it } from "vitest";
import { CommandHandler } from "../application/command-handler.js";
import { consumerDecider } from "../domain/consumer/consumer-decider.js";
import { credentialDecider } from "../domain/credential/credential-decider.js";
import { fixedClock } from "../runtime/clock.js";
import { sequentialIds } from "../runtime/id-generator.js";
import { ControlPlaneReadModel } from "./control-plane-read-model.js";
import { UsageReadModel } from "./usage-read-model.js";

const actor = { kind: "admin", id: "ops" } as const;

describe("ControlPlaneReadModel", () => {
  it("catches up at start, follows new events live, and indexes API keys by hash until revoked", async () => {
    const store = new InMemoryEventStore();
    const commands = new CommandHandler({ store, clock: fixedClock("2026-11-26T10:00:00Z"), ids: sequentialIds() });
    await commands.execute(consumerDecider, "acme", { type: "RegisterConsumer", consumerId: "acme", profile: { name: "Acme", email: null, labels: {} } }, { actor });
    await store.append("requests-gw", [{ id: "r1", type: "Unrelated", version: 1, data: {} }]);

    const readModel = new ControlPlaneReadModel();
    await readModel.start(store);
    expect(readModel.version).toBe(1n);
    expect(readModel.consumer("acme")?.state.name).toBe("Acme");

    const key = generateApiKey(() => Buffer.alloc(32, 4));
    const issued = await commands.execute(
      credentialDecider,
      "cred-1",
      { type: "IssueApiKey", credentialId: "cred-1", consumerId: "acme", consumer: readModel.consumer("acme")!.state, keyId: "k1", name: "", prefix: key.prefix, hash: key.hash, expiresAt: null },
      { actor },
    );
    expect(await readModel.waitFor(issued.position!, 2_000)).toBe(true);
    expect(readModel.apiKeyByHash(key.hash)?.id).toBe("cred-1");
    expect(readModel.credential("cred-1")).toMatchObject({ revision: 0, position: issued.position });

    const revoked = await commands.execute(credentialDecider, "cred-1", { type: "RevokeCredential", credentialId: "cred-1", reason: null }, { actor });
    expect(await readModel.waitFor(revoked.position!, 2_000)).toBe(true);
    expect(readModel.apiKeyByHash(key.hash)).toBeUndefined();
    expect(readModel.credential("cred-1")?.state.status).toBe("revoked");
    await readModel.stop();
    expect(await readModel.waitFor(99n, 10)).toBe(false);
  });

  it("skips an invalid event instead of stopping", async () => {
    const store = new InMemoryEventStore();
    await store.append("plan-bad", [{ id: "x", type: "PlanCreated", version: 1, data: { planId: "bad" } }]);
    await store.append("consumer-ok", [
      { id: "y", type: "ConsumerRegistered", version: 1, data: { consumerId: "ok", name: "Ok", email: null, labels: {}, actor } },
    ]);
    const readModel = new ControlPlaneReadModel();
    await readModel.start(store);
    expect(readModel.plan("bad")).toBeUndefined();
    expect(readModel.consumer("ok")).toBeDefined();
    expect(readModel.version).toBe(2n);
    await readModel.stop();
  });
});

describe("UsageReadModel", () => {
  it("counts request events per consumer", async () => {
    const store = new InMemoryEventStore();
    const base = {
      requestId: "r",
      gatewayId: "gw",
      startedAt: "2026-11-26T10:00:00.000Z",
      durationMs: 1,
      routeId: "demo",
      method: "GET",
      path: "/demo",
      routeTemplate: "/demo",
      status: 200,
      clientIp: "127.0.0.1",
      bytesIn: 0,
      bytesOut: 1,
      controlPlaneVersion: null,
      consumerId: "acme",
      credentialId: null,
      planId: null,
      subscriptionId: null,
    };
    const completed = { ...base, upstream: "http://u", attempts: 1, upstreamLatencyMs: 1, cacheStatus: "none" };
    const rejected = { ...base, status: 429, stage: "rate-limit", reason: "limit", limit: "per-second", startedAt: "2026-11-26T10:00:01.000Z" };
    await store.append("requests-gw", [
      { id: "1", type: "RequestCompleted", version: 1, data: completed },
      { id: "2", type: "RequestRejected", version: 1, data: rejected },
      { id: "3", type: "RequestCompleted", version: 1, data: { ...completed, consumerId: "other" } },
      { id: "4", type: "RequestCompleted", version: 1, data: { ...completed, consumerId: null } },
    ]);
    const usage = new UsageReadModel();
    await usage.start(store);
    expect(usage.usageOf("acme")).toEqual({ total: 2, completed: 1, rejected: 1, failed: 0, lastRequestAt: "2026-11-26T10:00:01.000Z" });
    expect(usage.usageOf("nobody").total).toBe(0);
    await usage.stop();
  });
});
