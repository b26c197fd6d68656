import { ConfigError } from "@tollgate/config";
import { generateApiKey, verifyPassword } from "@tollgate/credentials";
import { InMemoryEventStore, START } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../runtime/clock.js";
import { sequentialIds } from "../runtime/id-generator.js";
import { applyDeclaration, formatApplyResult } from "./apply-declaration.js";
import { DeclarationFile } from "./declaration-file.js";
import { loadControlSnapshot } from "./load-control-snapshot.js";

const key = generateApiKey(() => Buffer.alloc(32, 8));
const otherKey = generateApiKey(() => Buffer.alloc(32, 9));
const env = { ACME_KEY: key.key, ACME_PASSWORD: "a long basic password" };
const actor = { kind: "apply", id: "ci" } as const;
const scrypt = { N: 1_024, r: 8, p: 1, keyLength: 32 };

const file = DeclarationFile.parse({
  routes: [{ id: "demo", match: { pathPrefix: "/demo" }, upstream: "demo" }],
  plans: [
    { id: "free", name: "Free", public: true, rateLimits: [{ name: "per-second", points: 5, windowSeconds: 1, algorithm: "fixed-window" }], routes: ["demo"] },
    { id: "gold", name: "Gold", quota: { limit: 100_000, period: "month", enforcement: "overage" }, routes: ["*"] },
  ],
  consumers: [
    {
      id: "acme",
      name: "Acme",
      email: "ops@acme.test",
      apiKeys: [{ id: "acme-ci", name: "ci", keyFromEnv: "ACME_KEY" }],
      basicUsers: [{ id: "acme-basic", username: "acme", passwordFromEnv: "ACME_PASSWORD" }],
      jwtIdentities: [{ id: "acme-jwt", issuer: "https://idp.test", match: { kind: "subject", subject: "acme-svc" } }],
    },
  ],
  subscriptions: [{ id: "acme-free", consumer: "acme", plan: "free" }],
});

let store: InMemoryEventStore;
/** One generator per test: event ids must stay unique across applies, or the store skips them as retries. */
let ids = sequentialIds();
beforeEach(() => {
  ids = sequentialIds();
});
afterEach(async () => {
  await store.close();
});

const apply = (declaration: DeclarationFile, options: { dryRun?: boolean; env?: Record<string, string> } = {}) =>
  applyDeclaration({
    store,
    declaration,
    source: "tollgate.yaml",
    actor,
    env: options.env ?? env,
    dryRun: options.dryRun ?? false,
    clock: fixedClock("2026-11-26T10:00:00Z"),
    ids,
    scryptParameters: scrypt,
  });

describe("applyDeclaration", () => {
  it("appends what the file needs, then nothing the second time", async () => {
    store = new InMemoryEventStore();
    const first = await apply(file);
    expect(first.changes.map((change) => `${change.action} ${change.kind} ${change.id}`)).toEqual([
      "create route demo",
      "create plan free",
      "create plan gold",
      "create consumer acme",
      "create credential acme-ci",
      "create credential acme-basic",
      "create credential acme-jwt",
      "create subscription acme-free",
    ]);
    expect(first.eventCount).toBe(8);
    const head = await store.headPosition();
    expect(head).toBe(8n);

    const second = await apply(file);
    expect(second.eventCount).toBe(0);
    expect(second.changes).toEqual([]);
    expect(second.unchanged).toHaveLength(8);
    expect(await store.headPosition()).toBe(head);
    expect(formatApplyResult(second, "tollgate.yaml").at(-1)).toBe("nothing to do: the log already matches tollgate.yaml");

    const snapshot = await loadControlSnapshot(store);
    expect(snapshot.apiKeyByHash(key.hash)?.id).toBe("acme-ci");
    const basic = snapshot.credential("acme-basic")!.state;
    expect(basic.kind === "basic" && (await verifyPassword(env.ACME_PASSWORD, basic.passwordHash))).toBe(true);
    const events = await store.readAll({ from: START, limit: 100 });
    expect(events.every((event) => (event.data as { actor: unknown }).actor !== undefined)).toBe(true);
    const logged = JSON.stringify(events.map((event) => event.data));
    expect(logged).not.toContain(key.key);
    expect(logged).not.toContain(env.ACME_PASSWORD);
  });

  it("appends nothing on a dry run, and reports what it would do", async () => {
    store = new InMemoryEventStore();
    const result = await apply(file, { dryRun: true });
    expect(result.eventCount).toBe(8);
    expect(await store.headPosition()).toBe(START);
    expect(formatApplyResult(result, "tollgate.yaml").at(-1)).toBe("dry run: 8 events for 8 entities would be appended; nothing was written");
  });

  it("appends only the differences of an edited file", async () => {
    store = new InMemoryEventStore();
    await apply(file);
    const edited = DeclarationFile.parse({
      ...file,
      plans: [{ ...file.plans[0]!, name: "Free tier" }, { ...file.plans[1]!, archived: true }],
      consumers: [{ ...file.consumers[0]!, apiKeys: [{ id: "acme-ci", keyFromEnv: "ACME_KEY", rotationOverlapSeconds: 3_600 }] }],
      subscriptions: [{ id: "acme-free", consumer: "acme", plan: "free", status: "suspended" }],
    });
    const result = await apply(edited, { env: { ...env, ACME_KEY: otherKey.key } });
    expect(result.changes.map((change) => [change.kind, change.id, change.events])).toEqual([
      ["plan", "free", ['PlanUpdated: name "Free" → "Free tier"']],
      ["plan", "gold", ["PlanArchived"]],
      ["credential", "acme-ci", [`ApiKeyRotated: new key ${otherKey.prefix}…; the previous key works until 2026-11-26T11:00:00.000Z`]],
      ["subscription", "acme-free", ["SubscriptionSuspended"]],
    ]);
    const again = await apply(edited, { env: { ...env, ACME_KEY: otherKey.key } });
    expect(again.changes).toEqual([]);
  });

  it("lists every problem with its path and appends nothing", async () => {
    store = new InMemoryEventStore();
    const bad = DeclarationFile.parse({
      plans: [{ id: "free", name: "Free" }],
      consumers: [{ id: "acme", name: "Acme", apiKeys: [{ id: "k", keyFromEnv: "MISSING_KEY" }, { id: "k2", keyFromEnv: "NOT_A_KEY" }] }],
      subscriptions: [{ id: "s", consumer: "acme", plan: "platinum" }],
    });
    try {
      await apply(bad, { env: { NOT_A_KEY: "hunter2" } });
      expect.fail("should throw");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        "consumers[0].apiKeys[0].keyFromEnv: environment variable MISSING_KEY is not set",
        "consumers[0].apiKeys[1].keyFromEnv: NOT_A_KEY does not hold a Tollgate API key (tg_…, with a valid checksum)",
        'subscriptions[0]: plan "platinum" does not exist',
      ]);
      expect((error as ConfigError).message).not.toContain("hunter2");
    }
    expect(await store.headPosition()).toBe(START);
  });

  it("rejects duplicate ids in the file", () => {
    const result = DeclarationFile.safeParse({ plans: [{ id: "a", name: "A" }, { id: "a", name: "B" }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ["plans", 1, "id"], message: 'plan "a" is already declared at plans[0]' });
  });
});
