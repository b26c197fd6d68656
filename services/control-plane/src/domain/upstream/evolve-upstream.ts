import type { UpstreamEvent, UpstreamTargetOverride } from "@tollgate/events";

/**
 * The live target override of one upstream. `targets: null` means none: the gateways use
 * the targets in their own config. The control plane never knows that config, so this is
 * only the override, never the effective set.
 */
export interface UpstreamOverride {
  upstream: string;
  targets: UpstreamTargetOverride[] | null;
}

/** Folds one upstream event; `null` is an upstream that was never overridden. */
export function evolveUpstream(_state: UpstreamOverride | null, event: UpstreamEvent): UpstreamOverride | null {
  switch (event.type) {
    case "UpstreamTargetsSet":
      return { upstream: event.data.upstream, targets: event.data.targets };
    case "UpstreamTargetsReset":
      return { upstream: event.data.upstream, targets: null };
  }
}
