import { randomUUID } from "node:crypto";
import { StreamsService } from "@eventstore/db-client/generated/streams_grpc_pb.js";
import { Empty, StreamIdentifier, UUID } from "@eventstore/db-client/generated/shared_pb.js";
import { AppendReq, AppendResp, ReadReq, ReadResp } from "@eventstore/db-client/generated/streams_pb.js";
// The client's own gRPC library (a dependency of @eventstore/db-client), so that both
// ends of the wire speak through the same implementation.
import {
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerReadableStream,
  type ServerWritableStream,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";

interface StoredEvent {
  streamId: string;
  revision: bigint;
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
  /** Ticks (100 ns) since the Unix epoch, as the server sends `created`. */
  created: bigint;
  position: bigint;
}

export interface EsdbStandInOptions {
  /** Servers before 23.10 never send the caught-up message. Default true. */
  sendsCaughtUp?: boolean;
  /** Stamps `created`. Default: the system clock. */
  clock?: () => Date;
}

/**
 * A stand-in for an EventStoreDB node, for tests on machines that cannot run one. It
 * speaks the real gRPC Streams protocol (the client's generated messages, over
 * @grpc/grpc-js) on a loopback port, so the adapter is exercised through the real
 * client: requests, encodings, streaming, cancellation, error mapping.
 *
 * Its behaviour follows EventStoreDB's documentation where the adapter depends on it,
 * and that is exactly what it cannot prove: passing against it shows that the adapter
 * and the client agree, not that the server agrees. Only a live server shows that.
 *
 * - Positions grow by uneven steps (as log positions do), commit = prepare.
 * - Reading $all forwards from a position includes the event at it; backwards excludes it.
 *   A subscription from a position starts after it.
 * - Appends check the expected revision; a retry whose ids are all already in the
 *   stream succeeds again and writes nothing.
 * - Stream metadata (`$$<stream>`) applies `$tb` and `$maxCount` to stream reads only, as
 *   the server does before a scavenge; $all keeps returning every event.
 * - A `$>` link is written to `$streams` for every new stream, as the by-stream system
 *   projection does.
 * - Filtered subscriptions send a checkpoint every `window × multiplier` events examined,
 *   then (unless disabled) the caught-up message, then live events.
 * - ServerFeatures is not implemented, so the client falls back to the plain Append call.
 */
export class EsdbStandInServer {
  readonly #server: Server;
  readonly #port: number;
  readonly #sendsCaughtUp: boolean;
  readonly #clock: () => Date;
  readonly #log: StoredEvent[] = [];
  readonly #streams = new Map<string, StoredEvent[]>();
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  #nextPosition = 4_096n;

  private constructor(server: Server, port: number, options: EsdbStandInOptions) {
    this.#server = server;
    this.#port = port;
    this.#sendsCaughtUp = options.sendsCaughtUp ?? true;
    this.#clock = options.clock ?? (() => new Date());
  }

  static async start(options: EsdbStandInOptions = {}): Promise<EsdbStandInServer> {
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const standIn = new EsdbStandInServer(server, port, options);
    const implementation: UntypedServiceImplementation = {
      read: (call: ServerWritableStream<ReadReq, ReadResp>) => standIn.#read(call),
      append: (call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>) =>
        standIn.#appendCall(call, callback),
    };
    server.addService(StreamsService, implementation);
    // Like a real node, the log does not start empty.
    standIn.#write("$settings", "$settings", "application/json", Buffer.from("{}"), new Uint8Array());
    return standIn;
  }

  get connectionString(): string {
    return `esdb://127.0.0.1:${this.#port}?tls=false`;
  }

  stop(): Promise<void> {
    this.#listeners.clear();
    this.#server.forceShutdown();
    return Promise.resolve();
  }

  /** Stream names in the log, for tests that look behind the adapter. */
  streamNames(): string[] {
    return [...this.#streams.keys()];
  }

  #appendCall(call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>): void {
    let options: AppendReq.Options | undefined;
    const proposed: AppendReq.ProposedMessage[] = [];
    call.on("data", (request: AppendReq) => {
      if (request.hasOptions()) options = request.getOptions();
      const message = request.getProposedMessage();
      if (message) proposed.push(message);
    });
    call.on("end", () => {
      if (!options) {
        callback({ code: status.INVALID_ARGUMENT, details: "append without options" });
        return;
      }
      callback(null, this.#append(options, proposed));
    });
  }

  #append(options: AppendReq.Options, proposed: readonly AppendReq.ProposedMessage[]): AppendResp {
    const streamId = Buffer.from(options.getStreamIdentifier()!.getStreamName_asU8()).toString("utf8");
    const events = this.#streams.get(streamId) ?? [];
    const current = events.at(-1)?.revision ?? -1n;
    const ids = proposed.map((message) => message.getId()!.getString());
    const response = new AppendResp();

    const already = ids.map((id) => events.find((event) => event.id === id));
    if (ids.length > 0 && already.every((event) => event !== undefined)) {
      const last = already.at(-1)!;
      return response.setSuccess(
        new AppendResp.Success().setCurrentRevision(last.revision.toString()).setPosition(positionOf(last.position)),
      );
    }

    const Case = AppendReq.Options.ExpectedStreamRevisionCase;
    const expected = options.getExpectedStreamRevisionCase();
    const ok =
      expected === Case.ANY ||
      (expected === Case.NO_STREAM && current === -1n) ||
      (expected === Case.STREAM_EXISTS && current >= 0n) ||
      (expected === Case.REVISION && BigInt(options.getRevision()) === current);
    if (!ok) {
      const wrong = new AppendResp.WrongExpectedVersion();
      if (current === -1n) wrong.setCurrentNoStream(new Empty());
      else wrong.setCurrentRevision(current.toString());
      if (expected === Case.REVISION) wrong.setExpectedRevision(options.getRevision());
      else if (expected === Case.NO_STREAM) wrong.setExpectedNoStream(new Empty());
      else if (expected === Case.STREAM_EXISTS) wrong.setExpectedStreamExists(new Empty());
      else wrong.setExpectedAny(new Empty());
      return response.setWrongExpectedVersion(wrong);
    }

    let last: StoredEvent | undefined;
    const isNew = events.length === 0;
    for (const message of proposed) {
      const metadata = message.getMetadataMap();
      last = this.#write(
        streamId,
        metadata.get("type") ?? "",
        metadata.get("content-type") ?? "application/octet-stream",
        message.getData_asU8(),
        message.getCustomMetadata_asU8(),
        message.getId()!.getString(),
      );
    }
    if (isNew && !streamId.startsWith("$")) {
      this.#write("$streams", "$>", "application/octet-stream", Buffer.from(`0@${streamId}`), new Uint8Array());
    }
    if (!last) return response.setSuccess(new AppendResp.Success().setNoStream(new Empty()).setNoPosition(new Empty()));
    return response.setSuccess(
      new AppendResp.Success().setCurrentRevision(last.revision.toString()).setPosition(positionOf(last.position)),
    );
  }

  #write(
    streamId: string,
    type: string,
    contentType: string,
    data: Uint8Array,
    customMetadata: Uint8Array,
    id: string = randomUUID(),
  ): StoredEvent {
    const events = this.#streams.get(streamId) ?? [];
    const event: StoredEvent = {
      streamId,
      revision: (events.at(-1)?.revision ?? -1n) + 1n,
      id,
      type,
      contentType,
      data: Uint8Array.from(data),
      customMetadata: Uint8Array.from(customMetadata),
      created: BigInt(this.#clock().getTime()) * 10_000n,
      position: this.#nextPosition,
    };
    // Uneven steps, as record sizes make them: nothing may assume positions are contiguous.
    this.#nextPosition += 97n + BigInt(data.length + customMetadata.length);
    events.push(event);
    this.#streams.set(streamId, events);
    this.#log.push(event);
    for (const listener of this.#listeners) listener(event);
    return event;
  }

  #read(call: ServerWritableStream<ReadReq, ReadResp>): void {
    const options = call.request.getOptions();
    if (!options) {
      call.destroy(Object.assign(new Error("read without options"), { code: status.INVALID_ARGUMENT }));
      return;
    }
    const forwards = options.getReadDirection() === ReadReq.Options.ReadDirection.FORWARDS;
    const count = options.hasCount() ? Number(options.getCount()) : Number.MAX_SAFE_INTEGER;
    if (options.hasStream()) {
      this.#readStream(call, options.getStream()!, forwards, count);
    } else if (options.hasSubscription()) {
      this.#subscribeToAll(call, options);
    } else {
      const all = options.getAll()!;
      const from = all.hasPosition() ? BigInt(all.getPosition()!.getCommitPosition()) : all.hasEnd() ? null : -1n;
      const page = forwards
        ? this.#log.filter((event) => event.position >= (from ?? this.#nextPosition))
        : this.#log.filter((event) => from === null || event.position < from).reverse();
      for (const event of page.slice(0, count)) call.write(toReadResp(event));
      call.end();
    }
  }

  #readStream(call: ServerWritableStream<ReadReq, ReadResp>, stream: ReadReq.Options.StreamOptions, forwards: boolean, count: number): void {
    const streamId = Buffer.from(stream.getStreamIdentifier()!.getStreamName_asU8()).toString("utf8");
    const events = this.#streams.get(streamId);
    if (!events || events.length === 0) {
      call.write(new ReadResp().setStreamNotFound(new ReadResp.StreamNotFound().setStreamIdentifier(identifierOf(streamId))));
      call.end();
      return;
    }
    const visible = this.#visible(streamId, events);
    const at = stream.hasRevision() ? BigInt(stream.getRevision()) : null;
    const page = forwards
      ? visible.filter((event) => at === null || event.revision >= at)
      : visible.filter((event) => at === null || event.revision <= at).reverse();
    for (const event of page.slice(0, count)) call.write(toReadResp(event));
    call.end();
  }

  /** Stream reads honour the stream's metadata: `$tb` (truncate before) and `$maxCount`. */
  #visible(streamId: string, events: readonly StoredEvent[]): StoredEvent[] {
    const latest = this.#streams.get(`$$${streamId}`)?.at(-1);
    const metadata = latest ? (JSON.parse(Buffer.from(latest.data).toString("utf8")) as Record<string, unknown>) : {};
    const truncateBefore = typeof metadata.$tb === "number" ? BigInt(metadata.$tb) : 0n;
    const maxCount = typeof metadata.$maxCount === "number" ? metadata.$maxCount : undefined;
    const kept = events.filter((event) => event.revision >= truncateBefore);
    return maxCount === undefined ? kept : kept.slice(-maxCount);
  }

  #subscribeToAll(call: ServerWritableStream<ReadReq, ReadResp>, options: ReadReq.Options): void {
    const all = options.getAll();
    if (!all) {
      call.destroy(Object.assign(new Error("stream subscriptions are not part of the stand-in"), { code: status.UNIMPLEMENTED }));
      return;
    }
    const filter = options.hasFilter() ? compileFilter(options.getFilter()!) : () => true;
    const filterOptions = options.getFilter();
    const checkpointEvery = filterOptions
      ? (filterOptions.hasMax() ? filterOptions.getMax() : 32) * Math.max(1, filterOptions.getCheckpointintervalmultiplier())
      : Number.POSITIVE_INFINITY;
    const after = all.hasPosition() ? BigInt(all.getPosition()!.getCommitPosition()) : all.hasEnd() ? (this.#log.at(-1)?.position ?? -1n) : -1n;

    call.write(new ReadResp().setConfirmation(new ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID())));
    let examined = 0;
    for (const event of this.#log) {
      if (event.position <= after) continue;
      if (filter(event)) call.write(toReadResp(event));
      examined += 1;
      if (examined % checkpointEvery === 0) {
        call.write(
          new ReadResp().setCheckpoint(
            new ReadResp.Checkpoint().setCommitPosition(event.position.toString()).setPreparePosition(event.position.toString()),
          ),
        );
      }
    }
    if (this.#sendsCaughtUp) call.write(new ReadResp().setCaughtUp(new ReadResp.CaughtUp()));

    const listener = (event: StoredEvent): void => {
      if (filter(event)) call.write(toReadResp(event));
    };
    this.#listeners.add(listener);
    const stop = (): void => {
      this.#listeners.delete(listener);
    };
    call.on("cancelled", stop);
    call.on("close", stop);
  }
}

function identifierOf(streamId: string): StreamIdentifier {
  return new StreamIdentifier().setStreamName(Buffer.from(streamId, "utf8"));
}

function positionOf(position: bigint): AppendResp.Position {
  return new AppendResp.Position().setCommitPosition(position.toString()).setPreparePosition(position.toString());
}

function toReadResp(event: StoredEvent): ReadResp {
  const recorded = new ReadResp.ReadEvent.RecordedEvent()
    .setId(new UUID().setString(event.id))
    .setStreamIdentifier(identifierOf(event.streamId))
    .setStreamRevision(event.revision.toString())
    .setPreparePosition(event.position.toString())
    .setCommitPosition(event.position.toString())
    .setCustomMetadata(event.customMetadata)
    .setData(event.data);
  const metadata = recorded.getMetadataMap();
  metadata.set("type", event.type);
  metadata.set("content-type", event.contentType);
  metadata.set("created", event.created.toString());
  return new ReadResp().setEvent(new ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(event.position.toString()));
}

function compileFilter(options: ReadReq.Options.FilterOptions): (event: StoredEvent) => boolean {
  const onStream = options.hasStreamIdentifier();
  const expression = onStream ? options.getStreamIdentifier()! : options.getEventType()!;
  const field = (event: StoredEvent): string => (onStream ? event.streamId : event.type);
  const regex = expression.getRegex();
  if (regex) {
    const pattern = new RegExp(regex);
    return (event) => pattern.test(field(event));
  }
  const prefixes = expression.getPrefixList();
  return (event) => prefixes.some((prefix) => field(event).startsWith(prefix));
}
