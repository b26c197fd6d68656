import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseNonFinite } from "./non-finite-json.js";
import type { OpenLoopConfig, OpenLoopResult } from "./open-loop-result.js";

// The generator runs as its own process from the build (turbo builds before it tests).
const generator = fileURLToPath(new URL("../dist/open-loop-load.js", import.meta.url));

async function generate(config: OpenLoopConfig): Promise<OpenLoopResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [generator, JSON.stringify(config)], { timeout: 30_000 }, (error: Error | null, stdout: string) => {
      if (error) reject(error);
      else resolve(parseNonFinite(stdout.trim()) as OpenLoopResult);
    });
  });
}

describe("the open-loop generator (dist/open-loop-load.js)", () => {
  let server: Server;
  let url = "";
  let served = 0;
  const stallAt = 250;
  const stallMs = 300;

  beforeAll(async () => {
    expect(existsSync(generator), `${generator} is missing: run npm run build first`).toBe(true);
    server = createServer((_req, res) => {
      served++;
      if (served === stallAt) {
        // Freeze the server, as a long GC pause or a blocking commit would.
        const until = Date.now() + stallMs;
        while (Date.now() < until);
      }
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  });

  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("keeps sending on schedule through a server stall, and charges the stall to every request it delayed", async () => {
    const result = await generate({ url, rate: 500, durationS: 1, warmupS: 0, connections: 50, headers: [], drainTimeoutS: 5 });
    expect(result.scheduled).toBe(500);
    expect(result.completed).toBe(500);
    expect(result.failed).toBe(0);
    expect(result.statusCounts).toEqual({ "200": 500 });
    expect(result.totals).toEqual({ sent: 500, completed: 500, failed: 0 });
    expect(served).toBe(500);
    // About 150 requests were due during the 300 ms stall; a third of them waited > 100 ms.
    // A closed-loop tool would have waited with them and recorded about one slow request.
    expect(result.maxOutstanding).toBeGreaterThan(50);
    expect(result.latencyUs.p90).toBeGreaterThan(50_000);
    expect(result.latencyUs.max).toBeGreaterThan(200_000);
    // The stall began with request 250 of 500, half-way through the second.
    expect(result.slowestAtS).toBeGreaterThan(0.4);
    expect(result.slowestAtS).toBeLessThan(0.6);
    // The generator itself stayed on schedule while the server was frozen.
    expect(result.sendLagUs.p90).toBeLessThan(50_000);
  }, 30_000);

  it("counts requests that get no response as failed, with an infinite latency", async () => {
    const result = await generate({ url: "http://127.0.0.1:1/x", rate: 100, durationS: 0.2, warmupS: 0, connections: 4, headers: [], drainTimeoutS: 2 });
    expect(result.scheduled).toBe(20);
    expect(result.completed).toBe(0);
    expect(result.failed).toBe(20);
    expect(result.latencyUs.p50).toBe(Number.POSITIVE_INFINITY);
    expect(Object.keys(result.errors).join(" ")).toMatch(/ECONNREFUSED|connect/i);
  }, 30_000);
});
