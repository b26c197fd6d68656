import { join } from "node:path";
import type { Arm, ArmStopReport, BenchUpstream, RunningArm } from "./arm.js";
import { startNginx, type NginxServer } from "./nginx-server.js";

/** Arm C: nginx as a reverse proxy (1 worker, HTTP/1.1 keep-alive pool to the upstream): the native reference. */
export function createNginxProxyArm(options: { upstreamPort: number; upstream?: BenchUpstream; tmpDir: string; key?: string }): Arm {
  let server: NginxServer | undefined;
  let starts = 0;
  return {
    key: options.key ?? "C",
    ...(options.upstream ? { upstream: options.upstream } : {}),
    name: "nginx-proxy",
    description: "nginx reverse proxy (1 worker, upstream keepalive 64, proxy_http_version 1.1): the native reference",
    async start(): Promise<RunningArm> {
      starts++;
      server = await startNginx("nginx proxy", join(options.tmpDir, `arm-${options.key ?? "C"}-nginx-proxy-${starts}`), {
        kind: "proxy",
        upstreamPort: options.upstreamPort,
        keepalive: 64,
      });
      return { url: server.url, pid: server.pid };
    },
    async stop(): Promise<ArmStopReport> {
      await server?.stop();
      server = undefined;
      return {};
    },
  };
}
