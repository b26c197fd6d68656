import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { Metadata, status as grpcStatus, type ClientReadableStream, type ClientUnaryCall, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import type { GrpcCall, RejectionStage } from "@tollgate/events";
import type { RouteConfig } from "../config/gateway-config.js";
import { problems, type ProblemType } from "../errors/problem-catalog.js";
import { sendProblem } from "../errors/problem-response.js";
import type { BreakerSettle } from "../proxy/circuit-breaker.js";
import type { TargetOutcome, Upstream, UpstreamTarget } from "../proxy/upstream.js";
import { UpstreamError } from "../proxy/upstream-error.js";
import type { GrpcBinding } from "./grpc-bindings.js";
import { compileGrpcBindings } from "./grpc-bindings.js";
import type { GrpcChannels } from "./grpc-channels.js";
import { buildRequestMessage } from "./grpc-request-mapping.js";
import type { RouteGrpcConfig } from "./grpc-route-config.js";
import { failureKindOf, grpcStatusName, problemForGrpcStatus } from "./grpc-status.js";
import { jsonNameOf, JsonMappingError, messageToJson } from "./json-mapping.js";
import { loadProtoRoot } from "./load-proto-root.js";
import { matchPathTemplate } from "./path-template.js";

/**
 * What the transcoder needs of the request's exchange (exchange.ts): the request as
 * the gateway normalized it, and the few ways an exchange ends. The exchange still
 * builds the request's one event when the response closes, with `grpc` in it.
 */
export interface GrpcExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** Forwarded request headers, flat name/value pairs. */
  readonly headers: string[];
  readonly requestId: string;
  readonly consumerId: string | null;
  readonly clientIp: string;
  readonly bodyOverride: Buffer | null;
  readonly draining: boolean;
  target: UpstreamTarget | null;
  attempts: number;
  bytesIn: number;
  bytesOut: number;
  upstreamLatencyMs: number;
  grpc: GrpcCall | null;
  reject(stage: RejectionStage, problem: ProblemType, reason: string, closeConnection: boolean): void;
  respondWithFailure(error: UpstreamError, detail: string): void;
  setExtraResponseHeaders(): void;
  /** A bug: answers 500 if it still can, else cuts the connection. */
  fail(error: unknown): void;
}

export interface GrpcRouteOptions {
  readonly config: RouteGrpcConfig;
  readonly bindings: readonly GrpcBinding[];
  readonly upstream: Upstream;
  readonly channels: GrpcChannels;
  /** The route's timeouts.totalMs, the calls' deadline; 0: none. */
  readonly deadlineMs: number;
  /** The route's prefix when it strips it (stripPrefix), else null: templates match the path as sent upstream. */
  readonly strippedPrefix: string | null;
}

const identity = (value: Buffer): Buffer => value;
const ndjsonType = "application/x-ndjson";
const sseType = "text/event-stream";

/**
 * The route's transcoder, or null for a route without `grpc`. The config check loaded
 * the proto and checked its bindings already; this reuses the cached root.
 */
export function compileGrpcRoute(route: RouteConfig, upstream: Upstream, channels: GrpcChannels): GrpcTranscoder | null {
  const config = route.grpc;
  if (config === undefined) return null;
  const { bindings, problems: found } = compileGrpcBindings(loadProtoRoot(config.protoFile, config.includeDirs), config.service, config.methods);
  if (found.length > 0) throw new Error(`route "${route.id}": ${found.map((problem) => problem.message).join("; ")}`);
  for (const target of upstream.targets) channels.clientFor(target.origin);
  return new GrpcTranscoder({
    config,
    bindings,
    upstream,
    channels,
    deadlineMs: route.timeouts.totalMs ?? 0,
    strippedPrefix: route.stripPrefix ? route.match.pathPrefix : null,
  });
}

/**
 * REST/JSON → gRPC for one route. After the route's policies let a request through,
 * the exchange hands it here instead of to the undici pool: the request's method and
 * path pick a google.api.http binding, path, query and JSON body become the request
 * message, and the call goes over the target's HTTP/2 channel with the route's total
 * timeout as its deadline. A unary answer is one JSON body; a server stream is written
 * message by message as NDJSON or server-sent events, read from the upstream only as
 * fast as the client takes it (backpressure). A non-OK status is a problem+json with
 * the status's HTTP code and the upstream's message.
 */
export class GrpcTranscoder {
  constructor(private readonly options: GrpcRouteOptions) {}

  handle(exchange: GrpcExchange): void {
    const { options } = this;
    const path = options.strippedPrefix === null ? exchange.path : stripPrefix(exchange.path, options.strippedPrefix);
    let binding: GrpcBinding | undefined;
    let values: Map<string, string> | null = null;
    for (const candidate of options.bindings) {
      if (candidate.httpMethod !== exchange.method) continue;
      values = matchPathTemplate(candidate.template, path);
      if (values !== null) {
        binding = candidate;
        break;
      }
    }
    if (binding === undefined || values === null) {
      exchange.setExtraResponseHeaders();
      exchange.reject("route", problems.grpcNoBinding, `no method of ${options.config.service} is bound to ${exchange.method} ${path}`, false);
      return;
    }
    // Until the call reports a status, a request that ends is one its client gave up on.
    exchange.grpc = { service: binding.method.service, method: binding.method.name, status: "CANCELLED" };
    const found = binding;
    const pathValues = values;
    if (binding.body === "" || exchange.bodyOverride !== null) {
      this.call(exchange, found, pathValues, exchange.bodyOverride);
      return;
    }
    readBody(exchange, options.config.maxRequestBytes, (body) => {
      // Off the exchange's own call stack now: an exception must still end the request.
      try {
        this.call(exchange, found, pathValues, body);
      } catch (error) {
        exchange.fail(error);
      }
    });
  }

  private call(exchange: GrpcExchange, binding: GrpcBinding, pathValues: Map<string, string>, body: Buffer | null): void {
    const { res } = exchange;
    if (res.destroyed || res.headersSent) return;
    if (body !== null) exchange.bytesIn = body.length;
    let request: Uint8Array;
    try {
      request = buildRequestMessage(binding, pathValues, exchange.query, body);
    } catch (error) {
      if (!(error instanceof JsonMappingError)) throw error;
      (exchange.grpc as GrpcCall).status = "INVALID_ARGUMENT";
      exchange.setExtraResponseHeaders();
      exchange.reject("validation", problems.grpcInvalidRequest, error.message, false);
      return;
    }
    const { upstream } = this.options;
    const now = Date.now();
    const target = upstream.pick(exchange, now, null);
    if (target === null) {
      (exchange.grpc as GrpcCall).status = "UNAVAILABLE";
      const circuitOpen = upstream.circuitOpen(now);
      const message = circuitOpen ? `every healthy target of upstream "${upstream.name}" has its circuit breaker open` : `no healthy target in upstream "${upstream.name}"`;
      exchange.respondWithFailure(new UpstreamError(circuitOpen ? problems.circuitOpen : problems.noHealthyUpstream, circuitOpen ? "circuit-open" : "upstream-error", message, { cause: null }), message);
      return;
    }
    const breaker = target.breaker;
    if (breaker === null) {
      new GrpcCallRun(exchange, binding, this.options, target, null).start(request);
      return;
    }
    let dispatched = false;
    breaker.run((settle) => {
      dispatched = true;
      new GrpcCallRun(exchange, binding, this.options, target, settle).start(request);
    });
    if (!dispatched) {
      (exchange.grpc as GrpcCall).status = "UNAVAILABLE";
      const message = `the circuit breaker of ${target.origin} is open`;
      exchange.respondWithFailure(new UpstreamError(problems.circuitOpen, "circuit-open", message, { cause: null }), `upstream "${upstream.name}": circuit open`);
    }
  }
}

/** One gRPC call, from dispatch to its status, and the HTTP response it becomes. */
class GrpcCallRun {
  private readonly started = performance.now();
  private initialMetadata: Metadata | null = null;
  private headWritten = false;
  private settled = false;
  private targetReported = false;
  private call: ClientUnaryCall | ClientReadableStream<Buffer> | null = null;

  constructor(
    private readonly exchange: GrpcExchange,
    private readonly binding: GrpcBinding,
    private readonly options: GrpcRouteOptions,
    private readonly target: UpstreamTarget,
    private breakerSettle: BreakerSettle | null,
  ) {}

  start(request: Uint8Array): void {
    const { exchange, binding, options, target } = this;
    exchange.target = target;
    exchange.attempts = 1;
    target.started();
    const client = options.channels.clientFor(target.origin);
    const metadata = requestMetadata(exchange, options.config.metadata.requestHeaders);
    const callOptions = options.deadlineMs > 0 ? { deadline: Date.now() + options.deadlineMs } : {};
    const payload = Buffer.from(request.buffer, request.byteOffset, request.byteLength);
    const { method } = binding;
    if (method.serverStreaming) {
      const call = client.makeServerStreamRequest<Buffer, Buffer>(method.path, identity, identity, payload, metadata, callOptions);
      this.call = call;
      call.on("metadata", this.onMetadata);
      call.on("data", this.onStreamMessage);
      // Every non-OK status also arrives as 'error'; it is handled once, from 'status'.
      call.on("error", noop);
      call.on("status", this.onStreamStatus);
    } else {
      const call = client.makeUnaryRequest<Buffer, Buffer>(method.path, identity, identity, payload, metadata, callOptions, this.onUnaryResult);
      this.call = call;
      call.on("metadata", this.onMetadata);
    }
    // A client that leaves takes its call with it.
    exchange.res.once("close", this.onClientClose);
  }

  private readonly onClientClose = (): void => {
    if (this.settled) return;
    this.settled = true;
    this.reportTarget("neutral");
    this.call?.cancel();
  };

  private readonly onMetadata = (metadata: Metadata): void => {
    this.initialMetadata = metadata;
    this.markLatency();
  };

  private readonly onUnaryResult = (error: ServiceError | null, value?: Buffer): void => {
    this.guarded(() => this.unaryResult(error, value));
  };

  private readonly onStreamMessage = (message: Buffer): void => {
    this.guarded(() => this.streamMessage(message));
  };

  private readonly onStreamStatus = (status: StatusObject): void => {
    this.guarded(() => this.streamStatus(status));
  };

  /** grpc-js calls back outside the exchange's call stack: an exception must still end the request, and cancel the call. */
  private guarded(handle: () => void): void {
    try {
      handle();
    } catch (error) {
      this.settled = true;
      this.call?.cancel();
      this.reportTarget("neutral");
      this.exchange.fail(error);
    }
  }

  private unaryResult(error: ServiceError | null, value: Buffer | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.markLatency();
    const { exchange, binding } = this;
    if (error !== null) {
      this.answerStatus(error, error.metadata);
      return;
    }
    let json: unknown;
    try {
      const { responseType } = binding.method;
      json = messageToJson(responseType, responseType.decode(value as Buffer));
      if (binding.responseBodyField !== null) json = responseBodyOf(json, binding);
    } catch (decodeError) {
      this.badResponse(decodeError);
      return;
    }
    (exchange.grpc as GrpcCall).status = "OK";
    this.reportTarget("success");
    const body = Buffer.from(JSON.stringify(json));
    this.writeHead(200, "application/json", body.length);
    exchange.bytesOut = body.length;
    exchange.res.end(body);
  }

  private streamMessage(message: Buffer): void {
    if (this.settled) return;
    this.markLatency();
    const { exchange, binding } = this;
    let json: unknown;
    try {
      json = messageToJson(binding.method.responseType, binding.method.responseType.decode(message));
      if (binding.responseBodyField !== null) json = responseBodyOf(json, binding);
    } catch (decodeError) {
      this.settled = true;
      this.call?.cancel();
      if (!this.headWritten) {
        this.badResponse(decodeError);
        return;
      }
      (exchange.grpc as GrpcCall).status = "INTERNAL";
      this.reportTarget("failure");
      this.endStreamWithError(13, "the upstream sent a message that does not decode as the method's response type");
      return;
    }
    if (!this.headWritten) this.writeHead(200, this.options.config.streaming === "sse" ? sseType : ndjsonType, null);
    const frame = this.options.config.streaming === "sse" ? `data: ${JSON.stringify(json)}\n\n` : `${JSON.stringify(json)}\n`;
    exchange.bytesOut += Buffer.byteLength(frame);
    // Backpressure: the call stops reading (and HTTP/2 flow control stops the upstream)
    // until the client has taken what was written.
    if (!exchange.res.write(frame)) {
      const call = this.call as ClientReadableStream<Buffer>;
      call.pause();
      exchange.res.once("drain", () => call.resume());
    }
  }

  private streamStatus(status: StatusObject): void {
    if (this.settled) return;
    this.settled = true;
    this.markLatency();
    const { exchange } = this;
    if (!this.headWritten) {
      if (status.code !== grpcStatus.OK) {
        this.answerStatus(status, status.metadata);
        return;
      }
      this.writeHead(200, this.options.config.streaming === "sse" ? sseType : ndjsonType, null);
    }
    (exchange.grpc as GrpcCall).status = grpcStatusName(status.code);
    this.reportTarget(failureKindOf(status.code) === null ? "success" : "failure");
    if (status.code === grpcStatus.OK) exchange.res.end();
    else this.endStreamWithError(status.code, status.details);
  }

  /**
   * The stream had begun (200 is out) when it failed: the status goes in a last
   * NDJSON line `{"error": …}` or an SSE `event: error`, as grpc-gateway and Envoy's
   * transcoder report mid-stream errors, and the response ends normally.
   */
  private endStreamWithError(code: number, message: string): void {
    const { exchange } = this;
    const error = JSON.stringify({ error: { code, status: grpcStatusName(code), message } });
    const frame = this.options.config.streaming === "sse" ? `event: error\ndata: ${error}\n\n` : `${error}\n`;
    exchange.bytesOut += Buffer.byteLength(frame);
    exchange.res.end(frame);
  }

  /** A non-OK status before any response was written: a failure, or the status's problem. */
  private answerStatus(status: { code: number; details: string }, trailers: Metadata | undefined): void {
    const { exchange, target } = this;
    const name = grpcStatusName(status.code);
    (exchange.grpc as GrpcCall).status = name;
    const failure = failureKindOf(status.code);
    if (failure !== null) {
      this.reportTarget("failure");
      const deadline = status.code === 4;
      const detail = deadline ? `no response within the route's deadline of ${this.options.deadlineMs} ms` : `the gRPC upstream "${this.options.upstream.name}" is unavailable`;
      const problem = problemForGrpcStatus(status.code);
      exchange.respondWithFailure(new UpstreamError(problem, failure, `gRPC ${name} from ${target.origin}: ${status.details}`, { cause: null }), detail);
      return;
    }
    this.reportTarget("success");
    const { res } = exchange;
    exchange.setExtraResponseHeaders();
    this.copyMetadata(trailers, (name, value) => res.setHeader(name, value));
    exchange.bytesOut = sendProblem(res, problemForGrpcStatus(status.code), exchange.requestId, status.details || name, exchange.draining, {
      grpcStatus: name,
      grpcCode: String(status.code),
    });
  }

  private badResponse(error: unknown): void {
    const { exchange, target } = this;
    (exchange.grpc as GrpcCall).status = "INTERNAL";
    this.reportTarget("failure");
    const reason = error instanceof Error ? error.message : String(error);
    exchange.respondWithFailure(
      new UpstreamError(problems.upstreamBadResponse, "upstream-error", `${target.origin} sent a response that does not decode: ${reason}`, { cause: error }),
      `the gRPC upstream "${this.options.upstream.name}" sent a response that does not decode as ${this.binding.method.responseType.name}`,
    );
  }

  private writeHead(status: number, contentType: string, length: number | null): void {
    const { exchange } = this;
    const headers = ["content-type", contentType, "x-request-id", exchange.requestId];
    if (length !== null) headers.push("content-length", String(length));
    else headers.push("cache-control", "no-cache");
    if (exchange.draining) headers.push("connection", "close");
    this.copyMetadata(this.initialMetadata ?? undefined, (name, value) => headers.push(name, value));
    exchange.setExtraResponseHeaders();
    exchange.res.writeHead(status, headers);
    this.headWritten = true;
  }

  /** The configured metadata keys, as response headers; nothing else of the upstream's metadata reaches the client. */
  private copyMetadata(metadata: Metadata | undefined, add: (name: string, value: string) => void): void {
    if (metadata === undefined) return;
    for (const key of this.options.config.metadata.responseHeaders) {
      for (const value of metadata.get(key)) if (typeof value === "string") add(key, value);
    }
  }

  private markLatency(): void {
    if (this.exchange.upstreamLatencyMs < 0) this.exchange.upstreamLatencyMs = Math.round((performance.now() - this.started) * 1000) / 1000;
  }

  /** Passive health and the circuit breaker learn how the call went, once. */
  private reportTarget(outcome: TargetOutcome): void {
    if (this.targetReported) return;
    this.targetReported = true;
    const settle = this.breakerSettle;
    if (settle !== null) {
      this.breakerSettle = null;
      settle(outcome);
    }
    this.options.upstream.report(this.target, outcome, Date.now());
  }
}

/** X-Request-Id always, then the configured request headers, as metadata. */
function requestMetadata(exchange: GrpcExchange, names: readonly string[]): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", exchange.requestId);
  if (names.length === 0) return metadata;
  const { headers } = exchange;
  for (let index = 0; index < headers.length; index += 2) {
    const name = (headers[index] as string).toLowerCase();
    if (name !== "x-request-id" && names.includes(name)) metadata.add(name, headers[index + 1] as string);
  }
  return metadata;
}

/** Reads the request body up to `limit` bytes; a larger one is refused with 413 and its connection closed. */
function readBody(exchange: GrpcExchange, limit: number, then: (body: Buffer) => void): void {
  const { req } = exchange;
  const chunks: Buffer[] = [];
  let length = 0;
  let refused = false;
  const onData = (chunk: Buffer): void => {
    length += chunk.length;
    if (length > limit) {
      refused = true;
      req.off("data", onData);
      exchange.bytesIn = length;
      (exchange.grpc as GrpcCall).status = "INVALID_ARGUMENT";
      exchange.setExtraResponseHeaders();
      // The rest of the body is not read: the connection closes after the refusal.
      exchange.reject("validation", problems.bodyTooLarge, `the request body exceeds the route's limit of ${limit} bytes`, true);
      return;
    }
    chunks.push(chunk);
  };
  req.on("data", onData);
  req.once("end", () => {
    if (!refused) then(Buffer.concat(chunks, length));
  });
  // A client that breaks the body off closes the response too; the exchange records it.
  req.once("error", noop);
}

/** The value of the binding's response_body field, which is the whole HTTP body. */
function responseBodyOf(json: unknown, binding: GrpcBinding): unknown {
  const field = binding.responseBodyField as NonNullable<GrpcBinding["responseBodyField"]>;
  return (json as Record<string, unknown>)[jsonNameOf(field)] ?? null;
}

function stripPrefix(path: string, prefix: string): string {
  if (prefix === "/") return path;
  const rest = path.slice(prefix.length);
  return rest.length === 0 ? "/" : rest;
}

function noop(): void {}
