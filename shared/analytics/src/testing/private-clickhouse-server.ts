import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

/**
 * A clickhouse-server of the test's (or benchmark's) own: free ports, a temp folder for
 * its data and a minimal config, as docs/analytics.md describes. It is stopped by its own
 * PID and its folder removed; no shared server is ever touched.
 */
export class PrivateClickHouseServer {
  #child: ChildProcess | undefined;
  #output = "";

  private constructor(
    readonly dir: string,
    readonly httpPort: number,
    readonly tcpPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  static async start(options: { binary?: string; timeoutMs?: number } = {}): Promise<PrivateClickHouseServer> {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-clickhouse-"));
    const server = new PrivateClickHouseServer(dir, await freePort(), await freePort());
    try {
      await server.#start(options.binary ?? process.env.CLICKHOUSE_SERVER_BINARY ?? "clickhouse-server", options.timeoutMs ?? 30_000);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  async #start(binary: string, timeoutMs: number): Promise<void> {
    const config = join(this.dir, "config.xml");
    await writeFile(config, configXml(this.dir, this.httpPort, this.tcpPort));
    const child = spawn(binary, [`--config-file=${config}`], { stdio: ["ignore", "pipe", "pipe"], cwd: this.dir });
    this.#child = child;
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding("utf8").on("data", (chunk: string) => (this.#output = (this.#output + chunk).slice(-4_000)));
    const failed = once(child, "error").then(([error]) => {
      throw new Error(`could not start ${binary} (apt-get install -y clickhouse-server clickhouse-client): ${(error as Error).message}`);
    });
    const exited = once(child, "exit").then(([code]) => {
      throw new Error(`clickhouse-server exited with ${String(code)} before answering:\n${this.#output}`);
    });
    const deadline = Date.now() + timeoutMs;
    const ready = (async () => {
      for (;;) {
        const answer = await fetch(`${this.url}/?query=SELECT%201`).then(
          (response) => response.text(),
          () => "",
        );
        if (answer.trim() === "1") return;
        if (Date.now() > deadline) throw new Error(`private clickhouse on port ${this.httpPort} did not answer within ${timeoutMs} ms:\n${this.#output}`);
        await delay(50);
      }
    })();
    await Promise.race([ready, failed, exited]);
  }

  /** SIGTERM to this server's PID (SIGKILL after 10 s), then removes its folder. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/error.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
