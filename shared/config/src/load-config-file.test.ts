import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError } from "./config-error.js";
import { loadConfigFile } from "./load-config-file.js";
import { parseConfig } from "./parse-config.js";

const Schema = z
  .strictObject({
    name: z.string().min(1).default("svc").describe("Service name"),
    listen: z
      .strictObject({
        host: z.string().default("0.0.0.0").describe("Interface"),
        port: z.number().int().min(0).max(65_535).default(8080).describe("Port"),
      })
      .prefault({})
      .describe("Listener"),
    upstreams: z.record(z.string().regex(/^[a-z]+$/), z.strictObject({ url: z.url() })).default({}).describe("Upstreams"),
    routes: z.array(z.strictObject({ id: z.string(), upstream: z.string() })).default([]).describe("Routes"),
  })
  .superRefine((config, ctx) => {
    config.routes.forEach((route, index) => {
      if (!(route.upstream in config.upstreams)) {
        ctx.addIssue({ code: "custom", path: ["routes", index, "upstream"], message: `unknown upstream "${route.upstream}"` });
      }
    });
  });

const dir = mkdtempSync(join(tmpdir(), "tollgate-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfigFile", () => {
  it("reads YAML and fills every default", async () => {
    const path = file("ok.yaml", "upstreams:\n  billing:\n    url: http://127.0.0.1:9000\nroutes:\n  - id: a\n    upstream: billing\n");
    await expect(loadConfigFile(path, Schema)).resolves.toEqual({
      name: "svc",
      listen: { host: "0.0.0.0", port: 8080 },
      upstreams: { billing: { url: "http://127.0.0.1:9000" } },
      routes: [{ id: "a", upstream: "billing" }],
    });
  });

  it("reads JSON", async () => {
    const path = file("ok.json", JSON.stringify({ listen: { port: 0 } }));
    const config = await loadConfigFile(path, Schema);
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 0 });
  });

  it("treats an empty YAML file as all defaults", async () => {
    const config = await loadConfigFile(file("empty.yaml", ""), Schema);
    expect(config.name).toBe("svc");
  });

  it("lists every problem with its path, not only the first", async () => {
    const path = file(
      "bad.yaml",
      [
        "listen:",
        "  port: 70000",
        "  hots: x",
        "upstreams:",
        "  Bad: { url: http://x }",
        "  ok: { url: not-a-url }",
        "routes:",
        "  - { id: a, upstream: ok }",
        "  - { id: b, upstream: ok }",
        "  - { id: c, upstream: billing }",
      ].join("\n"),
    );
    const problems = await problemsOf(loadConfigFile(path, Schema));
    expect(problems).toEqual([
      "listen.port: Too big: expected number to be <=65535",
      "listen.hots: unknown field",
      "upstreams.Bad: invalid name: Invalid string: must match pattern /^[a-z]+$/",
      "upstreams.ok.url: Invalid URL",
    ]);
  });

  it("reports cross-field problems with the path of the offending field", async () => {
    const path = file("cross.yaml", "upstreams: { ok: { url: 'http://x' } }\nroutes:\n  - { id: a, upstream: ok }\n  - { id: b, upstream: ok }\n  - { id: c, upstream: billing }\n");
    expect(await problemsOf(loadConfigFile(path, Schema))).toEqual(['routes[2].upstream: unknown upstream "billing"']);
  });

  it("reports a missing file as a problem", async () => {
    const path = join(dir, "missing.yaml");
    expect(await problemsOf(loadConfigFile(path, Schema))).toEqual([`${path}: file not found`]);
  });

  it("reports YAML syntax errors with their line", async () => {
    const path = file("syntax.yaml", "name: a\nlisten:\n  port: 1\n\thost: x\n");
    expect(await problemsOf(loadConfigFile(path, Schema))).toEqual([`${path}:4:1: Tabs are not allowed as indentation`]);
  });

  it("reports duplicate YAML keys instead of keeping the last one", async () => {
    const path = file("dup.yaml", "name: a\nname: b\n");
    const problems = await problemsOf(loadConfigFile(path, Schema));
    expect(problems).toEqual([`${path}:2:1: Map keys must be unique`]);
  });

  it("reports JSON syntax errors with their line", async () => {
    const path = file("syntax.json", '{\n  "name": "a",\n  "listen": }\n');
    const problems = await problemsOf(loadConfigFile(path, Schema));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${escape(path)}:3:\\d+: invalid JSON: `));
  });

  it("refuses an unknown extension", async () => {
    const path = file("config.toml", "name = 'a'");
    expect(await problemsOf(loadConfigFile(path, Schema))).toEqual([`${path}: unsupported extension ".toml" (use .yaml, .yml or .json)`]);
  });

  it("applies environment overrides before validation", async () => {
    const path = file("env.yaml", "listen: { host: 127.0.0.1 }\n");
    const env = { APP__LISTEN__PORT: "9090", APP__NAME: '"0123"', OTHER: "x" };
    const config = await loadConfigFile(path, Schema, { env, envPrefix: "APP__" });
    expect(config.listen).toEqual({ host: "127.0.0.1", port: 9090 });
    expect(config.name).toBe("0123");
  });

  it("reports a wrong override like a wrong file value", async () => {
    const path = file("env-bad.yaml", "");
    const problems = await problemsOf(loadConfigFile(path, Schema, { env: { APP__LISTEN__PORT: "high" }, envPrefix: "APP__" }));
    expect(problems).toEqual(["listen.port: Invalid input: expected number, received string"]);
  });
});

describe("parseConfig", () => {
  it("names the source in the error message", () => {
    expect(() => parseConfig(Schema, { name: "" }, "inline test")).toThrow(/invalid configuration in inline test:\n {2}- name: /);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("JSON error location", () => {
  it.each([
    ['{"a": 1,}', 1, 9],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3],
    ['[1, 2, tru]', 1, 8],
    ['{"a": "\\x"}', 1, 9],
  ])("locates the error in %j", async (text, line, column) => {
    const path = file(`located-${line}-${column}.json`, text);
    const problems = await problemsOf(loadConfigFile(path, Schema));
    expect(problems[0]).toMatch(new RegExp(`^${escape(path)}:${line}:${column}: invalid JSON: `));
  });
});
