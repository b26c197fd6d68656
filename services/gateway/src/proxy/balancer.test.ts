import type { Logger } from "@tollgate/observability";
import { Pool } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { createBalancer } from "./balancer.js";
import { HealthChecker } from "./health-checker.js";
import { UpstreamTarget } from "./upstream-target.js";

const pools: Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
});

function target(name: string, weight = 1, passive = { consecutiveFailures: 3, ejectionMs: 1_000 }): UpstreamTarget {
  const pool = new Pool("http://127.0.0.1:9");
  pools.push(pool);
  return new UpstreamTarget(`http://${name}`, pool, weight, passive);
}

const all = (): boolean => true;
const names = (picks: (UpstreamTarget | null)[]): string[] => picks.map((pick) => pick?.origin.slice(7) ?? "-");

describe("balancers", () => {
  it("smooth weighted round-robin interleaves 1:2:3 exactly over every cycle", () => {
    const targets = [target("a", 1), target("b", 2), target("c", 3)];
    const balancer = createBalancer("weighted-round-robin", targets);
    const picks = names(Array.from({ length: 12 }, () => balancer.pick(all, "")));
    expect(picks.slice(0, 6)).toEqual(["c", "b", "a", "c", "b", "c"]);
    expect(picks.slice(6)).toEqual(picks.slice(0, 6));
  });

  it("round-robin and weighted round-robin skip targets that are not available", () => {
    const targets = [target("a"), target("b"), target("c")];
    const notB = (candidate: UpstreamTarget): boolean => candidate.origin !== "http://b";
    expect(names(Array.from({ length: 4 }, () => createBalancer("round-robin", targets).pick(notB, "")))).toEqual(["a", "a", "a", "a"]);
    const rr = createBalancer("round-robin", targets);
    expect(names(Array.from({ length: 4 }, () => rr.pick(notB, "")))).toEqual(["a", "c", "a", "c"]);
    expect(createBalancer("weighted-round-robin", targets).pick(() => false, "")).toBeNull();
  });

  it("least-connections picks the fewest requests in flight per unit of weight", () => {
    const [a, b, c] = [target("a"), target("b", 2), target("c")];
    const balancer = createBalancer("least-connections", [a, b, c]);
    a.inFlight = 3;
    b.inFlight = 4;
    c.inFlight = 1;
    expect(balancer.pick(all, "")).toBe(c);
    c.inFlight = 5;
    expect(balancer.pick(all, "")).toBe(b);
  });
});

describe("UpstreamTarget (passive health)", () => {
  it("is ejected after the configured failures in a row, tried again after the cool-down, and ejected again by one more failure", () => {
    const t = target("a", 1, { consecutiveFailures: 3, ejectionMs: 1_000 });
    t.started();
    expect(t.settled("failure", 0)).toBe(false);
    t.settled("success", 0);
    for (let n = 0; n < 2; n++) expect(t.settled("failure", 10)).toBe(false);
    expect(t.settled("failure", 10)).toBe(true);
    expect(t.available(500)).toBe(false);
    expect(t.available(1_010)).toBe(true);
    expect(t.settled("failure", 1_020)).toBe(true);
    expect(t.ejections).toBe(2);
    t.settled("success", 2_100);
    expect(t.settled("failure", 2_100)).toBe(false);
    expect(t.inFlight).toBe(0);
  });

  it("never ejects with consecutiveFailures 0", () => {
    const t = target("a", 1, { consecutiveFailures: 0, ejectionMs: 1_000 });
    for (let n = 0; n < 50; n++) expect(t.settled("failure", 0)).toBe(false);
  });
});

describe("HealthChecker thresholds", () => {
  const logger = { warn: () => undefined, info: () => undefined } as unknown as Logger;
  const config = { path: "/", intervalMs: 1_000, timeoutMs: 100, expectedStatuses: [200], healthyThreshold: 2, unhealthyThreshold: 3 };

  it("marks a target unhealthy after unhealthyThreshold failed probes and healthy after healthyThreshold good ones, ending an ejection", () => {
    const t = target("a");
    const checker = new HealthChecker("api", [t], config, logger);
    checker.record(t, false, "");
    checker.record(t, false, "");
    checker.record(t, true, "");
    checker.record(t, false, "");
    checker.record(t, false, "");
    expect(t.probedHealthy).toBe(true);
    checker.record(t, false, "");
    expect(t.probedHealthy).toBe(false);
    t.ejectedUntil = Number.MAX_SAFE_INTEGER;
    checker.record(t, true, "");
    expect(t.probedHealthy).toBe(false);
    checker.record(t, true, "");
    expect(t.available(Date.now())).toBe(true);
  });
});
