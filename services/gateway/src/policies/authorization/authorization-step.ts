import { problems } from "../../errors/problem-catalog.js";
import type { AuthenticatedIdentity } from "../authenticator.js";
import { PolicyRejection, type PolicyExchange, type PolicyStep } from "../policy-step.js";
import type { AuthorizationPolicyConfig } from "./authorization-policy-config.js";

/** A consumer's subscription as the identity index holds it. Cancelled ones are not listed. */
export interface EntitledSubscription {
  readonly subscriptionId: string;
  readonly planId: string;
  readonly status: "active" | "suspended" | "cancelled";
}

/** A plan, compiled for the request path when it was created or changed. */
export interface EntitledPlan {
  readonly planId: string;
  /** The plan lists "*". */
  readonly allRoutes: boolean;
  readonly routes: ReadonlySet<string>;
  readonly scopes: ReadonlySet<string>;
}

/** The identity index, as far as authorization goes. Answers from memory: it is called on the request path. */
export interface EntitlementLookup {
  /** Log position of the last control-plane event applied. */
  readonly version: string;
  /** The consumer's subscriptions that are not cancelled, oldest first. */
  subscriptionsOf(consumerId: string): readonly EntitledSubscription[];
  plan(planId: string): EntitledPlan | undefined;
}

/**
 * Authorization of an authenticated request on one route: the consumer must have an
 * active subscription whose plan includes the route and grants the required scopes.
 * The first of the consumer's subscriptions (oldest first) that passes decides, and
 * its subscription and plan are recorded in the request's event. When none passes,
 * the 403 names the closest miss: a covering subscription that is suspended, then a
 * plan without the scopes, then a plan without the route.
 *
 * With requireSubscription false, any authenticated consumer passes (scopes
 * permitting), and a covering subscription is still recorded when there is one.
 * Synchronous: a handful of Map and Set lookups, nothing allocated on success.
 */
export function createAuthorizationStep(routeId: string, config: AuthorizationPolicyConfig, lookup: EntitlementLookup): PolicyStep {
  const required = config.scopes;
  const { requireSubscription } = config;
  const noSubscription = new PolicyRejection("authz", problems.forbidden, `no active subscription includes route "${routeId}"`);

  function grants(plan: EntitledPlan, identity: AuthenticatedIdentity): boolean {
    for (const scope of required) {
      if (!plan.scopes.has(scope)) return false;
      if (identity.scopes !== null && !identity.scopes.includes(scope)) return false;
    }
    return true;
  }

  function credentialGrants(identity: AuthenticatedIdentity): boolean {
    if (required.length === 0) return true;
    if (identity.scopes === null) return false;
    for (const scope of required) if (!identity.scopes.includes(scope)) return false;
    return true;
  }

  function forbid(exchange: PolicyExchange, subscription: EntitledSubscription, reason: string): PolicyRejection {
    exchange.subscriptionId = subscription.subscriptionId;
    exchange.planId = subscription.planId;
    return new PolicyRejection("authz", problems.forbidden, reason);
  }

  return {
    async: false,
    run(exchange: PolicyExchange): PolicyRejection | null {
      const identity = exchange.identity;
      if (identity === null) throw new Error("authorization ran before authentication");
      exchange.controlPlaneVersion = lookup.version;
      const subscriptions = lookup.subscriptionsOf(identity.consumerId);
      let suspended: EntitledSubscription | null = null;
      let lacksScopes: EntitledSubscription | null = null;
      let lacksRoute: EntitledSubscription | null = null;
      for (const subscription of subscriptions) {
        const plan = lookup.plan(subscription.planId);
        if (plan === undefined || !(plan.allRoutes || plan.routes.has(routeId))) {
          lacksRoute ??= subscription;
          continue;
        }
        if (!grants(plan, identity)) {
          lacksScopes ??= subscription;
          continue;
        }
        if (subscription.status !== "active") {
          suspended ??= subscription;
          continue;
        }
        exchange.subscriptionId = subscription.subscriptionId;
        exchange.planId = subscription.planId;
        return null;
      }
      if (!requireSubscription) {
        return credentialGrants(identity) ? null : new PolicyRejection("authz", problems.forbidden, missingScopes(required));
      }
      if (suspended !== null) return forbid(exchange, suspended, `subscription "${suspended.subscriptionId}" is ${suspended.status}`);
      if (lacksScopes !== null) return forbid(exchange, lacksScopes, `${missingScopes(required)} (plan "${lacksScopes.planId}")`);
      if (lacksRoute !== null) return forbid(exchange, lacksRoute, `plan "${lacksRoute.planId}" does not include route "${routeId}"`);
      return noSubscription;
    },
  };
}

function missingScopes(required: readonly string[]): string {
  return `the request lacks a required scope (${required.join(" ")})`;
}
