import {
  START,
  type CheckpointStore,
  type EventStore,
  type Position,
  type RecordedEvent,
} from "../event-store.js";
import { backoffDelay, defaultBackoff, type BackoffOptions } from "./backoff-delay.js";
import type { Projector } from "./projector.js";
import { systemTimers, type RunnerTimers } from "./runner-timers.js";

export interface SubscriptionRunnerOptions {
  store: EventStore;
  /**
   * Where the runner keeps the projector's checkpoint. For a projector that owns its
   * checkpoint, the runner still mirrors the position here after each batch, so that the
   * projector stays registered and retention never removes events it has not passed.
   */
  checkpoints: CheckpointStore;
  projector: Projector;
  /** Most events per `handle` call. Default 500. */
  maxBatchSize?: number;
  /** How long to wait for more events after the first one of a batch. Default 100 ms. */
  maxBatchWaitMs?: number;
  backoff?: Partial<BackoffOptions>;
  timers?: RunnerTimers;
  /** Called for every failure, before the runner waits `delayMs` and re-delivers. */
  onError?: (error: unknown, retry: { consecutiveFailures: number; delayMs: number }) => void;
  /** Called after each batch's effects and checkpoint are durable. */
  onBatch?: (batch: { size: number; checkpoint: Position; durationMs: number }) => void;
}

export type RunnerState = "idle" | "starting" | "waiting" | "handling" | "backing-off" | "stopped";

/** A snapshot for metrics and health checks. */
export interface RunnerStatus {
  name: string;
  state: RunnerState;
  /** The last position whose effects are durable; null until the first batch or a loaded checkpoint. */
  checkpoint: Position | null;
  /** The highest position received from the subscription, handled or not. */
  receivedPosition: Position | null;
  /** Events received but not yet applied (the batch being gathered or handled). */
  pendingEvents: number;
  /** How old the oldest received-but-unapplied event is, by its recordedAt; 0 when none is pending. */
  lagMs: number;
  batchesHandled: number;
  eventsHandled: number;
  consecutiveFailures: number;
  lastError: string | null;
}

export interface StopOptions {
  /**
   * false (default): a batch being handled is finished and its checkpoint stored.
   * true: the handler's signal is aborted and no checkpoint is stored for that batch,
   * so it is re-delivered on the next start. Either way `stop` waits for `handle` to
   * settle, so nothing the runner started still writes after `stop` resolves.
   */
  abandon?: boolean;
}

const STOP = Symbol("stop");
const TIMEOUT = Symbol("timeout");

/**
 * Runs one projector: loads its checkpoint, subscribes after it, gathers batches,
 * applies them and then stores the checkpoint.
 *
 * Delivery is at-least-once: the checkpoint is written only after `handle` resolves, so a
 * crash between the two re-delivers the batch. A projector that stores
 * `context.checkpoint` in the same transaction as its effects (`ownedCheckpoint`) gets
 * exactly-once effect. Any failure (subscription, handler, checkpoint) closes the
 * subscription, waits with exponential backoff and resubscribes from the checkpoint
 * that is actually stored, never from what was only held in memory.
 */
export class SubscriptionRunner {
  readonly #store: EventStore;
  readonly #checkpoints: CheckpointStore;
  readonly #projector: Projector;
  readonly #maxBatchSize: number;
  readonly #maxBatchWaitMs: number;
  readonly #backoff: BackoffOptions;
  readonly #timers: RunnerTimers;
  readonly #onError: SubscriptionRunnerOptions["onError"];
  readonly #onBatch: SubscriptionRunnerOptions["onBatch"];

  readonly #stopController = new AbortController();
  readonly #stopRequested: Promise<typeof STOP>;
  #abandon = false;
  #handlerController: AbortController | undefined;
  #loop: Promise<void> | undefined;

  #state: RunnerState = "idle";
  #checkpoint: Position | null = null;
  #receivedPosition: Position | null = null;
  #pending: RecordedEvent[] = [];
  #batchesHandled = 0;
  #eventsHandled = 0;
  #consecutiveFailures = 0;
  #lastError: string | null = null;

  constructor(options: SubscriptionRunnerOptions) {
    this.#store = options.store;
    this.#checkpoints = options.checkpoints;
    this.#projector = options.projector;
    this.#maxBatchSize = options.maxBatchSize ?? 500;
    this.#maxBatchWaitMs = options.maxBatchWaitMs ?? 100;
    this.#backoff = { ...defaultBackoff, ...options.backoff };
    this.#timers = options.timers ?? systemTimers;
    this.#onError = options.onError;
    this.#onBatch = options.onBatch;
    if (!Number.isInteger(this.#maxBatchSize) || this.#maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${this.#maxBatchSize}`);
    }
    if (!(this.#maxBatchWaitMs >= 0)) throw new RangeError(`maxBatchWaitMs must be >= 0, got ${this.#maxBatchWaitMs}`);
    if (!(this.#backoff.initialMs > 0) || !(this.#backoff.maxMs >= this.#backoff.initialMs)) {
      throw new RangeError("backoff needs 0 < initialMs <= maxMs");
    }
    const signal = this.#stopController.signal;
    this.#stopRequested = new Promise((resolve) => signal.addEventListener("abort", () => resolve(STOP), { once: true }));
  }

  get name(): string {
    return this.#projector.name;
  }

  /** Starts the run loop in the background. A runner runs once: after `stop`, make a new one. */
  start(): this {
    if (this.#loop || this.#stopController.signal.aborted) throw new Error(`runner ${this.name} was already started or stopped; create a new one`);
    this.#loop = this.#run();
    return this;
  }

  /** Stops the runner; see StopOptions. Idempotent. */
  async stop(options: StopOptions = {}): Promise<void> {
    if (options.abandon) {
      this.#abandon = true;
      this.#handlerController?.abort();
    }
    this.#stopController.abort();
    await this.#loop;
    this.#state = "stopped";
  }

  status(): RunnerStatus {
    const oldest = this.#pending[0];
    return {
      name: this.name,
      state: this.#state,
      checkpoint: this.#checkpoint,
      receivedPosition: this.#receivedPosition,
      pendingEvents: this.#pending.length,
      lagMs: oldest ? Math.max(0, this.#timers.now() - oldest.recordedAt.getTime()) : 0,
      batchesHandled: this.#batchesHandled,
      eventsHandled: this.#eventsHandled,
      consecutiveFailures: this.#consecutiveFailures,
      lastError: this.#lastError,
    };
  }

  get #stopping(): boolean {
    return this.#stopController.signal.aborted;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#session();
      } catch (error) {
        if (this.#stopping) break;
        this.#consecutiveFailures += 1;
        this.#lastError = error instanceof Error ? error.message : String(error);
        const delayMs = backoffDelay(this.#consecutiveFailures, this.#backoff);
        this.#state = "backing-off";
        this.#onError?.(error, { consecutiveFailures: this.#consecutiveFailures, delayMs });
        await this.#timers.sleep(delayMs, this.#stopController.signal);
      }
    }
    this.#pending = [];
    this.#state = "stopped";
  }

  /** One subscription, from the stored checkpoint until a failure (thrown) or a stop (returns). */
  async #session(): Promise<void> {
    this.#state = "starting";
    const owned = this.#projector.ownedCheckpoint;
    const from = owned ? await owned.load() : await this.#checkpoints.load(this.name);
    this.#checkpoint = from;
    this.#receivedPosition = from;
    this.#pending = [];
    if (this.#stopping) return;

    const subscription = this.#store.subscribe({ from: from ?? START, filter: this.#projector.filter });
    const iterator = subscription[Symbol.asyncIterator]();
    // At most one next() is outstanding; a batch deadline that fires leaves it pending
    // for the next batch rather than dropping the event it will deliver.
    let pendingNext: Promise<IteratorResult<RecordedEvent>> | undefined;
    const pull = (): Promise<IteratorResult<RecordedEvent>> => (pendingNext ??= iterator.next());
    const take = (result: IteratorResult<RecordedEvent>): boolean => {
      pendingNext = undefined;
      if (result.done) throw new Error(`subscription for ${this.name} ended`);
      const event = result.value;
      // Positions only grow; anything at or before the checkpoint was already applied.
      if (this.#receivedPosition !== null && event.position <= this.#receivedPosition) return false;
      this.#receivedPosition = event.position;
      this.#pending.push(event);
      return true;
    };

    try {
      while (!this.#stopping) {
        this.#state = "waiting";
        const first = await Promise.race([pull(), this.#stopRequested]);
        if (first === STOP) return;
        if (!take(first)) continue;

        const deadline = new AbortController();
        const timeout = this.#timers.sleep(this.#maxBatchWaitMs, deadline.signal).then((): typeof TIMEOUT => TIMEOUT);
        try {
          while (this.#pending.length < this.#maxBatchSize) {
            const next = await Promise.race([pull(), timeout, this.#stopRequested]);
            if (next === STOP) return;
            if (next === TIMEOUT) break;
            take(next);
          }
        } finally {
          deadline.abort();
        }
        if (!(await this.#apply(this.#pending))) return;
        this.#pending = [];
      }
    } finally {
      // Closing ends (or rejects) an outstanding next(); nobody is waiting for it any more.
      void pendingNext?.catch(() => undefined);
      await subscription.close().catch(() => undefined);
    }
  }

  /** Applies one batch, then records its checkpoint. Returns false when the batch was abandoned. */
  async #apply(batch: readonly RecordedEvent[]): Promise<boolean> {
    const last = batch.at(-1);
    if (!last) return true;
    const checkpoint = last.position;
    const startedAt = this.#timers.now();
    const controller = new AbortController();
    if (this.#abandon) controller.abort();
    this.#handlerController = controller;
    this.#state = "handling";
    try {
      await this.#projector.handle(batch, { checkpoint, signal: controller.signal });
    } finally {
      this.#handlerController = undefined;
    }
    // Effects first, checkpoint second: a crash in between re-delivers the batch
    // (at-least-once) instead of skipping it. An abandoned batch keeps the old checkpoint.
    if (this.#abandon) return false;
    await this.#checkpoints.store(this.name, checkpoint);
    this.#checkpoint = checkpoint;
    this.#batchesHandled += 1;
    this.#eventsHandled += batch.length;
    this.#consecutiveFailures = 0;
    this.#lastError = null;
    this.#onBatch?.({ size: batch.length, checkpoint, durationMs: this.#timers.now() - startedAt });
    return true;
  }
}

/** Creates a runner for `options.projector` and starts it. */
export function runProjector(options: SubscriptionRunnerOptions): SubscriptionRunner {
  return new SubscriptionRunner(options).start();
}
