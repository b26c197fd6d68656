import { parentPort, workerData } from "node:worker_threads";
import { OpenLoopSchedule } from "./open-loop-schedule.js";

/**
 * The open-loop generator's clock, in a worker thread. Node's timers have millisecond
 * granularity, too coarse for a request every 500 us; Atomics.wait sleeps with
 * microsecond precision but blocks its thread. So this thread only sleeps until the next
 * request is due and then wakes the main thread with a message; the main thread decides
 * from its own clock which requests are due and sends them.
 */
export interface OpenLoopClockData {
  /** process.hrtime.bigint() of the schedule's start, as a decimal string. */
  startNs: string;
  rate: number;
  durationS: number;
  /** Int32Array over it: the main thread stores 1 and notifies to stop the clock. */
  stop: SharedArrayBuffer;
}

const port = parentPort;
if (!port) throw new Error("open-loop-clock must run in a worker thread");
const data = workerData as OpenLoopClockData;
const schedule = new OpenLoopSchedule(data.rate, data.durationS);
const start = BigInt(data.startNs);
const stop = new Int32Array(data.stop);
const elapsedUs = (): number => Number(process.hrtime.bigint() - start) / 1_000;

let signalled = 0;
while (signalled < schedule.total && Atomics.load(stop, 0) === 0) {
  const elapsed = elapsedUs();
  const due = schedule.dueCount(elapsed);
  if (due > signalled) {
    signalled = due;
    port.postMessage(due);
    continue;
  }
  const delayUs = schedule.delayUntilNextUs(signalled, elapsed) ?? 0;
  Atomics.wait(stop, 0, 0, delayUs / 1_000);
}
port.postMessage("done");
