import { describe, expect, it } from "vitest";
import { benchGatewayConfig, listeningPortFromLog } from "./gateway-arm.js";

// The gateway's start line, as services/gateway/src/main.ts logs it.
const listening =
  '{"level":"info","time":"2026-11-26T04:21:50.872Z","pid":22212,"name":"gateway","gatewayId":"bench-gw","port":44107,"statusPort":44265,"url":"http://127.0.0.1:44107/","statusUrl":"http://127.0.0.1:44265/readyz","routes":1,"upstreams":1,"msg":"listening"}';

describe("listeningPortFromLog", () => {
  it("finds the client port in the gateway's listening line, not the status port", () => {
    expect(listeningPortFromLog(`${listening}\n`)).toBe(44107);
  });

  it("skips other lines, partial lines and status-server lines", () => {
    const log = [
      "not json",
      '{"level":"info","msg":"status server listening","port":9999}',
      '{"level":"info","msg":"listening","port":',
      '{"level":"warn","msg":"request","port":1}',
      listening,
    ].join("\n");
    expect(listeningPortFromLog(log)).toBe(44107);
  });

  it("returns null until the line is there", () => {
    expect(listeningPortFromLog("")).toBeNull();
    expect(listeningPortFromLog('{"msg":"listening","port":0}')).toBeNull();
  });
});

describe("benchGatewayConfig", () => {
  it("has one route to the upstream, and keeps the event log and the spool in the arm's folder", () => {
    const config = benchGatewayConfig("/tmp/x", "http://127.0.0.1:8081", "/bench", null);
    expect(config).toMatchObject({
      listen: { host: "127.0.0.1", port: 0 },
      eventStore: { kind: "sqlite", file: "/tmp/x/events.db" },
      recorder: { spoolDir: "/tmp/x/spool" },
      upstreams: { bench: { targets: ["http://127.0.0.1:8081"] } },
      routes: [{ id: "bench", match: { pathPrefix: "/bench" }, upstream: "bench" }],
    });
    expect(config).not.toHaveProperty("accessLog");
  });

  it("lays --gateway-config-extra over it", () => {
    const config = benchGatewayConfig("/tmp/x", "http://127.0.0.1:8081", "/bench", { recorder: { flushIntervalMs: 5 }, accessLog: "off" });
    expect(config.recorder).toEqual({ spoolDir: "/tmp/x/spool", flushIntervalMs: 5 });
    expect(config.accessLog).toBe("off");
  });
});
