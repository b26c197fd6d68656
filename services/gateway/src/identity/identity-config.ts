import { z } from "zod";

/**
 * Fields the gateway manages itself; naming one of them as an identity header would
 * let the identity overwrite (or be overwritten by) framing, routing or forwarding.
 */
const reservedHeaders = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "proxy-connection",
  "keep-alive",
  "te",
  "upgrade",
  "trailer",
  "expect",
  "proxy-authorization",
  "authorization",
  "cookie",
  "x-request-id",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
  "x-real-ip",
  "via",
]);

const identityHeader = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, "expected a header field name (letters, digits and !#$%&'*+.^_`|~-)")
  .transform((value) => value.toLowerCase())
  .refine((value) => !reservedHeaders.has(value), { message: "this header is managed by the gateway itself" });

/**
 * How the gateway follows the control plane, and how it tells upstreams who called.
 * Whatever a client sends under the header names is removed on every route, with or
 * without auth, so an upstream can trust them: only the gateway sets them, and only
 * after authenticating the request.
 */
export const IdentityConfig = z
  .strictObject({
    consumerIdHeader: identityHeader
      .default("x-consumer-id")
      .describe("Header carrying the authenticated consumer's id to the upstream; removed from every client request"),
    planIdHeader: identityHeader
      .default("x-plan-id")
      .describe("Header carrying the plan of the subscription the request was authorized under; removed from every client request"),
    pollIntervalMs: z
      .number()
      .int()
      .min(5)
      .max(1_000)
      .default(100)
      .describe(
        "How often the gateway looks in the log for control-plane changes: a suspension or a revocation reaches requests within about this long. Each look costs a read of the rows appended since the last one",
      ),
    startupWaitMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(10_000)
      .describe(
        "At start, how long the gateway waits for the control plane's state before it listens anyway (routes with auth answer 503, and /readyz stays 503, until the state is loaded)",
      ),
  })
  .refine((config) => config.consumerIdHeader !== config.planIdHeader, {
    message: "consumerIdHeader and planIdHeader must differ",
    path: ["planIdHeader"],
  });

export type IdentityConfig = z.output<typeof IdentityConfig>;
