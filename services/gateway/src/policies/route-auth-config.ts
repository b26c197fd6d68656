import { z } from "zod";
import { ApiKeyPolicyConfig } from "./api-key/api-key-policy-config.js";
import { AuthorizationPolicyConfig } from "./authorization/authorization-policy-config.js";

/**
 * One entry of a route's `auth` list, told apart by `type`. Each authentication
 * policy's folder exports its schema, with `type: z.literal("<name>")`, and is listed
 * here and in the authenticator factories of route-policy-chain.ts.
 */
export const AuthenticatorConfig = z.discriminatedUnion("type", [ApiKeyPolicyConfig]);

export const RouteAuthConfig = z
  .array(AuthenticatorConfig)
  .max(10)
  .default([])
  .describe("How callers of the route authenticate, in order; any one of them suffices. Empty (default): the route is open");

export const RouteAuthorizationConfig = AuthorizationPolicyConfig.optional().describe(
  "What an authenticated caller needs; only with auth, where it defaults to { requireSubscription: true, scopes: [] }",
);

export type AuthenticatorConfig = z.output<typeof AuthenticatorConfig>;
export type AuthenticatorType = AuthenticatorConfig["type"];
export type RouteAuthConfig = z.output<typeof RouteAuthConfig>;
