import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, ConfigError } from "@tollgate/config";
import { RequestEvent } from "@tollgate/events";
import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GatewayConfig, type GatewayConfigInput } from "./config/gateway-config.js";
import { problemContentType } from "./errors/problem-response.js";
import { startThingsServer, thingsProto, thingsService, type ThingsServer } from "./grpc/test-support/things-server.js";
import { startGateway, type TestGateway } from "./test-support/start-gateway.js";

let client: Agent;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  client = new Agent({ keepAliveTimeout: 1_000 });
  cleanups.push(() => client.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function thingsServer(): Promise<ThingsServer> {
  const server = await startThingsServer();
  cleanups.push(() => server.close());
  return server;
}

type RouteInput = NonNullable<GatewayConfigInput["routes"]>[number];

function grpcRoute(extra: Partial<RouteInput> = {}, grpc: Record<string, unknown> = {}): RouteInput {
  return {
    id: "things",
    match: { pathPrefix: "/v1" },
    upstream: "things",
    ...extra,
    grpc: {
      protoFile: thingsProto,
      service: thingsService,
      metadata: { requestHeaders: ["x-tenant"], responseHeaders: ["x-served-by"] },
      ...grpc,
    },
  };
}

async function gatewayFor(server: { origin: string }, routes: RouteInput[] = [grpcRoute()]): Promise<TestGateway> {
  const gateway = await startGateway({ config: { upstreams: { things: { targets: [server.origin] } }, routes } });
  cleanups.push(() => gateway.close());
  return gateway;
}

async function call(gw: TestGateway, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url}${path}`, {
    dispatcher: client,
    method: method as "GET",
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

function grpcOf(event: RequestEvent | undefined): unknown {
  return event?.data.grpc;
}

describe("REST/JSON → gRPC transcoding: unary", () => {
  it("binds path and query parameters, round-trips int64, uint64, enums and well-known types, and records one event with the method and status", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);

    const res = await call(gw, "GET", "/v1/shelves/s%201/things/t1?color=RED&minCount=9007199254740993&tags=a&tags=b&owner.name=ann&asOf=2026-11-26T11:00:00.25%2B01:00", undefined, {
      "x-tenant": "acme",
      "x-secret": "not for the upstream",
    });

    expect(res.status, res.text).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["x-served-by"]).toBe("things");
    expect(res.headers["x-internal"]).toBeUndefined();
    expect(res.json()).toEqual({
      id: "t1",
      shelfId: "s 1",
      count: "9007199254740993",
      big: "18446744073709551615",
      color: "RED",
      createdAt: "2023-11-14T22:13:20.123Z",
      ttl: "90.500s",
      limit: "-9223372036854775808",
      attributes: { tier: "gold", weight: 2.5, flags: [true, null] },
      tags: ["a", "b"],
      owner: { name: "ann", level: 0 },
      blob: "aGk=",
      score: 1.5,
      active: true,
      label: "Thing t1",
    });
    const received = things.calls[0];
    expect(received?.request).toMatchObject({
      shelfId: "s 1",
      id: "t1",
      color: "RED",
      minCount: "9007199254740993",
      tags: ["a", "b"],
      owner: { name: "ann" },
      asOf: { seconds: String(Date.UTC(2026, 10, 26, 10, 0, 0) / 1000), nanos: 250_000_000 },
    });
    expect(received?.metadata["x-tenant"]).toBe("acme");
    expect(received?.metadata["x-secret"]).toBeUndefined();
    expect(received?.metadata["x-request-id"]).toBe(res.headers["x-request-id"]);

    const [event] = await gw.recorder.waitFor(1);
    expect(RequestEvent.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      type: "RequestCompleted",
      data: { routeId: "things", method: "GET", path: "/v1/shelves/s%201/things/t1", status: 200, upstream: things.origin, attempts: 1, bytesOut: Buffer.byteLength(res.text) },
    });
    expect(grpcOf(event)).toEqual({ service: thingsService, method: "GetThing", status: "OK" });
  });

  it("maps a body field, a body '*', additional bindings and response_body", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);

    const created = await call(gw, "POST", "/v1/shelves/s1/things", { count: "-5", color: "GREEN", createdAt: "2026-11-26T10:00:00.5+01:00", limit: 7, label: "seven" });
    expect(created.status).toBe(200);
    expect(created.json()).toMatchObject({ id: "created-1", shelfId: "s1", count: "-5", color: "GREEN", createdAt: "2026-11-26T09:00:00.500Z", limit: "7", label: "seven" });

    const updated = await call(gw, "PATCH", "/v1/things/t9", { id: "ignored", shelf_id: "s2", big: "18446744073709551615", ttl: "-1.000000001s" });
    expect(updated.json()).toMatchObject({ id: "t9", shelfId: "s2", big: "18446744073709551615", ttl: "-1.000000001s" });

    const byOwner = await call(gw, "GET", "/v1/owners/bob/things/t3");
    expect(byOwner.json()).toMatchObject({ id: "t3", owner: { name: "bob" } });

    const echoed = await call(gw, "PUT", "/v1/echo", { text: "just the text" });
    expect(echoed.json()).toBe("just the text");

    const deleted = await call(gw, "DELETE", "/v1/shelves/s1/things/t1");
    expect(deleted.status).toBe(200);
    expect(deleted.json()).toEqual({});

    const events = await gw.recorder.waitFor(5);
    expect(events.map((event) => [event.type, event.data.status, (grpcOf(event) as { method: string }).method])).toEqual([
      ["RequestCompleted", 200, "CreateThing"],
      ["RequestCompleted", 200, "UpdateThing"],
      ["RequestCompleted", 200, "GetThing"],
      ["RequestCompleted", 200, "PutEcho"],
      ["RequestCompleted", 200, "DeleteThing"],
    ]);
  });

  it("maps every gRPC status code to its HTTP status, with the upstream's message in problem+json", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);
    const expected: [number, string, number][] = [
      [1, "CANCELLED", 499],
      [2, "UNKNOWN", 500],
      [3, "INVALID_ARGUMENT", 400],
      [5, "NOT_FOUND", 404],
      [6, "ALREADY_EXISTS", 409],
      [7, "PERMISSION_DENIED", 403],
      [8, "RESOURCE_EXHAUSTED", 429],
      [9, "FAILED_PRECONDITION", 400],
      [10, "ABORTED", 409],
      [11, "OUT_OF_RANGE", 400],
      [12, "UNIMPLEMENTED", 501],
      [13, "INTERNAL", 500],
      [15, "DATA_LOSS", 500],
      [16, "UNAUTHENTICATED", 401],
    ];
    for (const [code, name, status] of expected) {
      const res = await call(gw, "POST", "/v1/fail", { code, message: `failed with ${name}` });
      expect(res.status, name).toBe(status);
      expect(res.headers["content-type"]).toBe(problemContentType);
      expect(res.json()).toMatchObject({ status, detail: `failed with ${name}`, grpcStatus: name, grpcCode: String(code), code: `grpc-${name.toLowerCase().replaceAll("_", "-")}` });
    }
    const events = await gw.recorder.waitFor(expected.length);
    expect(events.map((event) => [event.type, event.data.status, (grpcOf(event) as { status: string }).status])).toEqual(
      expected.map(([, name, status]) => ["RequestCompleted", status, name]),
    );
  });

  it("answers UNAVAILABLE from the upstream as a failed request (503), counted against the target", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);
    const res = await call(gw, "POST", "/v1/fail", { code: 14, message: "draining" });
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ code: "grpc-unavailable", detail: 'the gRPC upstream "things" is unavailable' });
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { status: 503, error: "upstream-error", upstream: things.origin, attempts: 1 } });
    expect(grpcOf(event)).toEqual({ service: thingsService, method: "Fail", status: "UNAVAILABLE" });
  });

  it("answers 503 when the gRPC target cannot be reached", async () => {
    const things = await startThingsServer();
    await things.close();
    const gw = await gatewayFor(things);
    const res = await call(gw, "GET", "/v1/shelves/s1/things/t1");
    expect(res.status).toBe(503);
    expect(res.text).not.toContain("127.0.0.1");
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { error: "upstream-error" } });
    expect(grpcOf(event)).toEqual({ service: thingsService, method: "GetThing", status: "UNAVAILABLE" });
  });

  it("enforces the route's total timeout as the call's deadline: a slow method gets 504 and is cancelled upstream", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things, [grpcRoute({ timeouts: { totalMs: 200 } })]);
    const started = performance.now();
    const res = await call(gw, "GET", "/v1/slow?delayMs=5000");
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(res.status).toBe(504);
    expect(res.json()).toMatchObject({ code: "grpc-deadline-exceeded", detail: "no response within the route's deadline of 200 ms" });
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { status: 504, error: "timeout" } });
    expect(grpcOf(event)).toEqual({ service: thingsService, method: "Slow", status: "DEADLINE_EXCEEDED" });
    // The deadline travelled with the call (grpc-timeout), so the server saw it expire too.
    await expect.poll(() => things.calls[0]?.cancelled, { timeout: 5_000 }).toBe(true);

    const fast = await call(gw, "GET", "/v1/slow?delayMs=1");
    expect(fast.status).toBe(200);
  });

  it("refuses a request that does not fit the message with 400 before calling, and an unbound path with 404", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);
    const cases: [string, string, unknown, string][] = [
      ["POST", "/v1/shelves/s1/things", "{not json", "not valid JSON"],
      ["POST", "/v1/shelves/s1/things", { color: "PURPLE" }, 'thing.color: unknown Color value "PURPLE"'],
      ["POST", "/v1/shelves/s1/things", { count: "12x" }, "thing.count: expected a int64 as a decimal string"],
      ["POST", "/v1/shelves/s1/things", { colour: "RED" }, 'thing: unknown field "colour"'],
      ["GET", "/v1/shelves/s1/things/t1?minCount=99999999999999999999", undefined, "minCount: expected a int64"],
      ["GET", "/v1/shelves/s1/things/t1?colr=RED", undefined, 'query parameter "colr": no field "colr"'],
      ["PATCH", "/v1/things/t1", { createdAt: "yesterday" }, "createdAt: expected an RFC 3339 timestamp"],
    ];
    for (const [method, path, body, detail] of cases) {
      const res = await call(gw, method, path, body);
      expect(res.status, detail).toBe(400);
      expect(res.json()).toMatchObject({ code: "grpc-invalid-request" });
      expect(String(res.json().detail)).toContain(detail);
    }
    const unbound = await call(gw, "GET", "/v1/nowhere");
    expect(unbound.status).toBe(404);
    expect(unbound.json()).toMatchObject({ code: "grpc-no-binding" });
    expect(things.calls).toEqual([]);

    const events = await gw.recorder.waitFor(cases.length + 1);
    expect(events.slice(0, cases.length).every((event) => event.type === "RequestRejected" && event.data.stage === "validation")).toBe(true);
    expect(events.slice(0, cases.length).map((event) => (grpcOf(event) as { status: string }).status)).toEqual(cases.map(() => "INVALID_ARGUMENT"));
    expect(events[cases.length]).toMatchObject({ type: "RequestRejected", data: { stage: "route", status: 404 } });
    expect(grpcOf(events[cases.length])).toBeUndefined();
  });

  it("runs the route's policies first: a rate-limited call never reaches the gRPC server", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things, [grpcRoute({ rateLimit: { limits: [{ name: "per-ip", points: 2, windowSeconds: 60, scope: "ip" }] } })]);
    const statuses = [];
    for (let index = 0; index < 3; index++) statuses.push((await call(gw, "GET", "/v1/shelves/s1/things/t1")).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(things.calls).toHaveLength(2);
    const events = await gw.recorder.waitFor(3);
    expect(events[2]).toMatchObject({ type: "RequestRejected", data: { stage: "rate-limit", limit: "per-ip" } });
  });
});

describe("REST/JSON → gRPC transcoding: server streaming", () => {
  it("writes newline-delimited JSON, one line per message", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);
    const res = await call(gw, "GET", "/v1/shelves/s1/things:stream?count=3");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-ndjson");
    const lines = res.text.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line.id, line.count, line.color])).toEqual([
      ["t0", "9007199254740992", "RED"],
      ["t1", "9007199254740993", "RED"],
      ["t2", "9007199254740994", "RED"],
    ]);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestCompleted", data: { status: 200, bytesOut: Buffer.byteLength(res.text) } });
    expect(grpcOf(event)).toEqual({ service: thingsService, method: "ListThings", status: "OK" });
  });

  it("writes server-sent events when the route says sse, and reports a mid-stream error as a last event", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things, [grpcRoute({}, { streaming: "sse" })]);
    const res = await call(gw, "GET", "/v1/shelves/s1/things:stream?count=5&failAfter=2");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    const frames = res.text.split("\n\n").filter((frame) => frame !== "");
    expect(frames).toHaveLength(3);
    expect(JSON.parse((frames[0] as string).replace(/^data: /, ""))).toMatchObject({ id: "t0" });
    expect(frames[2]).toBe(`event: error\ndata: ${JSON.stringify({ error: { code: 10, status: "ABORTED", message: "the shelf was reorganized mid-stream" } })}`);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestCompleted", data: { status: 200 } });
    expect(grpcOf(event)).toEqual({ service: thingsService, method: "ListThings", status: "ABORTED" });
  });

  it("maps an error before the first message to its HTTP status, and an empty stream to an empty 200", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);
    const failing = await call(gw, "GET", "/v1/shelves/missing/things:stream?count=5");
    expect(failing.status).toBe(404);
    expect(failing.json()).toMatchObject({ code: "grpc-not-found", detail: 'shelf "missing" not found', grpcStatus: "NOT_FOUND" });
    const empty = await call(gw, "GET", "/v1/shelves/s1/things:stream?count=0");
    expect(empty.status).toBe(200);
    expect(empty.headers["content-type"]).toBe("application/x-ndjson");
    expect(empty.text).toBe("");
    const events = await gw.recorder.waitFor(2);
    expect(events.map((event) => [event.type, event.data.status, (grpcOf(event) as { status: string }).status])).toEqual([
      ["RequestCompleted", 404, "NOT_FOUND"],
      ["RequestCompleted", 200, "OK"],
    ]);
  });

  it("applies backpressure: a client that stops reading stops the upstream stream", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);
    // 300 messages of 16 KiB (about 6.6 MB as base64 JSON), far more than the socket and HTTP/2 buffers hold
    // (it stalls after a few dozen).
    const res = await request(`${gw.url}/v1/shelves/s1/things:stream?count=300&delayMs=-16384`, { dispatcher: client });
    expect(res.statusCode).toBe(200);
    // Unread, the stream must stall: the server's count stops growing well short of the total.
    let last = -1;
    await expect
      .poll(
        () => {
          const now = things.streamed;
          const stalled = now === last && now > 0;
          last = now;
          return stalled;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
    expect(things.streamed).toBeLessThan(300);
    // Reading resumes it, to the end.
    const text = await res.body.text();
    expect(text.trimEnd().split("\n")).toHaveLength(300);
    expect(things.streamed).toBe(300);
    const [event] = await gw.recorder.waitFor(1);
    expect(grpcOf(event)).toMatchObject({ method: "ListThings", status: "OK" });
  }, 30_000);

  it("cancels the upstream call when the client leaves mid-stream, recorded as a client abort", async () => {
    const things = await thingsServer();
    const gw = await gatewayFor(things);
    const controller = new AbortController();
    const res = await request(`${gw.url}/v1/shelves/s1/things:stream?count=1000&delayMs=20`, { dispatcher: client, signal: controller.signal });
    expect(res.statusCode).toBe(200);
    controller.abort();
    await res.body.text().catch(() => undefined);
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { error: "client-abort" } });
    expect(grpcOf(event)).toEqual({ service: thingsService, method: "ListThings", status: "CANCELLED" });
    await expect.poll(() => things.calls[0]?.cancelled, { timeout: 5_000 }).toBe(true);
  });
});

describe("gRPC route config", () => {
  const base = { upstreams: { things: { targets: ["http://127.0.0.1:50051"] } } };

  function problemsOf(grpc: Record<string, unknown>): string {
    try {
      parseConfig(GatewayConfig, { ...base, routes: [{ id: "things", match: { pathPrefix: "/v1" }, upstream: "things", grpc }] }, "test config");
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return "";
  }

  it("refuses a missing proto file, naming the path", () => {
    expect(problemsOf({ protoFile: "/nonexistent/things.proto", service: thingsService })).toMatch(/routes\[0\]\.grpc\.protoFile: cannot load the proto file: proto file not found: \/nonexistent\/things\.proto/s);
  });

  it("refuses an unknown service, unknown or unmapped methods and client streaming", () => {
    expect(problemsOf({ protoFile: thingsProto, service: "tollgate.testing.v1.Nope" })).toMatch(/routes\[0\]\.grpc\.service: no service "tollgate\.testing\.v1\.Nope"/s);
    const message = problemsOf({ protoFile: thingsProto, service: thingsService, methods: ["GetThing", "Missing", "Unmapped", "Upload"] });
    expect(message).toMatch(/routes\[0\]\.grpc\.methods\[1\]: service "tollgate\.testing\.v1\.Things" has no method "Missing"/s);
    expect(message).toMatch(/routes\[0\]\.grpc\.methods\[2\]: method "Unmapped" has no google\.api\.http option/s);
    expect(message).toMatch(/routes\[0\]\.grpc\.methods\[3\]: method "Upload" is client- or bidirectional-streaming/);
  });

  it("refuses a proto that does not parse, and a binding to a field the request lacks", () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-grpc-config-"));
    try {
      writeFileSync(join(dir, "broken.proto"), 'syntax = "proto3";\nmessage Broken { string a = 1 }\n');
      expect(problemsOf({ protoFile: join(dir, "broken.proto"), service: "Broken" })).toMatch(/routes\[0\]\.grpc\.protoFile: cannot load the proto file: .*broken\.proto/);
      writeFileSync(
        join(dir, "svc.proto"),
        'syntax = "proto3";\nimport "google/api/annotations.proto";\nmessage M { string a = 1; }\nservice S { rpc Get(M) returns (M) { option (google.api.http) = { get: "/v1/{b}" }; } }\n',
      );
      expect(problemsOf({ protoFile: join(dir, "svc.proto"), service: "S" })).toMatch(/routes\[0\]\.grpc\.service: method "Get": path template "\/v1\/\{b\}": "b" is not a field of M/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses reserved metadata names", () => {
    expect(problemsOf({ protoFile: thingsProto, service: thingsService, metadata: { requestHeaders: ["grpc-timeout"] } })).toMatch(/routes\[0\]\.grpc\.metadata\.requestHeaders\[0\]: reserved by HTTP\/2 or gRPC/);
  });

  it("accepts a valid route with its defaults", () => {
    expect(problemsOf({ protoFile: thingsProto, service: thingsService })).toBe("");
  });
});
