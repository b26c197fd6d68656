import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import type { RequestCompleted } from "@tollgate/events";
import { sampleRequestCompleted } from "@tollgate/events/testing";
import { WorkerEventRecorder } from "@tollgate/gateway/recorder";
import { afterEach, describe, expect, it } from "vitest";

type RecorderLogger = Parameters<typeof WorkerEventRecorder.start>[0]["logger"];

/** Just enough of a pino logger to see what the recorder reports. */
function recordingLogger(): { logger: RecorderLogger; messages: string[] } {
  const messages: string[] = [];
  const log = (first: unknown, msg?: string): void => void messages.push(typeof first === "string" ? first : (msg ?? ""));
  const logger = { trace: log, debug: log, info: log, warn: log, error: log, fatal: log, child: () => logger } as unknown as RecorderLogger;
  return { logger, messages };
}


describe("the gateway's worker event recorder (a real worker thread, a real SQLite file)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("stores every event once, in order, across full buffers, an oversized event and a worker that dies with batches in hand", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-recorder-"));
    dirs.push(dir);
    const file = join(dir, "events.db");
    const { logger, messages } = recordingLogger();
    const recorder = await WorkerEventRecorder.start({
      store: { kind: "sqlite", file, synchronous: "normal", busyTimeoutMs: 1_000 },
      streamId: "requests-gw-test",
      recorder: { flushIntervalMs: 1_000, maxBatchSize: 10_000, spoolDir: join(dir, "spool"), storeTimeoutMs: 500, retryIntervalMs: 1_000 },
      logger,
    });

    // About 3 MB of lines: several 256 KiB buffers fill and are handed over before the
    // flush timer fires; one event is longer than a whole buffer; non-ASCII paths.
    const paths = new Map<string, string>();
    for (let n = 0; n < 6_000; n++) {
      const path = n === 2_500 ? `/api/long/${"é".repeat(150_000)}` : `/api/items/${n}/zoë-東京`;
      paths.set(`req-${n}`, path);
      recorder.record(sampleRequestCompleted({ requestId: `req-${n}`, gatewayId: "gw-test", path }));
      if (n === 4_000) {
        // The worker dies with batches it has not acknowledged: they go to its successor.
        await (recorder as unknown as { worker: Worker }).worker.terminate();
      }
    }
    await recorder.flush();
    await recorder.close();

    expect(messages).toContain("append worker exited; restarting it");
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare("SELECT data FROM events WHERE stream_id = 'requests-gw-test' ORDER BY position").all() as { data: string }[];
      const stored = rows.map((row) => JSON.parse(row.data) as RequestCompleted["data"]);
      const ids = stored.map((data) => data.requestId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(Array.from({ length: 6_000 }, (_, n) => `req-${n}`));
      expect(stored.every((data) => data.path === paths.get(data.requestId))).toBe(true);
    } finally {
      db.close();
    }
  }, 60_000);
});
