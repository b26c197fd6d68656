import type { IncomingMessage } from "node:http";
import type { PolicyExchange } from "../policies/policy-step.js";

/** A request as policies see it, without a server: what the Exchange would hand them. */
export type FakePolicyExchange = PolicyExchange & {
  /** What the policies added with addResponseHeaders, merged. */
  readonly responseHeaders: Record<string, string>;
};

export function fakePolicyExchange(options: { headers?: string[]; query?: string; receivedAtMs?: number; path?: string } = {}): FakePolicyExchange {
  const responseHeaders: Record<string, string> = {};
  return {
    method: "GET",
    path: options.path ?? "/orders",
    query: options.query ?? "",
    clientIp: "127.0.0.1",
    receivedAtMs: options.receivedAtMs ?? Date.UTC(2026, 10, 26, 10, 0, 0),
    headers: options.headers ?? [],
    req: {} as IncomingMessage,
    bodyOverride: null,
    identity: null,
    consumerId: null,
    credentialId: null,
    planId: null,
    subscriptionId: null,
    controlPlaneVersion: null,
    responseHeaders,
    addResponseHeaders(headers) {
      Object.assign(responseHeaders, headers);
    },
  };
}
