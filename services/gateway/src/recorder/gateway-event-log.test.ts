import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEvent, type GatewayEvent } from "@tollgate/events";
import { SqliteEventStore, type EventStore } from "@tollgate/eventstore";
import { afterEach, describe, expect, it } from "vitest";
import { captureLogger } from "../test-support/fakes.js";
import { GatewayEventLog } from "./gateway-event-log.js";

function change(to: "open" | "half-open" | "closed", from: "open" | "half-open" | "closed", opens: number): GatewayEvent {
  return { type: "CircuitBreakerStateChanged", version: 1, data: { gatewayId: "gw-1", upstream: "api", target: "http://127.0.0.1:9", from, to, opens, at: new Date().toISOString() } };
}

describe("GatewayEventLog on a real SQLite event store", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function openStore(): SqliteEventStore {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-gateway-events-"));
    dirs.push(dir);
    return SqliteEventStore.open({ file: join(dir, "events.db"), synchronous: "normal", busyTimeoutMs: 1_000 });
  }

  it("appends each event once, in order, to the gateway's stream, through a store that refuses for a while", async () => {
    const store = openStore();
    let refusals = 2;
    // The real store, refusing the first two appends as a store that is briefly away would.
    const flaky: Pick<EventStore, "append"> = {
      append: (...args) => (refusals-- > 0 ? Promise.reject(new Error("database is locked")) : store.append(...args)),
    };
    const log = captureLogger();
    const events = new GatewayEventLog({ store: flaky, streamId: "gateway-gw-1", logger: log.logger, retryAfterMs: 10 });
    events.record(change("open", "closed", 1));
    events.record(change("half-open", "open", 1));
    events.record(change("closed", "half-open", 1));
    await events.flush();
    await events.close();
    const stored = await store.readStream("gateway-gw-1");
    expect(stored.map((event) => parseEvent(event.type, event.version, event.data)).map((event) => (event.type === "CircuitBreakerStateChanged" ? event.data.to : null))).toEqual([
      "open",
      "half-open",
      "closed",
    ]);
    expect(log.lines().filter((line) => String(line.msg).startsWith("could not record a gateway event"))).toHaveLength(1);
    await store.close();
  });
});
