import { SqliteEventStore } from "@tollgate/eventstore";
import { ControlPlaneFollower, IdentityIndex } from "./dist/index.js";
import { copyFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
let keep = null;
const mode = process.argv[2];
if (mode !== "none") {
  copyFileSync("/tmp/authbench/events.db", "/tmp/authbench/gcx.db");
  const store = SqliteEventStore.open({ file: "/tmp/authbench/gcx.db", synchronous: "normal", busyTimeoutMs: 5000 });
  keep = new IdentityIndex();
  const f = new ControlPlaneFollower({ store, index: keep });
  await f.start(); await f.stop(); await store.close();
}
if (mode === "gc") global.gc();
let minor = 0, n = 0;
new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail?.kind === 1) { minor += e.duration; n++; } }).observe({ entryTypes: ["gc"] });
const inflight = [];
const t = performance.now();
for (let round = 0; round < 40; round++) {
  for (let i = 0; i < 100_000; i++) {
    const o = { a: "x" + i, b: [i, i + 1, i + 2], c: { d: i } };
    inflight.push(o);
    if (inflight.length > 200) inflight.shift();
  }
  await new Promise((r) => setImmediate(r));
}
await new Promise((r) => setTimeout(r, 50));
console.log(mode, "loop ms", (performance.now() - t).toFixed(0), "scavenges", n, "avg scavenge ms", (minor / n).toFixed(2), "heap MB", (process.memoryUsage().heapUsed / 1e6).toFixed(1));
