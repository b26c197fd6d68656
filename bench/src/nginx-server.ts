import { chmodSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from "node:fs";
import { join } from "node:path";
import { findFreePort } from "./free-port.js";
import { httpGet } from "./http-get.js";
import { renderNginxConfig, stubStatusPath, type NginxRole } from "./nginx-config.js";
import { parseNginxStubStatus } from "./nginx-stub-status.js";
import { processRegistry, spawnTracked, stopTracked } from "./process-registry.js";
import { processTree } from "./proc-stats.js";
import { waitUntil } from "./wait-until.js";

export const nginxBinary = process.env.TOLLGATE_BENCH_NGINX ?? "/usr/sbin/nginx";

export interface NginxServer {
  name: string;
  port: number;
  url: string;
  /** The master's pid; the worker is its child, so the tree holds both. */
  pid: number;
  /** Requests served so far (upstream role only, from stub_status), not counting the bench's own status requests. */
  requestsServed(): Promise<number>;
  /** Fast shutdown (SIGTERM), SIGKILL of master and worker after 5 s. */
  stop(): Promise<void>;
}

/** Starts nginx in the foreground with its own config in `dir`, and waits until it answers. */
export async function startNginx(name: string, dir: string, role: NginxRole): Promise<NginxServer> {
  mkdirSync(dir, { recursive: true });
  // When the bench runs as root, nginx's worker runs as nobody and must be able to reach its temp folders.
  chmodSync(dir, 0o755);
  const port = await findFreePort();
  const configFile = join(dir, "nginx.conf");
  writeFileSync(configFile, renderNginxConfig({ dir, port, role }));
  const errorLog = join(dir, "error.log");
  const out = openSync(join(dir, "stdout.log"), "a");
  const tracked = await spawnTracked(name, nginxBinary, ["-p", dir, "-c", configFile, "-e", errorLog], { stdio: ["ignore", out, out] });
  closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  const probe = role.kind === "upstream" ? `${url}${stubStatusPath}` : `${url}/`;
  // stub_status counts its own requests: remember how many the bench made.
  let statusRequests = 0;
  try {
    await waitUntil(`${name} (nginx) on port ${port}`, async () => {
      if (tracked.child.exitCode !== null) throw new Error(`nginx exited with ${tracked.child.exitCode}: ${readFileSync(errorLog, "utf8").slice(-2_000)}`);
      const response = await httpGet(probe, 1_000);
      if (role.kind === "upstream") statusRequests++;
      return response.status === 200;
    });
  } catch (error) {
    await stopTracked(tracked, "SIGTERM", 2_000);
    throw error;
  }
  // The worker is not our child: track it so that it is killed too if the master has to be SIGKILLed.
  const workers = processTree(tracked.pid).filter((pid) => pid !== tracked.pid);
  for (const worker of workers) processRegistry.track(worker, `${name} worker`, "nginx");

  return {
    name,
    port,
    url,
    pid: tracked.pid,
    async requestsServed(): Promise<number> {
      const status = await httpGet(`${url}${stubStatusPath}`);
      statusRequests++;
      if (status.status !== 200) throw new Error(`${name}: stub_status answered ${status.status}`);
      return parseNginxStubStatus(status.body).requests - statusRequests;
    },
    async stop(): Promise<void> {
      const result = await stopTracked(tracked, "SIGTERM", 5_000);
      for (const worker of workers) {
        if (result.killed) processRegistry.signal(worker, "SIGKILL");
        processRegistry.untrack(worker);
      }
    },
  };
}
