import { STATUS_CODES, type ServerResponse } from "node:http";
import { problemTypeUri, type ProblemType } from "./problem-catalog.js";

export const problemContentType = "application/problem+json";

/**
 * The RFC 9457 body. `instance` names this occurrence by request id, which is also
 * in the X-Request-Id response header, in the request's event and in the access log.
 * `detail` is written for the client: it never names internal addresses.
 */
export function problemBody(problem: ProblemType, requestId: string, detail: string, extensions?: Readonly<Record<string, string>>): string {
  return JSON.stringify({
    ...extensions,
    type: problemTypeUri(problem),
    title: problem.title,
    status: problem.status,
    detail,
    instance: `urn:tollgate:request:${requestId}`,
    requestId,
    code: problem.code,
    retryable: problem.retryable,
  });
}

/**
 * Answers with a problem. `closeConnection` is set when the request's framing cannot
 * be trusted: whatever follows on that connection must not be read as a new request.
 * `extensions` are extra members (RFC 9457 3.2), such as the `limit` that fired; they
 * never override the standard ones. Returns the number of body bytes written.
 */
export function sendProblem(
  res: ServerResponse,
  problem: ProblemType,
  requestId: string,
  detail: string,
  closeConnection: boolean,
  extensions?: Readonly<Record<string, string>>,
): number {
  const body = problemBody(problem, requestId, detail, extensions);
  const length = Buffer.byteLength(body);
  const headers = ["content-type", problemContentType, "content-length", String(length), "x-request-id", requestId, "cache-control", "no-store"];
  if (closeConnection) headers.push("connection", "close");
  res.writeHead(problem.status, headers);
  res.end(body);
  return length;
}

/**
 * A whole HTTP/1.1 response for a connection whose request could not be parsed,
 * written straight to the socket and followed by closing it.
 */
export function rawProblemResponse(problem: ProblemType, requestId: string, detail: string): string {
  const body = problemBody(problem, requestId, detail);
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ""}\r\n` +
    `content-type: ${problemContentType}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    "cache-control: no-store\r\n" +
    "connection: close\r\n\r\n" +
    body
  );
}
