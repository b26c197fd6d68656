import { describe, expect, it } from "vitest";
import { renderNginxConfig, stubStatusPath } from "./nginx-config.js";
import { parseNginxStubStatus } from "./nginx-stub-status.js";

describe("renderNginxConfig", () => {
  it("keeps every path nginx writes inside the given folder, with one worker and no access log", () => {
    const config = renderNginxConfig({ dir: "/tmp/b1", port: 18080, role: { kind: "upstream", body: 'ok "x"\n' } });
    expect(config).toMatch(/^daemon off;$/m);
    expect(config).toMatch(/^master_process on;$/m);
    expect(config).toMatch(/^worker_processes 1;$/m);
    expect(config).toMatch(/^\s*access_log off;$/m);
    expect(config).toContain("listen 127.0.0.1:18080");
    expect(config).toContain(`location = ${stubStatusPath} { stub_status; }`);
    expect(config).toContain('return 200 "ok \\"x\\"\\n";');
    for (const line of config.split("\n").filter((l) => /(_path|^pid|error_log) /.test(l.trim()))) {
      expect(line).toContain("/tmp/b1/");
    }
  });

  it("proxies with HTTP/1.1 keep-alive to the upstream", () => {
    const config = renderNginxConfig({ dir: "/tmp/b2", port: 18081, role: { kind: "proxy", upstreamPort: 18080, keepalive: 64 } });
    expect(config).toContain("server 127.0.0.1:18080;");
    expect(config).toContain("keepalive 64;");
    expect(config).toContain("proxy_http_version 1.1;");
    expect(config).toContain('proxy_set_header Connection "";');
    expect(config).not.toContain("stub_status");
  });

  it("rejects a bad port", () => {
    expect(() => renderNginxConfig({ dir: "/tmp", port: 0, role: { kind: "upstream", body: "" } })).toThrow(RangeError);
  });
});

describe("parseNginxStubStatus", () => {
  it("reads the counters (captured from nginx 1.22)", () => {
    const page = "Active connections: 1 \nserver accepts handled requests\n 58 58 406323 \nReading: 0 Writing: 1 Waiting: 0 \n";
    expect(parseNginxStubStatus(page)).toEqual({ active: 1, accepts: 58, handled: 58, requests: 406323 });
  });

  it("rejects anything else", () => {
    expect(() => parseNginxStubStatus("ok")).toThrow(/stub_status/);
  });
});
