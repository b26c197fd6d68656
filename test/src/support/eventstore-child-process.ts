import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

/** The built event store package, as the gateway and the projectors load it. */
const eventstoreUrl = pathToFileURL(createRequire(import.meta.url).resolve("@tollgate/eventstore")).href;

/**
 * The child programs, plain JavaScript so that `node` runs them as they are (this
 * workspace is type-checked, not built). Each one prints "ready" once its store is open,
 * waits for "go" on stdin so that all of them start writing at the same moment, and
 * reports on stdout.
 */
const scripts = {
  /**
   * args: { file, name, sizes }. For each size: one batch of that many events to its own
   * stream `mp-<name>` with an exact expected revision, then one event to `mp-shared`
   * with optimistic concurrency (retry with the actual revision on a conflict).
   * Prints {"done":true,"written":n,"conflicts":n}.
   */
  append: `
    const { SqliteEventStore, WrongExpectedRevisionError } = await import(EVENTSTORE_URL);
    const { file, name, sizes } = JSON.parse(process.argv[2]);
    const store = SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 10000 });
    await waitForGo();
    const event = (id, data) => ({ id, type: "RequestCompleted", version: 1, data });
    let own = "no-stream";
    let shared = "any";
    let written = 0;
    let conflicts = 0;
    for (const [batch, size] of sizes.entries()) {
      const events = Array.from({ length: size }, (_, i) => event(name + "-" + batch + "-" + i, { name, batch, i }));
      own = (await store.append("mp-" + name, events, { expectedRevision: own })).nextRevision;
      for (;;) {
        try {
          shared = (await store.append("mp-shared", [event(name + "-shared-" + batch, { name, batch })], { expectedRevision: shared })).nextRevision;
          break;
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          conflicts += 1;
          shared = error.actual === -1 ? "no-stream" : error.actual;
        }
      }
      written += size + 1;
    }
    await store.close();
    console.log(JSON.stringify({ done: true, written, conflicts }));
  `,
  /**
   * args: { file, expected }. Subscribes to the mp- streams from the start on its own
   * connection and prints "<position> <streamId> <revision> <id>" per event until it has
   * seen `expected` events.
   */
  subscribe: `
    const { SqliteEventStore, START } = await import(EVENTSTORE_URL);
    const { file, expected } = JSON.parse(process.argv[2]);
    const store = SqliteEventStore.open({ file, synchronous: "normal", busyTimeoutMs: 10000 });
    const subscription = store.subscribe({ from: START, filter: { streamPrefixes: ["mp-"] } });
    await waitForGo();
    let seen = 0;
    const lines = [];
    for await (const event of subscription) {
      lines.push(event.position + " " + event.streamId + " " + event.revision + " " + event.id);
      if (lines.length === 200) process.stdout.write(lines.splice(0).join("\\n") + "\\n");
      if (++seen === expected) break;
    }
    if (lines.length > 0) process.stdout.write(lines.join("\\n") + "\\n");
    await store.close();
    console.log(JSON.stringify({ done: true, seen }));
  `,
};

const prelude = `
  import { createInterface } from "node:readline";
  const EVENTSTORE_URL = ${JSON.stringify(eventstoreUrl)};
  function waitForGo() {
    console.log("ready");
    const input = createInterface({ input: process.stdin });
    return new Promise((resolve) => input.on("line", (line) => { if (line === "go") resolve(); }));
  }
`;

export interface EventStoreChild {
  pid: number;
  /** Every stdout line so far. */
  lines: string[];
  /** Every stderr line so far. */
  errors: string[];
  /** Resolves once the child has printed "ready". */
  ready: Promise<void>;
  exited: Promise<number | null>;
  go(): void;
  /** SIGKILLs the child if it is still running (this process started it, by its pid). */
  kill(): void;
}

/** Starts `node` on one of the child programs; the script file is written into `dir`. */
export function startEventStoreChild(kind: keyof typeof scripts, args: unknown, dir: string): EventStoreChild {
  const scriptFile = join(dir, `eventstore-${kind}-child.mjs`);
  writeFileSync(scriptFile, prelude + scripts[kind]);
  const child = spawn(process.execPath, [scriptFile, JSON.stringify(args)], { stdio: ["pipe", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`could not start the ${kind} child`);
  const lines: string[] = [];
  const errors: string[] = [];
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      if (line === "ready") resolve();
    });
    void exited.then((code) => reject(new Error(`${kind} child exited with ${String(code)} before it was ready: ${errors.join("\n")}`)));
  });
  createInterface({ input: child.stderr }).on("line", (line) => errors.push(line));
  return {
    pid: child.pid,
    lines,
    errors,
    ready,
    exited,
    // Ending stdin as well lets the child exit once it is done: an open stdin keeps it alive.
    go: () => child.stdin.end("go\n"),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
