import { describe, expect, it } from "vitest";
import { BenchOptionsError, parseBenchOptions } from "./bench-options.js";

const noFile = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};

describe("parseBenchOptions", () => {
  it("has defaults for a real run", () => {
    expect(parseBenchOptions([], {}, noFile)).toEqual({
      durationS: 10,
      rounds: 3,
      rate: 2000,
      connections: 50,
      threads: 1,
      openLoopConnections: 50,
      warmupS: 2,
      settleS: 1,
      sliceS: 2,
      arms: null,
      order: "fixed",
      gatewayConfigExtra: null,
      gatewayNodeArgs: [],
      headers: [],
      path: "/bench",
      out: null,
      keepTemp: false,
      strict: false,
      help: false,
    });
  });

  it("reads both flag forms, and flags win over TOLLGATE_BENCH_* variables", () => {
    const options = parseBenchOptions(
      ["--duration", "3", "--rounds=5", "--arms", "A, D", "--keep-temp", "--order=shuffle", "--warmup", "0"],
      { TOLLGATE_BENCH_DURATION: "30", TOLLGATE_BENCH_RATE: "1500", TOLLGATE_BENCH_STRICT: "1" },
      noFile,
    );
    expect(options).toMatchObject({ durationS: 3, rounds: 5, rate: 1500, arms: ["A", "D"], keepTemp: true, strict: true, order: "shuffle", warmupS: 0 });
  });

  it("splits the gateway's Node flags on spaces", () => {
    expect(parseBenchOptions(["--gateway-node-args", " --cpu-prof  --trace-gc "], {}, noFile).gatewayNodeArgs).toEqual(["--cpu-prof", "--trace-gc"]);
  });

  it("collects repeated headers, from flags or from newline-separated variables", () => {
    expect(parseBenchOptions(["--header", "X-Api-Key: k1", "--header=Accept: text/plain"], {}, noFile).headers).toEqual(["X-Api-Key: k1", "Accept: text/plain"]);
    expect(parseBenchOptions([], { TOLLGATE_BENCH_HEADER: "A: 1\nB: 2\n" }, noFile).headers).toEqual(["A: 1", "B: 2"]);
    expect(() => parseBenchOptions(["--header", "no colon"], {}, noFile)).toThrow(BenchOptionsError);
  });

  it("takes the gateway config extra inline or from a file, and only as a JSON object", () => {
    expect(parseBenchOptions(["--gateway-config-extra", '{"policies":{"auth":true}}'], {}, noFile).gatewayConfigExtra).toEqual({ policies: { auth: true } });
    const fromFile = parseBenchOptions(["--gateway-config-extra", "/x/extra.json"], {}, (path) => (path === "/x/extra.json" ? '{"a":1}' : ""));
    expect(fromFile.gatewayConfigExtra).toEqual({ a: 1 });
    expect(() => parseBenchOptions(["--gateway-config-extra", "[1]"], {}, () => "[1]")).toThrow(/JSON object/);
    expect(() => parseBenchOptions(["--gateway-config-extra", "{nope"], {}, noFile)).toThrow(/not valid JSON/);
  });

  it("rejects bad values with the flag's name", () => {
    expect(() => parseBenchOptions(["--duration", "0"], {}, noFile)).toThrow(/--duration/);
    expect(() => parseBenchOptions(["--rounds", "2.5"], {}, noFile)).toThrow(/--rounds must be a positive integer/);
    expect(() => parseBenchOptions(["--slice", "0.5"], {}, noFile)).toThrow(/--slice must be a positive integer/);
    expect(() => parseBenchOptions(["--rate", "fast"], {}, noFile)).toThrow(/--rate/);
    expect(() => parseBenchOptions(["--order", "random"], {}, noFile)).toThrow(/--order/);
    expect(() => parseBenchOptions(["--threads", "8", "--connections", "4"], {}, noFile)).toThrow(/--threads/);
    expect(() => parseBenchOptions(["--path", "bench"], {}, noFile)).toThrow(/--path/);
    expect(() => parseBenchOptions(["--bogus"], {}, noFile)).toThrow(/unknown flag --bogus/);
    expect(() => parseBenchOptions(["--duration"], {}, noFile)).toThrow(/needs a value/);
    expect(() => parseBenchOptions(["stray"], {}, noFile)).toThrow(/unexpected argument/);
    expect(() => parseBenchOptions(["--strict=maybe"], {}, noFile)).toThrow(/--strict/);
  });
});
