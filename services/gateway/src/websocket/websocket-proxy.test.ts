import type { IncomingHttpHeaders } from "node:http";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import type { RequestCompleted, RequestEvent } from "@tollgate/events";
import type { GatewayConfigInput } from "../config/gateway-config.js";
import { ControlPlaneFixture } from "../test-support/control-plane-fixture.js";
import { rawExchange, firstBody } from "../test-support/raw-http.js";
import { startGateway, type TestGateway } from "../test-support/start-gateway.js";
import { startUpstream, type TestUpstream } from "../test-support/upstream-server.js";

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface EchoUpstream {
  http: TestUpstream;
  wss: WebSocketServer;
  /** Handshake headers of every WebSocket connection the upstream accepted. */
  handshakes: { url: string; headers: IncomingHttpHeaders }[];
  /** The upstream side of every connection, in order. */
  sockets: WebSocket[];
  /** Close codes the upstream received, in order. */
  closes: number[];
}

/** A real node:http upstream with a ws echo server on the same port. */
async function startEchoUpstream(): Promise<EchoUpstream> {
  const http = await startUpstream();
  const wss = new WebSocketServer({ server: http.server, perMessageDeflate: false, handleProtocols: (offered) => (offered.has("chat.v2") ? "chat.v2" : false) });
  const upstream: EchoUpstream = { http, wss, handshakes: [], sockets: [], closes: [] };
  wss.on("connection", (socket, request) => {
    upstream.handshakes.push({ url: request.url ?? "", headers: request.headers });
    upstream.sockets.push(socket);
    socket.on("message", (data: RawData, isBinary: boolean) => {
      const text = isBinary ? "" : Buffer.from(data as Buffer).toString("utf8");
      if (text === "please close") socket.close(4002, "upstream says bye");
      else socket.send(data, { binary: isBinary });
    });
    socket.on("close", (code) => upstream.closes.push(code));
  });
  cleanups.push(async () => {
    for (const socket of wss.clients) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await http.close();
  });
  return upstream;
}

interface Setup {
  gw: TestGateway;
  upstream: EchoUpstream;
  fixture: ControlPlaneFixture;
  key: string;
}

async function setup(websocket: Record<string, unknown> = {}, config: Partial<GatewayConfigInput> = {}): Promise<Setup> {
  const upstream = await startEchoUpstream();
  const fixture = new ControlPlaneFixture().plan("chat-plan", { routes: ["chat"] }).plan("other", { routes: ["open"] }).consumer("acme").consumer("bob");
  const key = fixture.issueKey("cred-1", "acme");
  fixture.subscribe("sub-1", "acme", "chat-plan");
  const gw = await startGateway({
    identity: fixture.index,
    config: {
      upstreams: { api: { targets: [upstream.http.origin] } },
      routes: [
        { id: "chat", match: { pathPrefix: "/chat" }, upstream: "api", auth: [{ type: "api-key" }], websocket: { enabled: true, ...websocket } },
        { id: "open", match: { pathPrefix: "/open" }, upstream: "api", websocket: { enabled: true, ...websocket } },
        { id: "plain", match: { pathPrefix: "/plain" }, upstream: "api" },
      ],
      ...config,
    },
  });
  cleanups.push(() => gw.close());
  return { gw, upstream, fixture, key };
}

/** Opens a client WebSocket through the gateway; resolves once open. */
async function connect(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<WebSocket> {
  const client = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {}, perMessageDeflate: false });
  cleanups.push(async () => {
    if (client.readyState !== client.CLOSED) {
      client.terminate();
      await once(client, "close");
    }
  });
  await once(client, "open");
  return client;
}

function closed(client: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => client.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

function handshakeRequest(path: string, headers: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    "Host: gw.test",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

function lastEvent(gw: TestGateway): RequestEvent {
  const event = gw.recorder.events.at(-1);
  if (event === undefined) throw new Error("no event recorded");
  return event;
}

describe("WebSocket proxying: the handshake", () => {
  it("refuses an upgrade without credentials with 401 problem+json on the raw socket, and records it", async () => {
    const { gw, upstream } = await setup();
    const answer = await rawExchange(gw.port, handshakeRequest("/chat/room"));
    expect(answer.statuses).toEqual([401]);
    expect(answer.text).toMatch(/content-type: application\/problem\+json/i);
    expect(answer.text).toMatch(/www-authenticate: ApiKey realm="tollgate"/i);
    expect(firstBody(answer)).toMatchObject({ code: "unauthorized", status: 401, detail: "no credentials in the request" });
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestRejected", data: { routeId: "chat", status: 401, stage: "auth", method: "GET", path: "/chat/room" } });
    expect(upstream.handshakes).toHaveLength(0);
  });

  it("refuses a consumer whose plan does not cover the route with 403", async () => {
    const { gw, fixture } = await setup();
    const bobKey = fixture.issueKey("cred-2", "bob");
    fixture.subscribe("sub-2", "bob", "other");
    const answer = await rawExchange(gw.port, handshakeRequest("/chat", { "x-api-key": bobKey }));
    expect(answer.statuses).toEqual([403]);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestRejected", data: { status: 403, stage: "authz", consumerId: "bob" } });
    expect(JSON.stringify(event)).not.toContain(bobKey);
  });

  it("refuses an upgrade over the plan's rate limit with 429 and the limit's headers", async () => {
    const upstream = await startEchoUpstream();
    const fixture = new ControlPlaneFixture()
      .plan("tight", { routes: ["chat"], rateLimits: [{ name: "per-minute", points: 1, windowSeconds: 60, algorithm: "fixed-window" }] })
      .consumer("acme");
    const key = fixture.issueKey("cred-1", "acme");
    fixture.subscribe("sub-1", "acme", "tight");
    const gw = await startGateway({
      identity: fixture.index,
      config: {
        upstreams: { api: { targets: [upstream.http.origin] } },
        routes: [{ id: "chat", match: { pathPrefix: "/chat" }, upstream: "api", auth: [{ type: "api-key" }], websocket: { enabled: true } }],
      },
    });
    cleanups.push(() => gw.close());
    const first = await connect(`ws://127.0.0.1:${gw.port}/chat`, { headers: { "x-api-key": key } });
    first.close(1000);
    const answer = await rawExchange(gw.port, handshakeRequest("/chat", { "x-api-key": key }));
    expect(answer.statuses).toEqual([429]);
    expect(answer.text).toMatch(/retry-after: \d+/i);
    expect(firstBody(answer)).toMatchObject({ status: 429, limit: "per-minute" });
    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => [event.type, event.data.status])).toEqual(
      expect.arrayContaining([
        ["RequestRejected", 429],
        ["RequestCompleted", 101],
      ]),
    );
  });

  it("refuses a malformed handshake with 400 and an event, before any policy", async () => {
    const { gw } = await setup();
    const answer = await rawExchange(gw.port, handshakeRequest("/open", { "Sec-WebSocket-Version": "12" }).replace("Sec-WebSocket-Version: 13\r\n", ""));
    expect(answer.statuses).toEqual([400]);
    expect(firstBody(answer)).toMatchObject({ code: "websocket-handshake-invalid" });
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestRejected", data: { status: 400, stage: "validation" } });
  });

  it("answers 502 and records RequestFailed when the upstream refuses the connection", async () => {
    const upstream = await startEchoUpstream();
    const origin = upstream.http.origin;
    const gw = await startGateway({
      config: {
        upstreams: { api: { targets: [origin] } },
        routes: [{ id: "open", match: { pathPrefix: "/open" }, upstream: "api", websocket: { enabled: true } }],
      },
    });
    cleanups.push(() => gw.close());
    await upstream.http.close();
    const answer = await rawExchange(gw.port, handshakeRequest("/open"));
    expect(answer.statuses).toEqual([502]);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { status: 502, error: "upstream-error", upstream: origin, attempts: 1 } });
  });

  it("proxies an upgrade on a route without websocket, and an h2c upgrade, as plain HTTP requests", async () => {
    const { gw, upstream } = await setup();
    const plain = await rawExchange(gw.port, handshakeRequest("/plain/x"));
    expect(plain.statuses).toEqual([200]);
    const h2c = await rawExchange(gw.port, "GET /open/y HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n");
    expect(h2c.statuses).toEqual([200]);
    const seen = upstream.http.requests.map((request) => [request.url, request.headers.upgrade, request.headers["http2-settings"]]);
    expect(seen).toEqual([
      ["/plain/x", undefined, undefined],
      ["/open/y", undefined, undefined],
    ]);
    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => [event.type, event.data.routeId, event.data.status])).toEqual([
      ["RequestCompleted", "plain", 200],
      ["RequestCompleted", "open", 200],
    ]);
    expect(upstream.handshakes).toHaveLength(0);
  });

  it("hands an upgrade the router does not match to the request path (404 with its event)", async () => {
    const { gw } = await setup();
    const answer = await rawExchange(gw.port, handshakeRequest("/nowhere"));
    expect(answer.statuses).toEqual([404]);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestRejected", data: { stage: "route", status: 404 } });
  });
});

describe("WebSocket proxying: the session", () => {
  it("relays text and binary both ways, tells the upstream who called, and records one event with the counts at close", async () => {
    const { gw, upstream, key } = await setup();
    const client = await connect(`ws://127.0.0.1:${gw.port}/chat/room?x=1`, { headers: { "x-api-key": key, "x-consumer-id": "mallory" }, protocols: ["chat.v1", "chat.v2"] });
    expect(client.protocol).toBe("chat.v2");
    const received: { data: string; binary: boolean }[] = [];
    client.on("message", (data: RawData, isBinary: boolean) => received.push({ data: (data as Buffer).toString(isBinary ? "hex" : "utf8"), binary: isBinary }));
    client.send("hello");
    client.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    client.send("héllo");
    while (received.length < 3) await once(client, "message");
    expect(received).toEqual([
      { data: "hello", binary: false },
      { data: "000102ff", binary: true },
      { data: "héllo", binary: false },
    ]);
    const [handshake] = upstream.handshakes;
    expect(handshake?.url).toBe("/chat/room?x=1");
    expect(handshake?.headers["x-consumer-id"]).toBe("acme");
    expect(handshake?.headers["x-plan-id"]).toBe("chat-plan");
    expect(handshake?.headers["x-api-key"]).toBeUndefined();
    expect(handshake?.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(handshake?.headers["sec-websocket-protocol"]).toBe("chat.v1,chat.v2");
    expect(gw.recorder.events).toHaveLength(0);

    const clientClosed = closed(client);
    client.close(4001, "done");
    expect(await clientClosed).toEqual({ code: 4001, reason: "done" });
    const [event] = await gw.recorder.waitFor(1);
    expect(upstream.closes).toEqual([4001]);
    const bytes = 5 + 4 + Buffer.byteLength("héllo");
    expect(event).toMatchObject({
      type: "RequestCompleted",
      data: {
        routeId: "chat",
        status: 101,
        consumerId: "acme",
        credentialId: "cred-1",
        planId: "chat-plan",
        subscriptionId: "sub-1",
        upstream: upstream.http.origin,
        bytesIn: bytes,
        bytesOut: bytes,
        websocket: { messagesFromClient: 3, messagesFromUpstream: 3, bytesFromClient: bytes, bytesFromUpstream: bytes, closeCode: 4001, closedBy: "client" },
      },
    });
  });

  it("passes the upstream's close code to the client", async () => {
    const { gw, upstream } = await setup();
    const client = await connect(`ws://127.0.0.1:${gw.port}/open`);
    const clientClosed = closed(client);
    client.send("please close");
    expect(await clientClosed).toEqual({ code: 4002, reason: "upstream says bye" });
    const [event] = await gw.recorder.waitFor(1);
    expect((event as RequestCompleted).data.websocket).toMatchObject({ messagesFromClient: 1, messagesFromUpstream: 0, closeCode: 4002, closedBy: "upstream" });
    expect(upstream.closes).toEqual([4002]);
  });

  it("closes an idle session with 1001", async () => {
    const { gw, upstream } = await setup({ idleTimeoutMs: 1_000 });
    const client = await connect(`ws://127.0.0.1:${gw.port}/open`);
    const started = Date.now();
    const { code, reason } = await closed(client);
    expect(code).toBe(1001);
    expect(reason).toBe("idle timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const [event] = await gw.recorder.waitFor(1);
    expect((event as RequestCompleted).data.websocket).toMatchObject({ closeCode: 1001, closedBy: "gateway" });
    await expect.poll(() => upstream.closes).toEqual([1001]);
  });

  it("keeps a session that exchanges messages past its idle timeout, and ends it with 1000 at its maximum lifetime", async () => {
    const { gw } = await setup({ idleTimeoutMs: 1_000, maxLifetimeMs: 2_500 });
    const client = await connect(`ws://127.0.0.1:${gw.port}/open`);
    const started = Date.now();
    const ticker = setInterval(() => client.readyState === client.OPEN && client.send("tick"), 200);
    const { code, reason } = await closed(client);
    clearInterval(ticker);
    expect(code).toBe(1000);
    expect(reason).toBe("maximum session lifetime reached");
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
    const [event] = await gw.recorder.waitFor(1);
    expect((event as RequestCompleted).data.websocket?.messagesFromClient).toBeGreaterThan(5);
  });

  it("closes with 1009 when a message is larger than maxMessageBytes", async () => {
    const { gw, upstream } = await setup({ maxMessageBytes: 1_024 });
    const client = await connect(`ws://127.0.0.1:${gw.port}/open`);
    const clientClosed = closed(client);
    client.send(Buffer.alloc(2_048, 1));
    expect((await clientClosed).code).toBe(1009);
    const [event] = await gw.recorder.waitFor(1);
    expect((event as RequestCompleted).data.websocket).toMatchObject({ messagesFromClient: 0, closeCode: 1009, closedBy: "gateway" });
    await expect.poll(() => upstream.closes).toEqual([1009]);
  });

  it("stops reading the upstream while the client does not read (backpressure), and delivers everything once it does", async () => {
    const { gw, upstream } = await setup();
    const client = await connect(`ws://127.0.0.1:${gw.port}/open`);
    const messages = 48;
    const size = 1_048_576;
    let received = 0;
    client.on("message", () => void (received += 1));
    client.pause();
    await expect.poll(() => upstream.sockets.length).toBe(1);
    const upstreamSide = upstream.sockets[0] as WebSocket;
    const payload = Buffer.alloc(size, 7);
    for (let index = 0; index < messages; index++) upstreamSide.send(payload, { binary: true });
    // The gateway holds at most its high-water mark plus the sockets' buffers; the rest
    // stays queued at the sender, and keeps staying there while the client does not read.
    await expect.poll(() => upstreamSide.bufferedAmount, { timeout: 5_000 }).toBeGreaterThan((messages - 8) * size);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(upstreamSide.bufferedAmount).toBeGreaterThan((messages - 8) * size);
    expect(received).toBe(0);
    client.resume();
    await expect.poll(() => received, { timeout: 10_000 }).toBe(messages);
    expect(upstreamSide.bufferedAmount).toBe(0);
    client.close(1000);
    const [event] = await gw.recorder.waitFor(1);
    expect((event as RequestCompleted).data.websocket).toMatchObject({ messagesFromUpstream: messages, bytesFromUpstream: messages * size });
  });
});

describe("WebSocket proxying: shutdown", () => {
  it("closes open sessions with 1001 once the grace period is over, and records them", async () => {
    const { gw } = await setup({}, { shutdownGraceMs: 600 });
    const client = await connect(`ws://127.0.0.1:${gw.port}/open`);
    client.send("still here");
    await once(client, "message");
    const started = Date.now();
    const clientClosed = closed(client);
    const stopped = gw.gateway.shutdown();
    const { code } = await clientClosed;
    expect(code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    await stopped;
    expect(lastEvent(gw)).toMatchObject({ type: "RequestCompleted", data: { status: 101, websocket: { closeCode: 1001, closedBy: "gateway", messagesFromClient: 1 } } });
  });
});
