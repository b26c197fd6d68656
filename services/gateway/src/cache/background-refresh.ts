import type { Dispatcher } from "undici";
import type { UpstreamTarget } from "../proxy/upstream.js";

/** A response read in full for the cache, headers flat as the gateway relays them. */
export interface FetchedResponse {
  status: number;
  headers: string[];
  body: Buffer;
}

/**
 * One GET to a target on behalf of the cache (a stale-while-revalidate refresh): no
 * client waits on it. Resolves with the response, or null when its body exceeded
 * `maxBytes` (it is then abandoned). Rejects when the upstream failed.
 */
export async function fetchForCache(target: UpstreamTarget, path: string, headers: string[], maxBytes: number): Promise<FetchedResponse | null> {
  const response: Dispatcher.ResponseData = await target.pool.request({ path, method: "GET", headers });
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      response.body.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return { status: response.statusCode, headers: flattenHeaders(response.headers), body: Buffer.concat(chunks, bytes) };
}

/** undici's header object back to flat name/value pairs (repeated fields, such as Set-Cookie, arrive as arrays). */
function flattenHeaders(headers: Record<string, string | string[] | undefined>): string[] {
  const flat: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) flat.push(name, item);
    else flat.push(name, value);
  }
  return flat;
}
