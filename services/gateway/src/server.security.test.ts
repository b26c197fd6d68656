import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { problemContentType } from "./errors/problem-response.js";
import { firstBody, rawExchange } from "./test-support/raw-http.js";
import { demoRoute, startGateway, type TestGateway } from "./test-support/start-gateway.js";
import { startUpstream, type TestUpstream } from "./test-support/upstream-server.js";

/**
 * Attacks on the gateway's edge, spoken over raw sockets because no well-behaved
 * client would send them. Each test is named after the attack. "Refused" means a
 * 400 (or the connection closed) and, always, that the upstream never saw a request
 * the client smuggled.
 */

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(config: Parameters<typeof demoRoute>[1] = {}): Promise<{ gw: TestGateway; upstream: TestUpstream }> {
  const upstream = await startUpstream();
  cleanups.push(() => upstream.close());
  const gw = await startGateway({ config: demoRoute(upstream.origin, config) });
  cleanups.push(() => gw.close());
  return { gw, upstream };
}

function lines(...parts: string[]): string {
  return parts.join("\r\n");
}

/** The gateway still answers a normal request after whatever came before. */
async function expectAlive(gw: TestGateway): Promise<void> {
  const exchange = await rawExchange(gw.port, lines("GET /demo/alive HTTP/1.1", "Host: gw.test", "Connection: close", "", ""));
  expect(exchange.statuses).toEqual([200]);
}

describe("request smuggling", () => {
  const smuggled = lines("GET /demo/smuggled HTTP/1.1", "Host: gw.test", "Connection: close", "", "");

  it.each([
    ["CL.TE: Content-Length then Transfer-Encoding", lines("POST /demo HTTP/1.1", "Host: gw.test", "Content-Length: 4", "Transfer-Encoding: chunked", "", "0", "", "")],
    ["TE.CL: Transfer-Encoding then Content-Length", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: chunked", "Content-Length: 4", "", "0", "", "")],
    ["Transfer-Encoding: chunked, identity", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: chunked, identity", "", "0", "", "")],
    ["Transfer-Encoding: identity, chunked", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: identity, chunked", "", "0", "", "")],
    ["Transfer-Encoding: gzip, chunked", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: gzip, chunked", "", "0", "", "")],
    ["Transfer-Encoding: Chunked (case obfuscation)", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: Chunked", "", "0", "", "")],
    ["Transfer-Encoding: xchunked", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: xchunked", "", "0", "", "")],
    ["two Transfer-Encoding lines", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked", "", "0", "", "")],
    ["Transfer-Encoding in an HTTP/1.0 request", lines("POST /demo HTTP/1.0", "Host: gw.test", "Transfer-Encoding: chunked", "", "0", "", "")],
    ["a space before the colon (Content-Length : 5)", lines("POST /demo HTTP/1.1", "Host: gw.test", "Content-Length : 5", "", "hello")],
    ["a space before the colon (Transfer-Encoding : chunked)", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding : chunked", "", "0", "", "")],
    ["duplicate Content-Length with equal values", lines("POST /demo HTTP/1.1", "Host: gw.test", "Content-Length: 5", "Content-Length: 5", "", "hello")],
    ["duplicate Content-Length with different values", lines("POST /demo HTTP/1.1", "Host: gw.test", "Content-Length: 5", "Content-Length: 37", "", "hello")],
    ["Content-Length as a list (5, 5)", lines("POST /demo HTTP/1.1", "Host: gw.test", "Content-Length: 5, 5", "", "hello")],
    ["Content-Length with a sign (+5)", lines("POST /demo HTTP/1.1", "Host: gw.test", "Content-Length: +5", "", "hello")],
    ["obs-fold header continuation", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding:", " chunked", "", "0", "", "")],
    ["bare LF line endings", "POST /demo HTTP/1.1\nHost: gw.test\nContent-Length: 5\n\nhello"],
    ["a chunk size with a bare LF", lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: chunked", "", "5\nhello", "0", "", "")],
  ])("%s is refused and the smuggled request never reaches the upstream", async (_attack, head) => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, head + smuggled);

    expect(exchange.statuses.length).toBeLessThanOrEqual(1);
    if (exchange.statuses.length === 1) {
      expect(exchange.statuses[0]).toBe(400);
      expect(exchange.text).toMatch(/\r\nconnection: close\r\n/i);
      expect(exchange.text).toContain(`content-type: ${problemContentType}`);
    }
    expect(upstream.requests).toHaveLength(0);
    await expectAlive(gw);
  });

  it("framing refused after parsing is recorded as a rejection at the headers stage", async () => {
    const { gw } = await setup();

    const exchange = await rawExchange(gw.port, lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: gzip, chunked", "", "0", "", ""));

    expect(firstBody(exchange)).toMatchObject({ code: "invalid-framing", status: 400 });
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestRejected", data: { stage: "headers", status: 400, path: "/demo" } });
  });

  it("a request pipelined behind a refused one is refused too, never forwarded", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines("POST /demo HTTP/1.1", "Host: gw.test", "Transfer-Encoding: identity, chunked", "", "0", "", "") + smuggled);

    expect(exchange.statuses).toEqual([400]);
    expect(upstream.requests).toHaveLength(0);
    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => [event.type, event.data.path, event.data.status])).toEqual([
      ["RequestRejected", "/demo", 400],
      ["RequestRejected", "/demo/smuggled", 400],
    ]);
    expect(gw.gateway.inFlight).toBe(0);
  });

  it("a body that looks like a request stays a body when the route is unknown", async () => {
    const { gw, upstream } = await setup();
    const hidden = lines("GET /demo/smuggled HTTP/1.1", "Host: gw.test", "", "");

    const exchange = await rawExchange(
      gw.port,
      lines("POST /unknown HTTP/1.1", "Host: gw.test", `Content-Length: ${hidden.length}`, "", hidden) + lines("GET /demo/next HTTP/1.1", "Host: gw.test", "Connection: close", "", ""),
    );

    expect(exchange.statuses).toEqual([404, 200]);
    expect(upstream.requests.map((received) => received.url)).toEqual(["/demo/next"]);
  });

  it("pipelined requests are answered in order, each forwarded once", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines("GET /demo/1 HTTP/1.1", "Host: gw.test", "", "") + lines("GET /demo/2 HTTP/1.1", "Host: gw.test", "Connection: close", "", ""));

    expect(exchange.statuses).toEqual([200, 200]);
    expect(upstream.requests.map((received) => received.url)).toEqual(["/demo/1", "/demo/2"]);
  });
});

describe("Host and request-target", () => {
  it("a missing Host header is refused with 400 problem+json and recorded", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "", ""));

    expect(exchange.statuses).toEqual([400]);
    expect(firstBody(exchange)).toMatchObject({ code: "invalid-host" });
    expect(upstream.requests).toHaveLength(0);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestRejected", data: { stage: "headers", status: 400 } });
  });

  it("two Host headers are refused", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "Host: gw.test", "Host: evil.test", "", ""));

    expect(exchange.statuses).toEqual([400]);
    expect(upstream.requests).toHaveLength(0);
  });

  it("a Host header with an invalid value is refused", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "Host: evil.test/admin?x", "", ""));

    expect(exchange.statuses).toEqual([400]);
    expect(upstream.requests).toHaveLength(0);
  });

  it("a Host header naming another service cannot redirect traffic to it", async () => {
    const evil = await startUpstream();
    cleanups.push(() => evil.close());
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines("GET /demo/x HTTP/1.1", `Host: 127.0.0.1:${evil.port}`, "Connection: close", "", ""));

    expect(exchange.statuses).toEqual([200]);
    expect(evil.requests).toHaveLength(0);
    expect(upstream.requests[0]?.headers.host).toBe(`127.0.0.1:${upstream.port}`);
  });

  it("an absolute-form URI naming another service cannot redirect traffic to it", async () => {
    const evil = await startUpstream();
    cleanups.push(() => evil.close());
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines(`GET http://127.0.0.1:${evil.port}/demo/x?q=1 HTTP/1.1`, "Host: gw.test", "Connection: close", "", ""));

    expect(exchange.statuses).toEqual([200]);
    expect(evil.requests).toHaveLength(0);
    expect(upstream.requests[0]?.url).toBe("/demo/x?q=1");
    expect(upstream.requests[0]?.headers.host).toBe(`127.0.0.1:${upstream.port}`);
  });

  it("an absolute-form URI's authority picks among configured routes only (RFC 9112 3.2.2)", async () => {
    const upstream = await startUpstream();
    cleanups.push(() => upstream.close());
    const gw = await startGateway({
      config: {
        upstreams: { demo: { targets: [upstream.origin] } },
        routes: [{ id: "shop", match: { pathPrefix: "/", hosts: ["shop.example.com"] }, upstream: "demo" }],
      },
    });
    cleanups.push(() => gw.close());

    const routed = await rawExchange(gw.port, lines("GET http://shop.example.com/x HTTP/1.1", "Host: other.test", "Connection: close", "", ""));
    const unrouted = await rawExchange(gw.port, lines("GET http://other.test/x HTTP/1.1", "Host: shop.example.com", "Connection: close", "", ""));

    expect(routed.statuses).toEqual([200]);
    expect(unrouted.statuses).toEqual([404]);
  });

  it.each([
    ["a non-HTTP scheme", "GET ftp://gw.test/demo HTTP/1.1"],
    ["credentials in the authority", "GET http://user:pass@gw.test/demo HTTP/1.1"],
    ["asterisk-form outside OPTIONS", "GET * HTTP/1.1"],
    ["OPTIONS *", "OPTIONS * HTTP/1.1"],
  ])("a request-target with %s is refused", async (_attack, requestLine) => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines(requestLine, "Host: gw.test", "Connection: close", "", ""));

    expect(exchange.statuses.length).toBeLessThanOrEqual(1);
    if (exchange.statuses.length === 1) expect(exchange.statuses[0]).toBe(400);
    expect(upstream.requests).toHaveLength(0);
  });

  it("a CONNECT tunnel request is refused by closing the connection", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines(`CONNECT 127.0.0.1:${upstream.port} HTTP/1.1`, `Host: 127.0.0.1:${upstream.port}`, "", ""));

    expect(exchange.statuses).toEqual([]);
    expect(upstream.connections).toBe(0);
    await expectAlive(gw);
  });
});

describe("path traversal", () => {
  it.each([
    ["/demo/../../etc/passwd"],
    ["/demo/%2e%2e/%2e%2e/etc/passwd"],
    ["/demo/.%2E/.%2e/etc/passwd"],
    ["/demo%2F..%2F..%2Fetc%2Fpasswd"],
    ["/demo/..%5C..%5Cetc"],
    ["/demo\\..\\..\\etc"],
    ["/demo/%00/x"],
    ["/demo/..;/admin"],
  ])("%s is refused with 400 and never forwarded", async (path) => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines(`GET ${path} HTTP/1.1`, "Host: gw.test", "Connection: close", "", ""));

    expect(exchange.statuses).toEqual([400]);
    expect(upstream.requests).toHaveLength(0);
  });

  it("a traversal into another route's prefix is routed where it lands, never where it started", async () => {
    const upstream = await startUpstream();
    cleanups.push(() => upstream.close());
    const gw = await startGateway({
      config: {
        upstreams: { demo: { targets: [upstream.origin] } },
        routes: [{ id: "public", match: { pathPrefix: "/public" }, upstream: "demo" }],
      },
    });
    cleanups.push(() => gw.close());

    const exchange = await rawExchange(gw.port, lines("GET /public/%2e%2e/admin HTTP/1.1", "Host: gw.test", "Connection: close", "", ""));

    expect(exchange.statuses).toEqual([404]);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe("hop-by-hop headers", () => {
  it("hop-by-hop request headers, including those named in Connection, never reach the upstream", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(
      gw.port,
      lines(
        "GET /demo HTTP/1.1",
        "Host: gw.test",
        "X-Hop-Secret: internal",
        "Connection: close, X-Hop-Secret, X-Other-Hop",
        "Keep-Alive: timeout=5",
        "Proxy-Connection: keep-alive",
        "TE: trailers",
        "Trailer: X-Checksum",
        "Upgrade: websocket",
        "Proxy-Authorization: Basic cHJveHk6c2VjcmV0",
        "X-Other-Hop: also",
        "Expect: 100-continue",
        "X-End-To-End: kept",
        "",
        "",
      ),
    );

    expect(exchange.statuses[exchange.statuses.length - 1]).toBe(200);
    const headers = upstream.requests[0]?.headers ?? {};
    for (const name of ["x-hop-secret", "x-other-hop", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authorization", "expect"]) {
      expect(headers, name).not.toHaveProperty(name);
    }
    expect(headers.connection).not.toMatch(/x-hop-secret|upgrade/i);
    expect(headers["x-end-to-end"]).toBe("kept");
  });

  it("naming X-Forwarded-For or X-Request-Id in Connection cannot strip the gateway's own headers", async () => {
    const { gw, upstream } = await setup();

    await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "Host: gw.test", "Connection: close, X-Forwarded-For, X-Request-Id, Via", "X-Request-Id: chosen-by-client", "", ""));

    expect(upstream.requests[0]?.headers).toMatchObject({ "x-forwarded-for": "127.0.0.1", "x-request-id": "req-1", via: "1.1 tollgate" });
  });

  it("hop-by-hop response headers, including those the upstream names in Connection, never reach the client", async () => {
    const upstream = await startUpstream((_req, res) => {
      res.setHeader("Connection", "X-Internal-Token");
      res.setHeader("X-Internal-Token", "upstream-secret");
      res.setHeader("Proxy-Authenticate", "Basic");
      res.setHeader("Trailer", "X-Checksum");
      res.setHeader("Upgrade", "h2c");
      res.setHeader("X-Request-Id", "upstream-chosen");
      res.setHeader("X-Public", "yes");
      res.end("ok");
    });
    cleanups.push(() => upstream.close());
    const gw = await startGateway({ config: demoRoute(upstream.origin) });
    cleanups.push(() => gw.close());

    const exchange = await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "Host: gw.test", "Connection: close", "", ""));

    expect(exchange.statuses).toEqual([200]);
    expect(exchange.text).not.toMatch(/upstream-secret|x-internal-token|proxy-authenticate|trailer:|upgrade:|upstream-chosen/i);
    expect(exchange.text).toMatch(/\r\nx-public: yes\r\n/i);
    expect(exchange.text).toMatch(/\r\nx-request-id: req-1\r\n/i);
  });

  it("an Upgrade request is not tunnelled: the upstream sees a plain request", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(
      gw.port,
      lines("GET /demo/ws HTTP/1.1", "Host: gw.test", "Connection: Upgrade, close", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "", ""),
    );

    expect(exchange.statuses).toEqual([200]);
    expect(upstream.requests[0]?.headers).not.toHaveProperty("upgrade");
  });
});

describe("forwarded client address", () => {
  it("X-Forwarded-For spoofing: a client's X-Forwarded-For, Forwarded and X-Real-IP are not trusted by default", async () => {
    const { gw, upstream } = await setup();

    await rawExchange(
      gw.port,
      lines(
        "GET /demo HTTP/1.1",
        "Host: gw.test",
        "X-Forwarded-For: 10.0.0.1",
        "X-Forwarded-Proto: https",
        "X-Forwarded-Host: admin.internal",
        "Forwarded: for=10.0.0.1",
        "X-Real-IP: 10.0.0.1",
        "Connection: close",
        "",
        "",
      ),
    );

    expect(upstream.requests[0]?.headers).toMatchObject({ "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "x-forwarded-host": "gw.test" });
    expect(upstream.requests[0]?.headers).not.toHaveProperty("forwarded");
    expect(upstream.requests[0]?.headers).not.toHaveProperty("x-real-ip");
    const [event] = await gw.recorder.waitFor(1);
    expect(event?.data.clientIp).toBe("127.0.0.1");
  });

  it("a trusted peer's X-Forwarded-For is appended to and names the client", async () => {
    const { gw, upstream } = await setup({ trustProxy: ["127.0.0.1/32"] });

    await rawExchange(
      gw.port,
      lines("GET /demo HTTP/1.1", "Host: gw.test", "X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https", "Forwarded: for=203.0.113.7", "Connection: close", "", ""),
    );

    expect(upstream.requests[0]?.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.7, 127.0.0.1",
      "x-forwarded-proto": "https",
      forwarded: "for=203.0.113.7",
    });
    const [event] = await gw.recorder.waitFor(1);
    expect(event?.data.clientIp).toBe("203.0.113.7");
  });
});

describe("hostile headers", () => {
  it("a request head larger than the limit gets 431, and the server keeps serving", async () => {
    const { gw, upstream } = await setup({ limits: { maxHeaderBytes: 4_096 } });

    const exchange = await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "Host: gw.test", `X-Big: ${"a".repeat(8_000)}`, "", ""));

    expect(exchange.statuses).toEqual([431]);
    expect(firstBody(exchange)).toMatchObject({ code: "headers-too-large", status: 431 });
    expect(upstream.requests).toHaveLength(0);
    await expectAlive(gw);
  });

  it.each([
    ["a NUL byte in a header value", "X-Evil: a\u0000b"],
    ["a bare CR in a header value", "X-Evil: a\rb"],
    ["a header name with a space", "X Evil: a"],
    ["a header without a colon", "X-Evil"],
    ["a header name with non-token bytes", "X-\u00e9vil: a"],
    ["a control character in a header value", "X-Evil: a\u0001b"],
  ])("%s does not crash the server", async (_attack, header) => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "Host: gw.test", header, "", ""));

    expect(exchange.statuses.every((status) => status === 400)).toBe(true);
    expect(upstream.requests).toHaveLength(0);
    await expectAlive(gw);
  });

  it("thousands of small headers and non-ASCII header values are forwarded without harm", async () => {
    const { gw, upstream } = await setup({ limits: { maxHeaderBytes: 65_536 } });
    const many = Array.from({ length: 1_000 }, (_, index) => `X-H${index}: ${index}`);

    const exchange = await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "Host: gw.test", ...many, "X-Latin: caf\u00e9", "Connection: close", "", ""));

    expect(exchange.statuses).toEqual([200]);
    expect(upstream.requests[0]?.rawHeaders).toContain("caf\u00e9");
    await expectAlive(gw);
  });

  it("an X-Request-Id carrying injection is replaced by a generated id", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, lines("GET /demo HTTP/1.1", "Host: gw.test", 'X-Request-Id: abc"}, {"admin": true', "Connection: close", "", ""));

    expect(exchange.text).toMatch(/\r\nx-request-id: req-1\r\n/i);
    expect(upstream.requests[0]?.headers["x-request-id"]).toBe("req-1");
  });

  it("garbage instead of a request line gets 400 and a closed connection", async () => {
    const { gw, upstream } = await setup();

    const exchange = await rawExchange(gw.port, "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003 not http at all\r\n\r\n");

    expect(exchange.statuses.every((status) => status === 400)).toBe(true);
    expect(upstream.requests).toHaveLength(0);
    await expectAlive(gw);
  });

  it("slow loris: a request head not completed in time gets 408 and the connection is closed", async () => {
    const { gw } = await setup({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 1_000 } });

    const text = await new Promise<string>((resolve) => {
      const socket = connect(gw.port, "127.0.0.1", () => socket.write("GET /demo HTTP/1.1\r\nHost: gw.test\r\nX-Slow: "));
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(received));
    });

    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('"code":"request-timeout"');
  });
});
