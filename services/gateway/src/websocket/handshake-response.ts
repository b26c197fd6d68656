import { STATUS_CODES } from "node:http";
import type { ProblemType } from "../errors/problem-catalog.js";
import { problemBody, problemContentType } from "../errors/problem-response.js";

/** Extra header lines: flat name/value pairs, and lines whose value may repeat (WWW-Authenticate). */
export type ExtraHeaders = readonly (readonly [name: string, value: string | readonly string[]])[];

/**
 * The HTTP/1.1 response that refuses a WebSocket handshake. After an upgrade Node no
 * longer writes responses on the socket, so the gateway writes this one itself: the
 * same problem+json body, X-Request-Id and extra headers (WWW-Authenticate, RateLimit-*,
 * Retry-After) as a refused plain request, and `Connection: close`, since the socket
 * is closed after it. Returns the text and its body's length (the event's bytesOut).
 */
export function handshakeProblemResponse(
  problem: ProblemType,
  requestId: string,
  detail: string,
  headers: ExtraHeaders,
  extensions?: Readonly<Record<string, string>>,
): { text: string; bodyBytes: number } {
  const body = problemBody(problem, requestId, detail, extensions);
  const bodyBytes = Buffer.byteLength(body);
  let text =
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ""}\r\n` +
    `content-type: ${problemContentType}\r\n` +
    `content-length: ${bodyBytes}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    "cache-control: no-store\r\n";
  for (const [name, value] of headers) {
    for (const line of typeof value === "string" ? [value] : value) {
      // Values are the gateway's own (challenges, limits); a line break would split the response.
      if (!/[\r\n]/.test(name) && !/[\r\n]/.test(line)) text += `${name}: ${line}\r\n`;
    }
  }
  text += "connection: close\r\n\r\n" + body;
  return { text, bodyBytes };
}
