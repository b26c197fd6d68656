import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/**
 * The upstream that `npm start` puts behind the gateway, so that a newcomer has
 * something to call. It echoes what it received, which makes the gateway's header
 * rules visible (X-Forwarded-*, X-Request-Id, no hop-by-hop headers).
 */
export function createDemoUpstream(): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    let bytes = 0;
    request.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on("end", () => {
      const body = JSON.stringify({
        message: "Hello from the Tollgate demo upstream",
        method: request.method,
        url: request.url,
        bodyBytes: bytes,
        headers: {
          "x-request-id": request.headers["x-request-id"] ?? null,
          "x-forwarded-for": request.headers["x-forwarded-for"] ?? null,
          "x-forwarded-proto": request.headers["x-forwarded-proto"] ?? null,
          "x-forwarded-host": request.headers["x-forwarded-host"] ?? null,
        },
      });
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      response.end(body);
    });
  });
}
