import { z } from "zod";
import { ApiKeyPolicyConfig } from "./api-key/api-key-policy-config.js";
import { AuthorizationPolicyConfig } from "./authorization/authorization-policy-config.js";
import { BasicAuthenticatorConfig } from "./basic/basic-policy-config.js";
import { HeaderRulesConfig } from "./header-rules/header-rules-config.js";
import { HmacAuthenticatorConfig } from "./hmac/hmac-policy-config.js";
import { IntrospectionAuthenticatorConfig } from "./introspection/introspection-policy-config.js";
import { IpFilterConfig } from "./ip-filter/ip-filter-config.js";
import { JwtAuthenticatorConfig } from "./jwt/jwt-policy-config.js";

/**
 * One entry of a route's `auth` list, told apart by `type`. Each authentication
 * policy's folder exports its schema, with `type: z.literal("<name>")`, and is listed
 * here and in the authenticator factories of route-policy-chain.ts.
 */
export const AuthenticatorConfig = z.discriminatedUnion("type", [
  ApiKeyPolicyConfig,
  JwtAuthenticatorConfig,
  IntrospectionAuthenticatorConfig,
  BasicAuthenticatorConfig,
  HmacAuthenticatorConfig,
]);

export const RouteAuthConfig = z
  .array(AuthenticatorConfig)
  .max(10)
  .default([])
  .describe("How callers of the route authenticate, in order; any one of them suffices. Empty (default): the route is open");

export const RouteAuthorizationConfig = AuthorizationPolicyConfig.optional().describe(
  "What an authenticated caller needs; only with auth, where it defaults to { requireSubscription: true, scopes: [] }",
);

/** A route's own IP lists; they narrow the global `ipFilter`, never widen it. */
export const RouteIpFilterConfig = IpFilterConfig.prefault({}).describe(
  "The route's IP allow and deny lists (CIDR, IPv4 and IPv6), checked before authentication together with the global ipFilter: a deny in either wins, and each non-empty allow list must contain the client",
);

export const RouteHeaderRulesConfig = HeaderRulesConfig.prefault({}).describe(
  "Headers the route's requests must carry (optionally matching a pattern) or must not carry; checked before authentication, refused with 400",
);

export type AuthenticatorConfig = z.output<typeof AuthenticatorConfig>;
export type AuthenticatorType = AuthenticatorConfig["type"];
export type RouteAuthConfig = z.output<typeof RouteAuthConfig>;
