import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteEventStore } from "@tollgate/eventstore";
import { ControlPlaneConfig } from "../config/control-plane-config.js";
import { startControlPlane, type RunningControlPlane, type StartControlPlaneOptions } from "../start-control-plane.js";

export const writeToken = "test-write-token-0123456789abcdefghijklmnop";
export const readToken = "test-read-token-0123456789abcdefghijklmnopq";
export const testSecretKeys = {
  current: "k1",
  keys: { k1: Buffer.alloc(32, 1).toString("base64"), k2: Buffer.alloc(32, 2).toString("base64") },
};
/** Cheap scrypt parameters: the tests check behaviour, not cost. */
export const testScrypt = { N: 1_024, r: 8, p: 1, keyLength: 32 };

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Harness {
  dir: string;
  file: string;
  running: RunningControlPlane;
  url: string;
  /** A second connection to the same SQLite file, as another process would have. */
  store: SqliteEventStore;
  call<T = Record<string, unknown>>(method: string, path: string, options?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<ApiResponse<T>>;
  admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  restart(config?: Partial<ControlPlaneConfig>): Promise<void>;
  close(): Promise<void>;
}

/** A control plane on port 0 over a SQLite file in a fresh temp folder. */
export async function startHarness(
  config: Record<string, unknown> = {},
  options: Omit<StartControlPlaneOptions, "config"> = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-cp-"));
  const file = join(dir, "events.db");
  const configFor = (overrides: Record<string, unknown>) =>
    ControlPlaneConfig.parse({
      listen: { host: "127.0.0.1", port: 0 },
      eventStore: { kind: "sqlite", file },
      adminTokens: [
        { name: "ops", token: writeToken, access: "write" },
        { name: "auditor", token: readToken, access: "read" },
      ],
      secretKeys: testSecretKeys,
      readYourWritesTimeoutMs: 5_000,
      shutdownGraceMs: 1_000,
      ...config,
      ...overrides,
    });
  const start = (overrides: Record<string, unknown> = {}) =>
    startControlPlane({ scryptParameters: testScrypt, ...options, config: configFor(overrides) });
  const store = SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 5_000 });

  const harness: Harness = {
    dir,
    file,
    store,
    running: await start(),
    get url() {
      return harness.running.url;
    },
    async call(method, path, { token = writeToken, body, headers = {} } = {}) {
      const response = await fetch(`${harness.url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as never };
    },
    admin(method, path, body, headers) {
      return harness.call(method, path, { body, ...(headers ? { headers } : {}) });
    },
    async restart(overrides = {}) {
      await harness.running.close();
      harness.running = await start(overrides);
    },
    async close() {
      await harness.running.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
