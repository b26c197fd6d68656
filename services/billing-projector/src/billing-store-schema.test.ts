import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultBillingRules, type RequestEvent, type TollgateEvent } from "@tollgate/events";
import { openSqliteDatabase } from "@tollgate/eventstore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BILLING_STORE_SCHEMA_VERSION } from "./billing-store-schema.js";
import { resolveBillingRules } from "./billing-rules-resolver.js";
import { SqliteBillingRecords } from "./sqlite-billing-records.js";
import { migrateRequestUnits, SqliteBillingStore } from "./sqlite-billing-store.js";
import { completed, consumerRegistered, planBillingChanged, planCreated, recorded, subscriptionStarted, webSocketSession } from "./test-support/billing-fixtures.js";

const november = (day: number): string => new Date(Date.UTC(2026, 10, day, 12)).toISOString();
const october = (day: number): string => new Date(Date.UTC(2026, 9, day, 12)).toISOString();

/** billing_requests as schema version 3 declared it: no units, no first_unit. */
const version3Requests = `
  CREATE TABLE billing_requests (
    position            INTEGER PRIMARY KEY,
    subscription_id     TEXT    NOT NULL,
    meter_event_name    TEXT    NOT NULL,
    period_start        INTEGER NOT NULL,
    origin_period_start INTEGER NOT NULL,
    request_id          TEXT    NOT NULL,
    started_at          INTEGER NOT NULL,
    status              INTEGER NOT NULL,
    outcome             TEXT    NOT NULL
  ) STRICT;
  CREATE INDEX billing_requests_by_usage ON billing_requests (subscription_id, meter_event_name, period_start, origin_period_start, position);
`;

describe("billing.db schema version 4 (request units)", () => {
  let dir: string;
  let file: string;
  const open = (): SqliteBillingStore => SqliteBillingStore.open({ file, synchronous: "normal", name: "billing-projector", rulesFor: resolveBillingRules(defaultBillingRules, {}) });
  const raw = () => openSqliteDatabase({ file, synchronous: "normal", busyTimeoutMs: 1_000 });
  const requestRows = (): unknown[] => {
    const db = raw();
    try {
      return db.prepare("SELECT position, subscription_id, period_start, request_id, units, first_unit FROM billing_requests ORDER BY position").all();
    } finally {
      db.close();
    }
  };
  const columns = (): string[] => {
    const db = raw();
    try {
      return db.prepare<[], { name: string; type: string; notnull: number }>("SELECT name, type, \"notnull\" FROM pragma_table_info('billing_requests')").all().map((c) => `${c.name} ${c.type} ${c.notnull}`);
    } finally {
      db.close();
    }
  };

  const setup: TollgateEvent[] = [
    planCreated("metered", "api_requests"),
    consumerRegistered("consumer-1", "cus_1"),
    consumerRegistered("consumer-2", "cus_2"),
    subscriptionStarted("sub-1", "consumer-1", "metered"),
    subscriptionStarted("sub-2", "consumer-2", "metered"),
  ];
  const requests: RequestEvent[] = [
    completed({ startedAt: october(30) }),
    completed({ startedAt: november(1) }),
    completed({ startedAt: november(1), subscriptionId: "sub-2" }),
    completed({ startedAt: november(2) }),
    completed({ startedAt: november(2) }, 503),
    completed({ startedAt: november(3), subscriptionId: "sub-2" }),
    completed({ startedAt: november(3) }),
  ];

  /** A file as version 3 left it: written by this build, then its receipt table put back to the version-3 shape. */
  const writeVersion3File = async (): Promise<void> => {
    const store = open();
    const events = [...setup, ...requests];
    await store.applyBatch(recorded(events), BigInt(events.length));
    store.close();
    const db = raw();
    try {
      db.exec("ALTER TABLE billing_requests RENAME TO billing_requests_new");
      db.exec("DROP INDEX billing_requests_by_unit");
      db.exec(version3Requests);
      db.exec("INSERT INTO billing_requests SELECT position, subscription_id, meter_event_name, period_start, origin_period_start, request_id, started_at, status, outcome FROM billing_requests_new");
      db.exec("DROP TABLE billing_requests_new");
      db.exec("UPDATE billing_schema SET version = 3");
    } finally {
      db.close();
    }
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-billing-schema-"));
    file = join(dir, "billing.db");
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("migrates a version-3 file in place: its rows are 1 unit each, numbered by position in their document; projection, checkpoint and ledger kept", async () => {
    const fresh = open();
    fresh.close();
    const freshColumns = columns();
    rmSync(file);
    await writeVersion3File();
    expect(() => SqliteBillingRecords.open({ file, name: "billing-projector" })).toThrow(/schema version 3/);

    const store = open();
    // Not a reset: the projection and its checkpoint stay.
    expect(store.resetFromVersion).toBeNull();
    expect(await store.loadCheckpoint()).toBe(BigInt(setup.length + requests.length));
    expect(store.usage().map((usage) => [usage.subscriptionId, new Date(usage.periodStart).toISOString().slice(0, 7), usage.units])).toEqual([
      ["sub-1", "2026-10", 1],
      ["sub-1", "2026-11", 3],
      ["sub-2", "2026-11", 2],
    ]);
    store.close();
    expect(columns()).toEqual(freshColumns);
    const nov = Date.UTC(2026, 10, 1);
    expect(requestRows()).toEqual([
      { position: 6, subscription_id: "sub-1", period_start: Date.UTC(2026, 9, 1), request_id: requests[0]!.data.requestId, units: 1, first_unit: 1 },
      { position: 7, subscription_id: "sub-1", period_start: nov, request_id: requests[1]!.data.requestId, units: 1, first_unit: 1 },
      { position: 8, subscription_id: "sub-2", period_start: nov, request_id: requests[2]!.data.requestId, units: 1, first_unit: 1 },
      { position: 9, subscription_id: "sub-1", period_start: nov, request_id: requests[3]!.data.requestId, units: 1, first_unit: 2 },
      { position: 11, subscription_id: "sub-2", period_start: nov, request_id: requests[5]!.data.requestId, units: 1, first_unit: 2 },
      { position: 12, subscription_id: "sub-1", period_start: nov, request_id: requests[6]!.data.requestId, units: 1, first_unit: 3 },
    ]);

    // Idempotent: the migration again, or another open, changes nothing.
    const before = requestRows();
    const db = raw();
    try {
      db.transaction(() => migrateRequestUnits(db)).immediate();
    } finally {
      db.close();
    }
    const reopened = open();
    expect(reopened.resetFromVersion).toBeNull();
    expect(requestRows()).toEqual(before);

    // What the log brings next is billed in units, numbered after the migrated rows.
    const session = webSocketSession({ startedAt: november(4) }, { fromClient: 4, fromUpstream: 1 });
    const next = [planBillingChanged("metered", { websocket: "per-message" }), session];
    await reopened.applyBatch(recorded(next, 13), 14n);
    expect(reopened.usage().find((usage) => usage.subscriptionId === "sub-1" && usage.periodStart === nov)?.units).toBe(8);
    reopened.close();
    const records = SqliteBillingRecords.open({ file, name: "billing-projector" });
    try {
      const key = { subscriptionId: "sub-1", meterEventName: "api_requests", periodStart: nov, originPeriodStart: nov };
      expect(records.receiptPage(key, { firstUnit: 1, units: 8 }, 0, 100).items.map((item) => [item.requestId, item.units])).toEqual([
        [requests[1]!.data.requestId, 1],
        [requests[3]!.data.requestId, 1],
        [requests[6]!.data.requestId, 1],
        [session.data.requestId, 5],
      ]);
    } finally {
      records.close();
    }
  });

  it("still rebuilds a file older than version 3: the projection is dropped and replayed, the ledger kept", async () => {
    await writeVersion3File();
    const db = raw();
    try {
      db.exec("UPDATE billing_schema SET version = 2");
    } finally {
      db.close();
    }
    const store = open();
    expect(store.resetFromVersion).toBe(2);
    expect(await store.loadCheckpoint()).toBeNull();
    expect(store.usage()).toEqual([]);
    store.close();
    expect(columns()).toContain("units INTEGER 1");
    const check = raw();
    try {
      expect(check.prepare("SELECT version FROM billing_schema").pluck().get()).toBe(BILLING_STORE_SCHEMA_VERSION);
    } finally {
      check.close();
    }
  });
});
