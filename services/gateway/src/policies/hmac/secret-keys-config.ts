import { z } from "zod";

/**
 * `secretKeys` in the gateway config: the AES-256-GCM keys the control plane seals
 * HMAC signing secrets with (its own `secretKeys.keys`), by id. The gateway only opens
 * secrets, so it needs no `current`; it needs every id a live secret may still be
 * sealed with, which during a rotation is the old and the new one.
 */
export const SecretKeysConfig = z.strictObject({
  keys: z
    .record(
      z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "use 1-64 letters, digits, '.', '_' or '-'"),
      z.base64("expected base64").refine((value) => Buffer.from(value, "base64").length === 32, "must decode to exactly 32 bytes"),
    )
    .refine((keys) => Object.keys(keys).length > 0, "list at least one key")
    .describe(
      "Required. Every key a live HMAC secret may be sealed with, by the id the control plane gives it: base64 of 32 bytes. Set the values through TOLLGATE_GATEWAY__SECRET_KEYS__KEYS__<ID>, never in a committed file",
    ),
});

export type SecretKeysConfig = z.infer<typeof SecretKeysConfig>;
