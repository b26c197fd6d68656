import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { redisCli } from "./redis-cli.js";

/**
 * A redis-server of the test's own, on a free port, without persistence, for suites
 * that kill or restart Redis. Signalled only by its own PID: the machine's shared Redis
 * is never touched.
 */
export class PrivateRedisServer {
  #child: ChildProcess | undefined;
  #output = "";

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedisServer> {
    const server = new PrivateRedisServer(await freePort());
    await server.restart();
    return server;
  }

  /** Starts it (again) on the same port, empty: nothing was persisted. */
  async restart(): Promise<void> {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) throw new Error("private redis is still running");
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding("utf8").on("data", (chunk: string) => (this.#output = (this.#output + chunk).slice(-4_000)));
    const failed = once(child, "error").then(([error]) => {
      throw new Error(`could not start redis-server (apt-get install -y redis-server): ${(error as Error).message}`);
    });
    const deadline = Date.now() + 10_000;
    const ready = (async () => {
      for (;;) {
        if ((await redisCli(this.url, "PING").catch(() => "")) === "PONG") return;
        if (Date.now() > deadline) throw new Error(`private redis on port ${this.port} did not answer:\n${this.#output}`);
        await delay(20);
      }
    })();
    await Promise.race([ready, failed]);
  }

  /** SIGKILL to this server's PID, and wait for it to exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    // child.kill, unlike process.kill, does not throw when the server has just exited.
    child.kill("SIGKILL");
    await exited;
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
