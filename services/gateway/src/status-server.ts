import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { cachePurgePath, handleCachePurge, type CachePurgeAccess } from "./cache/cache-purge-endpoint.js";
import type { Readiness } from "./readiness.js";

export interface StatusServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness: Readiness;
  /** Health of every upstream's targets, served at /upstreams. */
  upstreams?: () => unknown;
  /** POST /cache/purge: the admin token and the gateway's purge; absent or token null: the endpoint answers 404. */
  cachePurge?: CachePurgeAccess;
}

export interface StatusServer {
  readonly server: Server;
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/**
 * Health, readiness and metrics, on a port of their own so that probes and scrapes
 * never compete with client traffic and are never exposed through a route.
 *
 * - /healthz: 200 while the process can answer at all (liveness).
 * - /readyz: 200 only while every readiness gate is open; 503 before the gateway
 *   listens and from the moment it starts shutting down, so a load balancer stops
 *   sending traffic before connections are closed.
 * - /metrics: Prometheus text format.
 * - /upstreams: each upstream's targets with their health (JSON).
 * - POST /cache/purge: removes cached responses (cache/cache-purge-endpoint.ts), with the admin token.
 */
export function createStatusServer(options: StatusServerOptions): StatusServer {
  const server = createServer((req, res) => {
    void handle(options, req, res);
  });
  server.keepAliveTimeout = 5_000;
  return {
    server,
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

async function handle(options: StatusServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if ((req.url ?? "/").split("?")[0] === cachePurgePath) {
    await handleCachePurge(options.cachePurge ?? null, req, res);
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", { allow: "GET, HEAD" });
    return;
  }
  const path = (req.url ?? "/").split("?")[0];
  switch (path) {
    case "/healthz":
      send(res, 200, "text/plain; charset=utf-8", "ok\n");
      return;
    case "/readyz": {
      const ready = options.readiness.ready;
      send(res, ready ? 200 : 503, "application/json", `${JSON.stringify({ ready, gates: options.readiness.report() })}\n`);
      return;
    }
    case "/metrics":
      try {
        send(res, 200, options.registry.contentType, await options.registry.metrics());
      } catch (error) {
        send(res, 500, "text/plain; charset=utf-8", `metrics collection failed: ${(error as Error).message}\n`);
      }
      return;
    case "/upstreams":
      send(res, 200, "application/json", `${JSON.stringify(options.upstreams?.() ?? {})}\n`);
      return;
    default:
      send(res, 404, "text/plain; charset=utf-8", "not found\n");
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": contentType, "content-length": String(Buffer.byteLength(body)), "cache-control": "no-store", ...extra });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
