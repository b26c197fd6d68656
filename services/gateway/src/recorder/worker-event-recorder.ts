import { Worker } from "node:worker_threads";
import type { RequestEvent } from "@tollgate/events";
import { timeOrderedUuid, type EventStoreConfig } from "@tollgate/eventstore";
import type { Logger } from "pino";
import type { AppendWorkerData, AppendWorkerStats, FromAppendWorker, ToAppendWorker } from "./append-protocol.js";
import { batchLine } from "./batch-text.js";
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
  text: string;
  count: number;
}

/**
 * Group commit through a worker thread. `record` only appends the event's line to the
 * batch text; a timer hands the text to the worker every flushIntervalMs (or as soon
 * as it holds maxBatchSize events). Batches stay in memory here until the worker
 * acknowledges them as committed or spooled, and are handed again to a fresh worker if
 * one dies, so a worker crash loses nothing (the store skips ids it already holds).
 */
export class WorkerEventRecorder implements EventRecorder {
  private text = "";
  private count = 0;
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
    // Serialized now, while the object is young, into the batch's one string: it crosses
    // to the worker as one copy, and the worker stores the data without parsing it.
    this.text += batchLine(this.newId(), event.type, event.version, JSON.stringify(event.data));
    this.count += 1;
    if (this.count >= this.options.recorder.maxBatchSize) this.handOver();
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
    if (this.count === 0) return;
    const batch: Batch = { seq: ++this.seq, text: this.text, count: this.count };
    this.text = "";
    this.count = 0;
    this.unacked.push(batch);
    this.worker.postMessage({ kind: "batch", seq: batch.seq, text: batch.text, count: batch.count } satisfies ToAppendWorker);
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
    if (index !== -1) this.unacked.splice(index, 1);
  }

  private respawn(): void {
    const pending = this.unacked.slice();
    const waiting = [...this.waiters.keys()];
    this.spawn().then(
      () => {
        for (const batch of pending) this.worker.postMessage({ kind: "batch", seq: batch.seq, text: batch.text, count: batch.count } satisfies ToAppendWorker);
        for (const seq of waiting) this.worker.postMessage({ kind: "flush", seq } satisfies ToAppendWorker);
      },
      (error: unknown) => this.options.logger.fatal({ err: error }, "append worker could not be restarted"),
    );
  }
}
