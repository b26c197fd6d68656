import type { CredentialEvent, JwtIdentityMatch, ScryptPasswordHash, SealedSecret } from "@tollgate/events";

/** One generation of an API key's material. Rotation adds one; the previous stays valid until its expiry. */
export interface ApiKeyVersion {
  keyId: string;
  prefix: string;
  hash: string;
  expiresAt: string | null;
}

interface CredentialBase {
  credentialId: string;
  consumerId: string;
  /** Revoked (API key, HMAC secret), unmapped (JWT) or removed (Basic): refused everywhere from then on. */
  status: "active" | "revoked";
}

export type ApiKeyCredential = CredentialBase & {
  kind: "api-key";
  name: string;
  /** Oldest first; the last one is the current key. */
  keys: ApiKeyVersion[];
};
export type JwtCredential = CredentialBase & { kind: "jwt"; issuer: string; match: JwtIdentityMatch };
export type BasicCredential = CredentialBase & { kind: "basic"; username: string; passwordHash: ScryptPasswordHash };
export type HmacCredential = CredentialBase & { kind: "hmac"; name: string; secret: SealedSecret };

export type Credential = ApiKeyCredential | JwtCredential | BasicCredential | HmacCredential;
export type CredentialKind = Credential["kind"];

/** Folds one credential event; `null` is a credential that was never issued. */
export function evolveCredential(state: Credential | null, event: CredentialEvent): Credential | null {
  switch (event.type) {
    case "ApiKeyIssued": {
      const { credentialId, consumerId, keyId, name, prefix, hash, expiresAt } = event.data;
      return { kind: "api-key", credentialId, consumerId, status: "active", name, keys: [{ keyId, prefix, hash, expiresAt }] };
    }
    case "ApiKeyRotated": {
      if (state?.kind !== "api-key") return state;
      const { keyId, prefix, hash, expiresAt, previousKeyId, previousKeyExpiresAt } = event.data;
      const keys = state.keys.map((key) => (key.keyId === previousKeyId ? { ...key, expiresAt: previousKeyExpiresAt } : key));
      return { ...state, keys: [...keys, { keyId, prefix, hash, expiresAt }] };
    }
    case "JwtIdentityMapped": {
      const { credentialId, consumerId, issuer, match } = event.data;
      return { kind: "jwt", credentialId, consumerId, status: "active", issuer, match };
    }
    case "BasicUserCreated": {
      const { credentialId, consumerId, username, passwordHash } = event.data;
      return { kind: "basic", credentialId, consumerId, status: "active", username, passwordHash };
    }
    case "BasicPasswordChanged":
      return state?.kind === "basic" ? { ...state, passwordHash: event.data.passwordHash } : state;
    case "HmacSecretIssued": {
      const { credentialId, consumerId, name, secret } = event.data;
      return { kind: "hmac", credentialId, consumerId, status: "active", name, secret };
    }
    case "HmacSecretReencrypted":
      return state?.kind === "hmac" ? { ...state, secret: event.data.secret } : state;
    case "ApiKeyRevoked":
    case "JwtIdentityUnmapped":
    case "BasicUserRemoved":
    case "HmacSecretRevoked":
      return state && { ...state, status: "revoked" };
  }
}

/** The keys of an API key credential that are accepted at `now`: not revoked, not past their expiry. */
export function liveApiKeys(credential: ApiKeyCredential, now: Date): ApiKeyVersion[] {
  if (credential.status !== "active") return [];
  return credential.keys.filter((key) => key.expiresAt === null || Date.parse(key.expiresAt) > now.getTime());
}
