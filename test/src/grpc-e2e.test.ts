import { RequestEvent } from "@tollgate/events";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.js";
import { startGrpcThingsServer, thingsProtoFile, type GrpcThingsServer } from "./support/grpc-things-server.js";
import { readRequestEvents } from "./support/request-events-file.js";

/**
 * The built gateway process, a real grpc-js server, plain HTTP/JSON in front: what a
 * transcoded call looks like from outside, and what lands in the event log for it.
 */
describe("REST/JSON → gRPC through the gateway process", () => {
  let things: GrpcThingsServer;
  let gateway: GatewayProcess;
  let pool: Pool;

  beforeAll(async () => {
    things = await startGrpcThingsServer();
    gateway = await startGatewayProcess({
      config: {
        upstreams: { things: { targets: [things.origin] } },
        routes: [
          {
            id: "things",
            match: { pathPrefix: "/v1" },
            upstream: "things",
            timeouts: { totalMs: 1_000 },
            grpc: { protoFile: thingsProtoFile, service: "tollgate.testing.v1.Things", methods: ["GetThing", "ListThings", "Slow"] },
          },
        ],
      },
    });
    pool = new Pool(gateway.url, { connections: 4 });
  }, 30_000);

  afterAll(async () => {
    await pool?.close();
    await gateway?.cleanup();
    await things?.close();
  });

  async function get(path: string): Promise<{ status: number; type: string | undefined; text: string }> {
    const res = await pool.request({ method: "GET", path });
    return { status: res.statusCode, type: res.headers["content-type"] as string | undefined, text: await res.body.text() };
  }

  it("transcodes unary and streaming calls, maps statuses and deadlines, and logs exactly one event per call", async () => {
    const ok = await get("/v1/shelves/s1/things/t1?minCount=-9223372036854775808&color=GREEN");
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toMatchObject({ id: "t1", shelfId: "s1", count: "-9223372036854775808", color: "GREEN" });

    const missing = await get("/v1/shelves/s1/things/missing");
    expect(missing.status).toBe(404);
    expect(missing.type).toBe("application/problem+json");
    expect(JSON.parse(missing.text)).toMatchObject({ code: "grpc-not-found", detail: "no such thing", grpcStatus: "NOT_FOUND" });

    const stream = await get("/v1/shelves/s1/things:stream?count=3");
    expect(stream.status).toBe(200);
    expect(stream.type).toBe("application/x-ndjson");
    expect(stream.text.trimEnd().split("\n").map((line) => (JSON.parse(line) as { count: string }).count)).toEqual([
      "4611686018427387904",
      "4611686018427387905",
      "4611686018427387906",
    ]);

    const slow = await get("/v1/slow?delayMs=10000");
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.text)).toMatchObject({ code: "grpc-deadline-exceeded" });

    const invalid = await get("/v1/shelves/s1/things/t1?color=PURPLE");
    expect(invalid.status).toBe(400);

    const unbound = await get("/v1/echo");
    expect(unbound.status).toBe(404);
    expect(things.calls).toEqual(["GetThing", "GetThing", "ListThings", "Slow"]);

    // SIGTERM: the gateway drains and flushes its recorder; then the log is complete.
    expect(await gateway.stop()).toBe(0);
    const events = readRequestEvents(gateway.eventsFile).map((stored) => RequestEvent.parse({ type: stored.type, version: 1, data: stored.data }));
    expect(events.map((event) => [event.type, event.data.status, event.data.grpc?.method ?? null, event.data.grpc?.status ?? null])).toEqual([
      ["RequestCompleted", 200, "GetThing", "OK"],
      ["RequestCompleted", 404, "GetThing", "NOT_FOUND"],
      ["RequestCompleted", 200, "ListThings", "OK"],
      ["RequestFailed", 504, "Slow", "DEADLINE_EXCEEDED"],
      ["RequestRejected", 400, "GetThing", "INVALID_ARGUMENT"],
      ["RequestRejected", 404, null, null],
    ]);
    expect(events.every((event) => event.data.routeId === "things")).toBe(true);
  }, 30_000);
});
