import { z } from "zod";

/** A header field name (RFC 9110 5.1 token), stored lower-case. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, "expected a header field name (letters, digits and !#$%&'*+.^_`|~-)")
  .transform((value) => value.toLowerCase());

/** Characters a realm may hold inside WWW-Authenticate's quoted string without escaping. */
const realm = z.string().regex(/^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/, "use 1-100 printable ASCII characters other than '\"' and '\\'");

/**
 * `auth: [{ type: api-key, ... }]` on a route: a Tollgate API key (`tg_…`, issued by the
 * control plane) in a header or, if configured, a query parameter.
 */
export const ApiKeyPolicyConfig = z
  .strictObject({
    type: z.literal("api-key").describe("Authenticates with a Tollgate API key"),
    header: headerName
      .nullable()
      .default("x-api-key")
      .describe("Header the key is read from (case-insensitive); null reads no header"),
    queryParam: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{1,100}$/, "expected a query parameter name of letters, digits and ._~-")
      .nullable()
      .default(null)
      .describe(
        "Query parameter the key is also read from, e.g. api_key; null (default) reads none. URLs end up in logs and browser histories: prefer the header. The parameter is removed before the request is forwarded",
      ),
    hideCredential: z
      .boolean()
      .default(true)
      .describe("Remove the key's header before forwarding: the upstream learns who called from X-Consumer-Id, and never sees the key"),
    realm: realm.default("tollgate").describe("The realm named in the WWW-Authenticate challenge of a 401"),
  })
  .refine((config) => config.header !== null || config.queryParam !== null, {
    message: "set header, queryParam or both: the key has to come from somewhere",
    path: ["header"],
  });

export type ApiKeyPolicyConfig = z.output<typeof ApiKeyPolicyConfig>;
export type ApiKeyPolicyConfigInput = z.input<typeof ApiKeyPolicyConfig>;
