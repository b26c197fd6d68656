import { ConfigError, parseConfig } from "@tollgate/config";
import { describe, expect, it } from "vitest";
import { ControlPlaneConfig } from "./control-plane-config.js";
import { loadControlPlaneConfig } from "./load-control-plane-config.js";

function problemsOf(raw: unknown): readonly string[] {
  try {
    parseConfig(ControlPlaneConfig, raw, "test");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("ControlPlaneConfig", () => {
  it("fills every default", () => {
    expect(parseConfig(ControlPlaneConfig, {})).toEqual({
      listen: { host: "127.0.0.1", port: 8090 },
      eventStore: { kind: "sqlite", file: "./data/events.db", synchronous: "normal", busyTimeoutMs: 5_000 },
      adminTokens: [],
      secretKeys: null,
      readYourWritesTimeoutMs: 5_000,
      analytics: null,
      shutdownGraceMs: 5_000,
      quotaStore: { file: "./data/quota-projector.db", projectorName: "quota-projector" },
      billingStore: { file: "./data/billing-projector.db", projectorName: "billing-projector" },
      stripeWebhooks: { signingSecret: null, toleranceSeconds: 300 },
      logging: { level: "info" },
    });
  });

  it("lists every problem with its path, and never echoes a token", () => {
    const token = "short-secret-token";
    const problems = problemsOf({
      listen: { port: 70_000, hots: "x" },
      adminTokens: [
        { name: "ops", token, access: "admin" },
        { name: "ops", token: "x".repeat(40) },
        { name: "ci", token: "x".repeat(40) },
      ],
      secretKeys: { current: "k2", keys: { k1: Buffer.alloc(16).toString("base64"), "bad key": Buffer.alloc(32).toString("base64") } },
    });
    expect(problems).toEqual([
      "listen.port: Too big: expected number to be <=65535",
      "listen.hots: unknown field",
      "adminTokens[0].token: use at least 32 characters (e.g. `openssl rand -base64 32`)",
      'adminTokens[0].access: Invalid option: expected one of "read"|"write"',
      "secretKeys.keys.k1: must decode to exactly 32 bytes",
      'secretKeys.keys["bad key"]: invalid name: use 1-64 letters, digits, \'.\', \'_\' or \'-\'',
    ]);
    expect(problems.join("\n")).not.toContain(token);
  });

  it("reports cross-field problems with their paths once fields are valid", () => {
    const key = Buffer.alloc(32, 1).toString("base64");
    expect(
      problemsOf({
        adminTokens: [
          { name: "ops", token: "a".repeat(40) },
          { name: "ops", token: "a".repeat(40) },
        ],
        secretKeys: { current: "k2", keys: { k1: key } },
      }),
    ).toEqual([
      'secretKeys.current: "k2" is not one of the keys',
      "adminTokens[1].name: same name as adminTokens[0]",
      "adminTokens[1].token: same token as adminTokens[0]",
    ]);
  });
});

describe("shipped configurations", () => {
  it.each([
    ["the example", new URL("../../control-plane.example.yaml", import.meta.url).pathname],
    ["the npm start config", new URL("../../../cli/config/control-plane.yaml", import.meta.url).pathname],
  ])("%s is valid", async (_name, path) => {
    const config = await loadControlPlaneConfig(path);
    expect(config.adminTokens.length).toBeGreaterThan(0);
    expect(config.secretKeys).not.toBeNull();
  });
});
