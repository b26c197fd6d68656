import { generateApiKey } from "@tollgate/credentials";
import { streams, type ControlEvent, type PlanDefinition } from "@tollgate/events";
import type { EventStore } from "@tollgate/eventstore";
import { IdentityIndex } from "../identity/identity-index.js";

const actor = { kind: "admin", id: "test" } as const;

/**
 * Control-plane history for tests, written as the control plane writes it: each call
 * produces the event the control plane would append, applies it to `index` at the
 * next position, and keeps it (with its stream) for a test that wants it in a store.
 */
export class ControlPlaneFixture {
  readonly index = new IdentityIndex();
  readonly appended: { streamId: string; event: ControlEvent }[] = [];
  #position = 0n;
  #keySeed = 0;

  constructor(options: { ready?: boolean } = {}) {
    if (options.ready ?? true) this.index.markReady();
  }

  get position(): bigint {
    return this.#position;
  }

  record(streamId: string, event: ControlEvent): this {
    this.appended.push({ streamId, event });
    this.index.apply(event, ++this.#position);
    return this;
  }

  /** Appends everything recorded so far to a store, one append per event. */
  async appendTo(store: EventStore): Promise<void> {
    let id = 0;
    for (const { streamId, event } of this.appended) {
      await store.append(streamId, [{ id: `fixture-${++id}`, type: event.type, version: event.version, data: event.data }]);
    }
  }

  plan(planId: string, definition: Partial<PlanDefinition> = {}): this {
    return this.record(streams.plan(planId), {
      type: "PlanCreated",
      version: 1,
      data: {
        planId,
        name: planId,
        description: "",
        public: true,
        rateLimits: [],
        quota: null,
        routes: ["*"],
        scopes: [],
        price: { stripePriceId: null, stripeMeterEventName: null },
        ...definition,
        actor,
      },
    });
  }

  updatePlan(planId: string, changes: Partial<PlanDefinition>): this {
    return this.record(streams.plan(planId), { type: "PlanUpdated", version: 1, data: { planId, changes, actor } });
  }

  consumer(consumerId: string): this {
    return this.record(streams.consumer(consumerId), {
      type: "ConsumerRegistered",
      version: 1,
      data: { consumerId, name: consumerId, email: null, labels: {}, actor },
    });
  }

  /** Issues a key and returns it (the control plane shows it once; tests keep it). */
  issueKey(credentialId: string, consumerId: string, options: { keyId?: string; expiresAt?: string | null } = {}): string {
    const generated = this.#newKey();
    this.record(streams.credential(credentialId), {
      type: "ApiKeyIssued",
      version: 1,
      data: {
        credentialId,
        consumerId,
        keyId: options.keyId ?? `${credentialId}-k1`,
        name: "",
        prefix: generated.prefix,
        hash: generated.hash,
        expiresAt: options.expiresAt ?? null,
        actor,
      },
    });
    return generated.key;
  }

  /** Rotates: returns the new key; the previous one lives until `previousKeyExpiresAt`. */
  rotateKey(credentialId: string, consumerId: string, previousKeyId: string, keyId: string, previousKeyExpiresAt: string): string {
    const generated = this.#newKey();
    this.record(streams.credential(credentialId), {
      type: "ApiKeyRotated",
      version: 1,
      data: { credentialId, consumerId, keyId, prefix: generated.prefix, hash: generated.hash, expiresAt: null, previousKeyId, previousKeyExpiresAt, actor },
    });
    return generated.key;
  }

  revokeKey(credentialId: string, consumerId: string): this {
    return this.record(streams.credential(credentialId), { type: "ApiKeyRevoked", version: 1, data: { credentialId, consumerId, reason: null, actor } });
  }

  subscribe(subscriptionId: string, consumerId: string, planId: string, options: { billingAnchor?: string } = {}): this {
    return this.record(streams.subscription(subscriptionId), {
      type: "SubscriptionStarted",
      version: 1,
      data: { subscriptionId, consumerId, planId, ...options, actor },
    });
  }

  suspend(subscriptionId: string, consumerId: string): this {
    return this.record(streams.subscription(subscriptionId), {
      type: "SubscriptionSuspended",
      version: 1,
      data: { subscriptionId, consumerId, reason: null, actor },
    });
  }

  reactivate(subscriptionId: string, consumerId: string): this {
    return this.record(streams.subscription(subscriptionId), { type: "SubscriptionReactivated", version: 1, data: { subscriptionId, consumerId, actor } });
  }

  cancel(subscriptionId: string, consumerId: string): this {
    return this.record(streams.subscription(subscriptionId), {
      type: "SubscriptionCancelled",
      version: 1,
      data: { subscriptionId, consumerId, reason: null, actor },
    });
  }

  changePlan(subscriptionId: string, consumerId: string, fromPlanId: string, toPlanId: string): this {
    return this.record(streams.subscription(subscriptionId), {
      type: "SubscriptionPlanChanged",
      version: 1,
      data: { subscriptionId, consumerId, fromPlanId, toPlanId, actor },
    });
  }

  #newKey(): ReturnType<typeof generateApiKey> {
    const seed = ++this.#keySeed;
    return generateApiKey((size) => Buffer.alloc(size, seed));
  }
}
