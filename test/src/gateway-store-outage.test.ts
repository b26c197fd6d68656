import Database from "better-sqlite3";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { countRequestEvents, readRequestEvents } from "./support/request-events-file.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

const OUTAGE_MS = 10_000;

describe("gateway while the event store is unavailable", () => {
  let upstream: UpstreamServer;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    upstream = await startUpstream();
    gateway = await startGatewayProcess({
      config: {
        upstreams: { api: { targets: [upstream.url] } },
        routes: [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api" }],
        recorder: { storeTimeoutMs: 100, retryIntervalMs: 250 },
      },
    });
  });

  afterAll(async () => {
    await gateway.cleanup();
    await upstream.close();
  });

  it("keeps answering through a 10 s outage, then holds every event exactly once", async () => {
    const pool = new Pool(gateway.url, { connections: 20 });
    const statuses: number[] = [];
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 20 }, async () => {
        while (!stop) {
          const response = await pool.request({ method: "GET", path: "/api/item" });
          await response.body.dump();
          statuses.push(response.statusCode);
        }
      }),
    );

    await waitFor("traffic to flow", () => countRequestEvents(gateway.eventsFile) > 200);

    // The outage: another connection takes the write lock and keeps it for 10 s, so every
    // append the gateway tries fails with SQLITE_BUSY.
    const blocker = new Database(gateway.eventsFile);
    blocker.exec("BEGIN EXCLUSIVE");
    const answeredBefore = statuses.length;
    const outageStart = Date.now();
    await waitFor("the outage to last 10 s", () => Date.now() - outageStart >= OUTAGE_MS, OUTAGE_MS + 1_000, 100);
    const answeredDuring = statuses.length - answeredBefore;
    blocker.exec("ROLLBACK");
    blocker.close();

    const answeredAtRecovery = statuses.length;
    await waitFor("traffic after the outage", () => statuses.length > answeredAtRecovery + 500);
    stop = true;
    await load;
    await pool.close();

    expect(answeredDuring).toBeGreaterThan(1_000);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(gateway.lines.some((line) => line.includes("spooling events"))).toBe(true);

    await waitFor("the spool to drain", () => countRequestEvents(gateway.eventsFile) >= statuses.length, 20_000);
    expect(await gateway.stop()).toBe(0);

    const events = readRequestEvents(gateway.eventsFile);
    expect(events).toHaveLength(statuses.length);
    expect(new Set(events.map((event) => event.id)).size).toBe(statuses.length);
    expect(new Set(events.map((event) => event.data.requestId)).size).toBe(statuses.length);
  });
});
