import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RecordedEvent, SqliteEventStore, START } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type EventStoreChild, startEventStoreChild } from "./support/eventstore-child-process.js";

const appenders = ["a", "b", "c"];
/** Batch sizes from 1 to 25, as the gateway's group commit produces them under varying load. */
const sizes = Array.from({ length: 40 }, (_, batch) => 1 + ((batch * 7) % 25));
const perAppender = sizes.reduce((sum, size) => sum + size + 1, 0);
const expectedTotal = appenders.length * perAppender;

const withDeadline = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref()),
  ]);

describe("SQLite event store shared by several processes", () => {
  let dir: string;
  let children: EventStoreChild[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-eventstore-mp-"));
    children = [];
  });

  afterEach(async () => {
    for (const child of children) child.kill();
    await Promise.all(children.map((child) => child.exited));
    await rm(dir, { recursive: true, force: true });
  });

  it("loses no event, keeps one strictly increasing order and contiguous revisions, and a subscriber in another process sees it all in order", async () => {
    const file = join(dir, "events.db");
    // Created up front so that the children all open an existing, migrated file.
    await SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 5_000 }).close();

    const subscriber = startEventStoreChild("subscribe", { file, expected: expectedTotal }, dir);
    const writers = appenders.map((name) => startEventStoreChild("append", { file, name, sizes }, dir));
    children.push(subscriber, ...writers);
    await withDeadline(Promise.all(children.map((child) => child.ready)), 20_000, "children ready");
    for (const child of children) child.go();

    const codes = await withDeadline(Promise.all(children.map((child) => child.exited)), 60_000, "children finished");
    const stderr = children.flatMap((child) => child.errors).join("\n");
    expect(codes, stderr).toEqual([0, 0, 0, 0]);
    const reports = writers.map((writer) => JSON.parse(writer.lines.at(-1)!) as { written: number; conflicts: number });
    expect(reports.map((report) => report.written)).toEqual([perAppender, perAppender, perAppender]);

    const store = SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 5_000 });
    const log: RecordedEvent[] = [];
    try {
      for (let from = START; ; ) {
        const page = await store.readAll({ from, limit: 1_000 });
        if (page.length === 0) break;
        log.push(...page);
        from = page.at(-1)!.position;
      }
    } finally {
      await store.close();
    }

    // No event lost, none written twice.
    const expectedIds = appenders.flatMap((name) => [
      ...sizes.flatMap((size, batch) => Array.from({ length: size }, (_, i) => `${name}-${batch}-${i}`)),
      ...sizes.map((_, batch) => `${name}-shared-${batch}`),
    ]);
    expect(log).toHaveLength(expectedTotal);
    expect(new Set(log.map((e) => e.id))).toEqual(new Set(expectedIds));

    // One global order: positions unique and strictly increasing.
    for (let i = 1; i < log.length; i++) expect(log[i]!.position > log[i - 1]!.position, `position ${i}`).toBe(true);

    // Per stream: revisions 0, 1, 2… in position order, and each writer's batches in the order it wrote them.
    const byStream = new Map<string, RecordedEvent[]>();
    for (const e of log) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
    expect([...byStream.keys()].sort()).toEqual(["mp-a", "mp-b", "mp-c", "mp-shared"]);
    for (const [streamId, events] of byStream) {
      expect(
        events.map((e) => e.revision),
        streamId,
      ).toEqual(events.map((_, revision) => revision));
    }
    for (const name of appenders) {
      expect(byStream.get(`mp-${name}`)!.map((e) => e.id)).toEqual(expectedIds.filter((id) => id.startsWith(`${name}-`) && !id.includes("-shared-")));
    }

    // The subscriber, on its own connection in its own process, saw exactly the log, in order.
    const delivered = subscriber.lines.filter((line) => line !== "ready" && !line.startsWith("{"));
    expect(delivered).toEqual(log.map((e) => `${e.position} ${e.streamId} ${e.revision} ${e.id}`));
    console.info(
      `multi-process: ${expectedTotal} events from ${appenders.length} writers; optimistic-concurrency conflicts on mp-shared: ${reports
        .map((report) => report.conflicts)
        .join(", ")}`,
    );
  });
});
