import type { ServerResponse } from "node:http";
import type { ControlEvent } from "@tollgate/events";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { IdentityIndex } from "./identity/identity-index.js";
import { startGateway, type TestGateway } from "./test-support/start-gateway.js";
import { echoHandler, startUpstream, type TestUpstream } from "./test-support/upstream-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const actor = { kind: "admin", id: "ops" } as const;
let position = 0n;

function setTargets(identity: IdentityIndex, upstream: string, origins: string[]): void {
  const event: ControlEvent = { type: "UpstreamTargetsSet", version: 1, data: { upstream, targets: origins.map((url) => ({ url, weight: 1 })), actor } };
  identity.apply(event, ++position);
}

function resetTargets(identity: IdentityIndex, upstream: string): void {
  identity.apply({ type: "UpstreamTargetsReset", version: 1, data: { upstream, actor } }, ++position);
}

async function upstreamServer(handler = echoHandler): Promise<TestUpstream> {
  const server = await startUpstream(handler);
  cleanups.push(() => server.close());
  return server;
}

async function gatewayOver(origin: string, identity: IdentityIndex): Promise<TestGateway> {
  const gw = await startGateway({
    identity,
    config: {
      upstreams: { api: { targets: [origin] } },
      routes: [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api" }],
    },
  });
  cleanups.push(() => gw.close());
  return gw;
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("upstream targets changed live", () => {
  it("lets a long request to a removed target finish with 200 while new requests go to the new target, over the same client connections", async () => {
    let release: (() => void) | null = null;
    const old = await upstreamServer((req, res: ServerResponse) => {
      if (req.url !== "/api/long") return echoHandler(req, res, Buffer.alloc(0));
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first half;");
      release = () => res.end("second half");
    });
    const next = await upstreamServer();
    const identity = new IdentityIndex();
    const gw = await gatewayOver(old.origin, identity);
    let clientConnections = 0;
    gw.gateway.server.on("connection", () => clientConnections++);
    const client = new Agent({ connections: 2, keepAliveTimeout: 30_000 });
    cleanups.push(() => client.close());

    const long = await request(`${gw.url}/api/long`, { dispatcher: client });
    expect(long.statusCode).toBe(200);
    const longBody = long.body.text();
    await expect((await request(`${gw.url}/api/before`, { dispatcher: client })).body.text()).resolves.toContain("/api/before");

    setTargets(identity, "api", [next.origin]);
    expect(gw.gateway.upstreamHealth().api?.map((target) => target.origin)).toEqual([next.origin]);
    const metrics = await gw.registry.metrics();
    expect(metrics).toContain(`tollgate_upstream_target_healthy{upstream="api",target="${next.origin}"} 1`);
    expect(metrics).not.toContain(`target="${old.origin}"`);

    for (let index = 0; index < 20; index++) {
      const response = await request(`${gw.url}/api/after-${index}`, { dispatcher: client });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
    }
    expect(next.requests.map((received) => received.url)).toEqual(Array.from({ length: 20 }, (_, index) => `/api/after-${index}`));
    expect(old.requests.map((received) => received.url)).toEqual(["/api/long", "/api/before"]);

    await waitUntil(() => release !== null);
    (release as unknown as () => void)();
    expect(await longBody).toBe("first half;second half");
    const events = await gw.recorder.waitFor(22);
    const longEvent = events.find((event) => event.data.path === "/api/long");
    expect(longEvent).toMatchObject({ type: "RequestCompleted", data: { status: 200, upstream: old.origin } });
    expect(events.filter((event) => event.data.path.startsWith("/api/after-")).every((event) => event.type === "RequestCompleted" && event.data.upstream === next.origin)).toBe(true);
    // Two client connections (the long request's and the other one), kept alive through the switch.
    expect(clientConnections).toBe(2);

    resetTargets(identity, "api");
    const back = await request(`${gw.url}/api/back`, { dispatcher: client });
    expect(back.statusCode).toBe(200);
    await back.body.dump();
    expect(old.requests.at(-1)?.url).toBe("/api/back");
    expect(gw.gateway.upstreamHealth().api?.map((target) => target.origin)).toEqual([old.origin]);
    expect(clientConnections).toBe(2);
  });

  it("applies the overrides caught up before the server existed, and ignores (and logs) one for an upstream it does not declare", async () => {
    const configured = await upstreamServer();
    const override = await upstreamServer();
    const identity = new IdentityIndex();
    setTargets(identity, "api", [override.origin]);
    setTargets(identity, "elsewhere", [override.origin]);
    const gw = await gatewayOver(configured.origin, identity);

    const response = await request(`${gw.url}/api/x`);
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    expect(override.requests).toHaveLength(1);
    expect(configured.requests).toHaveLength(0);
    expect(gw.log.lines()).toContainEqual(
      expect.objectContaining({ upstream: "elsewhere", msg: "ignored a live target override for an upstream this gateway's config does not declare" }),
    );
  });
});
