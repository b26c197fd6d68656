import { spawn } from "node:child_process";
import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { streams } from "@tollgate/events";
import { SqliteEventStore, type EventToAppend, type Position } from "@tollgate/eventstore";

/**
 * The billing benchmark (a script, not a test; docs/benchmarks.md has the figures):
 * billing-projector throughput from the log to Stripe reports, in events per second.
 *
 * A SQLite log is filled with request events of `--subscriptions` metered subscriptions
 * (a tenth of them not billable: upstream 5xx), then the real projector process
 * (`services/billing-projector/dist/main.js`) is started on it with a Stripe key pointed
 * at a local meter-events server, and timed from its "listening" line until
 *   1. its checkpoint reaches the last event (projection: parse, aggregate, per-request
 *      receipt rows, usage and checkpoint in one transaction per batch), and
 *   2. the server's meter total equals the billable events (every unit reported to
 *      "Stripe" through the real stripe SDK, and recorded as UsageReported in the log).
 *
 * The meter-events server is a minimal stand-in (form body, identifier dedup, value sum),
 * not test/src/support/stripe-stand-in.ts: the test workspace is type-checked, not built,
 * so it has no dist/ to import from. It answers at once, so the figure is the projector's
 * own cost; real Stripe adds its round trip (and its rate limits) per report.
 *
 *   node bench/dist/billing-bench.js [--events 100000] [--subscriptions 50] [--runs 3] [--batch 500] [--log-level debug]
 * (a level other than info prints the projector's log lines to stderr)
 */

const write = (line: string): void => void process.stdout.write(`${line}\n`);
const { values } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    subscriptions: { type: "string", default: "50" },
    runs: { type: "string", default: "3" },
    batch: { type: "string", default: "500" },
    "log-level": { type: "string", default: "info" },
  },
});
const eventCount = Number(values.events);
const subscriptionCount = Number(values.subscriptions);
const runs = Number(values.runs);
const maxBatchSize = Number(values.batch);
const projectorMain = fileURLToPath(new URL("../../services/billing-projector/dist/main.js", import.meta.url));
const actor = { kind: "admin", id: "bench" };

interface Seeded {
  last: Position;
  billable: number;
}

async function seedLog(file: string): Promise<Seeded> {
  const store = SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 5_000 });
  const event = (type: string, data: Record<string, unknown>): EventToAppend => ({ id: randomUUID(), type, version: 1, data });
  try {
    await store.append(streams.plan("metered"), [
      event("PlanCreated", {
        planId: "metered", name: "metered", description: "", public: true, rateLimits: [], quota: null, routes: ["*"], scopes: [],
        // No Stripe Price: the Stripe customer/subscription sync stays out of the figure, which is about meter reports.
        price: { stripePriceId: null, stripeMeterEventName: "api_requests" },
        pricing: { currency: "usd", flatFeeMinor: 1_000, includedUnits: 1_000, overageUnitPriceMinor: 0.2 },
        actor,
      }),
    ]);
    for (let index = 0; index < subscriptionCount; index += 1) {
      const consumerId = `consumer-${index}`;
      await store.append(streams.consumer(consumerId), [event("ConsumerRegistered", { consumerId, name: consumerId, email: null, labels: { stripeCustomerId: `cus_bench_${index}` }, actor })]);
      await store.append(streams.subscription(`sub-${index}`), [event("SubscriptionStarted", { subscriptionId: `sub-${index}`, consumerId, planId: "metered", actor })]);
    }
    let billable = 0;
    const now = Date.now();
    for (let done = 0; done < eventCount; done += 1_000) {
      const batch: EventToAppend[] = [];
      for (let index = done; index < Math.min(eventCount, done + 1_000); index += 1) {
        const subscription = index % subscriptionCount;
        const status = index % 10 === 9 ? 503 : 200;
        if (status < 500) billable += 1;
        batch.push(
          event("RequestCompleted", {
            requestId: `req-${index}`, gatewayId: "gw-bench", startedAt: new Date(now - 60_000 + (index % 60_000)).toISOString(), durationMs: 1, routeId: "orders",
            method: "GET", path: "/orders", routeTemplate: "/orders", status, clientIp: "127.0.0.1", bytesIn: 0, bytesOut: 2, controlPlaneVersion: null,
            consumerId: `consumer-${subscription}`, credentialId: `key-${subscription}`, planId: "metered", subscriptionId: `sub-${subscription}`,
            upstream: "http://127.0.0.1:9", attempts: 1, upstreamLatencyMs: 1, cacheStatus: "none",
          }),
        );
      }
      await store.append(streams.requests("gw-bench"), batch);
    }
    return { last: await store.headPosition(), billable };
  } finally {
    await store.close();
  }
}

/** POST /v1/billing/meter_events, as the stripe SDK sends it: counted once per identifier. */
function meterServer(): { server: Server; total: () => number; requests: () => number } {
  const seen = new Set<string>();
  let total = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      requests += 1;
      const form = new URLSearchParams(body);
      const identifier = form.get("identifier") ?? randomUUID();
      const value = Number(form.get("payload[value]") ?? "0");
      if (req.url !== "/v1/billing/meter_events" || !Number.isInteger(value)) {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { type: "invalid_request_error", message: "bench server: meter events only" } }));
        return;
      }
      if (!seen.has(identifier)) {
        seen.add(identifier);
        total += value;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ object: "billing.meter_event", event_name: form.get("event_name"), identifier, payload: { value: String(value) }, timestamp: Number(form.get("timestamp")), created: Math.floor(Date.now() / 1_000), livemode: false }),
      );
    });
  });
  return { server, total: () => total, requests: () => requests };
}

async function metric(port: number, name: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(text);
  return match ? Number(match[1]) : null;
}

interface RunResult {
  projectedMs: number;
  reportedMs: number;
  meterRequests: number;
}

async function run(index: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-billing-bench-"));
  const stripe = meterServer();
  stripe.server.listen(0, "127.0.0.1");
  await once(stripe.server, "listening");
  try {
    const seeded = await seedLog(join(dir, "events.db"));
    writeFileSync(
      join(dir, "billing-projector.json"),
      JSON.stringify({
        eventStore: { kind: "sqlite", file: join(dir, "events.db") },
        store: { file: join(dir, "billing.db") },
        stripe: { host: "127.0.0.1", port: (stripe.server.address() as AddressInfo).port, protocol: "http" },
        reporter: { pollIntervalMs: 50 },
        runner: { maxBatchSize, maxBatchWaitMs: 10 },
        status: { port: 0 },
        logLevel: values["log-level"],
      }),
    );
    // Timed from the spawn: the runner starts projecting before the status port listens. Process start-up (~0.3 s) is included.
    const started = performance.now();
    const projector = spawn(process.execPath, [projectorMain, "--config", join(dir, "billing-projector.json")], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, STRIPE_SECRET_KEY: "sk_test_bench" } });
    const exited = once(projector, "exit");
    try {
      const listening = await new Promise<{ statusPort: number }>((resolve, reject) => {
        void exited.then(() => reject(new Error("the billing projector exited before listening")));
        for (const stream of [projector.stdout, projector.stderr]) {
          createInterface({ input: stream }).on("line", (line) => {
            if (line.includes('"msg":"listening"')) resolve(JSON.parse(line) as { statusPort: number });
            else if (values["log-level"] !== "info") process.stderr.write(`${line}\n`);
          });
        }
      });
      let projectedMs = 0;
      for (;;) {
        const checkpoint = projectedMs === 0 ? await metric(listening.statusPort, "tollgate_billing_projection_checkpoint_position") : null;
        if (projectedMs === 0 && checkpoint !== null && checkpoint >= Number(seeded.last)) projectedMs = performance.now() - started;
        if (stripe.total() >= seeded.billable) break;
        if (performance.now() - started > 600_000) throw new Error(`run ${index}: not done after 10 minutes (total ${stripe.total()} of ${seeded.billable})`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const reportedMs = performance.now() - started;
      if (projectedMs === 0) projectedMs = reportedMs;
      if (stripe.total() !== seeded.billable) throw new Error(`run ${index}: meter total ${stripe.total()}, expected ${seeded.billable}`);
      return { projectedMs, reportedMs, meterRequests: stripe.requests() };
    } finally {
      if (projector.exitCode === null && projector.signalCode === null) projector.kill("SIGTERM");
      await exited;
    }
  } finally {
    stripe.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  write(`billing projector: ${eventCount} request events (90% billable) of ${subscriptionCount} subscriptions, batches of ${maxBatchSize}, ${runs} runs`);
  const results: RunResult[] = [];
  for (let index = 0; index < runs; index += 1) {
    const result = await run(index);
    results.push(result);
    write(
      `  run ${index + 1}: projected in ${(result.projectedMs / 1_000).toFixed(2)} s (${Math.round(eventCount / (result.projectedMs / 1_000))} events/s); ` +
        `all reported in ${(result.reportedMs / 1_000).toFixed(2)} s (${Math.round(eventCount / (result.reportedMs / 1_000))} events/s, ${result.meterRequests} meter events)`,
    );
  }
  const median = (pick: (result: RunResult) => number): number => results.map(pick).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
  write(
    `median: ${Math.round(eventCount / (median((r) => r.projectedMs) / 1_000))} events/s projected, ` +
      `${Math.round(eventCount / (median((r) => r.reportedMs) / 1_000))} events/s from the log to Stripe reports`,
  );
}

await main();
