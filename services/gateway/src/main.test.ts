import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { streams } from "@tollgate/events";
import { openEventStore } from "@tollgate/eventstore";
import { Agent, request } from "undici";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type TestUpstream } from "./test-support/upstream-server.js";

/**
 * The built process, as an operator runs it. These tests need `dist/` (turbo runs
 * build before test).
 */
const mainPath = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

beforeAll(() => {
  if (!existsSync(mainPath)) throw new Error(`${mainPath} is missing: build the gateway first (npx turbo run build --filter=@tollgate/gateway...)`);
});

interface Running {
  child: ChildProcess;
  port: number;
  statusPort: number;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves with the first log line whose msg is `msg`, already written or still to come. */
  line(msg: string): Promise<Record<string, unknown>>;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-main-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startMain(configPath: string): Promise<Running> {
  const child = spawn(process.execPath, [mainPath, "--config", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  cleanups.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const lines: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    lines.push(parsed);
    for (const waiter of waiters.filter((candidate) => candidate.msg === parsed.msg)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(parsed);
    }
  });
  const line = (msg: string): Promise<Record<string, unknown>> => {
    const seen = lines.find((candidate) => candidate.msg === msg);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiters.push({ msg, resolve });
      void exited.then((code) => reject(new Error(`gateway exited with ${code} before logging "${msg}"`)));
    });
  };
  const listening = await line("listening");
  return { child, port: listening.port as number, statusPort: listening.statusPort as number, lines, exited, line };
}

function writeConfig(dir: string, upstream: TestUpstream): string {
  const path = join(dir, "gateway.yaml");
  writeFileSync(
    path,
    [
      "gatewayId: gw-main-test",
      "listen: { host: 127.0.0.1, port: 0 }",
      "status: { host: 127.0.0.1, port: 0 }",
      "accessLog: all",
      "shutdownGraceMs: 5000",
      `eventStore: { kind: sqlite, file: ${join(dir, "events.db")} }`,
      `recorder: { spoolDir: ${join(dir, "spool")} }`,
      `upstreams: { demo: { targets: ["${upstream.origin}"] } }`,
      "routes: [{ id: demo, match: { pathPrefix: /demo }, upstream: demo }]",
    ].join("\n"),
  );
  return path;
}

// Each test starts a Node process (and the recorder's worker thread); under a loaded
// machine that alone can take seconds.
describe("main", { timeout: 30_000 }, () => {
  it("serves, reports its ports, and on SIGTERM drains the request in flight and persists every event before exiting 0", async () => {
    let release: () => void = () => undefined;
    let reached: () => void = () => undefined;
    const slowReached = new Promise<void>((resolve) => (reached = resolve));
    const upstream = await startUpstream((req, res) => {
      if (req.url === "/demo/slow") {
        reached();
        release = () => res.end("slow");
      } else {
        res.end("fast");
      }
    });
    cleanups.push(() => upstream.close());
    const dir = tempDir();
    const running = await startMain(writeConfig(dir, upstream));
    const client = new Agent();
    cleanups.push(() => client.close());
    const base = `http://127.0.0.1:${running.port}`;

    const fast = await request(`${base}/demo/fast`, { dispatcher: client });
    expect(await fast.body.text()).toBe("fast");
    const ready = await request(`http://127.0.0.1:${running.statusPort}/readyz`, { dispatcher: client });
    await ready.body.dump();
    expect(ready.statusCode).toBe(200);

    const slow = request(`${base}/demo/slow`, { dispatcher: client });
    await slowReached;
    running.child.kill("SIGTERM");
    await running.line("shutting down");
    release();
    const slowRes = await slow;
    expect(await slowRes.body.text()).toBe("slow");
    expect(slowRes.headers.connection).toBe("close");

    expect(await running.exited).toBe(0);
    const { store } = await openEventStore({ kind: "sqlite", file: join(dir, "events.db"), synchronous: "normal", busyTimeoutMs: 1_000 });
    try {
      const events = await store.readStream(streams.requests("gw-main-test"));
      expect(events.map((event) => [event.type, (event.data as { path: string }).path])).toEqual([
        ["RequestCompleted", "/demo/fast"],
        ["RequestCompleted", "/demo/slow"],
      ]);
    } finally {
      await store.close();
    }
    expect(running.lines.filter((line) => line.component === "access").map((line) => line.path)).toEqual(["/demo/fast", "/demo/slow"]);
  });

  it("refuses an invalid config, listing every problem, and exits 1", async () => {
    const dir = tempDir();
    const path = join(dir, "bad.yaml");
    writeFileSync(path, "listen: { port: -1 }\nroutes: [{ id: a, match: { pathPrefix: /a }, upstream: nowhere }]\n");
    const child = spawn(process.execPath, [mainPath, "--config", path], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number];

    expect(code).toBe(1);
    expect(stderr).toContain(`invalid configuration in ${path}:`);
    expect(stderr).toContain("listen.port: Too small: expected number to be >=0");
    expect(stderr).toContain('routes[0].upstream: unknown upstream "nowhere"');
  });

  it("names a missing config file", async () => {
    const child = spawn(process.execPath, [mainPath], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TOLLGATE_GATEWAY_CONFIG: "/nonexistent/gateway.yaml" } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number];

    expect(code).toBe(1);
    expect(stderr).toContain("/nonexistent/gateway.yaml: file not found");
  });
});
