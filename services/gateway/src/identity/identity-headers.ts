import { removeHeaders } from "../policies/request-headers.js";
import type { IdentityConfig } from "./identity-config.js";

/**
 * Removes every identity header the client sent, on every route. An upstream behind
 * the gateway trusts these headers to say who called; a client must never be able to
 * set them, whether or not the route authenticates.
 */
export function stripIdentityHeaders(headers: string[], config: IdentityConfig): void {
  removeHeaders(headers, config.consumerIdHeader, config.planIdHeader);
}

/** Adds the identity the gateway established, after the client's were stripped. */
export function appendIdentityHeaders(headers: string[], config: IdentityConfig, consumerId: string, planId: string | null): void {
  headers.push(config.consumerIdHeader, consumerId);
  if (planId !== null) headers.push(config.planIdHeader, planId);
}
