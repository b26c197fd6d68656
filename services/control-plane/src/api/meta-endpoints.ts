import { z } from "zod";
import type { ControlPlaneServices } from "../application/control-plane-services.js";
import { defineEndpoint, type AnyEndpoint } from "./endpoint.js";

const Health = z.object({ status: z.literal("ok"), controlPlaneVersion: z.string().describe("Log position the read model reflects") });

/** Health for supervisors and load balancers. The process listens only once its read model has caught up with the log. */
export function metaEndpoints({ context }: ControlPlaneServices): AnyEndpoint[] {
  return [
    defineEndpoint({
      method: "get",
      path: "/healthz",
      operationId: "health",
      summary: "Liveness and the read model's position",
      tag: "meta",
      access: "public",
      responses: { 200: { description: "Serving", schema: Health } },
      handle: () => Promise.resolve({ status: 200, body: { status: "ok", controlPlaneVersion: context.readModel.version.toString() } }),
    }),
  ];
}
