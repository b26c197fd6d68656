import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { problems } from "../errors/problem-catalog.js";
import { sendProblem } from "../errors/problem-response.js";
import type { PurgeFilter } from "./cache-store.js";

export const cachePurgePath = "/cache/purge";

/** Largest purge request body read; a filter is a few dozen bytes. */
const maxBodyBytes = 4_096;

export const CachePurgeRequest = z
  .strictObject({
    routeId: z.string().min(1).max(64).optional().describe("Purge this route's entries"),
    keyPrefix: z.string().min(1).max(2_048).optional().describe('Purge entries whose key (host + path + sorted query, e.g. "api.example.com/products/") starts with this'),
  })
  .refine((filter) => filter.routeId !== undefined || filter.keyPrefix !== undefined, "name a routeId, a keyPrefix or both");

export interface CachePurgeAccess {
  /** The bearer token the endpoint requires; null disables it. */
  readonly token: string | null;
  purge(filter: PurgeFilter): Promise<number>;
}

/**
 * POST /cache/purge on the status server: `{"routeId"?, "keyPrefix"?}` with
 * `Authorization: Bearer <cache.adminToken>`; answers `{"purged": n}`. The token is
 * compared in constant time (as SHA-256 digests, so its length leaks nothing either)
 * and is never logged or echoed. Errors are problem+json like the gateway's.
 */
export async function handleCachePurge(access: CachePurgeAccess | null, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  if (access === null || access.token === null) {
    req.resume();
    sendProblem(res, problems.cachePurgeDisabled, requestId, "set cache.adminToken to enable POST /cache/purge", false);
    return;
  }
  if (req.method !== "POST") {
    req.resume();
    res.setHeader("allow", "POST");
    sendProblem(res, { code: "method-not-allowed", status: 405, title: "Method not allowed", retryable: false }, requestId, "use POST", false);
    return;
  }
  if (!tokenMatches(req.headers.authorization, access.token)) {
    req.resume();
    res.setHeader("www-authenticate", 'Bearer realm="tollgate-admin"');
    sendProblem(res, problems.unauthorized, requestId, "a valid admin bearer token is required", false);
    return;
  }
  const body = await readBody(req);
  if (body === null) {
    sendProblem(res, problems.bodyTooLarge, requestId, `the purge request is larger than ${maxBodyBytes} bytes`, true);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    sendProblem(res, problems.badRequest, requestId, "the body must be JSON: {\"routeId\"?: string, \"keyPrefix\"?: string}", false);
    return;
  }
  const filter = CachePurgeRequest.safeParse(parsed);
  if (!filter.success) {
    const detail = filter.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
    sendProblem(res, problems.badRequest, requestId, detail, false);
    return;
  }
  let purged: number;
  try {
    purged = await access.purge(filter.data);
  } catch (error) {
    sendProblem(res, problems.internalError, requestId, `the purge failed: ${(error as Error).message}`, false);
    return;
  }
  const text = `${JSON.stringify({ purged })}\n`;
  res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), "cache-control": "no-store" });
  res.end(text);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith("Bearer ")) return false;
  const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(header.slice(7).trim()), digest(token));
}

/** The request body, or null when it exceeds the cap. */
async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBodyBytes) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, bytes);
}
