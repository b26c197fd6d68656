import { z } from "zod";
import { compileGrpcBindings } from "./grpc-bindings.js";
import { loadProtoRoot, ProtoLoadError } from "./load-proto-root.js";

/**
 * Headers that are HTTP/2 or gRPC framing, not application metadata: grpc-js sets them
 * itself, and a client must not be able to override them (a forwarded `grpc-timeout`
 * would replace the route's deadline).
 */
const reservedMetadata = new Set(["content-type", "te", "host", "connection", "transfer-encoding", "keep-alive", "upgrade", "proxy-connection", "user-agent"]);

const metadataKey = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(
    z
      .string()
      .regex(/^[a-z0-9_.-]+$/, "expected a lower-case header / metadata name (letters, digits, '-', '_', '.')")
      .refine((name) => !name.startsWith("grpc-") && !reservedMetadata.has(name), "reserved by HTTP/2 or gRPC")
      .refine((name) => !name.endsWith("-bin"), "binary (-bin) metadata is not mapped to headers"),
  );

export const RouteGrpcConfig = z
  .strictObject({
    protoFile: z
      .string()
      .min(1)
      .describe("Required. The .proto file that declares the service; a relative path is resolved from the gateway's working directory"),
    includeDirs: z
      .array(z.string().min(1))
      .default([])
      .describe("Directories searched for the proto's imports, like protoc -I; google/api/annotations.proto and http.proto ship with the gateway"),
    service: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "expected a fully qualified service name such as pkg.v1.Things")
      .describe("Required. The fully qualified service, e.g. tollgate.testing.v1.Things"),
    methods: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a method name"))
      .default([])
      .describe("Methods the route exposes, each needing a google.api.http option; empty: every method that has one"),
    streaming: z
      .enum(["ndjson", "sse"])
      .default("ndjson")
      .describe("How server-streaming methods answer: ndjson (application/x-ndjson, one JSON message per line) or sse (text/event-stream, one event per message)"),
    metadata: z
      .strictObject({
        requestHeaders: z.array(metadataKey).default([]).describe("Request headers sent to the upstream as gRPC metadata (X-Request-Id always is)"),
        responseHeaders: z.array(metadataKey).default([]).describe("gRPC response metadata keys (initial metadata; trailers too on errors) returned as response headers"),
      })
      .prefault({})
      .describe("Which headers and metadata cross between HTTP and gRPC; nothing else does"),
    maxRequestBytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1_048_576)
      .default(1_048_576)
      .describe("Largest JSON request body transcoded (it is read whole); larger gets 413"),
  })
  .superRefine((config, ctx) => {
    let root;
    try {
      root = loadProtoRoot(config.protoFile, config.includeDirs);
    } catch (error) {
      if (!(error instanceof ProtoLoadError)) throw error;
      ctx.addIssue({ code: "custom", path: ["protoFile"], message: `cannot load the proto file: ${error.message}` });
      return;
    }
    for (const problem of compileGrpcBindings(root, config.service, config.methods).problems) {
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
    }
  });

export type RouteGrpcConfig = z.output<typeof RouteGrpcConfig>;
