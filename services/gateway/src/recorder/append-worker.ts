import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { openEventStore, type EventStore, type EventStoreConfig, type EventToAppend } from "@tollgate/eventstore";
import type { AppendWorkerData, AppendWorkerStats, FromAppendWorker, ToAppendWorker } from "./append-protocol.js";
import { parseBatchBytes } from "./batch-text.js";
import { Spool } from "./spool.js";

/**
 * The append worker owns the event store connection and the spool, so that a commit
 * (synchronous in better-sqlite3) never stalls requests on the gateway's event loop.
 *
 * Messages are handled strictly one after another. Every batch is either committed to
 * the store or written to the spool before it is acknowledged, and while anything is
 * spooled new batches go to the spool too, so the drain always catches up.
 */
const port = parentPort;
if (!port) throw new Error("append-worker must run in a worker thread");
const { store: storeConfig, streamId, recorder } = workerData as AppendWorkerData;

const spool = new Spool(join(recorder.spoolDir, streamId.replace(/[^A-Za-z0-9._-]/g, "_")));
let store: EventStore | null = null;
let storeUp = false;
let committed = 0;
let tornLines = 0;
let lastRetryAt = 0;
let queue: Promise<void> = Promise.resolve();

function send(message: FromAppendWorker): void {
  port!.postMessage(message);
}

function stats(): AppendWorkerStats {
  return { storeUp, committed, spooled: spool.pending, tornLines };
}

function log(level: "info" | "warn" | "error", msg: string, detail?: Record<string, unknown>): void {
  send(detail === undefined ? { kind: "log", level, msg } : { kind: "log", level, msg, detail });
}

function appenderStoreConfig(config: EventStoreConfig): EventStoreConfig {
  // The appender waits at most storeTimeoutMs for the SQLite write lock; past that the
  // batch is spooled, so a locked store cannot back requests up behind the worker.
  return config.kind === "sqlite" ? { ...config, busyTimeoutMs: recorder.storeTimeoutMs } : config;
}

async function append(events: EventToAppend[]): Promise<void> {
  await store!.append(streamId, events, { expectedRevision: "any" });
  committed += events.length;
}

function markDown(error: unknown): void {
  if (storeUp) log("warn", "event store unavailable; spooling events", { error: describe(error) });
  storeUp = false;
  lastRetryAt = Date.now();
}

async function connect(): Promise<void> {
  try {
    store ??= (await openEventStore(appenderStoreConfig(storeConfig))).store;
    storeUp = true;
  } catch (error) {
    store = null;
    markDown(error);
  }
}

async function drainSpool(): Promise<void> {
  if (spool.pending === 0 && storeUp) return;
  lastRetryAt = Date.now();
  if (!store) await connect();
  if (!store) return;
  try {
    const result = await spool.drain(append, recorder.maxBatchSize);
    tornLines += result.tornLines;
    if (result.tornLines > 0) log("error", "spool held torn lines that could not be parsed", { tornLines: result.tornLines });
    if (!storeUp || result.appended > 0) log("info", "event store available; spool drained", { drained: result.appended });
    storeUp = true;
  } catch (error) {
    markDown(error);
  }
}

async function handleBatch(events: EventToAppend[]): Promise<void> {
  if (!storeUp || spool.pending > 0) {
    if (Date.now() - lastRetryAt >= recorder.retryIntervalMs) await drainSpool();
  }
  if (storeUp && spool.pending === 0) {
    try {
      await append(events);
      return;
    } catch (error) {
      markDown(error);
    }
  }
  spool.write(events);
}

async function handle(message: ToAppendWorker): Promise<void> {
  switch (message.kind) {
    case "batch": {
      const events = parseBatchBytes(new Uint8Array(message.buffer, 0, message.length));
      if (events.length !== message.count) log("error", "a batch held another number of events than it was sent with", { expected: message.count, parsed: events.length });
      await handleBatch(events);
      send({ kind: "ack", seq: message.seq, stats: stats() });
      return;
    }
    case "flush":
      send({ kind: "flushed", seq: message.seq, stats: stats() });
      return;
    case "close": {
      const deadline = Date.now() + message.drainTimeoutMs;
      while (spool.pending > 0 && Date.now() < deadline) {
        lastRetryAt = 0;
        await drainSpool();
        if (spool.pending > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      spool.close();
      await store?.close();
      store = null;
      send({ kind: "closed", seq: message.seq, stats: stats() });
      port!.close();
      return;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// Retries a down store even when no traffic arrives, so the spool drains on its own.
const retryTimer = setInterval(() => {
  if ((storeUp && spool.pending === 0) || Date.now() - lastRetryAt < recorder.retryIntervalMs) return;
  queue = queue.then(drainSpool);
}, Math.min(recorder.retryIntervalMs, 250));
retryTimer.unref();

port.on("message", (message: ToAppendWorker) => {
  queue = queue.then(() => handle(message)).catch((error: unknown) => {
    log("error", "append worker failed to handle a message", { error: describe(error), kind: message.kind });
  });
});

queue = queue.then(async () => {
  await connect();
  if (spool.pending > 0) await drainSpool();
  send({ kind: "ready", stats: stats() });
});
