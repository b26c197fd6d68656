import { afterEach, describe, expect, it } from "vitest";
import { createMetricsRegistry } from "./create-metrics-registry.js";
import { createStatusServer, type StatusServer } from "./status-server.js";

const servers: StatusServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe("createStatusServer", () => {
  it("answers /healthz, /readyz as ready() says, /metrics, and refuses other methods and paths", async () => {
    let ready = false;
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const server = createStatusServer({ host: "127.0.0.1", port: 0, registry, ready: () => ready });
    servers.push(server);
    const { port } = await server.listen();
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toEqual({ ready: true });
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: "POST" })).status).toBe(405);
  });
});
