import type { IncomingMessage } from "node:http";

/** What became of reading a request body into memory. */
export type BodyRead = { kind: "read"; body: Buffer } | { kind: "too-large" } | { kind: "aborted" };

/**
 * Reads the whole request body, up to `maxBytes`. Stops reading, and leaves the rest
 * unread, as soon as the body is known to be larger: a declared Content-Length over
 * the cap is refused before a byte is read. Never rejects: a client that leaves
 * mid-body is "aborted" (its connection's close records the request).
 */
export function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.resolve({ kind: "too-large" });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (outcome: BodyRead): void => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onGone);
      req.off("close", onGone);
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        settle({ kind: "too-large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => settle({ kind: "read", body: Buffer.concat(chunks, size) });
    const onGone = (): void => settle({ kind: "aborted" });
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onGone);
    req.once("close", onGone);
  });
}
