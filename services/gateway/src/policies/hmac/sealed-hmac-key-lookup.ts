import { randomBytes } from "node:crypto";
import { SecretBox, UnknownSecretKeyError } from "@tollgate/credentials";
import type { SealedSecret } from "@tollgate/events";
import type { HmacKey, HmacKeyLookup } from "./hmac-verifier.js";
import type { SecretKeysConfig } from "./secret-keys-config.js";

/** A live HMAC secret as the identity index holds it: sealed by the control plane. */
export interface SealedHmacSecret {
  readonly consumerId: string;
  readonly credentialId: string;
  readonly secret: SealedSecret;
}

/** The identity index, as far as HMAC secrets go; answered from memory. */
export interface SealedHmacSecretLookup {
  hmacSecret(credentialId: string): SealedHmacSecret | undefined;
}

/** The secret exists but cannot be opened with the configured keys: the request gets 503, never 401. */
export class HmacSecretUnavailableError extends Error {
  constructor(
    readonly credentialId: string,
    readonly keyId: string,
    cause: unknown,
  ) {
    super(
      cause instanceof UnknownSecretKeyError
        ? `HMAC secret "${credentialId}" is sealed with key "${keyId}", which is not in secretKeys.keys`
        : `HMAC secret "${credentialId}" does not open with key "${keyId}" (wrong key material?)`,
      { cause },
    );
    this.name = "HmacSecretUnavailableError";
  }
}

/**
 * Opens sealed secrets with the gateway's copy of the control plane's keys (the same
 * SecretBox, so the format cannot drift): AES-256-GCM with the credential id as
 * associated data, the key picked by the id stored with each secret, so secrets sealed
 * before and after a key rotation open side by side.
 *
 * An opened secret is remembered against the sealed object it came from. The index
 * replaces that object when the secret is re-encrypted or revoked, so the memo can
 * never serve a secret the index no longer holds, and entries go with their objects.
 */
export function createSealedHmacKeyLookup(secrets: SealedHmacSecretLookup, config: SecretKeysConfig): HmacKeyLookup {
  const keys = new Map(Object.entries(config.keys).map(([id, key]) => [id, Buffer.from(key, "base64")]));
  const first = keys.keys().next().value as string;
  // `current` only matters for sealing, which the gateway never does.
  const box = new SecretBox({ current: first, keys }, randomBytes);
  const opened = new WeakMap<SealedSecret, HmacKey>();
  return {
    findHmacKey(keyId: string): HmacKey | undefined {
      const entry = secrets.hmacSecret(keyId);
      if (entry === undefined) return undefined;
      const known = opened.get(entry.secret);
      if (known !== undefined) return known;
      let secret: Buffer;
      try {
        secret = box.open(entry.secret, entry.credentialId);
      } catch (error) {
        throw new HmacSecretUnavailableError(entry.credentialId, entry.secret.keyId, error);
      }
      const key: HmacKey = { consumerId: entry.consumerId, credentialId: entry.credentialId, secret };
      opened.set(entry.secret, key);
      return key;
    },
  };
}
