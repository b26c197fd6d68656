import { streamCategories, upstreamEventTypes, type UpstreamEvent } from "@tollgate/events";
import type { Decider } from "../decider.js";
import { decideUpstream, type UpstreamCommand } from "./decide-upstream.js";
import { evolveUpstream, type UpstreamOverride } from "./evolve-upstream.js";

export const upstreamDecider: Decider<UpstreamCommand, UpstreamOverride | null, UpstreamEvent> = {
  category: streamCategories.upstream,
  eventTypes: upstreamEventTypes,
  initialState: null,
  evolve: evolveUpstream,
  decide: decideUpstream,
};
