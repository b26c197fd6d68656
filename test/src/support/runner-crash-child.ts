import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
/** The built packages, as a projector process loads them. */
const eventstoreUrl = pathToFileURL(require.resolve("@tollgate/eventstore")).href;
const sqliteUrl = pathToFileURL(require.resolve("better-sqlite3")).href;

export type DeliveryMode = "at-least-once" | "exactly-once";

/** What the child writes to its marker file: the batch it is in and how far it got. */
export interface BatchMarker {
  pid: number;
  /** 1 for the first batch this process handled. */
  batch: number;
  /** Positions of the batch's first and last events. */
  first: number;
  last: number;
  size: number;
  /** Events of the batch written to the sink so far (committed ones in at-least-once mode). */
  written: number;
  /** True once the batch's writes (and, in exactly-once mode, its checkpoint) are committed. */
  finished: boolean;
}

/**
 * The child: a projector process on the SQLite event store whose sink is a table
 * `processed(event_id, position, pid)` in a file of its own. Plain JavaScript, written
 * into the test's temp dir, so that `node` runs it as it is (this workspace is
 * type-checked, not built, and lint only knows TypeScript files).
 *
 * at-least-once: every sink row commits on its own and the runner stores the checkpoint
 *   in the event store after the batch: a kill mid-batch leaves part of it applied.
 * exactly-once: the batch's rows and the projector's own checkpoint (`sink_checkpoint`)
 *   commit in one transaction, held open across the slow writes: a kill mid-batch leaves
 *   none of it applied, and the runner resumes from that checkpoint.
 *
 * `slowMs` pauses after every 10 rows, so a batch takes long enough to be killed in.
 */
const childSource = `
import { renameSync, writeFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
const { openEventStore, runProjector } = await import(${JSON.stringify(eventstoreUrl)});
const { default: Database } = await import(${JSON.stringify(sqliteUrl)});

const { eventsFile, sinkFile, markerFile, mode, slowMs, name, streamPrefix, maxBatchSize } = JSON.parse(process.argv[2]);
const { store, checkpoints } = await openEventStore({ kind: "sqlite", file: eventsFile, synchronous: "normal", busyTimeoutMs: 5000 });

const sink = new Database(sinkFile, { timeout: 5000 });
sink.pragma("journal_mode = WAL");
sink.pragma("synchronous = NORMAL");
sink.exec(
  "CREATE TABLE IF NOT EXISTS processed (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, position INTEGER NOT NULL, pid INTEGER NOT NULL);" +
  "CREATE TABLE IF NOT EXISTS sink_checkpoint (name TEXT PRIMARY KEY, position TEXT NOT NULL);"
);
const insert = sink.prepare("INSERT INTO processed (event_id, position, pid) VALUES (?, ?, ?)");
const saveCheckpoint = sink.prepare(
  "INSERT INTO sink_checkpoint (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position"
);
const loadCheckpoint = sink.prepare("SELECT position FROM sink_checkpoint WHERE name = ?").pluck();

// Written whole and renamed into place, so the parent never reads half a marker.
const mark = (state) => {
  writeFileSync(markerFile + ".tmp", JSON.stringify(state));
  renameSync(markerFile + ".tmp", markerFile);
};

let batchNumber = 0;
const projector = {
  name,
  filter: { streamPrefixes: [streamPrefix] },
  ...(mode === "exactly-once"
    ? {
        ownedCheckpoint: {
          load: async () => {
            const position = loadCheckpoint.get(name);
            return position === undefined ? null : BigInt(position);
          },
        },
      }
    : {}),
  async handle(batch, context) {
    batchNumber += 1;
    const state = {
      pid: process.pid,
      batch: batchNumber,
      first: Number(batch[0].position),
      last: Number(batch.at(-1).position),
      size: batch.length,
      written: 0,
      finished: false,
    };
    mark(state);
    if (mode === "exactly-once") sink.exec("BEGIN IMMEDIATE");
    try {
      for (const [index, event] of batch.entries()) {
        insert.run(event.id, event.position, process.pid);
        state.written = index + 1;
        if (slowMs > 0 && index % 10 === 9) {
          mark(state);
          await delay(slowMs);
        }
      }
      if (mode === "exactly-once") {
        saveCheckpoint.run(name, String(context.checkpoint));
        sink.exec("COMMIT");
      }
    } catch (error) {
      if (sink.inTransaction) sink.exec("ROLLBACK");
      throw error;
    }
    state.finished = true;
    mark(state);
  },
};

const runner = runProjector({
  store,
  checkpoints,
  projector,
  maxBatchSize,
  maxBatchWaitMs: 10,
  onError: (error) => console.error("runner error:", error),
});
process.on("SIGTERM", () => {
  void runner.stop().then(async () => {
    sink.close();
    await store.close();
    process.exit(0);
  });
});
console.log("ready");
`;

export interface RunnerCrashChildOptions {
  dir: string;
  eventsFile: string;
  sinkFile: string;
  markerFile: string;
  mode: DeliveryMode;
  slowMs: number;
  /** The projector's name, and so its checkpoint's. */
  name: string;
  streamPrefix: string;
  maxBatchSize: number;
}

export interface RunnerCrashChild {
  pid: number;
  /** Resolves with the exit code, or the signal's name. */
  exited: Promise<number | string>;
  stderr(): string;
  /** Sends `signal` to this child, by its pid, if it is still running. */
  signal(signal: NodeJS.Signals): void;
}

export function startRunnerCrashChild(options: RunnerCrashChildOptions): RunnerCrashChild {
  const scriptFile = join(options.dir, "runner-crash-child.mjs");
  writeFileSync(scriptFile, childSource);
  const { dir: _dir, ...args } = options;
  const child = spawn(process.execPath, [scriptFile, JSON.stringify(args)], { stdio: ["ignore", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start the runner child");
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdout.resume();
  const exited = once(child, "exit").then(([code, signal]) => (code as number | null) ?? (signal as string));
  return {
    pid,
    exited,
    stderr: () => stderr,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** The child's marker, or null before it has written one. */
export function readBatchMarker(markerFile: string): BatchMarker | null {
  try {
    return JSON.parse(readFileSync(markerFile, "utf8")) as BatchMarker;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
