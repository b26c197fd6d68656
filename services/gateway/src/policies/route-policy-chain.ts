import type { RouteConfig } from "../config/gateway-config.js";
import { createApiKeyAuthenticator, type ApiKeyLookup } from "./api-key/api-key-authenticator.js";
import { createAuthenticationStep, type IdentityState } from "./authentication-step.js";
import type { Authenticator } from "./authenticator.js";
import { AuthorizationPolicyConfig } from "./authorization/authorization-policy-config.js";
import { createAuthorizationStep, type EntitlementLookup } from "./authorization/authorization-step.js";
import type { PolicyExchange, PolicyRejection, PolicyStep } from "./policy-step.js";
import type { AuthenticatorConfig, AuthenticatorType } from "./route-auth-config.js";

/** What policies are built with: the identity index, as each policy needs it. */
export interface PolicyDependencies {
  identity: IdentityState & ApiKeyLookup & EntitlementLookup;
}

type AuthenticatorFactory<Type extends AuthenticatorType> = (
  config: Extract<AuthenticatorConfig, { type: Type }>,
  dependencies: PolicyDependencies,
) => Authenticator;

/** One factory per authentication policy, by its config `type`. */
const authenticatorFactories: { [Type in AuthenticatorType]: AuthenticatorFactory<Type> } = {
  "api-key": (config, dependencies) => createApiKeyAuthenticator(config, dependencies.identity),
};

function createAuthenticator<Type extends AuthenticatorType>(config: Extract<AuthenticatorConfig, { type: Type }>, dependencies: PolicyDependencies): Authenticator {
  return (authenticatorFactories[config.type] as AuthenticatorFactory<Type>)(config, dependencies);
}

/**
 * A route's policies, in the order of the request path: (IP allow/deny and header
 * rules), authentication, authorization, (rate limit, quota). Compiled once, at
 * config load; the request path only runs it.
 */
export type RoutePolicyChain =
  | { readonly async: false; run(exchange: PolicyExchange): PolicyRejection | null }
  | { readonly async: true; run(exchange: PolicyExchange): Promise<PolicyRejection | null> };

/** The route's chain, or null when it has no policy (the request goes straight upstream). */
export function compileRoutePolicyChain(route: RouteConfig, dependencies: PolicyDependencies | null): RoutePolicyChain | null {
  const steps: PolicyStep[] = [];
  // Request policies that need no identity (IP allow/deny, required and forbidden
  // headers) come first, so that a refused address never costs a key lookup.
  if (route.auth.length > 0) {
    if (dependencies === null) throw new Error(`route "${route.id}" has auth, but the gateway has no identity index`);
    const authenticators = route.auth.map((config) => createAuthenticator(config, dependencies));
    steps.push(createAuthenticationStep(authenticators, dependencies.identity));
    steps.push(createAuthorizationStep(route.id, route.authorization ?? AuthorizationPolicyConfig.parse({}), dependencies.identity));
  }
  // Rate limits and quotas come last: a request refused earlier consumes nothing.
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
        const rejection = await step.run(exchange);
        if (rejection !== null) return rejection;
      }
      return null;
    },
  };
}
