import type { ServerResponse } from "node:http";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { readRequestEvents } from "./support/request-events-file.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

const TOTAL = 20_000;
const HELD = 50;

async function runRequests(pool: Pool, count: number, concurrency: number, path: string): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const response = await pool.request({ method: "GET", path });
      await response.body.dump();
      statuses.push(response.statusCode);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

describe("gateway graceful shutdown", () => {
  let upstream: UpstreamServer;
  let gateway: GatewayProcess;
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    upstream = await startUpstream((request, response) => {
      if (request.url?.startsWith("/api/hold")) {
        held.push(response);
        return;
      }
      response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      response.end("ok");
    });
    gateway = await startGatewayProcess({
      config: {
        upstreams: { api: { targets: [upstream.url] } },
        routes: [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api" }],
      },
    });
  });

  afterAll(async () => {
    await gateway.cleanup();
    await upstream.close();
  });

  it(`records exactly ${TOTAL} events for ${TOTAL} requests when SIGTERM arrives with requests in flight`, async () => {
    const pool = new Pool(gateway.url, { connections: 50 });
    const first = await runRequests(pool, TOTAL - HELD, 50, "/api/fast");
    expect(first.filter((status) => status === 200)).toHaveLength(TOTAL - HELD);

    // The last requests are held by the upstream, so they are in flight at the gateway
    // when the signal arrives.
    const inFlight = Array.from({ length: HELD }, async () => {
      const response = await pool.request({ method: "GET", path: "/api/hold" });
      await response.body.dump();
      return response.statusCode;
    });
    await waitFor("held requests to reach the upstream", () => held.length === HELD);

    gateway.child.kill("SIGTERM");
    // Readiness flips first: the gateway has started draining before the held requests finish.
    await waitFor("readiness to turn off", async () => {
      const response = await fetch(`${gateway.statusUrl}/readyz`).catch(() => null);
      return response === null || response.status === 503;
    });
    for (const response of held) {
      response.writeHead(200, { "content-type": "text/plain", "content-length": "4" });
      response.end("held");
    }
    const lastStatuses = await Promise.all(inFlight);
    expect(lastStatuses.every((status) => status === 200)).toBe(true);
    expect(await gateway.exited).toBe(0);
    await pool.close();

    const events = readRequestEvents(gateway.eventsFile);
    expect(events).toHaveLength(TOTAL);
    expect(new Set(events.map((event) => event.id)).size).toBe(TOTAL);
    expect(new Set(events.map((event) => event.data.requestId)).size).toBe(TOTAL);
    expect(events.every((event) => event.type === "RequestCompleted" && event.data.status === 200)).toBe(true);
    expect(events.filter((event) => event.data.routeId === "api")).toHaveLength(TOTAL);
  });
});
