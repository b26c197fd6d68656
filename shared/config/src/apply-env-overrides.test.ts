import { describe, expect, it } from "vitest";
import { applyEnvOverrides } from "./apply-env-overrides.js";

describe("applyEnvOverrides", () => {
  it("maps UPPER_SNAKE segments to camelCase paths and parses values as YAML", () => {
    const raw = { listen: { host: "a" }, routes: [{ id: "x" }] };
    const env = {
      GW__LISTEN__PORT: "1",
      GW__SHUTDOWN_GRACE_MS: "250",
      GW__TRUST_PROXY: "[10.0.0.0/8, 127.0.0.1]",
      GW__ROUTES__0__STRIP_PREFIX: "true",
      UNRELATED: "1",
    };
    expect(applyEnvOverrides(raw, env, "GW__")).toEqual({
      listen: { host: "a", port: 1 },
      shutdownGraceMs: 250,
      trustProxy: ["10.0.0.0/8", "127.0.0.1"],
      routes: [{ id: "x", stripPrefix: true }],
    });
  });

  it("does not modify its input", () => {
    const raw = { listen: { port: 1 } };
    applyEnvOverrides(raw, { GW__LISTEN__PORT: "2" }, "GW__");
    expect(raw.listen.port).toBe(1);
  });
});
