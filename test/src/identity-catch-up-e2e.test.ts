import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authGatewayConfig, readEvents, requestEvents, type Json } from "./support/auth-e2e-stack.js";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

const adminToken = `e2e-catch-up-admin-${randomBytes(12).toString("hex")}`;
/** Keys issued before the gateway starts; every other one is revoked again before it starts too. */
const keyCount = 40;

describe("a gateway started on a control-plane history catches up before it reports ready (real processes, one SQLite file)", () => {
  let cp: ControlPlaneProcess;
  let gateway: GatewayProcess | undefined;
  let upstream: UpstreamServer;
  const keys: string[] = [];
  let suspendedKey = "";
  /** Log position of the last control-plane event written before the gateway started. */
  let lastControlPosition = 0;
  let sent = 0;

  const admin = async (method: string, path: string, body: unknown = {}): Promise<Json> => {
    const response = await fetch(`${cp.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as Json;
    if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(answer)}`);
    return answer;
  };

  const call = async (key: string): Promise<{ status: number; body: string }> => {
    sent += 1;
    const response = await fetch(`${gateway!.url}/orders/1`, { headers: { "x-api-key": key } });
    return { status: response.status, body: await response.text() };
  };

  beforeAll(async () => {
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      response.end("ok");
    });
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }], logging: { level: "debug" } });
    await admin("POST", "/admin/plans", { id: "basic", name: "Basic", routes: ["orders"] });
    await admin("POST", "/admin/consumers", { id: "acme", name: "Acme" });
    await admin("POST", "/admin/subscriptions", { id: "acme-basic", consumerId: "acme", planId: "basic" });
    for (let index = 0; index < keyCount; index++) {
      keys.push((await admin("POST", "/admin/consumers/acme/api-keys", { id: `acme-key-${index}` })).secret as string);
    }
    for (let index = 0; index < keyCount; index += 2) await admin("POST", `/admin/credentials/acme-key-${index}/revoke`);
    // A second consumer, whose subscription was suspended after its key was issued.
    await admin("POST", "/admin/consumers", { id: "globex", name: "Globex" });
    await admin("POST", "/admin/subscriptions", { id: "globex-basic", consumerId: "globex", planId: "basic" });
    suspendedKey = (await admin("POST", "/admin/consumers/globex/api-keys", { id: "globex-key" })).secret as string;
    await admin("POST", "/admin/subscriptions/globex-basic/suspend");
    lastControlPosition = Math.max(...readEvents(cp.eventsFile, "1 = 1").map((event) => event.position));
  });

  afterAll(async () => {
    await gateway?.cleanup();
    await cp?.cleanup();
    await upstream?.close();
  });

  it("turns ready only at the last control-plane event, and decides the very first requests with all of it", async () => {
    expect(lastControlPosition).toBeGreaterThanOrEqual(keyCount + keyCount / 2 + 6);
    gateway = await startGatewayProcess({
      config: authGatewayConfig(cp.eventsFile, {
        upstreams: { orders: { targets: [upstream.url] } },
        routes: [{ id: "orders", match: { pathPrefix: "/orders" }, upstream: "orders", auth: [{ type: "api-key" }] }],
      }),
    });
    const readiness = await waitFor("the gateway to be ready", async () => {
      const response = await fetch(`${gateway!.statusUrl}/readyz`);
      return response.status === 200 && ((await response.json()) as Json);
    });
    expect(JSON.stringify(readiness)).toContain(`following the control plane (version ${lastControlPosition})`);

    // No retry: the first answer for each key must already reflect the whole history.
    const live = await call(keys[1]!);
    expect(live).toEqual({ status: 200, body: "ok" });
    const revoked = await call(keys[0]!);
    expect(revoked.status).toBe(401);
    expect(JSON.parse(revoked.body)).toMatchObject({ code: "unauthorized", detail: "API key revoked" });
    const suspended = await call(suspendedKey);
    expect(suspended.status).toBe(403);
    expect(JSON.parse(suspended.body)).toMatchObject({ code: "forbidden", detail: 'subscription "globex-basic" is suspended' });
    for (let index = 0; index < keyCount; index++) {
      expect((await call(keys[index]!)).status, `key ${index}`).toBe(index % 2 === 0 ? 401 : 200);
    }
  });

  it("records the control-plane version the requests were decided under, and no key anywhere", async () => {
    const events = await requestEvents(cp.eventsFile, sent);
    expect(events).toHaveLength(sent);
    expect(new Set(events.map((event) => event.data.controlPlaneVersion))).toEqual(new Set([String(lastControlPosition)]));

    expect(await gateway!.stop()).toBe(0);
    expect(await cp.stop()).toBe(0);
    // Every file either process left (the log, its WAL, the gateway's spool, the configs)
    // and every line either printed.
    const files = [cp.dir, gateway!.dir].flatMap((dir) =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name)),
    );
    expect(files).toContain(cp.eventsFile);
    const haystacks = [...files.map((file) => readFileSync(file).toString("latin1")), gateway!.lines.join("\n"), cp.lines.join("\n")];
    const found = [...keys, suspendedKey].filter((key) => haystacks.some((haystack) => haystack.includes(key)));
    expect(found.map((key) => `${key.slice(0, 6)}…`)).toEqual([]);
  });
});
