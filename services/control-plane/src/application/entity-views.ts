import type { Credential, CredentialKind, Plan, Subscription, SubscriptionStatus } from "@tollgate/credentials";
import type { JwtIdentityMatch, PlanDefinition, RouteDefinition } from "@tollgate/events";
import type { Consumer } from "../domain/consumer/evolve-consumer.js";
import type { Route } from "../domain/route/evolve-route.js";
import type { UpstreamOverride } from "../domain/upstream/evolve-upstream.js";
import type { EntityRecord } from "../projections/entity-record.js";

/**
 * What the API returns for each entity. `version` is the entity's stream revision: it
 * is also the ETag, and the value an If-Match header must carry. Credentials never
 * show their secret material: an API key shows its display prefix only, a Basic user
 * no hash, an HMAC secret only which encryption key sealed it.
 */
interface Versioned {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export type PlanView = Versioned & PlanDefinition & { archived: boolean };
export type ConsumerView = Versioned & { name: string; email: string | null; labels: Record<string, string> };
export interface ApiKeyVersionView {
  keyId: string;
  prefix: string;
  expiresAt: string | null;
  current: boolean;
  expired: boolean;
}
export type CredentialView = Versioned & { consumerId: string; kind: CredentialKind; status: "active" | "revoked" } & (
    | { kind: "api-key"; name: string; keys: ApiKeyVersionView[] }
    | { kind: "jwt"; issuer: string; match: JwtIdentityMatch }
    | { kind: "basic"; username: string }
    | { kind: "hmac"; name: string; encryptionKeyId: string }
  );
export type SubscriptionView = Versioned & { consumerId: string; planId: string; status: SubscriptionStatus; billingAnchor: string | null };
export type RouteView = Versioned & RouteDefinition & { removed: boolean };
/** `targets: null`: no override, the gateways use the targets in their config. */
export type UpstreamView = Versioned & { targets: UpstreamOverride["targets"] };

function versioned(record: EntityRecord<unknown>): Versioned {
  return { id: record.id, version: record.revision, createdAt: record.createdAt.toISOString(), updatedAt: record.updatedAt.toISOString() };
}

export function planView(record: EntityRecord<Plan>): PlanView {
  const { planId: _id, ...plan } = record.state;
  return { ...versioned(record), ...plan };
}

export function consumerView(record: EntityRecord<Consumer>): ConsumerView {
  const { name, email, labels } = record.state;
  return { ...versioned(record), name, email, labels };
}

export function credentialView(record: EntityRecord<Credential>, now: Date): CredentialView {
  const credential = record.state;
  const base = { ...versioned(record), consumerId: credential.consumerId, status: credential.status };
  switch (credential.kind) {
    case "api-key":
      return {
        ...base,
        kind: "api-key",
        name: credential.name,
        keys: credential.keys.map((key, index) => ({
          keyId: key.keyId,
          prefix: key.prefix,
          expiresAt: key.expiresAt,
          current: index === credential.keys.length - 1,
          expired: key.expiresAt !== null && Date.parse(key.expiresAt) <= now.getTime(),
        })),
      };
    case "jwt":
      return { ...base, kind: "jwt", issuer: credential.issuer, match: credential.match };
    case "basic":
      return { ...base, kind: "basic", username: credential.username };
    case "hmac":
      return { ...base, kind: "hmac", name: credential.name, encryptionKeyId: credential.secret.keyId };
  }
}

export function subscriptionView(record: EntityRecord<Subscription>): SubscriptionView {
  const { consumerId, planId, status, billingAnchor } = record.state;
  return { ...versioned(record), consumerId, planId, status, billingAnchor: billingAnchor === null ? null : new Date(billingAnchor).toISOString() };
}

export function routeView(record: EntityRecord<Route>): RouteView {
  const { routeId: _id, ...route } = record.state;
  return { ...versioned(record), ...route };
}

export function upstreamView(record: EntityRecord<UpstreamOverride>): UpstreamView {
  return { ...versioned(record), targets: record.state.targets };
}
