import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger, redactionCensor } from "./create-logger.js";

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      callback();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const dir = mkdtempSync(join(tmpdir(), "tollgate-logger-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("createLogger", () => {
  it("never writes secret headers, at the top level or nested", () => {
    const out = capture();
    const logger = createLogger({ name: "test", destination: out.stream });
    const headers = {
      authorization: "Bearer top-secret",
      cookie: "session=top-secret",
      "set-cookie": "session=top-secret",
      "x-api-key": "tg_top-secret",
      "proxy-authorization": "Basic top-secret",
      accept: "text/plain",
    };
    logger.info({ headers, req: { headers }, authorization: "Bearer top-secret" }, "request");
    const raw = JSON.stringify(out.lines());
    expect(raw).not.toContain("top-secret");
    const [line] = out.lines();
    expect(line).toMatchObject({ name: "test", level: "info", msg: "request" });
    expect(line?.headers).toEqual({
      authorization: redactionCensor,
      cookie: redactionCensor,
      "set-cookie": redactionCensor,
      "x-api-key": redactionCensor,
      "proxy-authorization": redactionCensor,
      accept: "text/plain",
    });
  });

  it("redacts password, secret and token fields at every depth up to four levels", () => {
    const out = capture();
    const logger = createLogger({ name: "test", destination: out.stream });
    logger.warn(
      {
        password: "p0-secret-value",
        config: { password: "p1-secret-value", stripe: { secret: "p2-secret-value", oauth: { token: "p3-secret-value", deep: { token: "p4-secret-value" } } } },
        list: [{ token: "p5-secret-value" }],
        apiKey: "k-secret-value",
      },
      "config loaded",
    );
    expect(JSON.stringify(out.lines())).not.toContain("secret-value");
  });

  it("keeps ordinary fields and honours the level", () => {
    const out = capture();
    const logger = createLogger({ name: "test", level: "warn", destination: out.stream });
    logger.info({ route: "demo" }, "dropped");
    logger.error({ route: "demo", status: 502 }, "kept");
    expect(out.lines()).toHaveLength(1);
    expect(out.lines()[0]).toMatchObject({ route: "demo", status: 502, msg: "kept", level: "error" });
  });

  it("writes through an asynchronous destination and flushes on demand", async () => {
    const file = join(dir, "async.log");
    const destination = pino.destination({ dest: file, sync: false, mkdir: true });
    await new Promise((resolve) => destination.once("ready", resolve));
    const logger = createLogger({ name: "test", destination });
    const written = once(destination, "write");
    logger.info({ token: "t-secret-value", requestId: "r-1" }, "listening");
    await written;
    const text = readFileSync(file, "utf8");
    expect(text).toContain('"requestId":"r-1"');
    expect(text).not.toContain("t-secret-value");
    destination.end();
  });
});
