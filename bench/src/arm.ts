/**
 * One system under test. The bench starts it, points load at `url`, charges the CPU
 * time and memory of the process tree rooted at `pid` to it, and stops it: once per
 * round, so every round starts from a fresh process.
 */
export interface Arm {
  /** Short key used by --arms and in ratios ("A", "B", ...). */
  readonly key: string;
  /** Name in the report ("direct", "undici", ...). */
  readonly name: string;
  /** One line: what this arm is. */
  readonly description: string;
  /**
   * The upstream this arm forwards to, or is (the direct arm), when the bench counts what
   * it served. Every arm has one of its own: the arms of a round are all running while
   * they take turns under load, so a shared upstream could not tell their requests apart.
   */
  readonly upstream?: BenchUpstream;
  start(): Promise<RunningArm>;
  /** Stops what start() started (gracefully: an arm with an event log flushes it) and reports on it. */
  stop(): Promise<ArmStopReport>;
}

export interface BenchUpstream {
  /** Root pid of the upstream's process tree. */
  pid: number;
  /** Requests it has served so far; used to count what an arm forwarded. */
  requestsServed(): Promise<number>;
}

export interface RunningArm {
  /** Base URL the load goes to, e.g. http://127.0.0.1:41234 (the load path is appended). */
  url: string;
  /** Root of the process tree whose CPU time and peak RSS are this arm's cost. */
  pid: number;
}

export interface ArmStopReport {
  /** For an arm that records every request as an event: the request events in its log after the stop. */
  requestEvents?: number;
  /** Anything else worth keeping in the raw results (event counts by type, exit code, ...). */
  detail?: Record<string, unknown>;
}
