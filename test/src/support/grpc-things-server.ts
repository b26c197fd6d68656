import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { loadPackageDefinition, Server, ServerCredentials, status, type GrpcObject, type ServiceClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const require = createRequire(import.meta.url);
const gatewayRoot = join(dirname(require.resolve("@tollgate/gateway/main")), "..");

/** The gateway's test proto (tollgate.testing.v1.Things) and the protos the gateway ships (google/api). */
export const thingsProtoFile = join(gatewayRoot, "src", "grpc", "testdata", "things.proto");
export const gatewayProtosDir = join(gatewayRoot, "protos");

type Plain = Record<string, unknown>;
type Callback = (error: Partial<ServiceError> | null, value?: Plain) => void;
interface UnaryCall {
  request: Plain;
  on(event: "cancelled", listener: () => void): unknown;
}
interface StreamCall extends UnaryCall {
  write(message: Plain): boolean;
  end(): void;
}

export interface GrpcThingsServer {
  readonly origin: string;
  /** Methods called, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

/**
 * A real grpc-js server for the e2e test: GetThing (NOT_FOUND for id "missing"),
 * ListThings (count messages) and Slow (answers after delayMs, or is cancelled). It
 * reads the proto with @grpc/proto-loader, as a service would, independently of the
 * gateway's own mapping.
 */
export async function startGrpcThingsServer(): Promise<GrpcThingsServer> {
  const definition = loadSync(thingsProtoFile, { includeDirs: [gatewayProtosDir], longs: String, enums: String, defaults: true });
  const pkg = loadPackageDefinition(definition) as unknown as { tollgate: { testing: { v1: GrpcObject } } };
  const Things = pkg.tollgate.testing.v1.Things as ServiceClientConstructor;
  const calls: string[] = [];
  const server = new Server();
  server.addService(Things.service, {
    GetThing(call: UnaryCall, callback: Callback) {
      calls.push("GetThing");
      if (call.request.id === "missing") callback({ code: status.NOT_FOUND, details: "no such thing" });
      else callback(null, { id: call.request.id, shelfId: call.request.shelfId, count: call.request.minCount, color: call.request.color });
    },
    ListThings(call: StreamCall) {
      calls.push("ListThings");
      for (let index = 0; index < Number(call.request.count); index++) call.write({ id: `t${index}`, count: String(2n ** 62n + BigInt(index)) });
      call.end();
    },
    Slow(call: UnaryCall, callback: Callback) {
      calls.push("Slow");
      const timer = setTimeout(() => callback(null, {}), Number(call.request.delayMs));
      call.on("cancelled", () => clearTimeout(timer));
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error)));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setImmediate(() => server.forceShutdown());
      }),
  };
}
