import { createHash, timingSafeEqual } from "node:crypto";
import type { AdminAccess, AdminToken } from "../config/control-plane-config.js";

export interface AdminPrincipal {
  name: string;
  access: AdminAccess;
}

/**
 * Checks admin bearer tokens against the configured ones in constant time: the
 * presented token and every configured token are compared as SHA-256 digests with
 * timingSafeEqual, and every configured token is compared on every call, so neither
 * the position of the first differing byte, nor the token's length, nor which entry
 * matched shows in the response time. Only the digests are kept.
 */
export class AdminAuthenticator {
  readonly #entries: readonly { principal: AdminPrincipal; digest: Buffer }[];

  constructor(tokens: readonly AdminToken[]) {
    this.#entries = tokens.map((token) => ({ principal: { name: token.name, access: token.access }, digest: sha256(token.token) }));
  }

  authenticate(presented: string): AdminPrincipal | null {
    const digest = sha256(presented);
    let match: AdminPrincipal | null = null;
    for (const entry of this.#entries) {
      const equal = timingSafeEqual(digest, entry.digest);
      if (equal && match === null) match = entry.principal;
    }
    return match;
  }
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
