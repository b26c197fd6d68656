import { Worker } from "node:worker_threads";
import type { RequestEvent } from "@tollgate/events";
import { timeOrderedUuid, type EventStoreConfig } from "@tollgate/eventstore";
import type { Logger } from "pino";
import type { AppendWorkerData, AppendWorkerStats, FromAppendWorker, ToAppendWorker } from "./append-protocol.js";
import { BatchBuffer, batchLine, maxUtf8Bytes } from "./batch-text.js";
import type { EventRecorder } from "./event-recorder.js";
import type { RecorderConfig } from "./recorder-config.js";

export interface EventRecorderOptions {
  store: EventStoreConfig;
  streamId: string;
  recorder: RecorderConfig;
  logger: Logger;
  /** Event ids (default: time-ordered UUIDv7, cheap to index); injectable so tests can assert exact events. */
  newId?: () => string;
  /** How long close() keeps trying to drain the spool into the store. */
  closeDrainTimeoutMs?: number;
}

const workerUrl = new URL("./append-worker.js", import.meta.url);

interface Batch {
  seq: number;
  buffer: BatchBuffer;
}

/** Bytes of one batch buffer: about 500 request events. A buffer is reused once the worker has acknowledged its batch. */
const batchBytes = 256 * 1024;
/** Acknowledged buffers kept for reuse; more than this are left to the collector. */
const spareBuffers = 4;

/**
 * Group commit through a worker thread. `record` only encodes the event's line into the
 * batch's shared buffer (batch-text.ts); a timer hands the buffer to the worker every
 * flushIntervalMs (or as soon as it holds maxBatchSize events, or is full). Batches
 * stay in memory here until the worker acknowledges them as committed or spooled, and
 * are handed again to a fresh worker if one dies, so a worker crash loses nothing (the
 * store skips ids it already holds).
 */
export class WorkerEventRecorder implements EventRecorder {
  private current = BatchBuffer.allocate(batchBytes);
  private readonly spare: BatchBuffer[] = [];
  /**
   * In hand-over order (acks come back in that order). An array, not a Map keyed by seq:
   * a Map gaining and losing a key per batch rehashes often, and V8 links each obsolete
   * table, with the batch texts still in it, to the next (see InFlightRegistry).
   */
  private readonly unacked: Batch[] = [];
  private readonly waiters = new Map<number, () => void>();
  private seq = 0;
  private worker!: Worker;
  private closing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly newId: () => string;
  latestStats: AppendWorkerStats = { storeUp: false, committed: 0, spooled: 0, tornLines: 0 };
  recorded = 0;

  private constructor(private readonly options: EventRecorderOptions) {
    this.newId = options.newId ?? (() => timeOrderedUuid());
    this.timer = setInterval(() => this.handOver(), options.recorder.flushIntervalMs);
    this.timer.unref();
  }

  static async start(options: EventRecorderOptions): Promise<WorkerEventRecorder> {
    const recorder = new WorkerEventRecorder(options);
    await recorder.spawn();
    return recorder;
  }

  record(event: RequestEvent): void {
    this.recorded += 1;
    // Serialized now, while the object is young, into the batch's shared buffer: the
    // worker stores the data without parsing it.
    const line = batchLine(this.newId(), event.type, event.version, JSON.stringify(event.data));
    if (!this.current.append(line)) {
      this.handOver();
      if (!this.current.append(line)) {
        // Longer than a whole buffer: a batch of its own (the empty buffer stays for reuse).
        if (this.spare.length < spareBuffers) this.spare.push(this.current);
        this.current = BatchBuffer.allocate(maxUtf8Bytes(line));
        this.current.append(line);
      }
    }
    if (this.current.count >= this.options.recorder.maxBatchSize) this.handOver();
  }

  async flush(): Promise<void> {
    this.handOver();
    const seq = ++this.seq;
    await this.request({ kind: "flush", seq });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      this.handOver();
      const seq = ++this.seq;
      await this.request({ kind: "close", seq, drainTimeoutMs: this.options.closeDrainTimeoutMs ?? 5_000 });
      await new Promise<void>((resolve) => {
        if (this.worker.threadId === -1) resolve();
        else this.worker.once("exit", () => resolve());
      });
      if (this.latestStats.spooled > 0) {
        this.options.logger.warn({ spooled: this.latestStats.spooled }, "event store still unavailable; events left in the spool drain on next start");
      }
    })();
    return this.closing;
  }

  private handOver(): void {
    if (this.current.count === 0) return;
    const batch: Batch = { seq: ++this.seq, buffer: this.current };
    this.current = this.spare.pop() ?? BatchBuffer.allocate(batchBytes);
    this.unacked.push(batch);
    this.send(batch);
  }

  private send(batch: Batch): void {
    const { shared, length, count } = batch.buffer;
    this.worker.postMessage({ kind: "batch", seq: batch.seq, buffer: shared, length, count } satisfies ToAppendWorker);
  }

  private request(message: ToAppendWorker): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiters.set(message.seq, resolve);
      this.worker.postMessage(message);
    });
  }

  private spawn(): Promise<void> {
    const { store, streamId, recorder } = this.options;
    const data: AppendWorkerData = { store, streamId, recorder };
    const worker = new Worker(workerUrl, { workerData: data });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      worker.on("message", (message: FromAppendWorker) => {
        switch (message.kind) {
          case "ready":
            this.latestStats = message.stats;
            resolve();
            return;
          case "ack":
            this.latestStats = message.stats;
            this.acknowledge(message.seq);
            return;
          case "flushed":
          case "closed":
            this.latestStats = message.stats;
            this.waiters.get(message.seq)?.();
            this.waiters.delete(message.seq);
            return;
          case "log":
            this.options.logger[message.level](message.detail ?? {}, message.msg);
            return;
        }
      });
      worker.once("error", (error) => {
        this.options.logger.error({ err: error }, "append worker crashed");
        reject(error);
      });
      worker.once("exit", (code) => {
        if (this.closing || code === 0) return;
        this.options.logger.error({ code, unackedBatches: this.unacked.length }, "append worker exited; restarting it");
        this.respawn();
      });
    });
  }

  private acknowledge(seq: number): void {
    const index = this.unacked.findIndex((batch) => batch.seq === seq);
    if (index === -1) return;
    const [batch] = this.unacked.splice(index, 1);
    // The worker has read it: the buffer can take another batch.
    if (batch!.buffer.bytes.length === batchBytes && this.spare.length < spareBuffers) {
      batch!.buffer.reset();
      this.spare.push(batch!.buffer);
    }
  }

  private respawn(): void {
    const pending = this.unacked.slice();
    const waiting = [...this.waiters.keys()];
    this.spawn().catch((error: unknown) => this.options.logger.fatal({ err: error }, "append worker could not be restarted"));
    // Posted now, before any batch recorded from here on: the new worker queues messages
    // until it is ready and then handles them in order, so the log keeps recording order.
    for (const batch of pending) this.send(batch);
    for (const seq of waiting) this.worker.postMessage({ kind: "flush", seq } satisfies ToAppendWorker);
  }
}
