import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { readRequestEvents } from "./support/request-events-file.js";
import { waitFor } from "./support/wait-for.js";

type Json = Record<string, unknown>;

const adminToken = "e2e-websocket-admin-token-7f3e2d1c0b9a8f7e";
/** The gateway's shutdown grace period: open sessions get this long before 1001. */
const graceMs = 1_500;

interface EchoServer {
  url: string;
  server: Server;
  wss: WebSocketServer;
  /** Messages the upstream received, and close codes it saw. */
  received: number;
  closes: number[];
}

/** A real ws echo server on a free port: every message goes back as it came, text or binary. */
async function startEchoServer(): Promise<EchoServer> {
  const server = createServer((_request, response) => response.writeHead(426).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const echo: EchoServer = { url: "", server, wss, received: 0, closes: [] };
  wss.on("connection", (socket) => {
    socket.on("message", (data: RawData, isBinary: boolean) => {
      echo.received += 1;
      socket.send(data, { binary: isBinary });
    });
    socket.on("close", (code) => echo.closes.push(code));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  echo.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return echo;
}

function closedWith(client: WebSocket): Promise<{ code: number; reason: string; at: number }> {
  return new Promise((resolve) => client.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString(), at: performance.now() })));
}

/** Opens a client through the gateway; resolves with it once open, or with the refused handshake's status and body. */
function open(url: string, headers: Record<string, string>): Promise<{ client: WebSocket } | { status: number; contentType: string | undefined; body: Json }> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(url, { headers, perMessageDeflate: false });
    client.once("open", () => resolve({ client }));
    client.once("unexpected-response", (_request, response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, contentType: response.headers["content-type"], body: JSON.parse(Buffer.concat(chunks).toString()) as Json }));
    });
    client.once("error", reject);
  });
}

describe("WebSocket proxying through the gateway process (real control plane, gateway and ws upstream)", () => {
  let cp: ControlPlaneProcess;
  let gateway: GatewayProcess;
  let echo: EchoServer;
  let key = "";

  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${cp.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  beforeAll(async () => {
    echo = await startEchoServer();
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }] });
    gateway = await startGatewayProcess({
      config: {
        shutdownGraceMs: graceMs,
        eventStore: { kind: "sqlite", file: cp.eventsFile },
        upstreams: { echo: { targets: [echo.url] } },
        routes: [{ id: "chat", match: { pathPrefix: "/chat" }, upstream: "echo", auth: [{ type: "api-key" }], websocket: { enabled: true, idleTimeoutMs: 30_000 } }],
      },
    });
    expect((await admin("POST", "/admin/plans", { id: "realtime", name: "Realtime", routes: ["chat"] })).status).toBe(201);
    expect((await admin("POST", "/admin/consumers", { id: "acme", name: "Acme" })).status).toBe(201);
    expect((await admin("POST", "/admin/subscriptions", { id: "acme-rt", consumerId: "acme", planId: "realtime" })).status).toBe(201);
    const issued = await admin("POST", "/admin/consumers/acme/api-keys", { id: "acme-key", name: "prod" });
    expect(issued.status).toBe(201);
    key = issued.body.secret as string;
    // The key reaches the gateway through the log; wait until a handshake is admitted.
    await waitFor("the key to reach the gateway", async () => {
      const attempt = await open(`ws://127.0.0.1:${gateway.port}/chat/warmup`, { "x-api-key": key });
      if (!("client" in attempt)) return false;
      const closed = closedWith(attempt.client);
      attempt.client.close(1000);
      await closed;
      return true;
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.cleanup();
    await cp?.cleanup();
    if (echo !== undefined) {
      for (const socket of echo.wss.clients) socket.terminate();
      echo.wss.close();
      echo.server.close();
    }
  });

  it("answers an unauthenticated upgrade with 401 problem+json, and records it as RequestRejected", async () => {
    const refused = await open(`ws://127.0.0.1:${gateway.port}/chat/room`, {});
    expect(refused).toMatchObject({ status: 401, contentType: "application/problem+json", body: { code: "unauthorized", status: 401 } });
    const wrongKey = await open(`ws://127.0.0.1:${gateway.port}/chat/room`, { "x-api-key": "tg_live_not-a-real-key" });
    expect(wrongKey).toMatchObject({ status: 401 });
    // Only this test's path: the warm-up's first handshakes may have been refused too, before the key arrived.
    const rejected = await waitFor("the rejections in the log", () => {
      const events = readRequestEvents(cp.eventsFile).filter((event) => event.type === "RequestRejected" && (event.data as unknown as Json).path === "/chat/room");
      return events.length >= 2 ? events : null;
    });
    expect(rejected.map((event) => [(event.data as unknown as Json).stage, event.data.status])).toEqual([
      ["auth", 401],
      ["auth", 401],
    ]);
  });

  it("echoes 1,000 messages in both directions and records the session once, at close, with the counts", async () => {
    const opened = await open(`ws://127.0.0.1:${gateway.port}/chat/room-1`, { "x-api-key": key });
    if (!("client" in opened)) throw new Error(`handshake refused: ${JSON.stringify(opened)}`);
    const { client } = opened;
    const count = 1_000;
    const replies: string[] = [];
    let binaryReplies = 0;
    client.on("message", (data: RawData, isBinary: boolean) => {
      if (isBinary) binaryReplies += 1;
      else replies.push((data as Buffer).toString("utf8"));
    });
    const sessionsBefore = readRequestEvents(cp.eventsFile).filter((event) => event.data.status === 101).length;
    let bytesSent = 0;
    for (let index = 0; index < count; index++) {
      if (index % 10 === 9) {
        const payload = Buffer.alloc(64, index % 256);
        bytesSent += payload.length;
        client.send(payload, { binary: true });
      } else {
        const text = `message ${index}`;
        bytesSent += Buffer.byteLength(text);
        client.send(text);
      }
    }
    await waitFor("every echo", () => replies.length + binaryReplies >= count, 20_000);
    expect(replies.length).toBe(900);
    expect(binaryReplies).toBe(100);
    expect(replies.slice(0, 3)).toEqual(["message 0", "message 1", "message 2"]);
    expect(echo.received).toBeGreaterThanOrEqual(count);
    // No event while the session is open: it is recorded once, when it closes.
    expect(readRequestEvents(cp.eventsFile).filter((event) => event.data.status === 101)).toHaveLength(sessionsBefore);

    const closed = closedWith(client);
    client.close(4000, "done");
    expect((await closed).code).toBe(4000);
    const session = await waitFor("the session's event", () => {
      const sessions = readRequestEvents(cp.eventsFile).filter((event) => event.data.status === 101 && (event.data as unknown as Json).path === "/chat/room-1");
      return sessions.length > 0 ? sessions : null;
    });
    expect(session).toHaveLength(1);
    expect(session[0]?.type).toBe("RequestCompleted");
    expect(session[0]?.data).toMatchObject({
      routeId: "chat",
      consumerId: "acme",
      credentialId: "acme-key",
      planId: "realtime",
      subscriptionId: "acme-rt",
      upstream: echo.url,
      bytesIn: bytesSent,
      bytesOut: bytesSent,
      websocket: { messagesFromClient: count, messagesFromUpstream: count, bytesFromClient: bytesSent, bytesFromUpstream: bytesSent, closeCode: 4000, closedBy: "client" },
    });
  });

  it("on SIGTERM, closes an open session with 1001 once the grace period is over, and the session's event reaches the log", async () => {
    const opened = await open(`ws://127.0.0.1:${gateway.port}/chat/last`, { "x-api-key": key });
    if (!("client" in opened)) throw new Error(`handshake refused: ${JSON.stringify(opened)}`);
    const { client } = opened;
    client.send("before shutdown");
    await once(client, "message");
    const closed = closedWith(client);
    const signalledAt = performance.now();
    const exited = gateway.stop();
    // Still open during the grace period: messages keep flowing.
    client.send("during the grace period");
    const [reply] = (await once(client, "message")) as [Buffer];
    expect(reply.toString()).toBe("during the grace period");
    const { code, reason, at } = await closed;
    expect(code).toBe(1001);
    expect(reason).toBe("gateway shutting down");
    expect(at - signalledAt).toBeGreaterThanOrEqual(graceMs - 100);
    expect(await exited).toBe(0);
    const session = readRequestEvents(cp.eventsFile).filter((event) => (event.data as unknown as Json).path === "/chat/last");
    expect(session).toHaveLength(1);
    expect(session[0]?.data).toMatchObject({ status: 101, websocket: { messagesFromClient: 2, messagesFromUpstream: 2, closeCode: 1001, closedBy: "gateway" } });
    expect(echo.closes.at(-1)).toBe(1001);
  });
});
