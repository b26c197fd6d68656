import { Agent, request, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { startUpstream, type UpstreamServer } from "./support/upstream-server.js";
import { waitFor } from "./support/wait-for.js";

type Json = Record<string, unknown>;

const adminToken = "e2e-upstream-pools-admin-token-8d7c6b5a4f3e2d1c";

interface Answer {
  status: number;
  body: string;
  socket: Socket;
  at: number;
}

/** One request over `agent`; resolves with the body and the client socket it went over. */
function get(agent: Agent, url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { agent }, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), socket: outgoing.socket as Socket, at: performance.now() }),
      );
      response.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("upstream targets changed live through the control plane (real processes, one SQLite file)", () => {
  let cp: ControlPlaneProcess;
  let gateway: GatewayProcess;
  let configured: UpstreamServer;
  let replacement: UpstreamServer;
  let releaseLong: (() => void) | null = null;

  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${cp.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  beforeAll(async () => {
    configured = await startUpstream((req, res) => {
      if (req.url === "/orders/long") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("configured-long:");
        releaseLong = () => res.end("done");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain", "content-length": "10" });
      res.end("configured");
    });
    replacement = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "11" });
      res.end("replacement");
    });
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }] });
    gateway = await startGatewayProcess({
      config: {
        eventStore: { kind: "sqlite", file: cp.eventsFile },
        upstreams: { orders: { targets: [configured.url] } },
        routes: [{ id: "orders", match: { pathPrefix: "/orders" }, upstream: "orders" }],
      },
    });
    await waitFor("the gateway to be ready", async () => (await fetch(`${gateway.statusUrl}/readyz`)).status === 200);
  });

  afterAll(async () => {
    await gateway?.cleanup();
    await cp?.cleanup();
    await configured?.close();
    await replacement?.close();
  });

  it("switches traffic to the new target within 1 s of the PUT, back to the config's on DELETE, over one keep-alive client connection that is never dropped", async () => {
    // One client connection, kept alive, carrying a request after another for the whole test.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answers: Answer[] = [];
    let running = true;
    const loop = (async () => {
      while (running) answers.push(await get(agent, `${gateway.url}/orders/${answers.length}`));
    })();
    // A second connection holds a long response from the configured target across the switch.
    const longAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const long = get(longAgent, `${gateway.url}/orders/long`);
    try {
      await waitFor("the long request to reach the configured target", () => releaseLong !== null);
      await waitFor("some answers before the switch", () => answers.length >= 20);

      const set = await admin("PUT", "/admin/upstreams/orders", { targets: [{ url: replacement.url, weight: 1 }] });
      expect(set.status).toBe(200);
      const setAt = performance.now();
      const switched = await waitFor("traffic to reach the replacement", () => answers.find((answer) => answer.at > setAt && answer.body === "replacement"), 5_000, 5);
      const switchMs = switched.at - setAt;
      expect(switchMs).toBeLessThan(1_000);
      const afterSwitch = answers.length;
      await waitFor("more answers after the switch", () => answers.length >= afterSwitch + 20);
      expect(answers.slice(afterSwitch).every((answer) => answer.body === "replacement")).toBe(true);

      const status = (await (await fetch(`${gateway.statusUrl}/upstreams`)).json()) as Record<string, { origin: string }[]>;
      expect(status.orders?.map((target) => target.origin)).toEqual([replacement.url]);

      // The long request to the removed target still completes, whole.
      releaseLong?.();
      const longAnswer = await long;
      expect(longAnswer).toMatchObject({ status: 200, body: "configured-long:done" });

      const reset = await admin("DELETE", "/admin/upstreams/orders");
      expect(reset.status).toBe(200);
      expect(reset.body.targets).toBeNull();
      const resetAt = performance.now();
      const back = await waitFor("traffic to return to the configured target", () => answers.find((answer) => answer.at > resetAt && answer.body === "configured"), 5_000, 5);
      expect(back.at - resetAt).toBeLessThan(1_000);
      const afterReset = answers.length;
      await waitFor("more answers after the reset", () => answers.length >= afterReset + 20);
      expect(answers.slice(afterReset).every((answer) => answer.body === "configured")).toBe(true);
    } finally {
      running = false;
      await loop;
      agent.destroy();
      longAgent.destroy();
    }

    // Every answer a 200, every one over the same client socket: no connection was dropped.
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(new Set(answers.map((answer) => answer.socket)).size).toBe(1);

    // The log holds the change and who made it.
    const db = new Database(cp.eventsFile, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare("SELECT type, data FROM events WHERE stream_id = 'upstream-orders' ORDER BY position").all() as { type: string; data: string }[];
      expect(rows.map((row) => [row.type, (JSON.parse(row.data) as { actor: Json }).actor])).toEqual([
        ["UpstreamTargetsSet", { kind: "admin", id: "ops" }],
        ["UpstreamTargetsReset", { kind: "admin", id: "ops" }],
      ]);
    } finally {
      db.close();
    }
  });
});
