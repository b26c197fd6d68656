import { UpstreamTargets } from "@tollgate/events";
import { z } from "zod";
import { Versioned } from "./common-schemas.js";

export const SetUpstreamTargetsBody = z.strictObject({ targets: UpstreamTargets });

export const UpstreamView = z.object({
  ...Versioned,
  targets: UpstreamTargets.nullable().describe("The override in force; null: reset, the gateways use the targets in their config"),
});
export const UpstreamList = z.object({ items: z.array(UpstreamView) });
