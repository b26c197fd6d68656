import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventToAppend } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Spool } from "./spool.js";

function events(from: number, count: number): EventToAppend[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `e-${from + index}`,
    type: "RequestCompleted",
    version: 1,
    data: { n: from + index },
  }));
}

describe("Spool", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-spool-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("drains everything it holds, oldest first, in bounded batches, and removes drained segments", async () => {
    const spool = new Spool(dir, 200);
    spool.write(events(0, 5));
    spool.write(events(5, 5));
    spool.write(events(10, 3));
    expect(spool.pending).toBe(13);
    expect(readdirSync(dir).length).toBeGreaterThan(1);

    const batches: string[][] = [];
    const result = await spool.drain((batch) => {
      batches.push(batch.map((event) => event.id));
      return Promise.resolve();
    }, 4);

    expect(batches.flat()).toEqual(events(0, 13).map((event) => event.id));
    expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(4);
    expect(result.appended).toBe(13);
    expect(spool.pending).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("keeps a segment whose append failed, and drains it again later", async () => {
    const spool = new Spool(dir);
    spool.write(events(0, 3));
    await expect(spool.drain(() => Promise.reject(new Error("store down")), 10)).rejects.toThrow("store down");
    expect(spool.pending).toBe(3);

    const seen: string[] = [];
    await spool.drain((batch) => {
      seen.push(...batch.map((event) => event.id));
      return Promise.resolve();
    }, 10);
    expect(seen).toEqual(["e-0", "e-1", "e-2"]);
  });

  it("picks up segments left by an earlier process", async () => {
    const first = new Spool(dir);
    first.write(events(0, 2));
    first.close();

    const second = new Spool(dir);
    expect(second.pending).toBe(2);
    second.write(events(2, 1));
    const seen: string[] = [];
    await second.drain((batch) => {
      seen.push(...batch.map((event) => event.id));
      return Promise.resolve();
    }, 10);
    expect(seen).toEqual(["e-0", "e-1", "e-2"]);
  });

  it("reports a line torn by a crash instead of failing the drain", async () => {
    const spool = new Spool(dir);
    spool.write(events(0, 1));
    spool.close();
    const [segment] = readdirSync(dir);
    appendFileSync(join(dir, segment!), '{"id":"e-1","ty');

    const reopened = new Spool(dir);
    const seen: string[] = [];
    const result = await reopened.drain((batch) => {
      seen.push(...batch.map((event) => event.id));
      return Promise.resolve();
    }, 10);
    expect(seen).toEqual(["e-0"]);
    expect(result.tornLines).toBe(1);
  });
});
