import type { Credential } from "@tollgate/credentials";
import type { JwtIdentityMatch } from "@tollgate/events";

/**
 * How a live credential is found from what a client presents: an API key by its hash,
 * a Basic user by username, a JWT identity by issuer and subject or claim. Revoked
 * credentials have no lookup keys, so they are never found.
 */
export function credentialLookupKeys(credential: Credential | null): readonly string[] {
  if (!credential || credential.status !== "active") return [];
  switch (credential.kind) {
    case "api-key":
      return credential.keys.map((key) => apiKeyLookup(key.hash));
    case "basic":
      return [basicUserLookup(credential.username)];
    case "jwt":
      return [jwtIdentityLookup(credential.issuer, credential.match)];
    case "hmac":
      return [];
  }
}

export function apiKeyLookup(hash: string): string {
  return `api-key:${hash}`;
}

export function basicUserLookup(username: string): string {
  return `basic:${username}`;
}

export function jwtIdentityLookup(issuer: string, match: JwtIdentityMatch): string {
  return JSON.stringify(["jwt", issuer, match.kind, match.kind === "subject" ? match.subject : [match.claim, match.value]]);
}
