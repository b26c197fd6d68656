import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streamCategories, streamPrefix, streams } from "@tollgate/events";
import { type EventToAppend, SqliteEventStore, START } from "@tollgate/eventstore";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import {
  type BatchMarker,
  type DeliveryMode,
  readBatchMarker,
  type RunnerCrashChild,
  startRunnerCrashChild,
} from "./support/runner-crash-child.js";
import { waitFor } from "./support/wait-for.js";

/** Request events the projector must see, spread over three gateways' streams. */
const REQUEST_EVENTS = 3_000;
const BATCH = 100;
/** The batch the first child is killed in: earlier batches are complete, so there is a checkpoint to resume from. */
const KILLED_IN_BATCH = 3;
const requestPrefix = streamPrefix(streamCategories.requests);

interface Seeded {
  eventsFile: string;
  /** Ids of the request events, in log order. */
  ids: string[];
  /** Position of the last request event: where the projector has caught up. */
  last: bigint;
}

/** A SQLite log of REQUEST_EVENTS request events, with events of another stream mixed in that the projector filters out. */
async function seedLog(dir: string): Promise<Seeded> {
  const eventsFile = join(dir, "events.db");
  const store = SqliteEventStore.open({ file: eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
  try {
    const event = (n: number): EventToAppend => ({ id: randomUUID(), type: "RequestCompleted", version: 1, data: { n } });
    for (let n = 0; n < REQUEST_EVENTS; n += 50) {
      await store.append(streams.requests(`gw-${(n / 50) % 3}`), Array.from({ length: 50 }, (_, i) => event(n + i)));
      await store.append("plans-1", [{ id: randomUUID(), type: "PlanChanged", version: 1, data: { n } }]);
    }
    const ids: string[] = [];
    let from = START;
    for (;;) {
      const page = await store.readAll({ from, limit: 1_000, filter: { streamPrefixes: [requestPrefix] } });
      if (page.length === 0) break;
      ids.push(...page.map((recorded) => recorded.id));
      from = page.at(-1)!.position;
    }
    return { eventsFile, ids, last: from };
  } finally {
    await store.close();
  }
}

interface SinkContents {
  rows: { event_id: string; position: number; pid: number }[];
  ownCheckpoint: bigint | null;
}

function readSink(sinkFile: string): SinkContents {
  const db = new Database(sinkFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare<[], SinkContents["rows"][number]>("SELECT event_id, position, pid FROM processed ORDER BY seq").all();
    const checkpoint = db
      .prepare<[], string>("SELECT position FROM sink_checkpoint WHERE name = 'crash-test'")
      .pluck()
      .get();
    return { rows, ownCheckpoint: checkpoint === undefined ? null : BigInt(checkpoint) };
  } finally {
    db.close();
  }
}

function countDistinct(sinkFile: string): number {
  const db = new Database(sinkFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], number>("SELECT COUNT(DISTINCT event_id) FROM processed").pluck().get() ?? 0;
  } finally {
    db.close();
  }
}

function runnerCheckpoint(eventsFile: string): bigint | null {
  const db = new Database(eventsFile, { readonly: true, fileMustExist: true });
  try {
    const position = db.prepare<[], string>("SELECT position FROM checkpoints WHERE name = 'crash-test'").pluck().get();
    return position === undefined ? null : BigInt(position);
  } finally {
    db.close();
  }
}

describe("subscription runner: a projector killed in the middle of a batch", () => {
  let dir: string | undefined;
  const children: RunnerCrashChild[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.signal("SIGKILL");
      await child.exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function crashAndRecover(mode: DeliveryMode): Promise<{ seeded: Seeded; killed: BatchMarker; firstPid: number; sink: SinkContents }> {
    dir = await mkdtemp(join(tmpdir(), "tollgate-runner-crash-"));
    const seeded = await seedLog(dir);
    expect(seeded.ids).toHaveLength(REQUEST_EVENTS);
    const common = {
      dir,
      eventsFile: seeded.eventsFile,
      sinkFile: join(dir, "sink.db"),
      markerFile: join(dir, "batch-marker.json"),
      mode,
      name: "crash-test",
      streamPrefix: requestPrefix,
      maxBatchSize: BATCH,
    };

    // First life: slow writes, killed as soon as the target batch has started writing.
    const first = startRunnerCrashChild({ ...common, slowMs: 15 });
    children.push(first);
    await waitFor(
      `batch ${KILLED_IN_BATCH} to be under way (child stderr: ${first.stderr()})`,
      () => {
        const marker = readBatchMarker(common.markerFile);
        return marker !== null && marker.batch >= KILLED_IN_BATCH && marker.written > 0;
      },
      20_000,
      2,
    );
    first.signal("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    const killed = readBatchMarker(common.markerFile)!;
    // Proof that the kill landed inside a batch, with some of its writes done.
    expect(killed).toMatchObject({ pid: first.pid, finished: false });
    expect(killed.batch).toBeGreaterThanOrEqual(KILLED_IN_BATCH);
    expect(killed.written).toBeGreaterThan(0);
    expect(killed.written).toBeLessThan(killed.size);

    const afterKill = readSink(common.sinkFile);
    const ofKilledBatch = afterKill.rows.filter((row) => row.position >= killed.first && row.position <= killed.last);
    if (mode === "at-least-once") {
      // Part of the batch reached the sink; the runner's checkpoint is still before it.
      expect(ofKilledBatch.length).toBeGreaterThan(0);
      expect(runnerCheckpoint(seeded.eventsFile)! < BigInt(killed.first)).toBe(true);
    } else {
      // The batch's transaction died with the process: nothing of it, checkpoint before it.
      expect(ofKilledBatch).toEqual([]);
      expect(afterKill.ownCheckpoint! < BigInt(killed.first)).toBe(true);
    }

    // Second life: full speed, until it has caught up with the head of the log.
    const second = startRunnerCrashChild({ ...common, slowMs: 0 });
    children.push(second);
    await waitFor(
      `the restarted projector to reach the head (child stderr: ${second.stderr()})`,
      () =>
        mode === "exactly-once"
          ? readSink(common.sinkFile).ownCheckpoint === seeded.last
          : countDistinct(common.sinkFile) === REQUEST_EVENTS && runnerCheckpoint(seeded.eventsFile) === seeded.last,
      30_000,
      10,
    );
    second.signal("SIGTERM");
    expect(await second.exited).toBe(0);
    return { seeded, killed, firstPid: first.pid, sink: readSink(common.sinkFile) };
  }

  it("at-least-once: after a restart every event is processed, and only the interrupted batch repeats", async ({ annotate }) => {
    const { seeded, killed, firstPid, sink } = await crashAndRecover("at-least-once");

    const processed = new Set(sink.rows.map((row) => row.event_id));
    expect(seeded.ids.filter((id) => !processed.has(id))).toEqual([]);
    expect(processed.size).toBe(REQUEST_EVENTS);

    const seen = new Set<string>();
    const duplicates = sink.rows.filter((row) => (seen.has(row.event_id) ? true : (seen.add(row.event_id), false)));
    // Re-delivery starts at the stored checkpoint, so only events of the killed batch can repeat.
    for (const row of duplicates) {
      expect(row.position).toBeGreaterThanOrEqual(killed.first);
      expect(row.position).toBeLessThanOrEqual(killed.last);
    }
    // Exactly the rows the killed process had committed of that batch are repeated.
    const writtenBeforeKill = sink.rows.filter(
      (row) => row.pid === firstPid && row.position >= killed.first && row.position <= killed.last,
    ).length;
    expect(duplicates.length).toBe(writtenBeforeKill);
    const report =
      `${REQUEST_EVENTS} events, none skipped; ${duplicates.length} applied twice ` +
      `(the rows of batch ${killed.batch} written before the kill), as at-least-once allows`;
    console.info(`runner crash, at-least-once: ${report}`);
    await annotate(report);
  });

  it("exactly-once: with the checkpoint in the sink's transaction, every event is applied exactly once", async ({ annotate }) => {
    const { seeded, sink } = await crashAndRecover("exactly-once");

    expect(sink.rows.map((row) => row.event_id)).toEqual(seeded.ids);
    expect(sink.ownCheckpoint).toBe(seeded.last);
    // The runner mirrors the projector's checkpoint for retention; it may trail by a batch, never lead.
    const mirrored = runnerCheckpoint(seeded.eventsFile);
    expect(mirrored !== null && mirrored <= seeded.last).toBe(true);
    const report = `${REQUEST_EVENTS} events, each applied exactly once across the kill`;
    console.info(`runner crash, exactly-once: ${report}`);
    await annotate(report);
  });
});
