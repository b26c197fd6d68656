import {
  evolveCredential,
  evolvePlan,
  evolveSubscription,
  type Credential,
  type Plan,
  type Subscription,
} from "@tollgate/credentials";
import type {
  CachePurgeRequested,
  ControlEvent,
  CredentialEvent,
  PlanEvent,
  ScryptPasswordHash,
  SealedSecret,
  SubscriptionEvent,
  UpstreamTargetOverride,
} from "@tollgate/events";
import type { ApiKeyRecord } from "../policies/api-key/api-key-authenticator.js";
import type { EntitledPlan, EntitledSubscription } from "../policies/authorization/authorization-step.js";
import type { PlanLimits } from "../policies/plan-limits.js";

/**
 * An issued API key, found by the SHA-256 of the key. Only what a request needs: one of
 * these is held per key, so every field is paid for ten thousand times over (the key's
 * id, hash and prefix stay in its credential's state).
 */
export interface ApiKeyEntry extends ApiKeyRecord {
  readonly scopes: null;
}

/** A plan compiled for the request path: its route list and scopes as Sets, its limits as defined. */
export interface PlanEntry extends EntitledPlan, PlanLimits {
  readonly archived: boolean;
}

/** A JWT identity mapping: issuer plus a claim's value → consumer. */
export interface JwtIdentityEntry {
  readonly consumerId: string;
  readonly credentialId: string;
}

/** A live Basic user, by username. */
export interface BasicUserEntry {
  readonly consumerId: string;
  readonly credentialId: string;
  readonly username: string;
  readonly passwordHash: ScryptPasswordHash;
}

/** A live HMAC signing secret, by credential id (the key id clients sign with), still sealed. */
export interface HmacSecretEntry {
  readonly consumerId: string;
  readonly credentialId: string;
  readonly secret: SealedSecret;
}

export interface IdentityIndexStats {
  version: string;
  ready: boolean;
  credentials: number;
  apiKeys: number;
  subscriptions: number;
  plans: number;
  jwtIdentities: number;
  basicUsers: number;
  hmacSecrets: number;
}

/** Told of an upstream's live target override; `targets` null: reset to the targets in the gateway's config. */
export type UpstreamTargetsListener = (upstream: string, targets: readonly UpstreamTargetOverride[] | null) => void;

/** Told of a cache purge requested through the control plane (CachePurgeRequested). */
export type CachePurgeListener = (purge: CachePurgeRequested["data"]) => void;

/**
 * Purges applied after the index is ready while nobody follows them yet (the gateway
 * server is built right after the follower catches up), kept for the first listener.
 * Bounded so that an index nobody follows purges for does not grow: past this many,
 * the oldest is dropped.
 */
const maxPendingPurges = 1_000;

const noSubscriptions: readonly EntitledSubscription[] = Object.freeze([]);

/**
 * The gateway's in-memory view of the control plane: key hash → credential →
 * consumer → subscriptions → plan, and the lookups the other authenticators need
 * (JWT issuer and claim → consumer, Basic username → password hash, HMAC key id →
 * sealed secret).
 *
 * Entities are folded by the same pure evolve functions the control plane decides its
 * commands on (`@tollgate/credentials`), so the two cannot disagree about what a
 * rotation, a revocation or a suspension means. The lookup maps are derived from each
 * entity's new state as its events arrive: the request path does Map lookups only.
 *
 * Events must be applied in log order. `version` is the position of the last one
 * applied; an event at or before it is ignored, so re-delivery after a resubscribe
 * is harmless. Reads between two events see the state after the first: every map an
 * event touches is updated before `apply` returns, and the request path never runs in
 * between (applying is synchronous).
 */
export class IdentityIndex {
  #position = 0n;
  #version = "0";
  #ready = false;
  readonly #credentials = new Map<string, Credential>();
  readonly #apiKeys = new Map<string, ApiKeyEntry>();
  readonly #jwtIdentities = new Map<string, JwtIdentityEntry>();
  readonly #basicUsers = new Map<string, BasicUserEntry>();
  readonly #hmacSecrets = new Map<string, HmacSecretEntry>();
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #subscriptionsByConsumer = new Map<string, readonly EntitledSubscription[]>();
  readonly #plans = new Map<string, Plan>();
  readonly #planEntries = new Map<string, PlanEntry>();
  readonly #upstreamTargets = new Map<string, readonly UpstreamTargetOverride[] | null>();
  readonly #upstreamListeners = new Set<UpstreamTargetsListener>();
  readonly #purgeListeners = new Set<CachePurgeListener>();
  #pendingPurges: CachePurgeRequested["data"][] = [];

  /** Log position of the last control event applied, as decimal text (what request events record). */
  get version(): string {
    return this.#version;
  }

  get position(): bigint {
    return this.#position;
  }

  /** True once the index has caught up with the log as it was at start; until then auth routes answer 503. */
  get ready(): boolean {
    return this.#ready;
  }

  markReady(): void {
    this.#ready = true;
  }

  /**
   * Folds one control event recorded at `position`. Only moves `version` for events
   * it does not use (consumers, which have no state the request path needs, and
   * routes), since the state those describe is still the one at that position.
   */
  apply(event: ControlEvent, position: bigint): void {
    if (position <= this.#position) return;
    switch (event.type) {
      case "PlanCreated":
      case "PlanUpdated":
      case "PlanArchived":
        this.#applyPlan(event.data.planId, event);
        break;
      case "ApiKeyIssued":
      case "ApiKeyRotated":
      case "ApiKeyRevoked":
      case "JwtIdentityMapped":
      case "JwtIdentityUnmapped":
      case "BasicUserCreated":
      case "BasicPasswordChanged":
      case "BasicUserRemoved":
      case "HmacSecretIssued":
      case "HmacSecretReencrypted":
      case "HmacSecretRevoked":
        this.#applyCredential(event.data.credentialId, event);
        break;
      case "SubscriptionStarted":
      case "SubscriptionSuspended":
      case "SubscriptionReactivated":
      case "SubscriptionCancelled":
      case "SubscriptionPlanChanged":
        this.#applySubscription(event.data.subscriptionId, event);
        break;
      case "ConsumerRegistered":
      case "ConsumerUpdated":
      case "RouteDefined":
      case "RouteRemoved":
        break;
      case "UpstreamTargetsSet":
      case "UpstreamTargetsReset":
      case "CachePurgeRequested":
        break;
    }
    this.#position = position;
    this.#version = position.toString();
    // After the position moved: a listener that throws must not make the event apply twice.
    if (event.type === "UpstreamTargetsSet" || event.type === "UpstreamTargetsReset") {
      const targets = event.type === "UpstreamTargetsSet" ? event.data.targets : null;
      this.#upstreamTargets.set(event.data.upstream, targets);
      for (const listener of this.#upstreamListeners) listener(event.data.upstream, targets);
    }
    // Only once caught up: a purge from before this gateway started was meant for entries
    // cached then; applied now, it would empty a shared cache that gateways refilled since.
    if (event.type === "CachePurgeRequested" && this.#ready) {
      if (this.#purgeListeners.size === 0) {
        this.#pendingPurges.push(event.data);
        if (this.#pendingPurges.length > maxPendingPurges) this.#pendingPurges.shift();
      }
      for (const listener of this.#purgeListeners) listener(event.data);
    }
  }

  /**
   * Follows the live target overrides of upstreams (UpstreamTargetsSet/Reset): calls
   * `listener` at once for every override applied so far (what was caught up before the
   * gateway server existed), then for each one as it is applied. Returns the way to stop.
   */
  followUpstreamTargets(listener: UpstreamTargetsListener): () => void {
    for (const [upstream, targets] of this.#upstreamTargets) listener(upstream, targets);
    this.#upstreamListeners.add(listener);
    return () => {
      this.#upstreamListeners.delete(listener);
    };
  }

  /**
   * Follows cache purges requested through the control plane: calls `listener` for each
   * CachePurgeRequested applied after the index became ready (those applied before any
   * listener followed are handed over at once), never for one read while catching up
   * with the log at start. Returns the way to stop.
   */
  followCachePurges(listener: CachePurgeListener): () => void {
    const pending = this.#pendingPurges;
    this.#pendingPurges = [];
    this.#purgeListeners.add(listener);
    for (const purge of pending) listener(purge);
    return () => {
      this.#purgeListeners.delete(listener);
    };
  }

  /** Moves the version over an event that could not be read (it was reported and skipped). */
  skip(position: bigint): void {
    if (position <= this.#position) return;
    this.#position = position;
    this.#version = position.toString();
  }

  apiKeyByHash(hash: string): ApiKeyEntry | undefined {
    return this.#apiKeys.get(hash);
  }

  /** The subscription's billing anchor (epoch ms), or null for calendar periods. */
  billingAnchor(subscriptionId: string): number | null {
    return this.#subscriptions.get(subscriptionId)?.billingAnchor ?? null;
  }

  subscriptionsOf(consumerId: string): readonly EntitledSubscription[] {
    return this.#subscriptionsByConsumer.get(consumerId) ?? noSubscriptions;
  }

  plan(planId: string): PlanEntry | undefined {
    return this.#planEntries.get(planId);
  }

  /**
   * The consumer a JWT maps to: a mapping of kind `subject` is found with claim
   * `sub`, one of kind `claim` with its claim name.
   */
  findIdentity(issuer: string, claim: string, value: string): JwtIdentityEntry | undefined {
    return this.#jwtIdentities.get(jwtKey(issuer, claim, value));
  }

  findBasicUser(username: string): BasicUserEntry | undefined {
    return this.#basicUsers.get(username);
  }

  hmacSecret(credentialId: string): HmacSecretEntry | undefined {
    return this.#hmacSecrets.get(credentialId);
  }

  stats(): IdentityIndexStats {
    let subscriptions = 0;
    for (const list of this.#subscriptionsByConsumer.values()) subscriptions += list.length;
    return {
      version: this.#version,
      ready: this.#ready,
      credentials: this.#credentials.size,
      apiKeys: this.#apiKeys.size,
      subscriptions,
      plans: this.#planEntries.size,
      jwtIdentities: this.#jwtIdentities.size,
      basicUsers: this.#basicUsers.size,
      hmacSecrets: this.#hmacSecrets.size,
    };
  }

  #applyPlan(planId: string, event: PlanEvent): void {
    const plan = evolvePlan(this.#plans.get(planId) ?? null, event);
    if (plan === null) return;
    this.#plans.set(planId, plan);
    this.#planEntries.set(planId, planEntryOf(plan));
  }

  #applyCredential(credentialId: string, event: CredentialEvent): void {
    const before = this.#credentials.get(credentialId) ?? null;
    const after = evolveCredential(before, event);
    if (after === null) return;
    this.#credentials.set(credentialId, after);
    if (before !== null) this.#unindexCredential(before);
    this.#indexCredential(after);
  }

  #applySubscription(subscriptionId: string, event: SubscriptionEvent): void {
    const before = this.#subscriptions.get(subscriptionId) ?? null;
    const evolved = evolveSubscription(before, event);
    if (evolved === null) return;
    // Every subscription to a plan shares the plan's own id string, not a copy per event.
    const planId = this.#plans.get(evolved.planId)?.planId;
    const after = planId === undefined || planId === evolved.planId ? evolved : { ...evolved, planId };
    this.#subscriptions.set(subscriptionId, after);
    if (before !== null && before.consumerId !== after.consumerId) this.#setSubscriptionOf(before.consumerId, subscriptionId, null);
    this.#setSubscriptionOf(after.consumerId, subscriptionId, after.status === "cancelled" ? null : after);
  }

  /**
   * Replaces (or removes, or appends) one subscription in its consumer's list. The list
   * is replaced, not mutated, so a list handed to a request stays as it was. Each list
   * is allocated at its exact length (`slice`, `concat`, `with`): one is held per
   * consumer, and a spread or a filter would leave room for a dozen more in each.
   */
  #setSubscriptionOf(consumerId: string, subscriptionId: string, subscription: Subscription | null): void {
    const current = this.#subscriptionsByConsumer.get(consumerId) ?? noSubscriptions;
    const at = current.findIndex((entry) => entry.subscriptionId === subscriptionId);
    let next: readonly EntitledSubscription[];
    if (subscription === null) {
      if (at === -1) return;
      next = current.slice(0, at).concat(current.slice(at + 1));
    } else if (at === -1) {
      next = current.concat(subscription);
    } else {
      next = current.with(at, subscription);
    }
    if (next.length === 0) this.#subscriptionsByConsumer.delete(consumerId);
    else this.#subscriptionsByConsumer.set(consumerId, next);
  }

  #indexCredential(credential: Credential): void {
    const { credentialId, consumerId } = credential;
    switch (credential.kind) {
      case "api-key": {
        // Revoked keys stay in the map, marked, so a refusal can say "revoked" and name the credential.
        const revoked = credential.status !== "active";
        const last = credential.keys.length - 1;
        credential.keys.forEach((key, index) => {
          this.#apiKeys.set(key.hash, {
            consumerId,
            credentialId,
            scopes: null,
            expiresAtMs: key.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(key.expiresAt),
            revoked,
            superseded: index < last,
          });
        });
        return;
      }
      case "jwt":
        if (credential.status === "active") {
          const claim = credential.match.kind === "subject" ? "sub" : credential.match.claim;
          const value = credential.match.kind === "subject" ? credential.match.subject : credential.match.value;
          this.#jwtIdentities.set(jwtKey(credential.issuer, claim, value), { consumerId, credentialId });
        }
        return;
      case "basic":
        if (credential.status === "active") {
          this.#basicUsers.set(credential.username, { consumerId, credentialId, username: credential.username, passwordHash: credential.passwordHash });
        }
        return;
      case "hmac":
        if (credential.status === "active") this.#hmacSecrets.set(credentialId, { consumerId, credentialId, secret: credential.secret });
        return;
    }
  }

  /** Removes what a credential's previous state indexed, where it is still that credential's entry. */
  #unindexCredential(credential: Credential): void {
    const { credentialId } = credential;
    const removeIfOwned = <Entry extends { credentialId: string }>(map: Map<string, Entry>, key: string): void => {
      if (map.get(key)?.credentialId === credentialId) map.delete(key);
    };
    switch (credential.kind) {
      case "api-key":
        for (const key of credential.keys) removeIfOwned(this.#apiKeys, key.hash);
        return;
      case "jwt": {
        const claim = credential.match.kind === "subject" ? "sub" : credential.match.claim;
        const value = credential.match.kind === "subject" ? credential.match.subject : credential.match.value;
        removeIfOwned(this.#jwtIdentities, jwtKey(credential.issuer, claim, value));
        return;
      }
      case "basic":
        removeIfOwned(this.#basicUsers, credential.username);
        return;
      case "hmac":
        removeIfOwned(this.#hmacSecrets, credentialId);
        return;
    }
  }
}

/** A plan as the request path reads it. */
export function planEntryOf(plan: Plan): PlanEntry {
  return {
    planId: plan.planId,
    allRoutes: plan.routes.includes("*"),
    routes: new Set(plan.routes),
    scopes: new Set(plan.scopes),
    rateLimits: plan.rateLimits,
    quota: plan.quota,
    archived: plan.archived,
  };
}

/** Unambiguous for any issuer, claim and value: JSON escapes whatever could separate them. */
function jwtKey(issuer: string, claim: string, value: string): string {
  return JSON.stringify([issuer, claim, value]);
}
