import { EntityId, JwtIdentityMatch, basicUsernamePattern } from "@tollgate/events";
import { z } from "zod";
import { maxRotationOverlapSeconds } from "../../domain/credential/decide-credential.js";
import { Versioned, isoTime } from "./common-schemas.js";

export const IssueApiKeyBody = z.strictObject({
  id: EntityId.optional().describe("The credential's id; generated when absent"),
  name: z.string().max(200).default("").describe("A label for people, e.g. where the key is used"),
  expiresAt: isoTime.nullable().default(null).describe("When the key stops working; null for never"),
});

export const RotateApiKeyBody = z.strictObject({
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(maxRotationOverlapSeconds)
    .default(86_400)
    .describe("How long the current key keeps working after the rotation, so clients can switch over"),
  expiresAt: isoTime.nullable().default(null).describe("Expiry of the new key; null for never"),
});

export const MapJwtIdentityBody = z.strictObject({
  id: EntityId.optional(),
  issuer: z.string().min(1).max(500).describe("The token's iss, exactly"),
  match: JwtIdentityMatch,
});

export const password = z.string().min(12, "use at least 12 characters").max(1_024).describe("Sent once; stored only as a scrypt hash");

export const CreateBasicUserBody = z.strictObject({
  id: EntityId.optional(),
  username: z.string().regex(basicUsernamePattern, "use 1-128 letters, digits, '.', '_', '@' or '-'"),
  password,
});

export const ChangePasswordBody = z.strictObject({ password });

export const IssueHmacSecretBody = z.strictObject({
  id: EntityId.optional(),
  name: z.string().max(200).default(""),
});

export const ListCredentialsQuery = z.strictObject({ consumerId: EntityId.optional() });

const credentialBase = {
  ...Versioned,
  consumerId: EntityId,
  status: z.enum(["active", "revoked"]),
};

export const CredentialView = z.discriminatedUnion("kind", [
  z.object({
    ...credentialBase,
    kind: z.literal("api-key"),
    name: z.string(),
    keys: z.array(
      z.object({
        keyId: EntityId,
        prefix: z.string().describe("The key's first characters; the key itself is shown only when issued"),
        expiresAt: isoTime.nullable(),
        current: z.boolean(),
        expired: z.boolean(),
      }),
    ),
  }),
  z.object({ ...credentialBase, kind: z.literal("jwt"), issuer: z.string(), match: JwtIdentityMatch }),
  z.object({ ...credentialBase, kind: z.literal("basic"), username: z.string() }),
  z.object({ ...credentialBase, kind: z.literal("hmac"), name: z.string(), encryptionKeyId: z.string() }),
]);

export const CredentialList = z.object({ items: z.array(CredentialView) });

export const IssuedSecret = z.object({
  credential: CredentialView,
  secret: z.string().describe("Shown in this response only. It is stored hashed (API keys) or sealed (HMAC secrets) and cannot be read again"),
});

export const SecretKeyUsage = z.object({
  currentKeyId: z.string().nullable(),
  configuredKeyIds: z.array(z.string()),
  secretsByKeyId: z.record(z.string(), z.number().int()).describe("Live HMAC secrets per sealing key; a key listed here must stay configured"),
});

export const ReencryptionReport = z.object({
  reencrypted: z.array(EntityId),
  failed: z.array(z.object({ credentialId: EntityId, reason: z.string() })),
});
