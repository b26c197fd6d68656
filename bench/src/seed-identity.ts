import { generateApiKey, systemEntropy, type GeneratedApiKey } from "@tollgate/credentials";
import { streams, type ControlEvent, type PlanDefinition } from "@tollgate/events";
import { SqliteEventStore, timeOrderedUuid } from "@tollgate/eventstore";

export interface IdentitySeed {
  /** One per consumer; each consumer has that API key and one subscription to the plan. */
  keys: readonly GeneratedApiKey[];
  /** The plan's limits: the policies under test. */
  plan: Pick<PlanDefinition, "rateLimits" | "quota">;
}

/** `count` fresh API keys, generated once so that every arm and round is seeded with the same ones. */
export function generateKeys(count: number): GeneratedApiKey[] {
  return Array.from({ length: count }, () => generateApiKey(systemEntropy));
}

const actor = { kind: "admin", id: "bench" } as const;

/**
 * Writes the control-plane history of a populated installation into an event log, as
 * the control plane would have appended it: one plan, and `consumers` consumers each
 * with an API key and a subscription. The gateway started on that log catches up with
 * it before it listens, so the bench measures a gateway whose identity index holds every
 * key. Returns the number of events written.
 */
export async function seedIdentity(file: string, seed: IdentitySeed): Promise<number> {
  const store = SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 5_000 });
  let events = 0;
  const append = async (streamId: string, event: ControlEvent): Promise<void> => {
    await store.append(streamId, [{ id: timeOrderedUuid(), type: event.type, version: event.version, data: event.data }]);
    events += 1;
  };
  try {
    const planId = "bench-plan";
    await append(streams.plan(planId), {
      type: "PlanCreated",
      version: 1,
      data: {
        planId,
        name: "Bench",
        description: "",
        public: false,
        routes: ["*"],
        scopes: [],
        price: { stripePriceId: null, stripeMeterEventName: null },
        ...seed.plan,
        actor,
      },
    });
    for (const [index, generated] of seed.keys.entries()) {
      const consumerId = `c-${index}`;
      const credentialId = `cred-${index}`;
      const subscriptionId = `sub-${index}`;
      await append(streams.consumer(consumerId), { type: "ConsumerRegistered", version: 1, data: { consumerId, name: consumerId, email: null, labels: {}, actor } });
      await append(streams.credential(credentialId), {
        type: "ApiKeyIssued",
        version: 1,
        data: { credentialId, consumerId, keyId: `${credentialId}-k1`, name: "", prefix: generated.prefix, hash: generated.hash, expiresAt: null, actor },
      });
      await append(streams.subscription(subscriptionId), { type: "SubscriptionStarted", version: 1, data: { subscriptionId, consumerId, planId, actor } });
    }
    return events;
  } finally {
    await store.close();
  }
}
