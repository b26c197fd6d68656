/** How load is applied to an arm during one measurement. */
export type LoadShape =
  | {
      kind: "saturation";
      /** Name in the report, e.g. "sat". */
      name: string;
      /** wrk: closed loop, every connection sends its next request when the previous response is in. */
      connections: number;
      threads: number;
      durationS: number;
    }
  | {
      kind: "open-loop";
      name: string;
      /** Requests per second, sent on schedule whatever the responses do. */
      rate: number;
      /** Most connections the generator may open. */
      connections: number;
      durationS: number;
      /** Unmeasured seconds at the same rate first. */
      warmupS: number;
    };
