import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { GatewayConfigInput } from "./config/gateway-config.js";
import { startGateway, type TestGateway } from "./test-support/start-gateway.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real upstream on a fixed port once chosen, that can be stopped and started again on that port. */
class Target {
  server: Server | null = null;
  port = 0;
  /** Client requests served (health probes are counted apart). */
  served = 0;
  probes = 0;
  readonly users = new Set<string>();

  static async start(): Promise<Target> {
    const target = new Target();
    await target.listen();
    cleanups.push(() => target.stop());
    return target;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      if (req.headers["user-agent"] === "tollgate-health-check") this.probes += 1;
      else this.served += 1;
      const user = req.headers["x-user"];
      if (typeof user === "string") this.users.add(user);
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      res.end("ok");
    });
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    const closed = once(server, "close");
    server.close();
    server.closeAllConnections();
    await closed;
  }
}

async function gatewayOver(upstream: Record<string, unknown>, extra: Partial<GatewayConfigInput> = {}): Promise<TestGateway> {
  const gw = await startGateway({
    config: {
      upstreams: { api: upstream as never },
      routes: [{ id: "api", match: { pathPrefix: "/api" }, upstream: "api" }],
      ...extra,
    },
  });
  cleanups.push(() => gw.close());
  return gw;
}

function client(connections: number): Agent {
  const agent = new Agent({ connections, keepAliveTimeout: 1_000 });
  cleanups.push(() => agent.close());
  return agent;
}

/** `total` requests through `concurrency` workers; returns the statuses in completion order. */
async function load(url: string, total: number, concurrency: number, headers: (index: number) => Record<string, string> = () => ({}), onEach?: (done: number) => Promise<void> | void): Promise<number[]> {
  const dispatcher = client(concurrency);
  const statuses: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      const res = await request(url, { dispatcher, headers: headers(index) });
      await res.body.dump();
      statuses.push(res.statusCode);
      await onEach?.(statuses.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

describe("load balancing over real upstream targets", () => {
  it("weighted round-robin over 3 targets with weights 1:2:3 splits 6,000 requests within ±5%", async () => {
    const targets = await Promise.all([Target.start(), Target.start(), Target.start()]);
    const gw = await gatewayOver({
      targets: targets.map((target, index) => ({ url: target.origin, weight: index + 1 })),
      balancing: { algorithm: "weighted-round-robin" },
    });
    const statuses = await load(`${gw.url}/api`, 6_000, 50);
    expect(statuses.every((status) => status === 200)).toBe(true);
    const expected = [1_000, 2_000, 3_000];
    targets.forEach((target, index) => {
      const share = expected[index] as number;
      expect(Math.abs(target.served - share)).toBeLessThanOrEqual(share * 0.05);
    });
    await gw.recorder.waitFor(6_000);
  });

  it("consistent hashing sends a key to the same target every time; removing a target remaps only its share", async () => {
    const targets = await Promise.all([Target.start(), Target.start(), Target.start(), Target.start()]);
    const users = Array.from({ length: 400 }, (_, index) => `user-${index}`);
    const balancing = { algorithm: "consistent-hash", hashOn: "header", hashHeader: "X-User" };
    const placement = async (pool: Target[]): Promise<Map<string, number>> => {
      for (const target of targets) target.users.clear();
      const gw = await gatewayOver({ targets: pool.map((target) => target.origin), balancing });
      // Every user three times, interleaved.
      const statuses = await load(`${gw.url}/api`, users.length * 3, 20, (index) => ({ "x-user": users[index % users.length] as string }));
      expect(statuses.every((status) => status === 200)).toBe(true);
      const where = new Map<string, number>();
      targets.forEach((target, index) => {
        for (const user of target.users) {
          // A user seen by two targets would overwrite: check it never happens.
          expect(where.has(user), `${user} reached two targets`).toBe(false);
          where.set(user, index);
        }
      });
      expect(where.size).toBe(users.length);
      return where;
    };
    const before = await placement(targets);
    expect(new Set(before.values()).size).toBe(4);
    const removed = 2;
    const after = await placement(targets.filter((_, index) => index !== removed));
    let moved = 0;
    for (const user of users) {
      if (before.get(user) === removed) {
        expect(after.get(user)).not.toBe(removed);
        moved += 1;
      } else {
        expect(after.get(user), `${user} moved although its target stayed`).toBe(before.get(user));
      }
    }
    expect(moved).toBeGreaterThan(0);
  });

  it("a target killed mid-load costs a bounded number of failed requests, is ejected, and is re-admitted when it comes back", async () => {
    const targets = await Promise.all([Target.start(), Target.start(), Target.start()]);
    const victim = targets[1];
    const gw = await gatewayOver({
      targets: targets.map((target) => target.origin),
      healthChecks: {
        active: { path: "/health", intervalMs: 100, timeoutMs: 200, expectedStatuses: [200], healthyThreshold: 2, unhealthyThreshold: 2 },
        passive: { consecutiveFailures: 3, ejectionMs: 60_000 },
      },
    });
    const concurrency = 10;
    let killedAt = -1;
    const statuses = await load(`${gw.url}/api`, 3_000, concurrency, undefined, async (done) => {
      if (done === 500 && killedAt === -1) {
        killedAt = done;
        await victim.stop();
      }
    });
    const failed = statuses.filter((status) => status !== 200);
    // At most the requests in flight to it when it died, plus the failures in a row that eject it.
    const bound = concurrency + 3;
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThanOrEqual(bound);
    expect(failed.every((status) => status === 502)).toBe(true);
    const messages = (): string[] => gw.log.lines().map((line) => String(line.msg));
    expect(messages().some((msg) => msg.startsWith("upstream target ejected") || msg.startsWith("upstream target unhealthy"))).toBe(true);
    const servedWhileDown = victim.served;
    const health = gw.gateway.upstreamHealth().api ?? [];
    expect(health.map((entry) => entry.healthy)).toEqual([true, false, true]);
    const metric = await gw.registry.getSingleMetricAsString("tollgate_upstream_target_healthy");
    expect(metric).toContain(`tollgate_upstream_target_healthy{upstream="api",target="${victim.origin}"} 0`);

    // Back on the same port: the health checks re-admit it (the passive ejection alone would last 60 s).
    await victim.listen();
    const deadline = Date.now() + 5_000;
    while (victim.served === servedWhileDown) {
      expect(Date.now()).toBeLessThan(deadline);
      await load(`${gw.url}/api`, 30, 3);
    }
    expect(messages()).toContain("upstream target healthy again");
    const events = await gw.recorder.waitFor(statuses.length);
    expect(events.filter((event) => event.type === "RequestFailed")).toHaveLength(failed.length);
    console.info(`target killed after ${killedAt} of 3,000 requests: ${failed.length} failed (bound ${bound})`);
  }, 30_000);

  it("never ejects the last available target on passive failures alone", async () => {
    const target = await Target.start();
    const gw = await gatewayOver({ targets: [target.origin], healthChecks: { passive: { consecutiveFailures: 1, ejectionMs: 60_000 } } });
    await target.stop();
    for (let n = 0; n < 3; n++) {
      const res = await request(`${gw.url}/api`);
      await res.body.dump();
      expect(res.statusCode).toBe(502);
    }
    await target.listen();
    expect((await request(`${gw.url}/api`)).statusCode).toBe(200);
    await gw.recorder.waitFor(4);
  });

  it("answers 503 problem+json when the health checks find no target healthy", async () => {
    const target = await Target.start();
    await target.stop();
    const gw = await gatewayOver({
      targets: [target.origin],
      healthChecks: { active: { path: "/health", intervalMs: 100, timeoutMs: 100, healthyThreshold: 1, unhealthyThreshold: 1 } },
    });
    const deadline = Date.now() + 5_000;
    while (gw.gateway.upstreamHealth().api?.[0]?.healthy !== false) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const res = await request(`${gw.url}/api`);
    expect(res.statusCode).toBe(503);
    expect(await res.body.json()).toMatchObject({ code: "no-healthy-upstream", detail: 'no healthy target in upstream "api"' });
    const [event] = await gw.recorder.waitFor(1);
    expect(event).toMatchObject({ type: "RequestFailed", data: { attempts: 0, upstream: null, status: 503 } });
  });
});
