import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadServiceConfig } from "./load-service-config.js";

const Schema = z.strictObject({ port: z.number().int().default(80) });
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-service-config-"));
  dirs.push(dir);
  const path = join(dir, "service.yaml");
  writeFileSync(path, text);
  return path;
}

describe("loadServiceConfig", () => {
  it("prints the usage and answers 2 without a path, 1 with every problem of a bad file, and the config otherwise", async () => {
    const written: string[] = [];
    const stderr = { write: (text: string) => written.push(text) };
    expect(await loadServiceConfig(undefined, Schema, { envPrefix: "SVC__", usage: "usage: svc --config FILE", stderr })).toEqual({ exitCode: 2 });
    expect(written.pop()).toBe("usage: svc --config FILE\n");
    expect(await loadServiceConfig(file("port: nope\n"), Schema, { envPrefix: "SVC__", usage: "", stderr })).toEqual({ exitCode: 1 });
    expect(written.pop()).toContain("port");
    expect(await loadServiceConfig(file("port: 1\n"), Schema, { envPrefix: "SVC__", usage: "", env: { SVC__PORT: "9" }, stderr })).toEqual({ config: { port: 9 } });
  });
});
