import { fileURLToPath } from "node:url";
import { loadPackageDefinition, Metadata, Server, ServerCredentials, status, type GrpcObject, type ServiceClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { shippedProtosDir } from "../load-proto-root.js";

/** The test service's proto (tollgate.testing.v1.Things). */
export const thingsProto = fileURLToPath(new URL("../testdata/things.proto", import.meta.url));
export const thingsService = "tollgate.testing.v1.Things";

/** What one call to the test server received. */
export interface ReceivedCall {
  method: string;
  request: Record<string, unknown>;
  metadata: Record<string, string>;
  /** Set when the call was cancelled (its client, the gateway, gave up on it). */
  cancelled: boolean;
}

export interface ThingsServer {
  readonly port: number;
  readonly origin: string;
  readonly calls: ReceivedCall[];
  /** Messages the last ListThings call managed to write (it waits for HTTP/2 flow control). */
  streamed: number;
  close(): Promise<void>;
}

type Plain = Record<string, unknown>;
type Callback = (error: Partial<ServiceError> | null, value?: Plain) => void;

/**
 * A real grpc-js server for the Things service, on 127.0.0.1 and a free port. It uses
 * @grpc/proto-loader the way a gRPC service would (camelCase fields, int64 as strings,
 * enums by name), so it is an independent check of the gateway's own JSON mapping.
 */
export async function startThingsServer(): Promise<ThingsServer> {
  const definition = loadSync(thingsProto, { includeDirs: [shippedProtosDir], longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(definition) as unknown as { tollgate: { testing: { v1: GrpcObject } } };
  const Things = pkg.tollgate.testing.v1.Things as ServiceClientConstructor;
  const calls: ReceivedCall[] = [];
  const server = new Server();
  const state: { streamed: number } = { streamed: 0 };

  function receive(method: string, call: { request: Plain; metadata: Metadata; on(event: "cancelled", listener: () => void): unknown }): ReceivedCall {
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = String(value);
    const received: ReceivedCall = { method, request: call.request, metadata, cancelled: false };
    call.on("cancelled", () => {
      received.cancelled = true;
    });
    calls.push(received);
    return received;
  }

  const served = new Metadata();
  served.set("x-served-by", "things");
  served.set("x-internal", "never forwarded");

  server.addService(Things.service, {
    GetThing(call: { request: Plain; metadata: Metadata; sendMetadata(md: Metadata): void; on(event: "cancelled", listener: () => void): unknown }, callback: Callback) {
      receive("GetThing", call);
      const request = call.request;
      if (request.id === "missing") {
        callback({ code: status.NOT_FOUND, details: `thing "missing" not found` });
        return;
      }
      call.sendMetadata(served);
      callback(null, thingFor(request));
    },
    CreateThing(call: { request: Plain; metadata: Metadata; on(event: "cancelled", listener: () => void): unknown }, callback: Callback) {
      receive("CreateThing", call);
      const thing = (call.request.thing ?? {}) as Plain;
      callback(null, { ...thing, id: "created-1", shelfId: call.request.shelfId });
    },
    UpdateThing(call: { request: Plain; metadata: Metadata; on(event: "cancelled", listener: () => void): unknown }, callback: Callback) {
      receive("UpdateThing", call);
      callback(null, call.request);
    },
    ListThings(call: {
      request: Plain;
      metadata: Metadata;
      on(event: "cancelled", listener: () => void): unknown;
      write(message: Plain): boolean;
      once(event: "drain", listener: () => void): unknown;
      end(): void;
      emit(event: "error", error: Partial<ServiceError>): boolean;
      cancelled: boolean;
    }) {
      receive("ListThings", call);
      const count = Number(call.request.count);
      const failAfter = Number(call.request.failAfter);
      const delayMs = Number(call.request.delayMs);
      state.streamed = 0;
      if (call.request.shelfId === "missing") {
        call.emit("error", { code: status.NOT_FOUND, details: 'shelf "missing" not found' });
        return;
      }
      const next = (): void => {
        while (!call.cancelled) {
          if (failAfter > 0 && state.streamed === failAfter) {
            call.emit("error", { code: status.ABORTED, details: "the shelf was reorganized mid-stream" });
            return;
          }
          if (state.streamed === count) {
            call.end();
            return;
          }
          const index = state.streamed;
          state.streamed += 1;
          const more = call.write({ id: `t${index}`, shelfId: call.request.shelfId, count: String(2n ** 53n + BigInt(index)), color: "RED", blob: Buffer.alloc(delayMs < 0 ? -delayMs : 0, 97) });
          if (delayMs > 0) {
            setTimeout(next, delayMs);
            return;
          }
          if (!more) {
            call.once("drain", next);
            return;
          }
        }
      };
      next();
    },
    Slow(call: { request: Plain; metadata: Metadata; on(event: "cancelled", listener: () => void): unknown }, callback: Callback) {
      const received = receive("Slow", call);
      const timer = setTimeout(() => callback(null, {}), Number(call.request.delayMs));
      call.on("cancelled", () => {
        received.cancelled = true;
        clearTimeout(timer);
      });
    },
    Fail(call: { request: Plain; metadata: Metadata; on(event: "cancelled", listener: () => void): unknown }, callback: Callback) {
      receive("Fail", call);
      callback({ code: Number(call.request.code), details: String(call.request.message) });
    },
    DeleteThing(call: { request: Plain; metadata: Metadata; on(event: "cancelled", listener: () => void): unknown }, callback: Callback) {
      receive("DeleteThing", call);
      callback(null, {});
    },
    PutEcho(call: { request: Plain; metadata: Metadata; on(event: "cancelled", listener: () => void): unknown }, callback: Callback) {
      receive("PutEcho", call);
      callback(null, call.request);
    },
    Unmapped(call: { request: Plain; metadata: Metadata; on(event: "cancelled", listener: () => void): unknown }, callback: Callback) {
      receive("Unmapped", call);
      callback(null, call.request);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error)));
  });
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    calls,
    get streamed() {
      return state.streamed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Calls still open (a stream nobody reads) would hold tryShutdown forever.
        setImmediate(() => server.forceShutdown());
      }),
  };
}

/** The Thing GetThing answers with: every kind of field, at values JSON numbers cannot carry. */
export function thingFor(request: Plain): Plain {
  return {
    id: request.id,
    shelfId: request.shelfId,
    count: request.minCount === "0" ? "9007199254740993" : request.minCount,
    big: "18446744073709551615",
    color: request.color === "COLOR_UNSPECIFIED" ? "GREEN" : request.color,
    createdAt: { seconds: "1700000000", nanos: 123_000_000 },
    ttl: { seconds: "90", nanos: 500_000_000 },
    limit: { value: "-9223372036854775808" },
    attributes: { fields: { tier: { stringValue: "gold" }, weight: { numberValue: 2.5 }, flags: { listValue: { values: [{ boolValue: true }, { nullValue: "NULL_VALUE" }] } } } },
    tags: request.tags,
    owner: request.owner,
    blob: Buffer.from("hi"),
    score: 1.5,
    active: true,
    displayName: `Thing ${String(request.id)}`,
  };
}
