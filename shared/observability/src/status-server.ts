import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface StatusServer {
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/**
 * The status port of a projector or any service without one of its own: /healthz (alive),
 * /readyz (`ready()`), /metrics (Prometheus text), on a port of its own, never behind a route.
 */
export function createStatusServer(options: { host: string; port: number; registry: Registry; ready: () => boolean }): StatusServer {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    if (path === "/healthz") return send(res, 200, "text/plain; charset=utf-8", "ok\n");
    if (path === "/readyz") {
      const ready = options.ready();
      return send(res, ready ? 200 : 503, "application/json", `${JSON.stringify({ ready })}\n`);
    }
    if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => send(res, 200, options.registry.contentType, text),
        (error: unknown) => send(res, 500, "text/plain; charset=utf-8", `metrics collection failed: ${(error as Error).message}\n`),
      );
      return;
    }
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
  });
  server.keepAliveTimeout = 5_000;
  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port, options.host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": String(Buffer.byteLength(body)), "cache-control": "no-store" });
  res.end(body);
}
