import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "ioredis";

/**
 * A redis-server of the test's own, on a free port, without persistence, for tests that
 * kill, freeze or restart Redis. It is a child process, signalled only by its own PID:
 * the machine's shared Redis is never touched.
 */
export class PrivateRedisServer {
  #child: ChildProcess | undefined;
  #output = "";

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts one on a free port and waits until it answers PING. */
  static async start(): Promise<PrivateRedisServer> {
    const server = new PrivateRedisServer(await freePort());
    await server.restart();
    return server;
  }

  /** Starts the server again on the same port (after `kill`), empty: nothing is persisted. */
  async restart(): Promise<void> {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) throw new Error("private redis is still running");
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (this.#output = (this.#output + chunk).slice(-4_000)));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.#output = (this.#output + chunk).slice(-4_000)));
    const spawnFailed = once(child, "error").then(([error]) => {
      throw new Error(`could not start redis-server (apt-get install -y redis-server): ${(error as Error).message}`);
    });
    await Promise.race([this.#waitForPing(10_000), spawnFailed]);
  }

  /** Sends `signal` to this server's process only, and waits for it to exit (unless it was SIGSTOP). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = once(child, "exit");
    process.kill(child.pid, signal);
    if (signal !== "SIGSTOP" && signal !== "SIGCONT") await exited;
  }

  /** Kills it (SIGCONT first, in case it was frozen). */
  async stop(): Promise<void> {
    await this.kill("SIGCONT");
    await this.kill("SIGKILL");
  }

  output(): string {
    return this.#output;
  }

  async #waitForPing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
      client.on("error", () => undefined);
      try {
        await client.connect();
        if ((await client.ping()) === "PONG") return;
      } catch {
        // not up yet
      } finally {
        client.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`private redis on port ${this.port} did not answer within ${timeoutMs} ms:\n${this.#output}`);
      await delay(20);
    }
  }
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
