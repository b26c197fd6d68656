import { z } from "zod";

/**
 * `authorization:` on a route with `auth`: what an authenticated consumer needs to be
 * let through. Applies after authentication; without `auth` it cannot be set.
 */
export const AuthorizationPolicyConfig = z.strictObject({
  requireSubscription: z
    .boolean()
    .default(true)
    .describe(
      "Require an active subscription whose plan includes this route (its routes list the route id, or \"*\"). false: any authenticated consumer may call; a subscription that covers the route is still recorded when there is one",
    ),
  scopes: z
    .array(z.string().min(1).max(100))
    .max(50)
    .default([])
    .describe(
      "Scopes the request must hold, all of them: granted by the subscription's plan and, when the credential itself carries scopes (a token's scope claim), by the credential as well",
    ),
});

export type AuthorizationPolicyConfig = z.output<typeof AuthorizationPolicyConfig>;
export type AuthorizationPolicyConfigInput = z.input<typeof AuthorizationPolicyConfig>;
