import type { UpstreamEvent, UpstreamTargetOverride } from "@tollgate/events";
import { ControlPlaneError } from "../../errors/control-plane-error.js";
import { problems } from "../../errors/problem-catalog.js";
import type { DecisionContext } from "../decider.js";
import { sameValue } from "../same-value.js";
import type { UpstreamOverride } from "./evolve-upstream.js";

export type UpstreamCommand =
  | { type: "SetUpstreamTargets"; upstream: string; targets: UpstreamTargetOverride[] }
  | { type: "ResetUpstreamTargets"; upstream: string };

/**
 * Only the shape is checked (by the event schema, at the API): whether a gateway declares
 * this upstream is the gateway's to say, and it ignores (and logs) overrides of upstreams
 * it does not know.
 */
export function decideUpstream(command: UpstreamCommand, state: UpstreamOverride | null, { actor }: DecisionContext): UpstreamEvent[] {
  switch (command.type) {
    case "SetUpstreamTargets":
      if (state?.targets && sameValue(state.targets, command.targets)) return [];
      return [{ type: "UpstreamTargetsSet", version: 1, data: { upstream: command.upstream, targets: command.targets, actor } }];
    case "ResetUpstreamTargets":
      if (!state) throw new ControlPlaneError(problems.notFound, `upstream "${command.upstream}" has no override`);
      if (state.targets === null) return [];
      return [{ type: "UpstreamTargetsReset", version: 1, data: { upstream: command.upstream, actor } }];
  }
}
