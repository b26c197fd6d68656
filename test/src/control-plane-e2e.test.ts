import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startControlPlaneProcess, type CliRun, type ControlPlaneProcess } from "./support/control-plane-process.js";
import { waitFor } from "./support/wait-for.js";

type Json = Record<string, unknown>;

const writeToken = "e2e-write-token-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const readToken = "e2e-read-token-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const encryptionKey = Buffer.from("e2e-encryption-key-32-bytes-long").toString("base64");
const basicPassword = "e2e basic password, long enough";
const applyPassword = "apply basic password, from env";

/** Every secret the run hands out or uses (the HMAC encryption key too); none may appear in the log file or in any output. */
const secrets: string[] = [writeToken, readToken, encryptionKey, basicPassword, applyPassword];
const outputs: string[] = [];

/** How many events the log file holds, read straight from it: what an apply appended, whatever the control plane has seen yet. */
function countEvents(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS count FROM events").get() as { count: number }).count;
  } finally {
    db.close();
  }
}

describe("control plane, end to end (real process, SQLite file)", () => {
  let cp: ControlPlaneProcess;

  const call = async <T = Json>(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const response = await fetch(`${cp.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token ?? writeToken}`,
        ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as T };
  };
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => {
    const run = await runCli(args, env);
    outputs.push(run.stdout, run.stderr);
    return run;
  };

  beforeAll(async () => {
    cp = await startControlPlaneProcess({
      adminTokens: [
        { name: "ops", token: writeToken, access: "write" },
        { name: "auditor", token: readToken, access: "read" },
      ],
      secretKeys: { current: "k1", keys: { k1: encryptionKey } },
      logging: { level: "debug" },
    });
  });

  afterAll(async () => {
    await cp.cleanup();
  });

  let consumerKey = "";

  it("creates a plan and a consumer, issues a key, and the consumer subscribes with it", async () => {
    const plan = await call("POST", "/admin/plans", {
      body: {
        id: "gold",
        name: "Gold",
        public: true,
        rateLimits: [{ name: "per-second", points: 20, windowSeconds: 1, algorithm: "sliding-window" }],
        quota: { limit: 10_000, period: "month", enforcement: "hard" },
        routes: ["*"],
      },
    });
    expect(plan.status).toBe(201);
    expect((await call("POST", "/admin/consumers", { body: { id: "acme", name: "Acme", email: "ops@acme.test" } })).status).toBe(201);

    const issued = await call<{ secret: string; credential: Json }>("POST", "/admin/consumers/acme/api-keys", { body: { id: "acme-key", name: "prod" } });
    expect(issued.status).toBe(201);
    consumerKey = issued.body.secret;
    secrets.push(consumerKey);

    const subscribed = await call("POST", "/consumer/subscriptions", { token: consumerKey, body: { planId: "gold" } });
    expect(subscribed.status).toBe(201);
    expect(subscribed.body).toMatchObject({ consumerId: "acme", planId: "gold", status: "active" });
    const listed = await call<{ items: Json[] }>("GET", "/admin/subscriptions?consumerId=acme", { token: readToken });
    expect(listed.body.items).toHaveLength(1);
  });

  it("issues the other credential kinds, so their secrets are in the log to look for", async () => {
    const rotated = await call<{ secret: string }>("POST", "/admin/credentials/acme-key/rotate", { body: { overlapSeconds: 60 } });
    secrets.push(rotated.body.secret);
    expect((await call("GET", "/consumer/me", { token: consumerKey })).status).toBe(200);
    consumerKey = rotated.body.secret;
    const selfIssued = await call<{ secret: string }>("POST", "/consumer/api-keys", { token: consumerKey, body: { name: "laptop" } });
    secrets.push(selfIssued.body.secret);
    expect((await call("POST", "/admin/consumers/acme/basic-users", { body: { username: "acme", password: basicPassword } })).status).toBe(201);
    const hmac = await call<{ secret: string }>("POST", "/admin/consumers/acme/hmac-secrets", { body: { name: "webhooks" } });
    expect(hmac.status).toBe(201);
    secrets.push(hmac.body.secret, hmac.body.secret.slice(4));
  });

  it("lets exactly one of two concurrent conflicting updates win; the other gets 409", async () => {
    const current = await call("GET", "/admin/plans/gold");
    const etag = current.headers.get("etag")!;
    const [a, b] = await Promise.all([
      call("PATCH", "/admin/plans/gold", { body: { description: "edit A" }, headers: { "if-match": etag } }),
      call("PATCH", "/admin/plans/gold", { body: { description: "edit B" }, headers: { "if-match": etag } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    const winner = a.status === 200 ? a : b;
    expect(loser.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(loser.body).toMatchObject({ code: "version-conflict", status: 409 });
    expect((await call("GET", "/admin/plans/gold")).body.description).toBe(winner.body.description);
  });

  it("reconstructs the plan as it was before the edit, from the audit trail", async () => {
    const audit = await call<{ entries: { type: string; at: string; actor: Json; version: number }[] }>("GET", "/admin/audit?entity=plan-gold", {
      token: readToken,
    });
    expect(audit.body.entries.map((entry) => [entry.type, entry.actor])).toEqual([
      ["PlanCreated", { kind: "admin", id: "ops" }],
      ["PlanUpdated", { kind: "admin", id: "ops" }],
    ]);
    const created = audit.body.entries[0]!;
    const before = await call("GET", `/admin/plans/gold?asOf=${encodeURIComponent(created.at)}`, { token: readToken });
    expect(before.body).toMatchObject({ version: 0, description: "", name: "Gold" });
    expect((await call("GET", "/admin/plans/gold")).body).toMatchObject({ version: 1 });
  });

  it("applies a declaration idempotently, and a dry run appends nothing", async () => {
    const file = join(cp.dir, "tollgate.yaml");
    const declaration = (planName: string) =>
      [
        "plans:",
        "  - id: starter",
        `    name: ${planName}`,
        "    public: true",
        "    rateLimits:",
        "      - { name: per-minute, points: 60, windowSeconds: 60, algorithm: fixed-window }",
        "consumers:",
        "  - id: globex",
        "    name: Globex",
        "    basicUsers:",
        "      - { id: globex-basic, username: globex, passwordFromEnv: GLOBEX_PASSWORD }",
        "subscriptions:",
        "  - { id: globex-starter, consumer: globex, plan: starter }",
      ].join("\n");
    writeFileSync(file, declaration("Starter"));
    const env = { GLOBEX_PASSWORD: applyPassword };
    const store = ["--store", cp.eventsFile, "--actor", "e2e"];

    const eventsBefore = countEvents(cp.eventsFile);
    const dry = await cli(["apply", file, "--dry-run", ...store], env);
    expect(dry.code).toBe(0);
    expect(countEvents(cp.eventsFile)).toBe(eventsBefore);
    expect(dry.stdout).toContain("dry run: 4 events for 4 entities would be appended; nothing was written");
    expect((await call("GET", "/admin/plans/starter")).status).toBe(404);

    const first = await cli(["apply", file, ...store], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("+ plan starter");
    expect(first.stdout).toMatch(/applied: 4 events for 4 entities appended/);
    const eventsApplied = countEvents(cp.eventsFile);
    expect(eventsApplied).toBe(eventsBefore + 4);
    // The running control plane follows the log: the apply shows up without a restart.
    const applied = await waitFor("the control plane to see the applied plan", async () => {
      const response = await call("GET", "/admin/plans/starter");
      return response.status === 200 && response.body;
    });
    expect(applied).toMatchObject({ name: "Starter", public: true });

    const auditBefore = await call<{ entries: Json[] }>("GET", "/admin/audit?limit=1000");
    const second = await cli(["apply", file, ...store], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("nothing to do");
    writeFileSync(file, declaration("Starter (renamed)"));
    const dryEdit = await cli(["apply", file, "--dry-run", ...store], env);
    expect(dryEdit.stdout).toContain('PlanUpdated: name "Starter" → "Starter (renamed)"');
    const auditAfter = await call<{ entries: Json[] }>("GET", "/admin/audit?limit=1000");
    expect(auditAfter.body.entries).toHaveLength(auditBefore.body.entries.length);
    expect(countEvents(cp.eventsFile)).toBe(eventsApplied);

    const missingEnv = await cli(["apply", file, ...store]);
    expect(missingEnv.code).toBe(1);
    expect(missingEnv.stderr).toContain("consumers[0].basicUsers[0].passwordFromEnv: environment variable GLOBEX_PASSWORD is not set");
  });

  it("stops gracefully on SIGTERM", async () => {
    expect(await cp.stop()).toBe(0);
    expect(cp.lines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
  });

  it("leaves no raw key, password, token or signing secret in the log file or in any output", () => {
    const haystacks = [
      readFileSync(cp.eventsFile).toString("latin1"),
      readFileSync(`${cp.eventsFile}-wal`, { flag: "a+" }).toString("latin1"),
      cp.lines.join("\n"),
      outputs.join("\n"),
    ];
    expect(secrets.length).toBeGreaterThanOrEqual(10);
    for (const secret of secrets) {
      for (const haystack of haystacks) expect(haystack.includes(secret), `found a secret (${secret.slice(0, 6)}…)`).toBe(false);
    }
    expect(cp.lines.filter((line) => line.includes('"msg":"request"')).length).toBeGreaterThan(10);
  });
});
