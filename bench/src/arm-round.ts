import type { ArmStopReport } from "./arm.js";
import type { ShapeMeasurement } from "./shape-measurement.js";

/** Everything measured about one arm in one round. */
export interface ArmRound {
  round: number;
  /** Position of the arm within its round (0-based). */
  position: number;
  arm: string;
  name: string;
  /** 1-minute load average when the arm started: how busy the machine was. */
  loadAverage: number;
  measurements: Record<string, ShapeMeasurement>;
  /** Sum over the arm's process tree of VmHWM, just before it was stopped. */
  peakRssKb: number;
  /** Requests the load tools saw completed, warmup included. */
  clientCompleted: number;
  /**
   * Upper bound of the requests the arm may have received: clientCompleted plus, for
   * every wrk run, one per connection (wrk does not count the requests still in flight
   * when it stops), plus open-loop requests that got no response.
   */
  clientSentUpperBound: number;
  /** Requests the upstream served while this arm was measured (nginx stub_status), when known. */
  upstreamServed: number | null;
  stop: ArmStopReport | null;
  error: string | null;
}
