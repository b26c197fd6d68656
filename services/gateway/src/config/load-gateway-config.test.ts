import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadGatewayConfig, withRedisUrl } from "./load-gateway-config.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-gw-config-"));
  dirs.push(dir);
  const file = join(dir, "gateway.yaml");
  writeFileSync(file, text);
  return file;
}

describe("REDIS_URL", () => {
  it("puts the rate limit and quota counters in that Redis, over the file's memory stores", async () => {
    const file = configFile("rateLimit:\n  store:\n    kind: memory\n");
    const config = await loadGatewayConfig(file, { REDIS_URL: "redis://:s3cret@10.0.0.5:6380/2" });
    expect(config.rateLimit.store).toEqual({ kind: "redis", url: "redis://:s3cret@10.0.0.5:6380/2", timeoutMs: 50, retryAfterMs: 1_000 });
    expect(config.quota.store).toMatchObject({ kind: "redis", url: "redis://:s3cret@10.0.0.5:6380/2" });
  });

  it("keeps memory stores without it, and yields to an explicit TOLLGATE_GATEWAY__…__STORE__ variable", async () => {
    const file = configFile("{}\n");
    expect((await loadGatewayConfig(file, {})).rateLimit.store).toEqual({ kind: "memory" });
    const env = withRedisUrl({ REDIS_URL: "redis://127.0.0.1:6379", TOLLGATE_GATEWAY__QUOTA__STORE__KIND: "memory" });
    expect(env.TOLLGATE_GATEWAY__RATE_LIMIT__STORE__KIND).toBe("redis");
    expect(env.TOLLGATE_GATEWAY__QUOTA__STORE__URL).toBeUndefined();
    const config = await loadGatewayConfig(file, env);
    expect(config.quota.store).toEqual({ kind: "memory" });
  });

  it("is validated like a file value, naming the path", async () => {
    const file = configFile("{}\n");
    await expect(loadGatewayConfig(file, { REDIS_URL: "localhost:6379" })).rejects.toThrow(/rateLimit\.store\.url/);
  });
});
