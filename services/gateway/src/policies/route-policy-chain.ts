import type { RouteConfig } from "../config/gateway-config.js";
import { createApiKeyAuthenticator, type ApiKeyLookup } from "./api-key/api-key-authenticator.js";
import { createAuthenticationStep, type IdentityState } from "./authentication-step.js";
import type { Authenticator } from "./authenticator.js";
import { AuthorizationPolicyConfig } from "./authorization/authorization-policy-config.js";
import { createAuthorizationStep, type EntitlementLookup } from "./authorization/authorization-step.js";
import type { PolicyExchange, PolicyRejection, PolicyStep } from "./policy-step.js";
import type { AuthenticatorConfig, AuthenticatorType } from "./route-auth-config.js";
import type { ScryptPasswordHash } from "@tollgate/events";
import type { Clock } from "../clock.js";
import { createBasicAuthenticator } from "./basic/basic-authenticator.js";
import type { BasicUserLookup } from "./basic/basic-verifier.js";
import { compileHeaderRules } from "./header-rules/header-rules.js";
import { createHeaderRulesStep } from "./header-rules/header-rules-step.js";
import { createHmacAuthenticator } from "./hmac/hmac-authenticator.js";
import type { HmacKeyLookup } from "./hmac/hmac-verifier.js";
import { createIntrospectionAuthenticator } from "./introspection/introspection-authenticator.js";
import { compileIpFilter, composeIpFilters, type IpFilter } from "./ip-filter/ip-filter.js";
import { createIpFilterStep } from "./ip-filter/ip-filter-step.js";
import { createJwtAuthenticator } from "./jwt/jwt-authenticator.js";
import type { createGraphqlStep } from "./graphql/graphql-step.js";
import type { JwtIdentityLookup } from "./jwt/jwt-verifier.js";
import type { PlanLimitsLookup } from "./plan-limits.js";
import type { QuotaLimiter } from "./quota/quota-limiter.js";
import { createQuotaStep, type BillingAnchorLookup } from "./quota/quota-step.js";
import type { MultiLimiter } from "./rate-limit/multi-limiter.js";
import { createRateLimitStep } from "./rate-limit/rate-limit-step.js";
import type { RedisLimiterStore } from "./rate-limit/redis-limiter-store.js";
import { createCombinedLimitsStep } from "./combined-limits-step.js";

/** What policies are built with: the identity index, as each policy needs it. */
export interface PolicyDependencies {
  identity: IdentityState & ApiKeyLookup & EntitlementLookup & PlanLimitsLookup & BillingAnchorLookup & JwtIdentityLookup & BasicUserLookup<ScryptPasswordHash>;
  /** Opened HMAC secrets by key id (the index's sealed secrets, opened with `secretKeys`); absent without `secretKeys`. */
  hmacKeys?: HmacKeyLookup | null;
  /** Time for the verifiers' caches (introspection, Basic, nonces); the system clock by default. */
  clock?: Pick<Clock, "epochMs">;
  /** Receives what a route built that holds connections (an introspection pool), for shutdown to close. */
  onClose?: (close: () => Promise<void>) => void;
}

/** Gateway-wide request policies, which apply to every route whether or not it has auth. */
export interface RequestPolicyDependencies {
  /** The global `ipFilter`, compiled once; each route's own lists are composed with it. */
  globalIpFilter?: IpFilter;
  /** The GraphQL policy's step factory, loaded only when a route uses it (protocol-modules.ts). */
  graphql?: typeof createGraphqlStep;
}

/** The gateway's rate limiter and quota limiter, shared by every route. */
export interface LimitDependencies {
  rateLimiter: MultiLimiter;
  /** The rate limit store answers with promises (Redis). */
  rateLimitAsync: boolean;
  quotaLimiter: QuotaLimiter;
  quotaAsync: boolean;
  /**
   * Set when the rate limits and the quotas share one Redis: a route with both then
   * decides them in one script call (combined-limits-step.ts) instead of two round trips.
   */
  combinedStore?: RedisLimiterStore | null;
}

type AuthenticatorFactory<Type extends AuthenticatorType> = (
  config: Extract<AuthenticatorConfig, { type: Type }>,
  dependencies: PolicyDependencies,
) => Authenticator;

/** One factory per authentication policy, by its config `type`. */
const authenticatorFactories: { [Type in AuthenticatorType]: AuthenticatorFactory<Type> } = {
  "api-key": (config, dependencies) => createApiKeyAuthenticator(config, dependencies.identity),
  jwt: (config, { identity, clock }) => createJwtAuthenticator(config, { identities: identity, ...(clock === undefined ? {} : { clock }) }),
  introspection: (config, { identity, clock, onClose }) => {
    const authenticator = createIntrospectionAuthenticator(config, { identities: identity, ...(clock === undefined ? {} : { clock }) });
    onClose?.(() => authenticator.close());
    return authenticator;
  },
  basic: (config, { identity, clock }) => createBasicAuthenticator(config, { users: identity, ...(clock === undefined ? {} : { clock }) }),
  hmac: (config, { hmacKeys, clock }) => {
    // The config schema refuses hmac routes without secretKeys; this guards other callers.
    if (hmacKeys === undefined || hmacKeys === null) throw new Error("hmac authentication needs secretKeys to open the signing secrets");
    return createHmacAuthenticator(config, { keys: hmacKeys, ...(clock === undefined ? {} : { clock }) });
  },
};

function createAuthenticator<Type extends AuthenticatorType>(config: Extract<AuthenticatorConfig, { type: Type }>, dependencies: PolicyDependencies): Authenticator {
  return (authenticatorFactories[config.type] as AuthenticatorFactory<Type>)(config, dependencies);
}

/**
 * A route's policies, in the order of the request path: IP allow/deny, header rules,
 * authentication, authorization, GraphQL query checks, rate limit, quota. Compiled once, at config load;
 * the request path only runs it.
 */
export type RoutePolicyChain =
  | { readonly async: false; run(exchange: PolicyExchange): PolicyRejection | null }
  | { readonly async: true; run(exchange: PolicyExchange): Promise<PolicyRejection | null> };

/**
 * The route's chain, or null when it has no policy (the request goes straight
 * upstream). `dependencies` is null for a gateway without an identity index (a route
 * with auth then refuses to compile); `requestPolicies` holds what applies to every
 * route, auth or not (the global IP lists).
 */
export function compileRoutePolicyChain(
  route: RouteConfig,
  dependencies: PolicyDependencies | null,
  limits: LimitDependencies | null = null,
  requestPolicies: RequestPolicyDependencies = {},
): RoutePolicyChain | null {
  const steps: PolicyStep[] = [];
  // Request policies that need no identity (IP allow/deny, required and forbidden
  // headers) come first, so that a refused address never costs a key lookup, a token
  // verification or a body read.
  const routeIpFilter = compileIpFilter(route.ipFilter);
  const { globalIpFilter } = requestPolicies;
  const ipFilter = globalIpFilter === undefined ? routeIpFilter : composeIpFilters(globalIpFilter, routeIpFilter);
  if (!ipFilter.empty) steps.push(createIpFilterStep(ipFilter));
  const headerRules = compileHeaderRules(route.headerRules);
  if (!headerRules.empty) steps.push(createHeaderRulesStep(headerRules));
  if (route.auth.length > 0) {
    if (dependencies === null) throw new Error(`route "${route.id}" has auth, but the gateway has no identity index`);
    const authenticators = route.auth.map((config) => createAuthenticator(config, dependencies));
    steps.push(createAuthenticationStep(authenticators, dependencies.identity));
    steps.push(createAuthorizationStep(route.id, route.authorization ?? AuthorizationPolicyConfig.parse({}), dependencies.identity));
  }
  // The GraphQL policy needs the caller's plan (introspection per plan) and, like every
  // refusal before the limits, must not cost the caller any allowance.
  if (route.graphql !== undefined) {
    if (requestPolicies.graphql === undefined) throw new Error(`route ${route.id} has a graphql policy, but the GraphQL module was not loaded`);
    steps.push(requestPolicies.graphql(route.graphql));
  }
  // Rate limits and quotas come last: a request refused earlier consumes nothing. The
  // rate limits come before the quota, so a request a limit refuses takes no unit of
  // the (billed) quota; one the quota refuses has counted against the rate limits.
  if (limits !== null) {
    const authenticated = route.auth.length > 0 && dependencies !== null;
    const withQuota = authenticated && (route.quota?.enabled ?? true);
    const combinedStore = limits.combinedStore ?? null;
    if (withQuota && combinedStore !== null) {
      steps.push(
        createCombinedLimitsStep({
          routeId: route.id,
          rateLimit: route.rateLimit,
          rateLimiter: limits.rateLimiter,
          quotaLimiter: limits.quotaLimiter,
          store: combinedStore,
          plans: dependencies.identity,
          anchors: dependencies.identity,
          onQuotaStoreFailure: route.quota?.onStoreFailure,
        }),
      );
      return chainOf(steps);
    }
    const rateLimit = createRateLimitStep({
      routeId: route.id,
      config: route.rateLimit,
      limiter: limits.rateLimiter,
      plans: authenticated ? dependencies.identity : null,
      async: limits.rateLimitAsync,
    });
    if (rateLimit !== null) steps.push(rateLimit);
    if (withQuota) {
      steps.push(
        createQuotaStep({
          limiter: limits.quotaLimiter,
          plans: dependencies.identity,
          anchors: dependencies.identity,
          onStoreFailure: route.quota?.onStoreFailure,
          async: limits.quotaAsync,
        }),
      );
    }
  }
  if (steps.length === 0) return null;
  return chainOf(steps);
}

export function chainOf(steps: readonly PolicyStep[]): RoutePolicyChain {
  if (steps.every((step) => !step.async)) {
    const sync = steps as readonly (PolicyStep & { async: false })[];
    return {
      async: false,
      run(exchange) {
        for (const step of sync) {
          const rejection = step.run(exchange);
          if (rejection !== null) return rejection;
        }
        return null;
      },
    };
  }
  return {
    async: true,
    async run(exchange) {
      for (const step of steps) {
        // Only a promise is awaited: awaiting a synchronous step's verdict too (the key
        // lookup before a Redis-backed limit, say) cost a promise and a microtask turn per
        // step and request.
        const verdict = step.run(exchange);
        const rejection = verdict instanceof Promise ? await verdict : verdict;
        if (rejection !== null) return rejection;
      }
      return null;
    },
  };
}
