import type { Clock } from "../clock.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import type { IdentityIndex } from "../identity/identity-index.js";
import { createSealedHmacKeyLookup } from "./hmac/sealed-hmac-key-lookup.js";
import { compileIpFilter } from "./ip-filter/ip-filter.js";
import type { PolicyDependencies, RequestPolicyDependencies } from "./route-policy-chain.js";

export interface GatewayPolicyDependencies {
  /** For routes with auth; null for a gateway without an identity index. */
  policies: PolicyDependencies | null;
  /** For every route: the global IP lists. */
  requestPolicies: RequestPolicyDependencies;
  /** Closes what the compiled routes hold open (introspection pools); call once, on shutdown. */
  close(): Promise<void>;
}

/**
 * What the route chains are compiled with, from the validated config: the identity
 * index's lookups, the HMAC secrets opened with `secretKeys` (the key material stays
 * inside the lookup and is never logged), the global IP lists.
 */
export function createPolicyDependencies(config: GatewayConfig, identity: IdentityIndex | undefined, clock?: Pick<Clock, "epochMs">): GatewayPolicyDependencies {
  const closers: (() => Promise<void>)[] = [];
  const globalIpFilter = compileIpFilter(config.ipFilter);
  return {
    policies:
      identity === undefined
        ? null
        : {
            identity,
            hmacKeys: config.secretKeys === null ? null : createSealedHmacKeyLookup(identity, config.secretKeys),
            ...(clock === undefined ? {} : { clock }),
            onClose: (close) => void closers.push(close),
          },
    requestPolicies: globalIpFilter.empty ? {} : { globalIpFilter },
    close: async () => {
      await Promise.allSettled(closers.splice(0).map((close) => close()));
    },
  };
}
