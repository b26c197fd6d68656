import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import Database from "better-sqlite3";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./control-plane-process.js";
import { startGatewayProcess, type GatewayProcess } from "./gateway-process.js";
import { startUpstream, type UpstreamServer } from "./upstream-server.js";
import { waitFor } from "./wait-for.js";

export type Json = Record<string, unknown>;

export interface StoredEvent {
  position: number;
  type: string;
  data: Json;
}

/** What the upstream received, body included. */
export interface UpstreamRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface AuthStack {
  /** The current control plane (restartControlPlane replaces it). */
  cp: ControlPlaneProcess;
  /** The one SQLite log every process shares. */
  eventsFile: string;
  gateway: GatewayProcess;
  upstream: UpstreamServer;
  /** Every request the upstream received, in order. */
  seen: UpstreamRequest[];
  /** The admin API with a write token. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }>;
  /**
   * Restarts the control plane on the same log with another config (e.g. a new
   * secretKeys.current): what a key rotation needs. The gateway keeps running.
   */
  restartControlPlane(config: Record<string, unknown>): Promise<void>;
  /** Stops both processes (exit codes), then checks that no secret is in the log file, its WAL or any output line. */
  stopAndFindSecrets(secrets: readonly string[]): Promise<{ exitCodes: (number | null)[]; found: string[] }>;
  cleanup(): Promise<void>;
}

const adminToken = `e2e-auth-admin-${randomBytes(12).toString("hex")}`;

/**
 * The gateway config of the authentication end-to-end suites: debug logs and every
 * request in the access log (so that the secrets search reads them all), on the shared
 * SQLite log, with `config` (upstreams, routes) over it.
 */
export function authGatewayConfig(eventsFile: string, config: Record<string, unknown>): Record<string, unknown> {
  return { logLevel: "debug", accessLog: "all", eventStore: { kind: "sqlite", file: eventsFile }, ...config };
}

/**
 * A control plane, a gateway and an upstream as real processes on one SQLite file,
 * for the authentication end-to-end suites. `gatewayConfig` gets the upstream's URL.
 */
export async function startAuthStack(options: {
  gatewayConfig: (upstreamUrl: string) => Record<string, unknown>;
  controlPlaneConfig?: Record<string, unknown>;
}): Promise<AuthStack> {
  const seen: UpstreamRequest[] = [];
  const upstream = await startUpstream((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      response.end("ok");
    });
  });
  const controlPlaneConfig = (extra: Record<string, unknown> | undefined): Record<string, unknown> => ({
    adminTokens: [{ name: "ops", token: adminToken, access: "write" }],
    logging: { level: "debug" },
    ...extra,
  });
  const cp = await startControlPlaneProcess(controlPlaneConfig(options.controlPlaneConfig));
  /** Control planes stopped by a restart: their output is searched too, their folders removed last (the first holds the log). */
  const earlier: ControlPlaneProcess[] = [];
  let gateway: GatewayProcess;
  try {
    gateway = await startGatewayProcess({
      config: authGatewayConfig(cp.eventsFile, options.gatewayConfig(upstream.url)),
    });
  } catch (error) {
    await cp.cleanup();
    await upstream.close();
    throw error;
  }
  await waitFor("the gateway to be ready", async () => (await fetch(`${gateway.statusUrl}/readyz`)).status === 200);

  const stack: AuthStack = {
    cp,
    eventsFile: cp.eventsFile,
    gateway,
    upstream,
    seen,
    async admin(method, path, body) {
      const response = await fetch(`${stack.cp.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Json };
    },
    async restartControlPlane(config) {
      const exitCode = await stack.cp.stop();
      if (exitCode !== 0) throw new Error(`the control plane exited with ${String(exitCode)}`);
      earlier.push(stack.cp);
      stack.cp = await startControlPlaneProcess(controlPlaneConfig({ ...config, eventStore: { kind: "sqlite", file: cp.eventsFile } }));
    },
    async stopAndFindSecrets(secrets) {
      const exitCodes = [await gateway.stop(), await stack.cp.stop()];
      const haystacks = [
        readFileSync(cp.eventsFile).toString("latin1"),
        readFileSync(`${cp.eventsFile}-wal`, { flag: "a+" }).toString("latin1"),
        gateway.lines.join("\n"),
        ...[...earlier, stack.cp].map((process) => process.lines.join("\n")),
      ];
      const found = secrets.filter((secret) => haystacks.some((haystack) => haystack.includes(secret)));
      return { exitCodes, found };
    },
    async cleanup() {
      await gateway.cleanup();
      if (stack.cp !== cp) await stack.cp.cleanup();
      await cp.cleanup();
      await upstream.close();
    },
  };
  return stack;
}

/** Events straight from the shared SQLite file, read-only. */
export function readEvents(file: string, where: string): StoredEvent[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare(`SELECT position, type, data FROM events WHERE ${where} ORDER BY position`).all() as { position: number; type: string; data: string }[];
    return rows.map((row) => ({ position: row.position, type: row.type, data: JSON.parse(row.data) as Json }));
  } finally {
    db.close();
  }
}

/** Waits until the request stream holds `count` events, and returns them. */
export async function requestEvents(file: string, count: number): Promise<StoredEvent[]> {
  return waitFor(`${count} request events`, () => {
    const events = readEvents(file, "stream_id LIKE 'requests-%'");
    return events.length >= count ? events : null;
  });
}

/** Creates a plan covering `routes` (and granting `scopes`), a consumer and an active subscription. */
export async function subscribedConsumer(stack: AuthStack, consumerId: string, routes: string[], scopes: string[] = []): Promise<void> {
  const plan = await stack.admin("POST", "/admin/plans", { id: `${consumerId}-plan`, name: "E2E", routes, scopes });
  const consumer = await stack.admin("POST", "/admin/consumers", { id: consumerId, name: consumerId });
  const subscription = await stack.admin("POST", "/admin/subscriptions", { id: `${consumerId}-sub`, consumerId, planId: `${consumerId}-plan` });
  for (const [what, answer] of [["plan", plan], ["consumer", consumer], ["subscription", subscription]] as const) {
    if (answer.status !== 201) throw new Error(`creating the ${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
}
