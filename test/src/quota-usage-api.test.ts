import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { quotaWindow, streams } from "@tollgate/events";
import { type EventToAppend, SqliteEventStore } from "@tollgate/eventstore";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { waitFor } from "./support/wait-for.js";

/** The built projector; `npx turbo run build --filter=@tollgate/quota-projector --filter=@tollgate/control-plane` builds both. */
const projectorMain = fileURLToPath(new URL("../../services/quota-projector/dist/main.js", import.meta.url));
const adminToken = "quota-usage-test-admin-token-0123456789abcdef";
const hourMs = 3_600_000;

type Json = Record<string, unknown>;

interface LoggedProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<unknown>;
}

function startProjector(configFile: string): LoggedProcess {
  const child = spawn(process.execPath, [projectorMain, "--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on("line", (line) => lines.push(line));
  return { child, lines, exited: once(child, "exit") };
}

/**
 * The log's own answer, read straight from the SQLite file: a subscription's request
 * events in [start, end), classified by the rules docs/rate-limits.md states (default
 * billing rules): admitted = past the quota stage, billable = admitted and billed.
 */
function countFromLog(file: string, subscriptionId: string, start: number, end: number): { requests: number; admitted: number; billable: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare<[], { type: string; data: string }>("SELECT type, data FROM events WHERE stream_id LIKE 'requests-%' ORDER BY position").all();
    const counts = { requests: 0, admitted: 0, billable: 0 };
    for (const row of rows) {
      const data = JSON.parse(row.data) as { subscriptionId: string | null; startedAt: string; status: number; attempts?: number; fallbackServed?: boolean };
      const at = Date.parse(data.startedAt);
      if (data.subscriptionId !== subscriptionId || at < start || at >= end) continue;
      counts.requests += 1;
      const admitted = row.type === "RequestCompleted" || (row.type === "RequestFailed" && ((data.attempts ?? 0) > 0 || data.fallbackServed === true));
      // Completed: 2xx-4xx and cache hits are billed, an upstream 5xx is not; a gateway failure is not.
      const billable = row.type === "RequestCompleted" && data.status < 500;
      counts.admitted += admitted ? 1 : 0;
      counts.billable += billable ? 1 : 0;
    }
    return counts;
  } finally {
    db.close();
  }
}

describe("quota use in the admin and consumer APIs, from the real quota projector", () => {
  let dir: string | undefined;
  let cp: ControlPlaneProcess | undefined;
  let projector: LoggedProcess | undefined;

  afterEach(async () => {
    if (projector && projector.child.exitCode === null && projector.child.signalCode === null) {
      projector.child.kill("SIGKILL");
      await projector.exited;
    }
    projector = undefined;
    await cp?.cleanup();
    cp = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("equals the billable events of the current anchored period in the log, once the projector has caught up", async () => {
    expect(existsSync(projectorMain), `${projectorMain} is missing: npx turbo run build --filter=@tollgate/quota-projector`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "tollgate-quota-usage-"));
    const quotaFile = join(dir, "quota-projector.db");
    cp = await startControlPlaneProcess({ adminTokens: [{ name: "ops", token: adminToken, access: "write" }], quotaStore: { file: quotaFile } });
    const url = cp.url;
    const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Json };
    };

    // A plan of 50 a day, and a subscription whose days start at its anchor's time of day:
    // three hours ago, so that the current period is [now - 3 h, now + 21 h).
    const now = Date.now();
    const anchor = new Date(now - 3 * hourMs).toISOString();
    const window = quotaWindow(now, "day", Date.parse(anchor));
    const calendarDay = quotaWindow(now, "day");
    expect(window.start).toBe(Date.parse(anchor));
    expect((await admin("POST", "/admin/plans", { id: "daily-50", name: "Daily 50", public: true, quota: { limit: 50, period: "day", enforcement: "hard" } })).status).toBe(201);
    expect((await admin("POST", "/admin/consumers", { id: "acme", name: "Acme" })).status).toBe(201);
    expect((await admin("POST", "/admin/subscriptions", { id: "acme-daily", consumerId: "acme", planId: "daily-50", billingAnchor: anchor })).status).toBe(201);
    expect((await admin("POST", "/admin/consumers", { id: "beta", name: "Beta" })).status).toBe(201);
    expect((await admin("POST", "/admin/subscriptions", { id: "beta-daily", consumerId: "beta", planId: "daily-50" })).status).toBe(201);
    const apiKey = (await admin("POST", "/admin/consumers/acme/api-keys", { id: "acme-key" })).body.secret as string;

    // No projector has run yet: zero, and said so.
    const before = await admin("GET", "/admin/subscriptions/acme-daily/usage");
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ requests: 0, billable: 0, remaining: 50, projected: false, checkpointPosition: null });

    // Request events as the gateways record them, straight into the log: two gateway
    // streams, every kind of outcome, some in the previous period, some of another subscription.
    const store = SqliteEventStore.open({ file: cp.eventsFile, synchronous: "normal", busyTimeoutMs: 5_000 });
    let last = 0n;
    try {
      const request = (n: number, subscriptionId: string, startedAt: number, outcome: "ok" | "client-error" | "upstream-5xx" | "cache-hit" | "gateway-failure" | "quota"): EventToAppend => {
        const base = {
          requestId: `req-${n}`,
          gatewayId: `gw-${n % 2}`,
          startedAt: new Date(startedAt).toISOString(),
          durationMs: 2,
          routeId: "orders",
          method: "GET",
          path: "/orders",
          routeTemplate: "/orders",
          clientIp: "203.0.113.7",
          bytesIn: 0,
          bytesOut: 12,
          controlPlaneVersion: null,
          consumerId: subscriptionId === "acme-daily" ? "acme" : "beta",
          credentialId: subscriptionId === "acme-daily" ? "acme-key" : "beta-key",
          planId: "daily-50",
          subscriptionId,
        };
        const completed = (status: number, cacheStatus: string) => ({
          id: randomUUID(),
          type: "RequestCompleted",
          version: 1,
          data: { ...base, status, upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 1, cacheStatus },
        });
        switch (outcome) {
          case "ok":
            return completed(200, "miss");
          case "client-error":
            return completed(404, "miss");
          case "upstream-5xx":
            return completed(503, "miss");
          case "cache-hit":
            return completed(200, "hit");
          case "gateway-failure":
            return {
              id: randomUUID(),
              type: "RequestFailed",
              version: 1,
              data: { ...base, status: 502, upstream: "http://127.0.0.1:9", attempts: 2, error: "upstream-error", detail: "refused", fallbackServed: false },
            };
          case "quota":
            return { id: randomUUID(), type: "RequestRejected", version: 1, data: { ...base, status: 429, stage: "quota", reason: "daily-quota", limit: "daily-quota" } };
        }
      };
      const outcomes = ["ok", "ok", "ok", "client-error", "upstream-5xx", "cache-hit", "gateway-failure", "quota"] as const;
      const events: Record<string, EventToAppend[]> = { "gw-0": [], "gw-1": [] };
      for (let n = 0; n < 64; n++) {
        // Inside the current period: spread over its first three hours.
        events[`gw-${n % 2}`]!.push(request(n, "acme-daily", window.start + 1_000 + n * 60_000, outcomes[n % outcomes.length]!));
      }
      for (let n = 64; n < 70; n++) {
        // The previous period (before the anchor's time of day today), and the other subscription.
        events[`gw-${n % 2}`]!.push(request(n, "acme-daily", window.start - 1_000 - n * 1_000, "ok"));
        events[`gw-${n % 2}`]!.push(request(n + 100, "beta-daily", calendarDay.start + Math.floor((now - calendarDay.start) / 2), "ok"));
      }
      for (const [gatewayId, batch] of Object.entries(events)) last = (await store.append(streams.requests(gatewayId), batch)).position;
    } finally {
      await store.close();
    }

    // The real projector, on the same log, into the file the control plane reads.
    const configFile = join(dir, "quota-projector.json");
    writeFileSync(
      configFile,
      JSON.stringify({ eventStore: { kind: "sqlite", file: cp.eventsFile }, store: { file: quotaFile }, runner: { maxBatchSize: 20, maxBatchWaitMs: 10 }, status: { port: 0 } }),
    );
    projector = startProjector(configFile);
    const caughtUp = await waitFor(
      `the usage to be counted through position ${last} (projector: ${JSON.stringify(projector.lines.slice(-3))})`,
      async () => {
        const usage = await admin("GET", "/admin/subscriptions/acme-daily/usage");
        const position = usage.body.checkpointPosition as string | null;
        return position !== null && BigInt(position) >= last ? usage : undefined;
      },
      20_000,
      50,
    );

    const fromLog = countFromLog(cp.eventsFile, "acme-daily", window.start, window.end);
    // 64 requests, 8 of each outcome: 8 refused by the quota, 56 admitted, 40 billed (ok ×3, 4xx, cache hit).
    expect(fromLog).toEqual({ requests: 64, admitted: 56, billable: 40 });
    expect(caughtUp.status).toBe(200);
    expect(caughtUp.body).toEqual({
      subscriptionId: "acme-daily",
      planId: "daily-50",
      period: "day",
      periodStart: new Date(window.start).toISOString(),
      periodEnd: new Date(window.end).toISOString(),
      billingAnchor: anchor,
      quota: { limit: 50, period: "day", enforcement: "hard" },
      ...fromLog,
      remaining: 50 - fromLog.billable,
      projected: true,
      checkpointPosition: caughtUp.body.checkpointPosition,
    });

    // The consumer sees the same, with its own key; the other consumer's subscription has its own count, by calendar day.
    const mine = await fetch(`${url}/consumer/subscriptions/acme-daily/usage`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(mine.status).toBe(200);
    expect(await mine.json()).toEqual(caughtUp.body);
    const other = await admin("GET", "/admin/subscriptions/beta-daily/usage");
    expect(other.body).toMatchObject({
      periodStart: new Date(calendarDay.start).toISOString(),
      billingAnchor: null,
      ...countFromLog(cp.eventsFile, "beta-daily", calendarDay.start, calendarDay.end),
    });
    // ...which acme's key cannot read.
    expect((await fetch(`${url}/consumer/subscriptions/beta-daily/usage`, { headers: { authorization: `Bearer ${apiKey}` } })).status).toBe(404);
    expect(other.body.billable).toBe(6);
  });
});
