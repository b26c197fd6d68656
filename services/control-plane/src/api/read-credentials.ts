import type { Request } from "express";

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 2.1), or null. */
export function bearerToken(req: Request): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const match = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
  return match ? match[1]! : null;
}

/** A consumer's API key: `Authorization: Bearer <key>`, else `X-Api-Key: <key>`. Never from the query string, which ends up in logs. */
export function presentedApiKey(req: Request): string | null {
  const bearer = bearerToken(req);
  if (bearer !== null) return bearer;
  const header = req.headers["x-api-key"];
  return typeof header === "string" && header.length > 0 ? header.trim() : null;
}
