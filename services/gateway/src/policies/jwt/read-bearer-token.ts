/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 2.1), or
 * undefined when the header is absent or uses another scheme. The scheme name is
 * case-insensitive (RFC 9110 11.1); the token must be a b64token.
 */
export function readBearerToken(authorization: string | undefined): BearerToken {
  if (authorization === undefined || authorization === "") return { kind: "missing" };
  const match = bearer.exec(authorization);
  if (match === null) return /^bearer(?:\s|$)/i.test(authorization) ? { kind: "malformed" } : { kind: "missing" };
  return { kind: "token", token: match[1] as string };
}

export type BearerToken = { kind: "missing" } | { kind: "malformed" } | { kind: "token"; token: string };

const bearer = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
