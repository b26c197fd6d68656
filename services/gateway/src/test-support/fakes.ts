import { Writable } from "node:stream";
import { createLogger, type Logger, type LogLevel } from "@tollgate/observability";
import type { Clock, IdGenerator } from "../clock.js";

/**
 * A clock whose wall time stands still and whose monotonic time advances by
 * `stepMs` on every reading, so durations are a function of how many times the
 * gateway read the clock: 1 step for a refusal, 3 steps for a proxied request
 * (start, upstream sent, upstream head, end) of which 1 is upstream latency.
 */
export function stepClock(epochMs = Date.UTC(2026, 10, 26, 10, 0, 0), stepMs = 1): Clock & { readings: number } {
  const clock = {
    readings: 0,
    epochMs: () => epochMs,
    monotonicMs: () => clock.readings++ * stepMs,
  };
  return clock;
}

export function sequentialIds(prefix = "req"): IdGenerator {
  let next = 0;
  return { requestId: () => `${prefix}-${++next}` };
}

export interface CapturedLogger {
  logger: Logger;
  lines(): Record<string, unknown>[];
}

/** A real pino logger (with the production redaction) writing into memory. */
export function captureLogger(level: LogLevel = "info"): CapturedLogger {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      callback();
    },
  });
  return {
    logger: createLogger({ name: "gateway", level, destination }),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
