import { describe, expect, it } from "vitest";
import { appendForwardingHeaders, buildResponseHeaders, connectionTokens, isSaneRequestId, scanRequestHeaders } from "./headers.js";

describe("scanRequestHeaders", () => {
  it("keeps end-to-end headers in order and original case, and drops hop-by-hop ones", () => {
    const head = scanRequestHeaders(
      [
        "Host", "gw.test",
        "Accept", "text/plain",
        "Connection", "keep-alive",
        "Keep-Alive", "timeout=5",
        "TE", "trailers",
        "Trailer", "X-Sum",
        "Upgrade", "websocket",
        "Proxy-Connection", "keep-alive",
        "Proxy-Authorization", "Basic eDp5",
        "Expect", "100-continue",
        "Set-Cookie-Like", "a",
        "Accept", "application/json",
      ],
      false,
    );
    expect(head.headers).toEqual(["Accept", "text/plain", "Set-Cookie-Like", "a", "Accept", "application/json"]);
    expect(head.host).toBe("gw.test");
    expect(head.hostCount).toBe(1);
  });

  it("drops every header the Connection header names, wherever it appears", () => {
    const head = scanRequestHeaders(["X-Early", "1", "Connection", "X-Early, x-late", "Connection", "X-Second-Line", "X-Late", "2", "X-Second-Line", "3", "X-Kept", "4"], false);
    expect(head.headers).toEqual(["X-Kept", "4"]);
  });

  it("counts framing headers so that duplicates can be refused", () => {
    const head = scanRequestHeaders(["Content-Length", "5", "content-length", "6", "Transfer-Encoding", "chunked", "Transfer-Encoding", "gzip"], false);
    expect(head.contentLengthCount).toBe(2);
    expect(head.contentLength).toBe("5");
    expect(head.transferEncodingCount).toBe(2);
    expect(head.transferEncoding).toBe("chunked, gzip");
    expect(head.headers).toEqual(["Content-Length", "5", "content-length", "6"]);
  });

  it("forwards Forwarded and X-Real-IP only from a trusted peer", () => {
    const raw = ["Forwarded", "for=1.2.3.4", "X-Real-IP", "1.2.3.4"];
    expect(scanRequestHeaders(raw, false).headers).toEqual([]);
    expect(scanRequestHeaders(raw, true).headers).toEqual(raw);
  });
});

describe("appendForwardingHeaders", () => {
  const client = ["Host", "shop.test", "X-Forwarded-For", "10.9.9.9", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.test", "Via", "1.0 edge"];

  it("replaces what an untrusted client claims", () => {
    const head = scanRequestHeaders(client, false);
    appendForwardingHeaders(head, { peer: "203.0.113.1", trustedPeer: false, requestId: "r-1", proto: "http" });
    expect(head.headers).toEqual([
      "x-forwarded-for", "203.0.113.1",
      "x-forwarded-proto", "http",
      "x-forwarded-host", "shop.test",
      "x-request-id", "r-1",
      "via", "1.0 edge, 1.1 tollgate",
    ]);
  });

  it("appends to what a trusted peer forwarded", () => {
    const head = scanRequestHeaders(client, true);
    appendForwardingHeaders(head, { peer: "10.0.0.2", trustedPeer: true, requestId: "r-1", proto: "http" });
    expect(head.headers).toEqual([
      "x-forwarded-for", "10.9.9.9, 10.0.0.2",
      "x-forwarded-proto", "https",
      "x-forwarded-host", "evil.test",
      "x-request-id", "r-1",
      "via", "1.0 edge, 1.1 tollgate",
    ]);
  });
});

describe("buildResponseHeaders", () => {
  it("drops hop-by-hop and Connection-named headers and sets the gateway's request id", () => {
    const raw = [
      "Content-Type", "text/plain",
      "Connection", "keep-alive, X-Internal",
      "Keep-Alive", "timeout=5",
      "Transfer-Encoding", "chunked",
      "X-Internal", "secret",
      "Proxy-Authenticate", "Basic",
      "X-Request-Id", "upstream-id",
      "Set-Cookie", "a=1",
      "Set-Cookie", "b=2",
    ].map((text) => Buffer.from(text, "latin1"));
    expect(buildResponseHeaders(raw, "r-1", false)).toEqual(["Content-Type", "text/plain", "Set-Cookie", "a=1", "Set-Cookie", "b=2", "x-request-id", "r-1"]);
  });

  it("keeps header bytes as they were", () => {
    const raw = [Buffer.from("X-Name"), Buffer.from([0x63, 0x61, 0x66, 0xe9])];
    const [, value] = buildResponseHeaders(raw, "r-1", false);
    expect(Buffer.from(value as string, "latin1")).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });

  it("asks for the connection to close while draining", () => {
    expect(buildResponseHeaders([], "r-1", true)).toEqual(["x-request-id", "r-1", "connection", "close"]);
  });
});

describe("request ids and Connection tokens", () => {
  it.each([
    ["abc-123", true],
    ["01J9Z3.trace:span_7", true],
    ["", false],
    ["x".repeat(129), false],
    ["has space", false],
    ["line\r\nbreak", false],
    ['{"json":1}', false],
  ])("isSaneRequestId(%j) is %s", (value, sane) => {
    expect(isSaneRequestId(value)).toBe(sane);
  });

  it("splits and lower-cases Connection tokens", () => {
    expect(connectionTokens(" Keep-Alive , X-Foo,,x-bar ")).toEqual(["keep-alive", "x-foo", "x-bar"]);
  });
});
