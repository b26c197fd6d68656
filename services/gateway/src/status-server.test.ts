import { createMetricsRegistry } from "@tollgate/observability";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { Readiness } from "./readiness.js";
import { createStatusServer, type StatusServer } from "./status-server.js";
import { demoRoute, startGateway } from "./test-support/start-gateway.js";
import { startUpstream } from "./test-support/upstream-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function get(url: string): Promise<{ status: number; body: string; type: string | undefined }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text(), type: res.headers["content-type"] as string | undefined };
}

describe("status server", () => {
  it("reports live, ready only while the gateway listens and is not draining, and serves metrics", async () => {
    const upstream = await startUpstream();
    cleanups.push(() => upstream.close());
    const gw = await startGateway({ config: demoRoute(upstream.origin) });
    const status: StatusServer = createStatusServer({
      host: "127.0.0.1",
      port: 0,
      registry: gw.registry,
      readiness: gw.readiness,
      upstreams: () => gw.gateway.upstreamHealth(),
    });
    const { port } = await status.listen();
    cleanups.push(() => status.close());
    const base = `http://127.0.0.1:${port}`;

    await (await request(`${gw.url}/demo`)).body.dump();
    await gw.recorder.waitFor(1);

    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200 });
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 200, body: `${JSON.stringify({ ready: true, gates: { gateway: { ready: true, detail: "" } } })}\n` });
    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('tollgate_requests_total{route="demo",status="200"} 1');
    expect(metrics.body).toContain(`tollgate_upstream_target_healthy{upstream="demo",target="${upstream.origin}"} 1`);
    const upstreams = await get(`${base}/upstreams`);
    expect(JSON.parse(upstreams.body)).toEqual({
      demo: [{ origin: upstream.origin, weight: 1, healthy: true, probedHealthy: true, circuit: null, ejectedUntil: null, ejections: 0, inFlight: 0 }],
    });

    await gw.gateway.shutdown(1_000);
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 503 });
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200 });
    expect((await get(`${base}/nope`)).status).toBe(404);
  });

  it("is not ready before anything opened a gate, and refuses other methods", async () => {
    const status = createStatusServer({ host: "127.0.0.1", port: 0, registry: createMetricsRegistry({ defaultMetrics: false }), readiness: new Readiness() });
    const { port } = await status.listen();
    cleanups.push(() => status.close());

    expect((await get(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    const res = await request(`http://127.0.0.1:${port}/metrics`, { method: "POST" });
    await res.body.dump();
    expect(res.statusCode).toBe(405);
  });
});
